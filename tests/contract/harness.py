"""What the contract suite needs from each provider besides the adapter itself: a way to
seed a calendar and to act as the outside world (an attendee who declines, a calendar owner
who moves or deletes the event). Each provider's harness implements this against its real
backend: the database, Radicale, or an HTTP emulator driven through the real client library.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from scheduler.providers.base import CalendarProvider, EventRef


class ProviderHarness(Protocol):
    provider: CalendarProvider
    calendar_id: str          # the rep's calendar, which receives bookings
    other_calendar_ids: list[str]  # colleagues' calendars readable through the same account
    # Whether a change names its follow-up. Graph's calendarView/delta cannot $expand our
    # extended property, so Outlook's do not: sync finds those by the event id it stored.
    changes_carry_followup_id: bool

    def add_busy(self, calendar_id: str, start: datetime, end: datetime) -> None:
        """Put an opaque busy event in a calendar, as its owner would."""

    def count_events(self, calendar_id: str) -> int:
        """Live (not cancelled) events in the calendar, as the backend stores them."""

    def respond_as_attendee(self, ref: EventRef, email: str, response: str) -> None:
        """The attendee `email` answers the invitation (accepted/declined/tentative)."""

    def move_event(self, ref: EventRef, start: datetime, end: datetime) -> None:
        """Someone moves the event in their calendar client."""

    def delete_event(self, ref: EventRef) -> None:
        """Someone deletes the event in their calendar client."""
