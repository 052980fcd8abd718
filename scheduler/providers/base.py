"""The whole plugin surface of a calendar provider: the protocol every adapter implements
(it speaks domain types only: provider JSON never leaves the adapter's module), and the
description each provider module exports, which says everything else Nextstep needs to know
about it. The registry in runtime.py maps names to descriptions; nothing else compares one.

Design points every adapter honours:
- busy for many calendars in one call (providers batch it: Google freeBusy, Graph getSchedule);
- events carry a client-chosen `uid`, so a retried create never duplicates;
- `changes` takes and returns an opaque cursor (sync token, delta link, CTag, sequence number).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

from scheduler.availability import Interval
from scheduler.errors import NotFound

if TYPE_CHECKING:
    import requests

    from scheduler.settings import Settings

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
    location: str | None = None  # the meeting's video link, where it is known
    conference: bool = False  # ask the calendar for a video meeting of its own (Meet, Teams)


@dataclass(frozen=True)
class EventRef:
    """Where an event lives: enough to update or cancel it later."""

    provider: str
    calendar_id: str
    event_id: str
    etag: str | None = None
    video_link: str | None = None  # the calendar's own video meeting, when it made one
    video_pending: bool = False  # the calendar is still making it (the link comes by sync)


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
class CalendarInfo:
    """One calendar the account can see, as the rep picks it on /connections: `id` is what
    busy and bookings name it by; only a calendar with `can_write` can receive bookings."""

    id: str
    name: str
    primary: bool = False
    can_write: bool = False


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

    def list_calendars(self) -> list[CalendarInfo]:
        """Every calendar the account can see (all pages), its primary one first."""


# --- what a provider is, for the rest of Nextstep ----------------------------------------------

@dataclass(frozen=True)
class RawRequest:
    """An HTTP request as plain values (header names in lower case), so a provider reads its
    own notification and consent-answer formats without the web framework."""

    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    args: Mapping[str, str] = field(default_factory=dict)  # the first value of each
    query_string: str = ""

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")


@dataclass(frozen=True)
class Reply:
    """What to answer a provider's notification, and the connections it asks to sync."""

    status: int
    text: str = ""
    sync: tuple[int, ...] = ()


ChannelLookup = Callable[[str, str], "int | None"]  # (channel id, secret) -> connection id


class PushChannel(Protocol):
    """How a provider tells us a calendar changed. A stored channel is a dict with at least
    `id`, `token` (our secret, which every notification must carry) and `expires_at` (ISO)."""

    lifetime: timedelta
    https_only: bool  # the provider calls only HTTPS addresses

    def open(self, adapter: Any, *, calendar_id: str, address: str, secret: str,
             now: datetime) -> dict[str, Any]:
        """Ask the provider to notify `address` of changes; the channel to store."""

    def renew(self, adapter: Any, channel: dict[str, Any], *,
              now: datetime) -> dict[str, Any] | None:
        """The channel extended, or None where a channel cannot be extended (open another)."""

    def close(self, adapter: Any, channel: dict[str, Any]) -> None:
        """Stop the channel; one already stopped or lapsed is not an error."""

    def receive(self, request: RawRequest, find: ChannelLookup) -> Reply:
        """Parse one notification request; `find` says which connection a channel id and
        secret belong to (None for an unknown channel or a wrong secret)."""


class OAuthFlow(Protocol):
    """Connecting an account, and signing in with it, through the provider's consent page.
    `finish` returns the credentials a connection stores: at least `email`, and
    `email_verified` only where the provider vouches for that address (signing in then
    finds the rep by address; otherwise only the rep who connected that very account, by
    its `account_id`, signs in)."""

    sign_in_label: str  # "Sign in with ..."
    sign_in_refused: str  # the answer when nobody may sign in; {email} is filled in
    unrevoked: str  # what the rep must do when disconnecting revoked nothing

    def configured(self, settings: Settings) -> bool:
        """A provider whose client id is unset is not offered (API.md)."""

    def start(self, settings: Settings, redirect_uri: str, *,
              http: requests.Session | None) -> tuple[str, dict[str, Any]]:
        """(the consent page's address, what the second leg needs, kept by the caller)."""

    def finish(self, settings: Settings, redirect_uri: str, remembered: Mapping[str, Any],
               answer: RawRequest, *, http: requests.Session | None) -> dict[str, Any]:
        """Redeem the answer the browser brought back; the credentials to store."""

    def revoke(self, settings: Settings, credentials: Mapping[str, Any]) -> bool:
        """End the grant; False where the provider has no way to (then see `unrevoked`)."""


# (credentials, settings, save the refreshed credentials, HTTP session) -> adapter
AdapterBuilder = Callable[[dict[str, Any], "Settings", Callable[[dict[str, Any]], None],
                           "requests.Session | None"], CalendarProvider]


@dataclass(frozen=True)
class Limits:
    busy_calendars: int = 50  # calendars of one connection that can count as busy


@dataclass(frozen=True)
class ProviderDescription:
    """One provider, as the rest of Nextstep sees it."""

    name: str
    label: str
    sends_own_invites: bool  # emails attendees itself when an event is written, else the .ics
    reads_colleagues: bool  # a colleague's busy time is readable through the rep's account
    build: AdapterBuilder | None = None  # None: the built-in calendar, which has no accounts
    oauth: OAuthFlow | None = None
    push: PushChannel | None = None
    limits: Limits = Limits()
    # The video meeting it makes for an event on request ("Google Meet"), or None.
    video_meetings: str | None = None


class ProviderRegistry:
    """Provider names to descriptions, like a plugin loader: the one place names are read."""

    def __init__(self, descriptions: Iterable[ProviderDescription]) -> None:
        self._by_name = {d.name: d for d in descriptions}

    def __iter__(self) -> Iterator[ProviderDescription]:
        return iter(self._by_name.values())

    def get(self, name: str) -> ProviderDescription | None:
        return self._by_name.get(name)

    def get_or_raise(self, name: str) -> ProviderDescription:
        description = self._by_name.get(name)
        if description is None:
            raise NotFound(f"no calendar provider is called {name}", field="provider")
        return description

    def with_provider(self, description: ProviderDescription) -> ProviderRegistry:
        return ProviderRegistry([*self, description])

    def label(self, name: str) -> str:
        description = self._by_name.get(name)
        return description.label if description else name

    def with_accounts(self) -> list[ProviderDescription]:
        """Providers a rep connects an account of (all but the built-in calendar)."""
        return [d for d in self if d.build is not None]

    def offered(self, settings: Settings) -> list[str]:
        """Providers a rep can connect here: their OAuth client is configured."""
        return [d.name for d in self if d.oauth is not None and d.oauth.configured(settings)]

    def builders(self, http: requests.Session | None = None) -> dict[str, Callable[..., Any]]:
        """The adapter builders Calendars takes: (connection, credentials, settings, save)."""
        return {d.name: _builder(d.build, http) for d in self if d.build is not None}


def _builder(build: AdapterBuilder, http: requests.Session | None) -> Callable[..., Any]:
    def builder(connection: Any, credentials: dict[str, Any], settings: Settings,
                save: Callable[[dict[str, Any]], None]) -> CalendarProvider:
        return build(credentials, settings, save, http)
    return builder
