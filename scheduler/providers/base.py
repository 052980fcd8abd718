"""The one protocol every calendar adapter implements. It speaks domain types only:
provider JSON never leaves the adapter's module.

Design points every adapter honours:
- busy for many calendars in one call (providers batch it: Google freeBusy, Graph getSchedule);
- events carry a client-chosen `uid`, so a retried create never duplicates;
- `changes` takes and returns an opaque cursor (sync token, delta link, CTag, sequence number).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import ClassVar, Protocol, runtime_checkable

from scheduler.availability import Interval

# Keys of the machine-readable event properties (Google extendedProperties.private,
# Graph singleValueExtendedProperties, iCalendar X- properties).
FOLLOWUP_ID_PROPERTY = "nextstep_followup_id"
PLAN_PROPERTY = "nextstep_plan"


def new_event_uid() -> str:
    """32 lowercase hex digits: a valid Google event id (base32hex), iCalendar UID and
    Graph transactionId alike."""
    return uuid.uuid4().hex


@dataclass(frozen=True)
class Attendee:
    email: str
    name: str = ""
    optional: bool = False
    response: str = "needsAction"  # needsAction | accepted | declined | tentative


@dataclass(frozen=True)
class CalendarEvent:
    """A follow-up as a calendar holds it."""

    uid: str
    calendar_id: str
    start: datetime
    end: datetime
    title: str
    description: str
    organizer: Attendee
    attendees: tuple[Attendee, ...] = ()
    properties: Mapping[str, str] = field(default_factory=dict)
    sequence: int = 0
    timezone: str = "UTC"


@dataclass(frozen=True)
class EventRef:
    """Where an event lives: enough to update or cancel it later."""

    provider: str
    calendar_id: str
    event_id: str
    etag: str | None = None


@dataclass(frozen=True)
class EventChange:
    """An event as it stands in the calendar after a change (or `cancelled` once deleted)."""

    ref: EventRef
    status: str  # confirmed | tentative | cancelled
    followup_id: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    attendees: tuple[Attendee, ...] = ()


@dataclass(frozen=True)
class ChangeSet:
    changes: list[EventChange]
    cursor: str
    full_resync: bool = False  # the old cursor had expired; `changes` is the whole calendar


@dataclass(frozen=True)
class BusyResult:
    """Busy time per calendar id; calendars that could not be read are named in `errors`."""

    busy: dict[str, list[Interval]]
    errors: dict[str, str] = field(default_factory=dict)


def chunks(items: list[str], size: int) -> Iterator[list[str]]:
    """Calendar ids in groups a provider accepts per free/busy call."""
    for index in range(0, len(items), size):
        yield items[index:index + size]


def pieces(window: Interval, span: timedelta) -> Iterator[Interval]:
    """The window cut into spans no longer than a provider answers per query."""
    start = window.start
    while start < window.end:
        yield Interval(start, min(start + span, window.end))
        start += span


@runtime_checkable
class CalendarProvider(Protocol):
    name: ClassVar[str]

    def busy(self, calendar_ids: Sequence[str], window: Interval) -> BusyResult:
        """Busy intervals of every calendar in one batched call (split internally where the
        provider has limits)."""

    def create_event(self, event: CalendarEvent) -> EventRef:
        """Write the event; calling it again with the same `uid` returns the same event."""

    def update_event(self, ref: EventRef, event: CalendarEvent) -> EventRef:
        """Replace time, text and attendees; the provider notifies attendees."""

    def cancel_event(self, ref: EventRef) -> None:
        """Cancel (delete) the event; cancelling an absent event is not an error."""

    def changes(self, calendar_id: str, cursor: str | None) -> ChangeSet:
        """Events changed since `cursor` (all of them when it is None or has expired)."""
