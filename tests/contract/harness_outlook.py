"""Outlook for the contract suite: OutlookCalendar through msal and requests against the
Microsoft Graph emulator, connected the way a rep connects (the authorization-code flow).
`emulated_outlook` is shared with the integration tests and the benchmark."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import requests

from scheduler.clock import FixedClock
from scheduler.providers.base import EventRef
from scheduler.providers.outlook import OutlookCalendar
from scheduler.providers.outlook_oauth import finish_authorization, start_authorization
from scheduler.settings import Settings, settings_from
from tests.emulators.graph import AUTHORITY, GRAPH_ENDPOINT, demo_state, emulator_session, serve
from tests.emulators.graph_state import GraphState

REDIRECT_URI = "https://nextstep.test/connections/outlook/callback"
# The contract suite books in January 2030; sync windows are taken around this instant.
CLOCK_NOW = datetime(2029, 12, 20, 12, 0, tzinfo=UTC)
GRAPH_RESPONSES = {"accepted": "accepted", "declined": "declined",
                   "tentative": "tentativelyAccepted"}


def pointing_at(state: GraphState) -> dict[str, str]:
    """The settings values that point msal and the adapter at the emulator."""
    return {"ms_client_id": state.identity.client_id,
            "ms_client_secret": state.identity.client_secret,
            "ms_authority": AUTHORITY, "graph_api_endpoint": GRAPH_ENDPOINT}


def outlook_settings(state: GraphState) -> Settings:
    return settings_from(pointing_at(state))


def authorize(session: requests.Session, flow: dict[str, Any]) -> dict[str, str]:
    """Play the browser: open the authorize URL, read the redirect back to us."""
    answer = session.get(flow["auth_uri"], allow_redirects=False, timeout=10)
    assert answer.status_code == 302, answer.text
    return dict(parse_qsl(urlsplit(answer.headers["Location"]).query))


def connect(settings: Settings, session: requests.Session) -> dict[str, Any]:
    """A rep connects Outlook: both legs of the authorization-code flow through msal."""
    flow = start_authorization(settings, REDIRECT_URI, http_client=session)
    return finish_authorization(settings, flow, authorize(session, flow), http_client=session)


@dataclass
class OutlookHarness:
    provider: OutlookCalendar
    state: GraphState
    calendar_id: str = "rep@example.com"
    other_calendar_ids: list[str] = field(
        default_factory=lambda: ["helper1@example.com", "helper2@example.com"])
    changes_carry_followup_id: bool = False

    def add_busy(self, calendar_id: str, start: datetime, end: datetime) -> None:
        self.state.add_event(calendar_id, start, end)

    def count_events(self, calendar_id: str) -> int:
        return len(self.state.live_events(calendar_id))

    def respond_as_attendee(self, ref: EventRef, email: str, response: str) -> None:
        self.state.respond(ref.event_id, email, GRAPH_RESPONSES[response])

    def move_event(self, ref: EventRef, start: datetime, end: datetime) -> None:
        self.state.move_event(ref.event_id, start, end)

    def delete_event(self, ref: EventRef) -> None:
        self.state.delete_event(ref.event_id)


@dataclass
class EmulatedOutlook:
    """The Graph emulator running, a session that reaches it, and adapters connected to it.
    Adapters never really sleep: their waits are recorded in `sleeps`."""

    state: GraphState
    session: requests.Session
    settings: Settings
    sleeps: list[float] = field(default_factory=list)

    @property
    def pointing(self) -> dict[str, str]:
        return pointing_at(self.state)

    def connect(self) -> dict[str, Any]:
        return connect(self.settings, self.session)

    def provider(self, connection: dict[str, Any] | None = None,
                 **overrides: Any) -> OutlookCalendar:
        """An adapter for a fresh connection (or the given one) of whoever signs in."""
        connection = connection or self.connect()
        options: dict[str, Any] = {
            "token_cache": connection["token_cache"], "account_id": connection["account_id"],
            "settings": self.settings, "http_client": self.session,
            "sleep": self.sleeps.append, "clock": FixedClock(CLOCK_NOW)}
        return OutlookCalendar(**(options | overrides))


@contextmanager
def emulated_outlook(state: GraphState | None = None) -> Iterator[EmulatedOutlook]:
    state = state or demo_state()
    base_url, shutdown = serve(state)
    session = emulator_session(base_url)
    try:
        yield EmulatedOutlook(state, session, outlook_settings(state))
    finally:
        session.close()
        shutdown()


@contextmanager
def open_harness(tmp_path: object) -> Iterator[OutlookHarness]:
    with emulated_outlook() as outlook:
        yield OutlookHarness(provider=outlook.provider(), state=outlook.state)
