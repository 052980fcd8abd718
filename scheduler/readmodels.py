"""What services hand to the web layer instead of ORM rows: frozen copies taken inside the
session, so a page or an API answer never loads anything later (no DetachedInstanceError
from a lazy relationship, whatever the sessions' expire_on_commit). The attribute names are
the rows' own, so plan_of, display_names and followup_event read a view or a row alike."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from types import MappingProxyType
from typing import Any

from scheduler.store.models import (
    CalendarEventRecord,
    Connection,
    FollowUp,
    Hold,
    Offer,
    Prospect,
    Step,
    User,
)


def _frozen(data: Mapping[str, Any] | None) -> Mapping[str, Any]:
    """A JSON column as a read-only mapping, deep-copied so the row cannot change it."""
    return MappingProxyType(copy.deepcopy(dict(data or {})))


@dataclass(frozen=True)
class PersonView:
    """A rep or a helper as pages, invites and the API name them."""

    id: int
    email: str
    name: str
    timezone: str
    video_link: str | None

    @classmethod
    def from_row(cls, row: User) -> PersonView:
        return cls(id=row.id, email=row.email, name=row.name, timezone=row.timezone,
                   video_link=row.video_link)


@dataclass(frozen=True)
class ProspectView:
    email: str
    name: str
    company: str | None
    timezone: str

    @classmethod
    def from_row(cls, row: Prospect) -> ProspectView:
        return cls(email=row.email, name=row.name, company=row.company,
                   timezone=row.timezone)


@dataclass(frozen=True)
class StepView:
    """One step of the action plan as stored: `due_text` keeps a date or an instant."""

    position: int
    who: str
    what: str
    type: str
    due_date: date
    due_at: datetime | None
    due_text: str
    help_from: tuple[str, ...]
    done_at: datetime | None
    stalled_at: datetime | None

    @classmethod
    def from_row(cls, row: Step) -> StepView:
        return cls(position=row.position, who=row.who, what=row.what, type=row.type,
                   due_date=row.due_date, due_at=row.due_at, due_text=row.due_text,
                   help_from=tuple(row.help_from or ()), done_at=row.done_at,
                   stalled_at=row.stalled_at)


@dataclass(frozen=True)
class CalendarEventView:
    """Where a follow-up's event was written."""

    provider: str
    calendar_id: str
    event_id: str
    etag: str | None
    sequence: int  # the follow-up's SEQUENCE the event was last written with

    @classmethod
    def from_row(cls, row: CalendarEventRecord) -> CalendarEventView:
        return cls(provider=row.provider, calendar_id=row.calendar_id, event_id=row.event_id,
                   etag=row.etag, sequence=row.sequence)


@dataclass(frozen=True)
class FollowUpView:
    """A booked follow-up with its people, plan and calendar events."""

    id: str
    rep_id: int
    offer_id: str | None
    title: str
    step_type: str
    start: datetime
    end: datetime
    status: str
    sequence: int
    responses: Mapping[str, str]
    event_uid: str
    video_link: str | None
    created_at: datetime
    updated_at: datetime
    rep: PersonView
    prospect: ProspectView
    helpers: tuple[PersonView, ...]
    steps: tuple[StepView, ...]
    events: tuple[CalendarEventView, ...]

    @classmethod
    def from_row(cls, row: FollowUp) -> FollowUpView:
        return cls(id=row.id, rep_id=row.rep_id, offer_id=row.offer_id, title=row.title,
                   step_type=row.step_type, start=row.start, end=row.end, status=row.status,
                   sequence=row.sequence, responses=_frozen(row.responses),
                   event_uid=row.event_uid, video_link=row.video_link,
                   created_at=row.created_at, updated_at=row.updated_at,
                   rep=PersonView.from_row(row.rep),
                   prospect=ProspectView.from_row(row.prospect),
                   helpers=tuple(PersonView.from_row(h) for h in row.helpers),
                   steps=tuple(StepView.from_row(s) for s in row.steps),
                   events=tuple(CalendarEventView.from_row(e) for e in row.events))


@dataclass(frozen=True)
class HoldView:
    start: datetime
    end: datetime
    expires_at: datetime
    released_at: datetime | None

    @classmethod
    def from_row(cls, row: Hold) -> HoldView:
        return cls(start=row.start, end=row.end, expires_at=row.expires_at,
                   released_at=row.released_at)


@dataclass(frozen=True)
class OfferView:
    """An offer link with its held slots, soonest first."""

    id: str
    rep_id: int
    title: str
    step_type: str
    duration_minutes: int
    helper_emails: tuple[str, ...]
    plan: Mapping[str, Any]
    status: str
    expires_at: datetime
    created_at: datetime
    rep: PersonView
    prospect: ProspectView
    holds: tuple[HoldView, ...]

    @classmethod
    def from_row(cls, row: Offer) -> OfferView:
        return cls(id=row.id, rep_id=row.rep_id, title=row.title, step_type=row.step_type,
                   duration_minutes=row.duration_minutes,
                   helper_emails=tuple(row.helper_emails or ()), plan=_frozen(row.plan),
                   status=row.status, expires_at=row.expires_at, created_at=row.created_at,
                   rep=PersonView.from_row(row.rep),
                   prospect=ProspectView.from_row(row.prospect),
                   holds=tuple(HoldView.from_row(h) for h in row.holds))


@dataclass(frozen=True)
class ConnectionView:
    """A rep's calendar account as /connections shows it: never its credentials."""

    id: int
    user_id: int
    provider: str
    account: str
    status: str
    status_message: str | None
    busy_calendars: tuple[str, ...]
    booking_calendar: str | None
    last_synced_at: datetime | None
    last_error: str | None
    last_error_at: datetime | None

    @classmethod
    def from_row(cls, row: Connection) -> ConnectionView:
        return cls(id=row.id, user_id=row.user_id, provider=row.provider, account=row.account,
                   status=row.status, status_message=row.status_message,
                   busy_calendars=tuple(row.busy_calendars or ()),
                   booking_calendar=row.booking_calendar, last_synced_at=row.last_synced_at,
                   last_error=row.last_error, last_error_at=row.last_error_at)
