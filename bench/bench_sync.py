"""Incremental sync of 10,000 changed events from Google, through the real client library.

What it measures, against DESIGN.md's target (<= 5 s, peak memory <= 200 MB): the rep's
Google calendar (the emulator in tests/emulators, in this process, no added latency) holds
CHANGED events, FOLLOWUPS of them booked by Nextstep. After a first sync stores the sync
token, every event changes: the prospect declines each follow-up, the rest move by an hour.
Then one `sync_connection` pulls the changes page by page (250 a page) and reconciles them
with the database (SQLite file).
- sync.incremental_10000.seconds: wall time of that sync (the emulator's own serving time,
  which shares this process, included).
- sync.incremental_10000.peak_mb: tracemalloc's peak for a second, identical round (traced
  separately, since tracing slows the first figure down).
- sync.incremental_10000.declined: follow-ups found declined afterwards (must be FOLLOWUPS).
"""

from __future__ import annotations

import tempfile
import time
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

CHANGED = 10_000
FOLLOWUPS = 100
START = datetime(2030, 1, 7, 15, tzinfo=UTC)


def run() -> Iterator[tuple[str, float, str]]:
    from scheduler.accounts import add_user
    from scheduler.booking import book_followup
    from scheduler.clock import FixedClock
    from scheduler.jobs import ManualJobs
    from scheduler.requests import BookingRequest
    from scheduler.runtime import Nextstep
    from scheduler.settings import settings_from
    from scheduler.store.migrate import upgrade
    from scheduler.store.models import Connection, FollowUp
    from scheduler.sync import sync_connection
    from tests.contract.harness_google import REP, running_emulator

    with running_emulator() as google, tempfile.TemporaryDirectory() as scratch:
        settings = settings_from({**google.settings.model_dump(exclude_unset=True),
                                  "database_url": f"sqlite:///{scratch}/bench.sqlite3",
                                  "secret_key": "bench", "outbox_dir": f"{scratch}/outbox"})
        upgrade(settings.database_url)
        provider = google.provider()
        runtime = Nextstep.build(settings, clock=FixedClock(START - timedelta(days=1)),
                                 builders={"google": lambda *_args: provider})
        runtime.use_jobs(ManualJobs())
        rep = add_user(REP, name="Riley Rivera", timezone="America/Los_Angeles",
                       store=runtime.store, clock=runtime.clock)
        key_id, secret = runtime.calendars.cipher.encrypt({"token": "held by the builder"})
        with runtime.store.transaction() as session:
            connection = Connection(user_id=rep.id, provider="google", account=REP,
                                    status="active", credentials=secret, key_id=key_id,
                                    busy_calendars=[REP], booking_calendar=REP,
                                    created_at=runtime.clock.now())
            session.add(connection)
            session.flush()
            connection_id = connection.id
        for n in range(FOLLOWUPS):
            book_followup(BookingRequest.model_validate({
                "prospect": {"name": f"Prospect {n}", "email": f"p{n}@example.com",
                             "timezone": "Europe/Berlin"},
                "start": (START + timedelta(days=n // 4, hours=2 * (n % 4))).isoformat(),
                "plan": {"steps": [{"who": "rep", "what": "send the proposal",
                                    "type": "send_proposal", "due": "2030-01-06"}]}}),
                rep=rep, **runtime.deps())
        runtime.tick()
        for n in range(CHANGED - FOLLOWUPS):
            start = START + timedelta(days=n % 90, minutes=15 * (n % 32))
            google.state.add_busy(REP, start, start + timedelta(minutes=30))
        deps = {"store": runtime.store, "calendars": runtime.calendars, "clock": runtime.clock}
        sync_connection(connection_id, **deps)

        def change_everything(round_: int) -> None:
            for event in google.state.live_events(REP):
                guests = [a["email"] for a in event.fields.get("attendees", [])
                          if a["email"] != REP]
                if guests:
                    prospect = guests[0]
                    response = "declined" if round_ == 1 else "accepted"
                    google.state.respond(REP, event.id, prospect, response)
                else:
                    shift = timedelta(hours=1 if round_ == 1 else -1)
                    google.state.move(REP, event.id, event.start + shift, event.end + shift)

        change_everything(1)
        started = time.perf_counter()
        first = sync_connection(connection_id, **deps)
        seconds = time.perf_counter() - started
        with runtime.store.reading() as session:
            declined = session.query(FollowUp).filter(FollowUp.status == "declined").count()

        change_everything(2)
        tracemalloc.start()
        second = sync_connection(connection_id, **deps)
        _current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        runtime.store.dispose()
    assert first.changes == second.changes == CHANGED, (first, second)
    yield "sync.incremental_10000.seconds", round(seconds, 2), "s"
    yield "sync.incremental_10000.peak_mb", round(peak / 2**20, 1), "MB"
    yield "sync.incremental_10000.declined", declined, "followups"
