"""The busy mirror: each calendar's busy time held in memory per process, packed for the
engine, so a proposal reads no busy rows while its people's copies are current.

Every calendar has a key and a version (scheduler.busy_versions), bumped in the same
transaction as every write that changes its busy time. A proposal reads its people's
versions in the query it makes anyway (`Calendars.roster`), so a copy is known current
without a query of its own; and a booking committed by any process is seen by the next
proposal of every process, with no notification to wait for.

Why not LISTEN/NOTIFY (or Redis pub/sub): a notification reaches the other processes a
little after the commit, so for that moment another worker could still offer the time just
booked; and on SQLite the processes sharing the file (serve, worker, `nextstep sync`) have
no channel at all. The versions ride on a query the proposal makes anyway: no window, no
listener thread to keep alive, one behaviour on both databases.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from scheduler.availability import Interval
from scheduler.busy_versions import (
    CONNECTION,
    LOCAL,
    RESERVED,
    connection_key,
    local_key,
    reserved_key,
    versions,
)
from scheduler.packed import PackedBusy, to_us
from scheduler.providers.local import busy_rows
from scheduler.reserved import reserved_time
from scheduler.store import Store
from scheduler.store.models import MirroredBusy

# How far ahead a copy is read: past the longest search (booking.MAX_SEARCH_DAYS) with
# room, so copies stay useful for weeks before a window outgrows them.
HORIZON = timedelta(days=120)
BEHIND = timedelta(days=1)
# How far ahead a sync reads a connected account's busy time: the longest search, which is
# also what one Google free/busy query answers.
ACCOUNT_HORIZON = timedelta(days=90)


def max_age(channel: Mapping | None, now: datetime, settings) -> timedelta:
    """How old an account's mirror may be: longer while its push channel is open, since a
    change would have been told and synced."""
    expires = (channel or {}).get("expires_at")
    pushed = expires is not None and datetime.fromisoformat(str(expires)) > now
    return timedelta(minutes=settings.busy_mirror_push_max_age_minutes if pushed
                     else settings.busy_mirror_max_age_minutes)


@dataclass(frozen=True, slots=True)
class _Copy:
    version: int
    busy: PackedBusy
    low: int  # µs: the span it was read for
    high: int
    valid_until: int | None  # µs: a hold in it lapses then

    def current(self, version: int, low: int, high: int, now: int) -> bool:
        return (self.version >= version and self.low <= low and high <= self.high
                and (self.valid_until is None or now < self.valid_until))


class BusyMirror:
    """One process's copies. Reads are lock-free: two threads missing the same copy at
    once both read it, and the later one's copy stays (both are current)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._copies: dict[str, _Copy] = {}
        self.reads = 0  # copies read from the database, for tests and benchmarks

    def busy(self, wanted: Mapping[str, int], window: Interval,
             now: datetime) -> dict[str, PackedBusy]:
        """Each key's busy time; `wanted` maps a key to the version the caller just read.
        Only copies that are missing, older, too short or holding a lapsed hold are read."""
        low, high, at = to_us(window.start), to_us(window.end), to_us(now)
        found: dict[str, PackedBusy] = {}
        stale: list[str] = []
        for key, version in wanted.items():
            copy = self._copies.get(key)
            if copy is not None and copy.current(version, low, high, at):
                found[key] = copy.busy
            else:
                stale.append(key)
        if stale:
            span = Interval(min(window.start, now - BEHIND), max(window.end, now + HORIZON))
            for key, copy in self._read(stale, span, now).items():
                self._copies[key] = copy
                found[key] = copy.busy
        return found

    def intervals(self) -> int:
        """Busy intervals held, over every copy (for benchmarks)."""
        return sum(len(copy.busy) for copy in self._copies.values())

    def nbytes(self) -> int:
        return sum(copy.busy.nbytes() for copy in self._copies.values())

    def _read(self, keys: list[str], span: Interval, now: datetime) -> dict[str, _Copy]:
        """Versions first, then rows: a write landing between the two leaves a copy marked
        older than its rows, which the next proposal reads again (never the other way)."""
        kinds: dict[str, list[str]] = {}
        for key in keys:
            kind, _, ident = key.partition(":")
            kinds.setdefault(kind, []).append(ident)
        pairs: dict[str, list[tuple[int, int]]] = {key: [] for key in keys}
        lapses: dict[str, int] = {}
        with self.store.reading() as session:
            current = versions(session, keys)
            for calendar_id, start, end in _local_rows(session, kinds.get(LOCAL, ()), span):
                pairs[local_key(calendar_id)].append((to_us(start), to_us(end)))
            for user_id, start, end, expires in _reserved_rows(
                    session, kinds.get(RESERVED, ()), span, now):
                key = reserved_key(user_id)
                pairs[key].append((to_us(start), to_us(end)))
                if expires is not None:
                    lapses[key] = min(lapses.get(key, to_us(expires)), to_us(expires))
            for connection_id, start, end in _mirrored_rows(
                    session, kinds.get(CONNECTION, ()), span):
                pairs[connection_key(connection_id)].append((to_us(start), to_us(end)))
        self.reads += len(keys)
        low, high = to_us(span.start), to_us(span.end)
        return {key: _Copy(current[key], PackedBusy.from_pairs(pairs[key]), low, high,
                           lapses.get(key)) for key in keys}


def _local_rows(session: Session, calendar_ids: Iterable[str], span: Interval):
    ids = list(calendar_ids)
    if not ids:
        return []
    # Core rows, not ORM ones: a copy can hold thousands.
    return session.connection().execute(busy_rows(ids, span)).all()


def _reserved_rows(session: Session, user_ids: Iterable[str], span: Interval, now: datetime):
    ids = [int(user_id) for user_id in user_ids]
    if not ids:
        return []
    return session.connection().execute(reserved_time(ids, span, now=now)).all()


def _mirrored_rows(session: Session, connection_ids: Iterable[str], span: Interval):
    ids = [int(connection_id) for connection_id in connection_ids]
    if not ids:
        return []
    return session.connection().execute(
        select(MirroredBusy.connection_id, MirroredBusy.start, MirroredBusy.end)
        .where(MirroredBusy.connection_id.in_(ids), MirroredBusy.start < span.end,
               MirroredBusy.end > span.start)).all()
