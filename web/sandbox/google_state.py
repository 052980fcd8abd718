"""The world behind the Google emulator: calendars and their events, sync and page tokens,
push channels, OAuth grants (`identity`, see google_identity.py), and the knobs tests turn
(faults, latency, revoked grants, expired sync tokens, the outside world acting on events).

Thread-safe: the emulator answers each request on its own thread and tests turn knobs from
theirs, so every read and write goes through one lock and hands out copies.
"""

from __future__ import annotations

import base64
import copy
import random
import re
import secrets
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from web.sandbox.google_conference import finish
from web.sandbox.google_identity import Identity
from web.sandbox.google_wire import ApiError, rfc3339

EVENT_ID = re.compile(r"[a-v0-9]{5,1024}")  # base32hex, as Google requires of client ids
PROPERTY_KEY_MAX, PROPERTY_VALUE_MAX = 44, 1024  # longer keys dropped, values truncated
DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE = 250, 2500


@dataclass(frozen=True)
class Fault:
    """One injected failure. With `after_commit` the request takes effect before the client
    sees the failure; `delay` holds the answer back (past the client's timeout with
    `status=None` it is "committed, then timed out"); `drop` closes the connection instead."""

    status: int | None = 503
    reason: str | None = None
    retry_after: float | None = None
    after_commit: bool = False
    delay: float = 0.0
    drop: bool = False

    @classmethod
    def throttled(cls, retry_after: float | None = None) -> Fault:
        return cls(429, "rateLimitExceeded", retry_after=retry_after)

    @classmethod
    def rate_limited(cls, reason: str = "rateLimitExceeded") -> Fault:
        """403 with a usageLimits reason: Google's other way of saying "slow down"."""
        return cls(403, reason)

    @classmethod
    def forbidden(cls) -> Fault:
        return cls(403, "forbidden")

    @classmethod
    def commit_then(cls, status: int = 503) -> Fault:
        return cls(status, after_commit=True)

    @classmethod
    def commit_then_timeout(cls, delay: float) -> Fault:
        return cls(None, after_commit=True, delay=delay)

    @classmethod
    def commit_then_drop(cls) -> Fault:
        return cls(None, after_commit=True, drop=True)


@dataclass
class StoredEvent:
    """An event as its calendar holds it: instants in UTC, the client's other fields as given."""

    id: str
    calendar_id: str
    start: datetime
    end: datetime
    fields: dict[str, Any]  # summary, description, attendees, extendedProperties, start, ...
    seq: int = 0
    etag: str = ""
    sequence: int = 0
    status: str = "confirmed"
    created: datetime = field(default_factory=lambda: datetime.now(UTC))
    updated: datetime = field(default_factory=lambda: datetime.now(UTC))

    def busy_in(self, start: datetime, end: datetime) -> bool:
        return (self.status != "cancelled" and self.fields.get("transparency") != "transparent"
                and self.start < end and start < self.end)


@dataclass
class ListRound:
    """What a page token stands for: the round's snapshot of event ids and where it stands."""

    calendar_id: str
    ids: list[str]
    upto: int  # the change counter when the round began: the next sync token starts there
    offset: int
    size: int
    show_deleted: bool


class GoogleState:
    def __init__(self, *, client_id: str = "nextstep-emulated.apps.googleusercontent.com",
                 client_secret: str = "emulated-secret", latency: float = 0.0,
                 account: str = "rep@example.com") -> None:
        self.lock = threading.RLock()
        self.latency = latency
        self.identity = Identity(client_id=client_id, client_secret=client_secret,
                                 account=account)
        self.calendars: dict[str, dict[str, StoredEvent]] = {}
        self.time_zones: dict[str, str] = {}
        # account -> calendar id -> its calendarList entry (beyond the account's own)
        self.shared: dict[str, dict[str, dict[str, Any]]] = {}
        self.channels: dict[str, dict[str, Any]] = {}
        self._watched: dict[str, tuple[str, int]] = {}  # channel id -> (calendar, messages)
        self.sent_updates: list[tuple[str, str, str | None]] = []  # (route, event id, value)
        self._seq = 0
        self.meets_pending = False  # Meet made asynchronously: see finish_meets
        self._sync_tokens: dict[str, tuple[str, int]] = {}
        self._rounds: dict[str, ListRound] = {}
        self._faults: dict[str, deque[Fault]] = {}
        self._fault_rates: dict[str, tuple[tuple[Fault, ...], float, random.Random]] = {}
        self._counts: Counter[str] = Counter()
        self.add_calendar(account)

    # --- calendars ------------------------------------------------------------------------

    def add_calendar(self, calendar_id: str, *, time_zone: str = "UTC") -> None:
        """A calendar the API knows (a colleague's is readable through freeBusy)."""
        with self.lock:
            self.calendars.setdefault(calendar_id.lower(), {})
            self.time_zones[calendar_id.lower()] = time_zone

    def share(self, calendar_id: str, with_account: str, *, role: str = "reader",
              summary: str | None = None) -> None:
        """Someone shares `calendar_id` with `with_account`: it appears in that account's
        calendarList with `role` as its accessRole (freeBusyReader, reader, writer, owner)."""
        self.add_calendar(calendar_id)
        with self.lock:
            self.shared.setdefault(with_account.lower(), {})[calendar_id.lower()] = {
                "id": calendar_id.lower(), "summary": summary or calendar_id,
                "accessRole": role}

    def calendar_list(self, account: str) -> list[dict[str, Any]]:
        """The account's calendarList: its own (primary) calendar first, then those shared."""
        with self.lock:
            own = {"id": account.lower(), "summary": account.lower(), "accessRole": "owner",
                   "primary": True}
            return [own, *self.shared.get(account.lower(), {}).values()]

    def time_zone(self, calendar_id: str) -> str:
        with self.lock:
            return self.time_zones.get(calendar_id.lower(), "UTC")

    def _calendar(self, calendar_id: str) -> dict[str, StoredEvent]:
        events = self.calendars.get(calendar_id.lower())
        if events is None:
            raise ApiError(404, "notFound", "Not Found")
        return events

    # --- events, as the API routes and the outside world change them -----------------------

    def _touch(self, event: StoredEvent) -> None:
        self._seq += 1
        event.seq, event.updated = self._seq, datetime.now(UTC)
        event.etag = f'"{3181161784700000 + self._seq * 1000}"'

    def insert_event(self, calendar_id: str, fields: dict[str, Any], start: datetime,
                     end: datetime) -> StoredEvent:
        with self.lock:
            events = self._calendar(calendar_id)
            event_id = fields.pop("id", None) or _new_id()
            if not EVENT_ID.fullmatch(event_id):
                raise ApiError(400, "invalid", "Invalid resource id value.")
            if event_id in events:  # deleted events keep their id too
                raise ApiError(409, "duplicate", "The requested identifier already exists.")
            event = StoredEvent(id=event_id, calendar_id=calendar_id.lower(), start=start,
                                end=end, fields=_clean(fields))
            self._touch(event)
            events[event_id] = event
            return copy.deepcopy(event)

    def add_busy(self, calendar_id: str, start: datetime, end: datetime) -> str:
        """The calendar's owner puts an opaque event of their own in it."""
        return self.insert_event(calendar_id, {
            "summary": "Busy", "start": {"dateTime": rfc3339(start)},
            "end": {"dateTime": rfc3339(end)}}, start, end).id

    def get_event(self, calendar_id: str, event_id: str) -> StoredEvent:
        with self.lock:
            event = self._calendar(calendar_id).get(event_id)
            if event is None:
                raise ApiError(404, "notFound", "Not Found")
            return copy.deepcopy(event)

    def _live(self, calendar_id: str, event_id: str) -> StoredEvent:
        event = self._calendar(calendar_id).get(event_id)
        if event is None:
            raise ApiError(404, "notFound", "Not Found")
        if event.status == "cancelled":
            raise ApiError(410, "deleted", "Resource has been deleted")
        return event

    def write_event(self, calendar_id: str, event_id: str, fields: dict[str, Any], *,
                    replace: bool, if_match: str | None = None,
                    times: tuple[datetime, datetime] | None = None) -> StoredEvent:
        """patch (`replace=False`: fields merged) or update (`replace=True`)."""
        with self.lock:
            event = self._live(calendar_id, event_id)
            if if_match not in (None, "*") and if_match != event.etag:
                raise ApiError(412, "conditionNotMet", "Precondition Failed")
            merged = {} if replace else copy.deepcopy(event.fields)
            for key, value in fields.items():
                if key == "attendees":
                    value = _keep_responses(event.fields.get("attendees", []), value)
                if key == "extendedProperties" and not replace:
                    value = _merge_properties(merged.get(key, {}), value)
                merged[key] = value
            event.fields = _clean(merged)
            if times and times != (event.start, event.end):
                if times[0] != event.start:  # a new start asks every guest again
                    for attendee in event.fields.get("attendees", []):
                        attendee["responseStatus"] = "needsAction"
                event.start, event.end = times
                event.sequence += 1
            self._touch(event)
            return copy.deepcopy(event)

    def delete_event(self, calendar_id: str, event_id: str) -> None:
        """Cancelled, not forgotten: sync reports it, a second delete answers 410."""
        with self.lock:
            event = self._live(calendar_id, event_id)
            event.status = "cancelled"
            self._touch(event)

    def respond(self, calendar_id: str, event_id: str, email: str, response: str) -> None:
        """An attendee answers the invitation from their own calendar."""
        with self.lock:
            event = self._calendar(calendar_id)[event_id]
            for attendee in event.fields.get("attendees", []):
                if attendee.get("email", "").lower() == email.lower():
                    attendee["responseStatus"] = response
                    self._touch(event)
                    return
            raise KeyError(f"{email} is not invited to {event_id}")

    def finish_meets(self, calendar_id: str) -> int:
        """Google makes the Meet conferences it answered `pending`: each event changes."""
        with self.lock:
            made = 0
            for event in self._calendar(calendar_id).values():
                if event.status != "cancelled" and finish(event.fields):
                    self._touch(event)
                    made += 1
            return made

    def move(self, calendar_id: str, event_id: str, start: datetime, end: datetime) -> None:
        """The owner drags the event to another time in Google Calendar."""
        self.write_event(calendar_id, event_id, {"start": {"dateTime": rfc3339(start)},
                                                 "end": {"dateTime": rfc3339(end)}},
                         replace=False, times=(start, end))

    def live_events(self, calendar_id: str) -> list[StoredEvent]:
        with self.lock:
            return [copy.deepcopy(e) for e in self._calendar(calendar_id).values()
                    if e.status != "cancelled"]

    # --- reading: freeBusy and list rounds --------------------------------------------------

    def busy(self, calendar_id: str, start: datetime, end: datetime) -> list[tuple[datetime,
                                                                                  datetime]]:
        """Merged busy periods clipped to [start, end), as freeBusy reports them."""
        with self.lock:
            spans = sorted((max(e.start, start), min(e.end, end))
                           for e in self._calendar(calendar_id).values()
                           if e.busy_in(start, end))
        merged: list[tuple[datetime, datetime]] = []
        for span in spans:
            if merged and span[0] <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], span[1]))
            else:
                merged.append(span)
        return merged

    def start_round(self, calendar_id: str, *, sync_token: str | None, show_deleted: bool,
                    size: int) -> str:
        """A list round: a full listing, or the changes since `sync_token`; a page token."""
        with self.lock:
            events = self._calendar(calendar_id)
            since = 0
            if sync_token is not None:
                known = self._sync_tokens.get(sync_token)
                if known is None or known[0] != calendar_id.lower():
                    raise ApiError(410, "fullSyncRequired",
                                   "Sync token is no longer valid, a full sync is required.")
                since, show_deleted = known[1], True
            ids = [e.id for e in sorted(events.values(), key=lambda e: e.seq)
                   if e.seq > since and (show_deleted or e.status != "cancelled")]
            token = secrets.token_urlsafe(18)
            self._rounds[token] = ListRound(calendar_id.lower(), ids, self._seq, 0,
                                            min(size, MAX_PAGE_SIZE), show_deleted)
            return token

    def page(self, page_token: str) -> tuple[list[StoredEvent], str | None, str | None]:
        """(events, next page token, next sync token): the sync token only on the last page."""
        with self.lock:
            current = self._rounds.get(page_token)
            if current is None:
                raise ApiError(400, "invalid", "Invalid page token value.")
            events = self.calendars[current.calendar_id]
            chunk = current.ids[current.offset:current.offset + current.size]
            items = [copy.deepcopy(events[event_id]) for event_id in chunk]
            if current.offset + current.size < len(current.ids):
                token = secrets.token_urlsafe(18)
                self._rounds[token] = ListRound(current.calendar_id, current.ids, current.upto,
                                                current.offset + current.size, current.size,
                                                current.show_deleted)
                return items, token, None
            token = secrets.token_urlsafe(24)
            self._sync_tokens[token] = (current.calendar_id, current.upto)
            return items, None, token

    def expire_sync_tokens(self) -> None:
        """Every sync token handed out so far answers 410 fullSyncRequired."""
        with self.lock:
            self._sync_tokens.clear()

    # --- push channels ---------------------------------------------------------------------

    def open_channel(self, calendar_id: str, body: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            self._calendar(calendar_id)
            ttl = float((body.get("params") or {}).get("ttl", 604800))
            channel = {"kind": "api#channel", "id": body["id"],
                       "resourceId": secrets.token_urlsafe(20),
                       "resourceUri": f"https://www.googleapis.com/calendar/v3/calendars/"
                                      f"{calendar_id}/events?alt=json",
                       "token": body.get("token"), "address": body.get("address"),
                       "expiration": str(int((time.time() + ttl) * 1000))}
            self.channels[channel["id"]] = channel
            self._watched[channel["id"]] = (calendar_id, 0)
            return dict(channel)

    def notifications(self, calendar_id: str, *,
                      resource_state: str = "exists") -> list[tuple[str, dict[str, str]]]:
        """What Google sends each channel watching the calendar after a change: the address
        and the headers (the body is empty). Google only calls HTTPS addresses, which the
        tests cannot serve, so they deliver these themselves. The first message of a new
        channel is resource_state "sync"."""
        sent = []
        with self.lock:
            for channel_id, (watched, number) in self._watched.items():
                if watched != calendar_id or channel_id not in self.channels:
                    continue
                channel = self.channels[channel_id]
                self._watched[channel_id] = (watched, number + 1)
                headers = {"X-Goog-Channel-ID": channel_id,
                           "X-Goog-Message-Number": str(number + 1),
                           "X-Goog-Resource-ID": channel["resourceId"],
                           "X-Goog-Resource-State": resource_state,
                           "X-Goog-Resource-URI": channel["resourceUri"],
                           "X-Goog-Channel-Expiration": time.strftime(
                               "%a, %d %b %Y %H:%M:%S GMT",
                               time.gmtime(int(channel["expiration"]) / 1000))}
                if channel.get("token"):
                    headers["X-Goog-Channel-Token"] = channel["token"]
                sent.append((channel["address"], headers))
        return sent

    def close_channel(self, channel_id: str, resource_id: str) -> None:
        with self.lock:
            channel = self.channels.get(channel_id)
            if channel is None or channel["resourceId"] != resource_id:
                raise ApiError(404, "notFound", f"Channel '{channel_id}' not found for project")
            del self.channels[channel_id]

    # --- faults, latency, counters ---------------------------------------------------------

    def inject(self, route: str, *faults: Fault) -> None:
        """Queue faults for a route, named like Google's methods: "events.insert"."""
        with self.lock:
            self._faults.setdefault(route, deque()).extend(faults)

    def inject_rate(self, route: str, rate: float, *faults: Fault, seed: int = 0) -> None:
        """Fail that share of the route's requests with one of `faults`, reproducibly."""
        with self.lock:
            self._fault_rates[route] = (faults, rate, random.Random(seed))

    def next_fault(self, route: str) -> Fault | None:
        with self.lock:
            queue = self._faults.get(route)
            if queue:
                return queue.popleft()
            if route in self._fault_rates:
                faults, rate, rng = self._fault_rates[route]
                return rng.choice(faults) if rng.random() < rate else None
            return None

    def count(self, route: str) -> None:
        with self.lock:
            self._counts[route] += 1

    def request_count(self, *routes: str) -> int:
        """Requests seen on these routes (all routes when none is named)."""
        with self.lock:
            return sum(self._counts[r] for r in routes) if routes \
                else sum(self._counts.values())

    def request_counts(self) -> dict[str, int]:
        with self.lock:
            return dict(self._counts)


def _new_id() -> str:
    return base64.b32hexencode(secrets.token_bytes(15)).decode().lower()


def _clean(fields: dict[str, Any]) -> dict[str, Any]:
    """Extended properties as Google keeps them: long keys dropped, long values cut."""
    fields = copy.deepcopy(fields)
    for scope, properties in (fields.get("extendedProperties") or {}).items():
        fields["extendedProperties"][scope] = {
            key: value[:PROPERTY_VALUE_MAX] for key, value in (properties or {}).items()
            if len(key) <= PROPERTY_KEY_MAX and value is not None}
    for attendee in fields.get("attendees") or []:
        attendee.setdefault("responseStatus", "needsAction")
    return fields


def _keep_responses(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[dict]:
    """A rewritten guest list keeps the answers guests already gave, unless it sets them."""
    answers = {a.get("email", "").lower(): a.get("responseStatus") for a in old}
    return [{**({"responseStatus": answers[a.get("email", "").lower()]}
                if answers.get(a.get("email", "").lower()) else {}), **a} for a in new]


def _merge_properties(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """patch merges extended properties key by key; a null value deletes the key."""
    merged = copy.deepcopy(old)
    for scope, properties in (new or {}).items():
        merged.setdefault(scope, {}).update(properties or {})
        merged[scope] = {k: v for k, v in merged[scope].items() if v is not None}
    return merged
