"""The world behind the Microsoft Graph emulator: mailboxes and their events, delta sync
states, subscriptions, the identity platform (`identity`, see graph_identity.py), and the knobs
tests turn (faults, latency, expired delta tokens, the outside world acting on events).

Thread-safe: the emulator answers each request on its own thread, and tests turn knobs from
theirs, so every read and write goes through one lock and hands out copies.
"""

from __future__ import annotations

import copy
import random
import secrets
import threading
import uuid
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import requests

from tests.emulators.graph_identity import Account, Identity


@dataclass(frozen=True)
class Fault:
    """One injected failure. With `after_commit` the request takes effect and then the client
    sees the failure (a lost answer); `delay` holds the answer back that long, so a delay past
    the client's timeout with `status=None` is "committed, then the client timed out"."""

    status: int | None = 503
    retry_after: float | None = None
    after_commit: bool = False
    delay: float = 0.0

    @classmethod
    def throttled(cls, retry_after: float = 2) -> Fault:
        return cls(429, retry_after=retry_after)

    @classmethod
    def commit_then(cls, status: int = 503) -> Fault:
        return cls(status, after_commit=True)

    @classmethod
    def commit_then_timeout(cls, delay: float) -> Fault:
        return cls(None, after_commit=True, delay=delay)


@dataclass
class StoredEvent:
    """An event as the mailbox holds it: instants in UTC, other Graph properties as given."""

    id: str
    mailbox: str
    start: datetime
    end: datetime
    fields: dict[str, Any]
    properties: dict[str, str] = field(default_factory=dict)  # extended property id -> value
    transaction_id: str | None = None
    created: datetime = field(default_factory=lambda: datetime.now(UTC))
    modified: datetime = field(default_factory=lambda: datetime.now(UTC))
    change_key: str = field(default_factory=lambda: secrets.token_urlsafe(12))
    ical_uid: str = field(
        default_factory=lambda: "040000008200E00074C5B7101A82E008" + secrets.token_hex(24))
    seq: int = 0
    deleted: bool = False
    history: list[tuple[int, datetime, datetime, bool]] = field(default_factory=list)

    def overlaps(self, start: datetime, end: datetime) -> bool:
        return self.start < end and start < self.end

    def visible_at(self, seq: int, start: datetime, end: datetime) -> bool:
        """Whether a delta round that ended at `seq` saw this event inside [start, end)."""
        past = [entry for entry in self.history if entry[0] <= seq]
        if not past:
            return False
        _, was_start, was_end, live = past[-1]
        return live and was_start < end and start < was_end


@dataclass
class DeltaState:
    """What a $skiptoken or $deltatoken stands for; the server keeps it, the client sees a key."""

    mailbox: str
    start: datetime
    end: datetime
    since: int
    ids: list[str] | None = None  # the round's snapshot; None for a deltatoken
    upto: int = 0
    offset: int = 0
    next_token: str | None = None


class GraphState:
    def __init__(self, *, client_id: str = "nextstep-emulated-app",
                 client_secret: str = "emulated-secret", latency: float = 0.0,
                 token_lifetime: int = 3600, default_page_size: int = 10,
                 max_page_size: int = 1000) -> None:
        self.lock = threading.RLock()
        self.identity = Identity(client_id=client_id, client_secret=client_secret,
                                 token_lifetime=token_lifetime)
        self.latency = latency
        self.default_page_size, self.max_page_size = default_page_size, max_page_size
        self.validation_timeout = 10.0  # seconds a notification URL has to echo its token
        self.mailboxes: dict[str, dict[str, StoredEvent]] = {}
        self.subscriptions: dict[str, dict[str, Any]] = {}
        # mailbox -> calendars shared with it (its own default calendar is always listed)
        self.shared_calendars: dict[str, list[dict[str, Any]]] = {}
        self._seq = 0
        self._delta: dict[str, DeltaState] = {}
        self._faults: dict[str, deque[Fault | None]] = {}
        self._fault_rates: dict[str, tuple[Fault, float, random.Random]] = {}
        self._counts: Counter[str] = Counter()
        self._http = requests.Session()
        self._http.trust_env = False

    # --- people and mailboxes -------------------------------------------------------------

    def add_account(self, email: str, *, name: str = "", personal: bool = False) -> Account:
        """Someone who can sign in, with a mailbox; the first one added is who the authorize
        page signs in (`identity.sign_in_as` changes that)."""
        account = self.identity.add_account(email, name=name, personal=personal)
        self.add_mailbox(account.email)
        return account

    def add_mailbox(self, email: str) -> None:
        """A colleague's mailbox: readable through getSchedule, never signed in here."""
        with self.lock:
            self.mailboxes.setdefault(email.lower(), {})

    def share_calendar(self, owner: str, with_mailbox: str, *, name: str = "",
                       can_edit: bool = False) -> None:
        """`owner` shares their calendar with `with_mailbox`: it appears in that mailbox's
        GET /me/calendars, owned by `owner`."""
        self.add_mailbox(owner)
        with self.lock:
            self.shared_calendars.setdefault(with_mailbox.lower(), []).append({
                "id": f"AAMk{uuid.uuid5(uuid.NAMESPACE_URL, owner + with_mailbox).hex}",
                "name": name or owner, "isDefaultCalendar": False, "canEdit": can_edit,
                "owner": {"name": owner, "address": owner.lower()}})

    def calendars_of(self, mailbox: str) -> list[dict[str, Any]]:
        """The mailbox's own default calendar, "Calendar", then the ones shared with it."""
        with self.lock:
            own = {"id": f"AAMk{uuid.uuid5(uuid.NAMESPACE_URL, mailbox.lower()).hex}",
                   "name": "Calendar", "isDefaultCalendar": True, "canEdit": True,
                   "owner": {"name": mailbox, "address": mailbox.lower()}}
            return [own, *self.shared_calendars.get(mailbox.lower(), [])]

    def has_mailbox(self, email: str) -> bool:
        with self.lock:
            return email.lower() in self.mailboxes

    # --- events, as the Graph routes and the outside world change them --------------------

    def _touch(self, event: StoredEvent) -> None:
        self._seq += 1
        event.seq, event.modified = self._seq, datetime.now(UTC)
        event.change_key = secrets.token_urlsafe(12)
        event.history.append((self._seq, event.start, event.end, not event.deleted))

    def create_event(self, mailbox: str, start: datetime, end: datetime,
                     fields: dict[str, Any], properties: dict[str, str] | None = None,
                     transaction_id: str | None = None) -> tuple[StoredEvent, bool]:
        """(event, created): a live event with the same transactionId is returned instead."""
        with self.lock:
            events = self.mailboxes[mailbox.lower()]
            for existing in events.values():
                if transaction_id and existing.transaction_id == transaction_id \
                        and not existing.deleted:
                    return copy.deepcopy(existing), False
            event = StoredEvent(id=_event_id(), mailbox=mailbox.lower(), start=start, end=end,
                                fields=dict(fields), properties=dict(properties or {}),
                                transaction_id=transaction_id)
            self._touch(event)
            events[event.id] = event
            return copy.deepcopy(event), True

    def add_event(self, mailbox: str, start: datetime, end: datetime, *,
                  subject: str = "Busy", show_as: str = "busy") -> str:
        """The mailbox owner puts an event of their own in the calendar."""
        event, _ = self.create_event(mailbox, start, end, {
            "subject": subject, "showAs": show_as, "attendees": [],
            "organizer": {"emailAddress": {"name": mailbox, "address": mailbox.lower()}}})
        return event.id

    def _find(self, event_id: str, mailbox: str | None = None) -> StoredEvent | None:
        for owner, events in self.mailboxes.items():
            event = events.get(event_id)
            if event and not event.deleted and mailbox in (None, owner):
                return event
        return None

    def get_event(self, event_id: str, mailbox: str | None = None) -> StoredEvent | None:
        with self.lock:
            return copy.deepcopy(self._find(event_id, mailbox and mailbox.lower()))

    def update_event(self, mailbox: str, event_id: str, *, start: datetime | None = None,
                     end: datetime | None = None, fields: dict[str, Any] | None = None,
                     properties: dict[str, str] | None = None) -> StoredEvent | None:
        with self.lock:
            event = self._find(event_id, mailbox.lower())
            if event is None:
                return None
            if start and start != event.start:
                _ask_again(event)
            event.start, event.end = start or event.start, end or event.end
            event.fields.update(fields or {})
            event.properties.update(properties or {})
            self._touch(event)
            return copy.deepcopy(event)

    def delete_event(self, event_id: str, mailbox: str | None = None) -> bool:
        """Gone from the calendar (DELETE, cancel, or the owner deleting it in Outlook)."""
        with self.lock:
            event = self._find(event_id, mailbox and mailbox.lower())
            if event is None:
                return False
            event.deleted = True
            self._touch(event)
            return True

    def move_event(self, event_id: str, start: datetime, end: datetime) -> None:
        """The owner drags the event to another time in their calendar client."""
        with self.lock:
            event = self._find(event_id)
            if event is None:
                raise KeyError(event_id)
            if start != event.start:
                _ask_again(event)
            event.start, event.end = start, end
            self._touch(event)

    def respond(self, event_id: str, email: str, response: str) -> None:
        """An attendee's answer (accepted, declined, tentativelyAccepted) reaches the organizer."""
        with self.lock:
            event = self._find(event_id)
            if event is None:
                raise KeyError(event_id)
            for attendee in event.fields.get("attendees", []):
                if attendee["emailAddress"]["address"].lower() == email.lower():
                    attendee["status"] = {"response": response, "time": _graph_now()}
            self._touch(event)

    def live_events(self, mailbox: str, start: datetime | None = None,
                    end: datetime | None = None) -> list[StoredEvent]:
        with self.lock:
            events = [e for e in self.mailboxes.get(mailbox.lower(), {}).values()
                      if not e.deleted and (start is None or end is None
                                            or e.overlaps(start, end))]
            return copy.deepcopy(sorted(events, key=lambda e: (e.start, e.id)))

    # --- delta rounds --------------------------------------------------------------------

    def delta_state(self, token: str) -> DeltaState | None:
        with self.lock:
            return self._delta.get(token)

    def delta_page(self, state: DeltaState, size: int) -> tuple[list[StoredEvent | str], str,
                                                                bool]:
        """(events, or ids of events gone from the view; the next token; whether that token is
        a deltatoken). Pages show each event as it is now; the snapshot fixes which ones."""
        with self.lock:
            events = {eid: e for eid, e in self.mailboxes[state.mailbox].items()}
            if state.ids is None:
                state = DeltaState(state.mailbox, state.start, state.end, state.since,
                                   upto=self._seq, ids=[
                                       e.id for e in sorted(events.values(), key=_by_seq)
                                       if e.seq > state.since and (
                                           self._in_view(e, state)
                                           or e.visible_at(state.since, state.start, state.end))])
            page = []
            for event_id in state.ids[state.offset:state.offset + size]:
                event = events[event_id]
                page.append(copy.deepcopy(event) if self._in_view(event, state) else event_id)
            last = state.offset + size >= len(state.ids)
            if state.next_token is None:
                state.next_token = secrets.token_urlsafe(24)
                self._delta[state.next_token] = (
                    DeltaState(state.mailbox, state.start, state.end, since=state.upto)
                    if last else
                    DeltaState(state.mailbox, state.start, state.end, state.since,
                               ids=state.ids, upto=state.upto, offset=state.offset + size))
            return page, state.next_token, last

    @staticmethod
    def _in_view(event: StoredEvent, state: DeltaState) -> bool:
        return not event.deleted and event.overlaps(state.start, state.end)

    def expire_delta_tokens(self) -> None:
        """Every $skiptoken and $deltatoken handed out so far stops working (410)."""
        with self.lock:
            self._delta.clear()

    # --- subscriptions -------------------------------------------------------------------

    def notify(self, event_id: str, change_type: str) -> list[int]:
        """Send a change notification for the event to every matching subscription, as Graph
        does after a change; returns the receivers' status codes."""
        with self.lock:
            event = next((e for events in self.mailboxes.values() for e in events.values()
                          if e.id == event_id), None)
            targets = [dict(s) for s in self.subscriptions.values()
                       if event and s["mailbox"] == event.mailbox
                       and change_type in s["changeType"].split(",")]
        statuses = []
        for subscription in targets:
            owner = self.identity.accounts[subscription["mailbox"]]
            resource = f"Users/{owner.oid}/Events/{event_id}"
            body = {"value": [{
                "subscriptionId": subscription["id"],
                "subscriptionExpirationDateTime": subscription["expirationDateTime"],
                "changeType": change_type, "clientState": subscription.get("clientState"),
                "tenantId": owner.tid, "resource": resource,
                "resourceData": {"@odata.type": "#Microsoft.Graph.Event",
                                 "@odata.id": resource, "id": event_id}}]}
            response = self._http.post(subscription["notificationUrl"], json=body, timeout=3)
            statuses.append(response.status_code)
        return statuses

    def validate_notification_url(self, url: str) -> str | None:
        """The handshake Graph performs before creating a subscription: POST the URL with a
        validationToken, expect it echoed as text/plain within 10 s. None when it passed."""
        token = f"Validation: Testing client application reachability {secrets.token_hex(8)}"
        try:
            response = self._http.post(url, params={"validationToken": token},
                                       headers={"Content-Type": "text/plain; charset=utf-8"},
                                       timeout=self.validation_timeout)
        except requests.Timeout:
            return "Subscription validation request timed out."
        except requests.RequestException as exc:
            return f"Subscription validation request failed: {exc}"
        content_type = response.headers.get("Content-Type", "")
        if response.status_code != 200 or not content_type.startswith("text/plain") \
                or response.text != token:
            return ("Subscription validation request failed. Notification endpoint must "
                    "respond with 200 OK and the validationToken as text/plain.")
        return None

    # --- faults, latency, counters -------------------------------------------------------

    def inject(self, route: str, *faults: Fault | None) -> None:
        """Queue faults for a route (the emulator's view name, e.g. "create_event"); a None
        lets that request through, so a later one can be the one that fails."""
        with self.lock:
            self._faults.setdefault(route, deque()).extend(faults)

    def inject_rate(self, route: str, fault: Fault, rate: float, *, seed: int = 0) -> None:
        """Fail that share of the route's requests, reproducibly."""
        with self.lock:
            self._fault_rates[route] = (fault, rate, random.Random(seed))

    def next_fault(self, route: str) -> Fault | None:
        with self.lock:
            queue = self._faults.get(route)
            if queue:
                return queue.popleft()
            if route in self._fault_rates:
                fault, rate, rng = self._fault_rates[route]
                return fault if rng.random() < rate else None
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


def _ask_again(event: StoredEvent) -> None:
    """A new start time resets every attendee's answer, as Exchange does on an update."""
    for attendee in event.fields.get("attendees", []):
        attendee["status"] = {"response": "none", "time": "0001-01-01T00:00:00Z"}


def _event_id() -> str:
    """Opaque and long like Exchange ids, URL-safe so it can sit in a path."""
    return "AAMkAD" + secrets.token_urlsafe(48)


def _graph_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f0Z")


def _by_seq(event: StoredEvent) -> tuple[int, str]:
    return event.seq, event.id
