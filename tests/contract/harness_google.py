"""Google Calendar through its real client libraries against the local emulator, for the
contract suite (and, through `running_emulator`, the Google integration tests and bench).

The rep's calendar lives in Los Angeles time, so every dateTime Google writes back carries an
offset the adapter has to undo."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from scheduler.providers.base import EventRef
from scheduler.providers.google import GoogleCalendar
from scheduler.settings import Settings, settings_from
from web.sandbox.google import endpoints, serve
from web.sandbox.google_state import GoogleState

REP, HELPERS = "rep@example.com", ["helper1@example.com", "helper2@example.com"]


@dataclass
class EmulatedGoogle:
    """A running emulator and settings that point the client libraries at it."""

    state: GoogleState
    base_url: str
    settings: Settings
    pointing: dict[str, str] = field(default_factory=dict)  # settings values that reach it

    def provider(self, token: Mapping[str, str | None] | None = None,
                 **options: Any) -> GoogleCalendar:
        """An adapter for the rep, with tokens minted as if they had just connected."""
        return GoogleCalendar(token=token or self.state.identity.issue(),
                              settings=self.settings, **options)


@contextmanager
def running_emulator(latency: float = 0.0) -> Iterator[EmulatedGoogle]:
    """The rep (signed in, calendar in Los Angeles time) and two readable colleagues."""
    state = GoogleState(account=REP, latency=latency)
    state.add_calendar(REP, time_zone="America/Los_Angeles")
    for helper in HELPERS:
        state.add_calendar(helper)
    base_url, shutdown = serve(state)
    pointing = {"google_client_id": state.identity.client_id,
                "google_client_secret": state.identity.client_secret, **endpoints(base_url)}
    try:
        yield EmulatedGoogle(state=state, base_url=base_url,
                             settings=settings_from(pointing), pointing=pointing)
    finally:
        shutdown()


@dataclass
class GoogleHarness:
    provider: GoogleCalendar
    state: GoogleState
    calendar_id: str = REP
    other_calendar_ids: list[str] = field(default_factory=lambda: list(HELPERS))
    changes_carry_followup_id: bool = True

    def add_busy(self, calendar_id: str, start: datetime, end: datetime) -> None:
        self.state.add_busy(calendar_id, start, end)

    def count_events(self, calendar_id: str) -> int:
        return len(self.state.live_events(calendar_id))

    def respond_as_attendee(self, ref: EventRef, email: str, response: str) -> None:
        self.state.respond(ref.calendar_id, ref.event_id, email, response)

    def move_event(self, ref: EventRef, start: datetime, end: datetime) -> None:
        self.state.move(ref.calendar_id, ref.event_id, start, end)

    def delete_event(self, ref: EventRef) -> None:
        self.state.delete_event(ref.calendar_id, ref.event_id)


@contextmanager
def open_harness(tmp_path: Path) -> Iterator[GoogleHarness]:
    with running_emulator() as google:
        yield GoogleHarness(provider=google.provider(), state=google.state)
