"""The Store: one engine, short transactions, and the database-specific rules against
double booking (SQLite: one writer at a time; PostgreSQL: an exclusion constraint)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

T = TypeVar("T")

# PostgreSQL codes worth a retry: deadlock, serialization failure.
RETRYABLE_SQLSTATES = {"40P01", "40001"}
# A pooled connection idle this long is pinged before use; any connection is replaced after
# RECYCLE_SECONDS (servers and proxies close old idle connections).
PING_AFTER_IDLE_SECONDS = 5.0
RECYCLE_SECONDS = 1800


class Store:
    def __init__(self, url: str, *, pool_size: int = 5) -> None:
        self.url = url
        self.engine = _make_engine(url, pool_size=pool_size)
        # The web layer gets read models (scheduler/readmodels.py), never rows; inside the
        # domain some rows (users, outbox messages, a sync's connection) still outlive their
        # session, which is why nothing expires on commit.
        self._read = sessionmaker(self.engine, expire_on_commit=False)
        self._write = sessionmaker(self.engine.execution_options(sqlite_begin="IMMEDIATE"),
                                   expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A write transaction: on SQLite it takes the write lock at BEGIN, so the check
        for overlaps and the insert that follows cannot interleave with another writer."""
        with self._write.begin() as session:
            yield session

    @contextmanager
    def reading(self) -> Iterator[Session]:
        with self._read.begin() as session:
            yield session

    def retrying(self, work: Callable[[Session], T], *, attempts: int = 5) -> T:
        """Run `work` in a write transaction, again on deadlock or a locked SQLite file."""
        for attempt in range(attempts):
            try:
                with self.transaction() as session:
                    return work(session)
            except (OperationalError, DBAPIError) as exc:
                if attempt == attempts - 1 or not _is_retryable(exc):
                    raise
                time.sleep(0.01 * 2**attempt)
        raise AssertionError("unreachable")

    def dispose(self) -> None:
        self.engine.dispose()


def _is_retryable(exc: DBAPIError) -> bool:
    sqlstate = getattr(exc.orig, "sqlstate", None)
    if sqlstate in RETRYABLE_SQLSTATES:
        return True
    return "database is locked" in str(exc.orig)


def _ping_after_idle(engine: Engine) -> None:
    """Ping a pooled connection only when it has sat idle: under load (when a `SELECT 1` on
    every checkout, pool_pre_ping, would be a round trip per request) connections are never
    idle, and one dropped while in use invalidates the whole pool at the first error; after a
    quiet spell or an outage, the ping finds the dead connection before a request does."""
    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_connection, record) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection, record, _proxy) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS:
            return
        try:  # the dialect's own ping (what pre-ping runs), outside any transaction
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:  # any failure: this connection is gone, take another
            raise DisconnectionError(str(exc)) from exc


def ensure_sqlite_folder(url: str) -> None:
    """A SQLite file's folder is made on first use (a fresh install has no instance/)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)


def _make_engine(url: str, *, pool_size: int) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        # Sessions in UTC: timestamps arrive already in the zone every column is read in.
        engine = create_engine(url, pool_size=pool_size, max_overflow=pool_size * 2,
                               pool_recycle=RECYCLE_SECONDS,
                               connect_args={"options": "-c timezone=UTC"})
        _ping_after_idle(engine)
        return engine
    ensure_sqlite_folder(url)
    engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        # Let SQLAlchemy's "begin" hook emit BEGIN itself, so writers can ask for IMMEDIATE.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:
        mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")

    return engine
