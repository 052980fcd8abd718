"""Busy time for a proposal whose rep is on Outlook and whose helper is on Google.

What it measures: `Calendars.busy` (what every proposal calls) for the rep, connected to the
Graph emulator with 100 ms of latency, and a helper connected to the Google emulator with
80 ms, over three weeks. Each connection is built from its stored, encrypted credentials, as
in the app; the two providers are asked in parallel, so the figure should be the slower round
trip plus our own work. Target (issue 6): <= 1.3 x the slower provider's latency.

- mixed_busy_outlook_100ms_google_80ms: median of 20 calls after 3 warm-up calls, in ms.
- mixed_busy_outlook_100ms_google_80ms.ratio: that median / 100 ms.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from scheduler.accounts import add_user
from scheduler.availability import Interval
from scheduler.calendars import Calendars
from scheduler.clock import SystemClock
from scheduler.connections import connect_account
from scheduler.runtime import PROVIDERS, default_builders
from scheduler.settings import settings_from
from scheduler.store import Store
from scheduler.store.migrate import upgrade
from tests.contract.harness_google import running_emulator
from tests.contract.harness_outlook import emulated_outlook

OUTLOOK_LATENCY, GOOGLE_LATENCY = 0.100, 0.080
REP, HELPER = "rep@example.com", "helper1@example.com"
START = datetime(2030, 1, 7, tzinfo=UTC)
WINDOW = Interval(START, START + timedelta(days=21))
NAME = "mixed_busy_outlook_100ms_google_80ms"


def run() -> Iterator[tuple[str, float, str]]:
    with tempfile.TemporaryDirectory() as folder, running_emulator() as google, \
            emulated_outlook() as outlook:
        url = f"sqlite:///{Path(folder) / 'bench.sqlite3'}"
        upgrade(url)
        settings = settings_from({"database_url": url, "secret_key": "bench-secret",
                                  **google.pointing, **outlook.pointing})
        store, clock = Store(url), SystemClock()
        calendars = Calendars(store=store, settings=settings, clock=clock, providers=PROVIDERS,
                              builders=default_builders(outlook.session))
        rep = add_user(REP, store=store, clock=clock)
        helper = add_user(HELPER, store=store, clock=clock)
        for n in range(20):
            start = START + timedelta(days=n, hours=10)
            outlook.state.add_event(REP, start, start + timedelta(minutes=30))
            google.state.add_busy(HELPER, start + timedelta(hours=2),
                                  start + timedelta(hours=3))
        connect_account(user_id=rep.id, provider="outlook", credentials=outlook.connect(),
                        store=store, calendars=calendars, clock=clock)
        connect_account(user_id=helper.id, provider="google", store=store,
                        calendars=calendars, clock=clock,
                        credentials={**google.state.identity.issue(HELPER), "email": HELPER})
        outlook.state.latency, google.state.latency = OUTLOOK_LATENCY, GOOGLE_LATENCY
        for _ in range(3):
            calendars.busy([rep, helper], WINDOW)
        timings = []
        for _ in range(20):
            started = time.perf_counter()
            report = calendars.busy([rep, helper], WINDOW)
            timings.append((time.perf_counter() - started) * 1000)
        store.dispose()
    assert not report.errors, report.errors
    assert len(report.busy[REP]) == 20 and len(report.busy[HELPER]) == 20
    median = statistics.median(timings)
    yield NAME, round(median, 1), "ms"
    yield f"{NAME}.ratio", round(median / (OUTLOOK_LATENCY * 1000), 2), "x slower provider"
