"""A fifth calendar provider that lives only in memory, written the way a real one is: an
adapter, a push channel, an OAuth flow and one ProviderDescription. It is added to Nextstep
through the registry alone (`PROVIDERS.with_provider(memory_provider(backend))`), which is
what proves that a new provider (CalDAV, say) needs no edit outside its own module."""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import urlencode

from scheduler.availability import Interval
from scheduler.clock import iso_utc
from scheduler.errors import BadToken
from scheduler.providers.base import (
    FOLLOWUP_ID_PROPERTY,
    Attendee,
    BusyResult,
    CalendarEvent,
    CalendarInfo,
    ChangeSet,
    ChannelLookup,
    EventChange,
    EventRef,
    Limits,
    ProviderDescription,
    RawRequest,
    Reply,
)

NAME = "memory"
CONSENT_PAGE = "https://memory.example/consent"


@dataclass
class Stored:
    calendar_id: str
    start: datetime
    end: datetime
    status: str = "confirmed"
    attendees: tuple[Attendee, ...] = ()
    properties: Mapping[str, str] = field(default_factory=dict)
    seq: int = 0


@dataclass
class MemoryBackend:
    """What the provider's server holds: events, watch channels, grants revoked."""

    events: dict[str, Stored] = field(default_factory=dict)  # uid -> event
    seq: int = 0
    channels: dict[str, str] = field(default_factory=dict)  # channel id -> address
    revoked: list[str] = field(default_factory=list)  # accounts whose grant ended

    def put(self, uid: str, stored: Stored) -> None:
        self.seq += 1
        self.events[uid] = replace(stored, seq=self.seq)

    def live(self, calendar_id: str) -> list[Stored]:
        return [e for e in self.events.values()
                if e.calendar_id == calendar_id and e.status != "cancelled"]


class MemoryCalendar:
    name: ClassVar[str] = NAME

    def __init__(self, backend: MemoryBackend) -> None:
        self.backend = backend

    def list_calendars(self) -> list[CalendarInfo]:
        """One calendar per account, named by the account (the connection knows which)."""
        return []

    def busy(self, calendar_ids: Sequence[str], window: Interval) -> BusyResult:
        return BusyResult(busy={cid: sorted(
            Interval(max(e.start, window.start), min(e.end, window.end))
            for e in self.backend.live(cid) if e.start < window.end and e.end > window.start)
            for cid in calendar_ids})

    def create_event(self, event: CalendarEvent) -> EventRef:
        if event.uid not in self.backend.events:
            self.backend.put(event.uid, Stored(event.calendar_id, event.start, event.end,
                                               attendees=event.attendees,
                                               properties=dict(event.properties)))
        return EventRef(NAME, event.calendar_id, event.uid)

    def update_event(self, ref: EventRef, event: CalendarEvent) -> EventRef:
        self.backend.put(ref.event_id, replace(self.backend.events[ref.event_id],
                                               start=event.start, end=event.end,
                                               attendees=event.attendees))
        return ref

    def cancel_event(self, ref: EventRef) -> None:
        stored = self.backend.events.get(ref.event_id)
        if stored is not None and stored.status != "cancelled":
            self.backend.put(ref.event_id, replace(stored, status="cancelled"))

    def changes(self, calendar_id: str, cursor: str | None) -> ChangeSet:
        since = int(cursor) if cursor and cursor.isdigit() else 0
        changed = sorted(((uid, e) for uid, e in self.backend.events.items()
                          if e.calendar_id == calendar_id and e.seq > since),
                         key=lambda item: item[1].seq)
        return ChangeSet([EventChange(
            ref=EventRef(NAME, calendar_id, uid), status=e.status,
            followup_id=e.properties.get(FOLLOWUP_ID_PROPERTY), start=e.start, end=e.end,
            attendees=e.attendees) for uid, e in changed], cursor=str(self.backend.seq))

    # the calendar's owner and attendees acting on it

    def add_busy(self, calendar_id: str, start: datetime, end: datetime) -> None:
        self.backend.put(secrets.token_hex(8), Stored(calendar_id, start, end))

    def respond(self, uid: str, email: str, response: str) -> None:
        stored = self.backend.events[uid]
        self.backend.put(uid, replace(stored, attendees=tuple(
            replace(a, response=response) if a.email == email else a
            for a in stored.attendees)))

    def move(self, uid: str, start: datetime, end: datetime) -> None:
        self.backend.put(uid, replace(self.backend.events[uid], start=start, end=end))


class MemoryPush:
    """Notifications carry the channel id and secret in two headers."""

    lifetime = timedelta(days=1)
    https_only = False

    def open(self, adapter: MemoryCalendar, *, calendar_id: str, address: str, secret: str,
             now: datetime) -> dict[str, Any]:
        channel_id = secrets.token_hex(8)
        adapter.backend.channels[channel_id] = address
        return {"id": channel_id, "token": secret, "expires_at": iso_utc(now + self.lifetime)}

    def renew(self, adapter: MemoryCalendar, channel: dict[str, Any], *,
              now: datetime) -> dict[str, Any]:
        return dict(channel, expires_at=iso_utc(now + self.lifetime))

    def close(self, adapter: MemoryCalendar, channel: dict[str, Any]) -> None:
        adapter.backend.channels.pop(channel["id"], None)

    def receive(self, request: RawRequest, find: ChannelLookup) -> Reply:
        connection_id = find(request.header("X-Memory-Channel"),
                             request.header("X-Memory-Secret"))
        return Reply(404) if connection_id is None else Reply(200, sync=(connection_id,))


class MemoryOAuth:
    """The consent page answers with the `code` it was given and the account that agreed."""

    sign_in_label = "Memory"
    sign_in_refused = "Nobody here signs in as {email}."
    unrevoked = "the memory provider kept the grant."

    def __init__(self, backend: MemoryBackend) -> None:
        self.backend = backend

    def configured(self, settings: Any) -> bool:
        return True

    def start(self, settings: Any, redirect_uri: str, *, http: Any) -> tuple[str, dict]:
        code = secrets.token_urlsafe(8)
        return f"{CONSENT_PAGE}?{urlencode({'code': code, 'redirect_uri': redirect_uri})}", {
            "code": code}

    def finish(self, settings: Any, redirect_uri: str, remembered: Mapping[str, Any],
               answer: RawRequest, *, http: Any) -> dict[str, Any]:
        if answer.args.get("code") != remembered["code"]:
            raise BadToken("not the code we sent", field="state")
        return {"email": answer.args["account"], "account_id": answer.args["account"]}

    def revoke(self, settings: Any, credentials: Mapping[str, Any]) -> bool:
        self.backend.revoked.append(credentials["email"])
        return True


def memory_provider(backend: MemoryBackend) -> ProviderDescription:
    return ProviderDescription(
        name=NAME, label="Memory calendar", sends_own_invites=False, reads_colleagues=True,
        build=lambda credentials, settings, save, http: MemoryCalendar(backend),
        oauth=MemoryOAuth(backend), push=MemoryPush(), limits=Limits(busy_calendars=3))
