"""Busy versions: one counter per calendar's busy time (a person's built-in calendar, their
reservations, a connected account), bumped by every write that changes it, in the
transaction that writes. The write side of the busy mirror (scheduler.mirror): a process's
copy of a calendar is current while its version is the one stored here."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import String, cast, event, literal, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from scheduler.store.models import BusyVersion

LOCAL, RESERVED, CONNECTION = "local", "reserved", "connection"  # the kinds of key


def local_key(calendar_id: str) -> str:
    """A built-in calendar (named by its owner's address)."""
    return f"{LOCAL}:{calendar_id.lower()}"


def reserved_key(user_id: int) -> str:
    """A person's live follow-ups and unexpired holds: busy whatever calendars say."""
    return f"{RESERVED}:{user_id}"


def connection_key(connection_id: int) -> str:
    """A connected account's busy time as its last sync read it (mirrored_busy)."""
    return f"{CONNECTION}:{connection_id}"


def stored_version(kind: str, ident):
    """A key's version as a scalar subquery, the key built in SQL from a column (the same
    `kind:ident` as the functions above), so a query can read versions with its rows."""
    key = literal(f"{kind}:") + cast(ident, String)
    return select(BusyVersion.version).where(BusyVersion.key == key).scalar_subquery()


def busy_changed(session: Session, keys: Iterable[str]) -> None:
    """Mark these calendars' busy time as changed by the caller's transaction. Their
    versions are bumped just before it commits (`_bump_versions`): one statement in one
    order as the last thing a transaction does, so version rows are locked only for the
    commit and two writers never wait on each other's in a cycle."""
    session.info.setdefault(_CHANGED, set()).update(keys)


_CHANGED = "busy_changed"


@event.listens_for(Session, "before_commit")
def _bump_versions(session: Session) -> None:
    keys = sorted(session.info.pop(_CHANGED, ()))
    if not keys:
        return
    table = BusyVersion.__table__
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(table).values([{"key": key, "version": 1} for key in keys])
    session.execute(statement.on_conflict_do_update(
        index_elements=[table.c.key], set_={"version": table.c.version + 1}))


def versions(session: Session, keys: Iterable[str]) -> dict[str, int]:
    keys = list(keys)
    found = dict(session.execute(select(BusyVersion.key, BusyVersion.version)
                                 .where(BusyVersion.key.in_(keys))).all())
    return {key: found.get(key, 0) for key in keys}
