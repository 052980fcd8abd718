"""Fixtures shared by every test: the network guard and the CI rule on skips."""

from __future__ import annotations

import ipaddress
import os
import socket

import pytest

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _is_loopback(address) -> bool:
    if isinstance(address, (str, bytes)):  # AF_UNIX path
        return True
    host = address[0]
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _guarded(real):
    def connect(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address):
            raise ConnectionRefusedError(f"tests may only reach loopback, not {address!r}")
        return real(self, address)
    return connect


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch):
    """Tests talk to real local services and emulators, never to the outside world."""
    monkeypatch.setattr(socket.socket, "connect", _guarded(_real_connect))
    monkeypatch.setattr(socket.socket, "connect_ex", _guarded(_real_connect_ex))


def require_service(name: str, host: str, port: int) -> None:
    """Skip when a local service is unreachable, except under CI where that is a failure."""
    try:
        with socket.create_connection((host, port), timeout=1):
            return
    except OSError as exc:
        message = f"{name} at {host}:{port} is unreachable ({exc})"
        if os.environ.get("CI") == "true":
            pytest.fail(message + "; CI needs it")
        pytest.skip(message)


# --- The domain on a real database ------------------------------------------------------

from datetime import UTC, datetime  # noqa: E402

from scheduler.clock import FixedClock  # noqa: E402
from scheduler.settings import settings_from  # noqa: E402
from tests.databases import throwaway_database  # noqa: E402

# A Monday afternoon in November; no test depends on today's date.
NOW = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


def make_settings(tmp_path, **overrides):
    values = {"database_url": f"sqlite:///{tmp_path / 'nextstep.sqlite3'}",
              "secret_key": "test-secret-key", "outbox_dir": str(tmp_path / "outbox"),
              "base_url": "http://nextstep.test", "min_notice_minutes": 30}
    values.update(overrides)
    return settings_from(values)


@pytest.fixture
def settings(tmp_path):
    return make_settings(tmp_path)


def build_runtime(settings, clock, *, builders=None, mailer=None, http=None):
    from scheduler.jobs import ManualJobs
    from scheduler.runtime import Nextstep
    from scheduler.store.migrate import upgrade

    upgrade(settings.database_url)
    runtime = Nextstep.build(settings, clock=clock, mailer=mailer,
                             builders=builders if builders is not None else {}, http=http)
    return runtime.use_jobs(ManualJobs())


def logged_kinds(runtime) -> list[str]:
    """The kinds of the log's entries, oldest first."""
    from sqlalchemy import select

    from scheduler.store.models import LogEntry

    with runtime.store.reading() as session:
        return list(session.scalars(select(LogEntry.kind).order_by(LogEntry.id)))


@pytest.fixture
def runtime(settings, clock):
    """Nextstep on a fresh SQLite file; background work runs only when a test calls tick()."""
    built = build_runtime(settings, clock)
    yield built
    built.store.dispose()


@pytest.fixture
def make_rep(runtime):
    """Factory: a rep (or helper) with office hours in their zone."""
    from scheduler.accounts import add_user

    def make(email: str = "riley@example.com", *, name: str | None = None,
             timezone: str = "America/New_York"):
        return add_user(email, name=name, timezone=timezone, store=runtime.store,
                        clock=runtime.clock)
    return make


@pytest.fixture(scope="session")
def postgres_url():
    """A throw-away database on the real PostgreSQL server, migrated once per session."""
    require_service("PostgreSQL", "127.0.0.1", 5432)
    from scheduler.store.migrate import upgrade

    with throwaway_database("nextstep_test") as url:
        upgrade(url)
        yield url


@pytest.fixture
def pg_runtime(postgres_url, tmp_path, clock):
    """Nextstep on the real PostgreSQL server, tables emptied before each test."""
    from sqlalchemy import text

    from scheduler.store.models import Base

    settings = make_settings(tmp_path, database_url=postgres_url)
    built = build_runtime(settings, clock)
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with built.store.engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    yield built
    built.store.dispose()


# --- People: a rep who can sign in, two helpers, an API token --------------------------

PASSWORD = "correct horse battery"


@pytest.fixture
def rep(make_rep, runtime):
    from scheduler.accounts import set_password

    user = make_rep("riley@example.com", name="Riley Rivera", timezone="America/New_York")
    set_password(runtime.store, user.email, PASSWORD)
    return user


@pytest.fixture
def helpers(make_rep):
    return [make_rep("lee@example.com", name="Lee Chen", timezone="America/Chicago"),
            make_rep("sam@example.com", name="Sam Okafor", timezone="Europe/London")]


@pytest.fixture
def token(rep, runtime) -> str:
    from scheduler.accounts import create_api_token

    return create_api_token(runtime.store, rep.email, clock=runtime.clock)


