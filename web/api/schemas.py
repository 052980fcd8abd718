"""What the JSON API answers, as pydantic models: the views render with them and the OpenAPI
document is generated from them, so the answers and the document cannot drift apart."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
)

from scheduler.availability import Interval
from scheduler.booking import Proposal
from scheduler.events import video_link
from scheduler.lifecycle import Status
from scheduler.log import LogRecord
from scheduler.offers import SentOffer, open_slots
from scheduler.outbox import InviteDelivery
from scheduler.preferences import Preferences, availability_dict
from scheduler.readmodels import FollowUpView, StepView
from scheduler.requests import Email, NoNextStep
from scheduler.spoken import local_label, spoken_offer, spoken_slot


def rfc3339(instant: datetime) -> str:
    """UTC in the 'Z' form API.md shows, whatever zone the value came in."""
    return instant.astimezone(UTC).isoformat().replace("+00:00", "Z")


# An instant in answers: always UTC, always '...Z'.
UTCTime = Annotated[AwareDatetime, PlainSerializer(rfc3339, return_type=str, when_used="json")]


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


# Errors

class ErrorDetail(_Out):
    code: str = Field(description="Stable machine-readable kind, e.g. `invalid`, `slot_taken`.")
    message: str
    field: str | None = Field(description="The offending input as a dotted path "
                                          "(`prospect.email`, `helpers.0`), or null.")


class ErrorOut(_Out):
    """Every 4xx answer of the API."""

    error: ErrorDetail


# Health

class HealthOut(_Out):
    status: Literal["ok", "degraded"]
    database: Literal["ok", "unreachable"]


# Proposals

class SlotOut(_Out):
    start: UTCTime
    end: UTCTime
    prospect_local: str = Field(description="'Tue 24 Nov 10:00' in the prospect's zone.")
    rep_local: str = Field(description="The same start in the rep's zone.")
    spoken: str = Field(description="'Tuesday the 24th at 10:00', in the prospect's zone.")
    outside_hours: Literal["rep", "prospect"] | None = Field(
        default=None, description="Whose hours this slot stretches (by at most 3 h), when "
                                  "asked with `allow_outside_hours`; null inside everyone's.")

    @classmethod
    def from_slot(cls, slot: Interval, *, prospect_timezone: str, rep_timezone: str,
                  now: datetime | None = None, outside_hours: str | None = None) -> SlotOut:
        return cls(start=slot.start, end=slot.end,
                   prospect_local=local_label(slot.start, prospect_timezone),
                   rep_local=local_label(slot.start, rep_timezone),
                   spoken=spoken_slot(slot, prospect_timezone, now=now),
                   outside_hours=outside_hours)


class ProposalOut(_Out):
    proposals: list[SlotOut]
    spoken: str = Field(description="One sentence offering every slot, to read aloud.")
    warnings: list[str] = Field(description="Calendars that could not be read, and so on.")
    reason: Literal["no_shared_hours"] | None = Field(
        default=None, description="`no_shared_hours` when the rep's hours and the prospect's "
                                  "daytime never meet in the window; else null.")

    @classmethod
    def from_domain(cls, proposal: Proposal) -> ProposalOut:
        zones = {"prospect_timezone": proposal.prospect_timezone,
                 "rep_timezone": proposal.rep_timezone, "now": proposal.made_at}
        sides = proposal.outside_hours or (None,) * len(proposal.slots)
        return cls(proposals=[SlotOut.from_slot(slot, outside_hours=side, **zones)
                              for slot, side in zip(proposal.slots, sides, strict=True)],
                   spoken=spoken_offer(proposal.slots, proposal.prospect_timezone,
                                       now=proposal.made_at, reason=proposal.reason),
                   warnings=list(proposal.warnings), reason=proposal.reason)


# Follow-ups

class ProspectOut(_Out):
    name: str
    email: str
    timezone: str
    company: str | None


class HelperOut(_Out):
    email: str
    name: str


class StepOut(_Out):
    index: int
    who: str
    what: str
    type: str
    due: str = Field(description="A date (`2026-11-27`) or an RFC 3339 instant.")
    help_from: list[str]
    done: bool
    done_at: UTCTime | None
    stalled: bool

    @classmethod
    def from_domain(cls, step: StepView) -> StepOut:
        due = rfc3339(step.due_at) if step.due_at is not None else step.due_date.isoformat()
        return cls(index=step.position, who=step.who, what=step.what, type=step.type, due=due,
                   help_from=list(step.help_from or ()), done=step.done_at is not None,
                   done_at=step.done_at,
                   stalled=step.stalled_at is not None and step.done_at is None)


class PlanOut(_Out):
    steps: list[StepOut]


class EventOut(_Out):
    provider: str
    calendar_id: str
    event_id: str


class InviteOut(_Out):
    status: Literal["pending", "retrying", "sent", "failed"] = Field(
        description="Our invite email to the prospect: `retrying` while the mail server "
                    "refuses it, `failed` once we gave up.")
    attempts: int
    last_error: str | None
    message: str | None = Field(description="What to tell the rep, e.g. \"invite not "
                                            "delivered yet (retrying, attempt 3)\".")


class FollowUpOut(_Out):
    id: str
    status: Status
    start: UTCTime
    end: UTCTime
    title: str
    step_type: str
    sequence: int
    prospect: ProspectOut
    helpers: list[HelperOut]
    plan: PlanOut
    events: list[EventOut] = Field(description="Where the event was written; empty until the "
                                               "calendar write has happened.")
    created_at: UTCTime
    updated_at: UTCTime
    manage_url: str | None = Field(default=None,
                                   description="The prospect's page to reschedule or cancel.")
    invite: InviteOut | None = Field(default=None, description=(
        "Delivery of our invite email; null when the rep's calendar sends the invites."))
    video_link: str | None = Field(default=None, description=(
        "Where the meeting happens: the Meet or Teams link the calendar made, else the "
        "rep's own video link; null when there is neither."))

    @classmethod
    def from_domain(cls, followup: FollowUpView, *, manage_url: str | None = None,
                    invite: InviteDelivery | None = None) -> FollowUpOut:
        prospect = followup.prospect
        return cls(
            id=followup.id, status=followup.status, start=followup.start, end=followup.end,
            title=followup.title, step_type=followup.step_type, sequence=followup.sequence,
            prospect=ProspectOut(name=prospect.name, email=prospect.email,
                                 timezone=prospect.timezone, company=prospect.company),
            helpers=[HelperOut(email=h.email, name=h.name) for h in followup.helpers],
            plan=PlanOut(steps=[StepOut.from_domain(step) for step in followup.steps]),
            events=[EventOut(provider=e.provider, calendar_id=e.calendar_id,
                             event_id=e.event_id) for e in followup.events],
            created_at=followup.created_at, updated_at=followup.updated_at,
            manage_url=manage_url, video_link=video_link(followup),
            invite=None if invite is None else InviteOut(
                status=invite.status, attempts=invite.attempts, last_error=invite.last_error,
                message=invite.note))


# Offers

class OfferOut(_Out):
    id: str
    url: str = Field(description="The prospect's link; it was also emailed to them.")
    slots: list[SlotOut] = Field(description="The held slots, in the prospect's zone too.")
    expires_at: UTCTime

    @classmethod
    def from_domain(cls, sent: SentOffer, *, rep_timezone: str,
                    now: datetime | None = None) -> OfferOut:
        zones = {"prospect_timezone": sent.offer.prospect.timezone,
                 "rep_timezone": rep_timezone, "now": now}
        return cls(id=sent.offer.id, url=sent.url, expires_at=sent.offer.expires_at,
                   slots=[SlotOut.from_slot(slot, **zones) for slot in open_slots(sent.offer)])


# The call that ended without a next step

class NoNextStepOut(_Out):
    kind: Literal["call.no_next_step"]
    prospect: ProspectOut
    reason: str

    @classmethod
    def from_request(cls, request: NoNextStep) -> NoNextStepOut:
        p = request.prospect
        return cls(kind="call.no_next_step", reason=request.reason,
                   prospect=ProspectOut(name=p.name, email=p.email, timezone=p.timezone,
                                        company=p.company))


# The rep's availability

LocalRangeOut = Annotated[list[str], Field(min_length=2, max_length=2,
                                           description='["HH:MM", "HH:MM"]; "24:00" ends a day.')]


class WorkingHoursOut(_Out):
    timezone: str
    weekly: dict[str, list[LocalRangeOut]] = Field(
        description="Weekday (0 = Monday .. 6 = Sunday) -> ranges; a missing day is off.")
    overrides: dict[str, list[LocalRangeOut]] = Field(
        description="Date (`2026-12-24`) -> the ranges replacing that day's; [] is a day off.")


class AvailabilityOut(_Out):
    timezone: str
    working_hours: WorkingHoursOut
    buffer_before_minutes: int
    buffer_after_minutes: int
    min_notice_minutes: int
    default_duration_minutes: int = Field(description="The length of a meeting when a "
                                                      "request leaves `duration_minutes` out.")
    prospect_daytime: list[LocalRangeOut] = Field(
        description="The prospect's weekday hours, in their zone, that slots must fit.")
    video_link: str | None = Field(description="Where meetings happen when the calendar "
                                               "makes no Meet or Teams link.")

    @classmethod
    def from_domain(cls, preferences: Preferences) -> AvailabilityOut:
        return cls.model_validate(availability_dict(preferences))


# Prospects

class TimezoneQuery(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    email: Email


class TimezoneGuessOut(_Out):
    email: str
    timezone: str | None = Field(description="The zone of this prospect's last booking, or "
                                             "null when Nextstep has never seen them.")


# The log

@dataclass(frozen=True)
class LogPosition:
    """Where a page of the log starts: after an entry id, with the filter of the first page."""

    after_id: int = 0
    since: datetime | None = None

    def cursor(self) -> str:
        """Opaque to clients (base64 of a small JSON), so its layout may change."""
        since = rfc3339(self.since) if self.since else None
        raw = json.dumps({"after": self.after_id, "since": since}, separators=(",", ":"))
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def from_cursor(cls, cursor: str) -> LogPosition:
        try:
            raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
            after_id, since = raw["after"], raw["since"]
            if type(after_id) is not int or after_id < 0:
                raise ValueError
            return cls(after_id, datetime.fromisoformat(since) if since else None)
        except (ValueError, TypeError, KeyError, binascii.Error):
            raise ValueError("is not a cursor this API gave out") from None


def _check_cursor(cursor: str | None) -> str | None:
    if cursor is not None:
        LogPosition.from_cursor(cursor)
    return cursor


Cursor = Annotated[str, StringConstraints(min_length=1, max_length=200),
                   AfterValidator(_check_cursor)]


class LogQuery(BaseModel):
    """Query string of GET /log and /log.csv; unknown parameters are ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    since: AwareDatetime | None = Field(default=None,
                                        description="Only entries at or after this instant.")
    limit: int = Field(default=100, ge=1, le=1000)
    cursor: Cursor | None = Field(default=None, description="`next` of the previous page; "
                                                            "it carries `since` along.")

    @property
    def position(self) -> LogPosition:
        if self.cursor is not None:
            return LogPosition.from_cursor(self.cursor)
        return LogPosition(since=self.since)


class LogEntryOut(_Out):
    id: int
    at: UTCTime
    kind: str
    rep_id: int | None
    followup_id: str | None
    data: dict[str, Any]

    @classmethod
    def from_domain(cls, record: LogRecord) -> LogEntryOut:
        return cls(id=record.id, at=record.at, kind=record.kind, rep_id=record.rep_id,
                   followup_id=record.followup_id, data=record.data)


class LogPageOut(_Out):
    entries: list[LogEntryOut]
    next: str | None = Field(description="Opaque cursor for the next page (`?cursor=`); "
                                          "null when this page reached the end.")

    @classmethod
    def from_domain(cls, records: Sequence[LogRecord], next_cursor: str | None) -> LogPageOut:
        return cls(entries=[LogEntryOut.from_domain(r) for r in records], next=next_cursor)
