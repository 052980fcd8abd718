"""Proposals whose people live in Google and Outlook, answered from the busy mirror.

The rep is connected to the Google emulator and a helper to the Graph emulator, each 80 ms
away (latency injected on every request), each calendar holding 200 busy events over the
next three weeks. One sync per connection fills their mirrors, as a push notification or
the tick's polling would; then:
- mirror.providers.proposal.p50/p95: `propose_slots` for the rep and the helper, in ms;
  target p95 <= 20 ms.
- mirror.providers.provider_calls: requests either emulator saw during those proposals,
  per proposal; must be 0.
- mirror.providers.stale_proposal.p50: the same proposal once the mirrors are older than
  the setting: it asks both providers (for comparison, about one 80 ms round trip).
- mirror.providers.change_to_proposal: a busy time added in Google at the first proposed
  slot, then the sync its notification asks for, then a proposal that avoids it, in ms
  (what a change costs after the push arrives; polling adds up to the poll interval).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.timing import percentile, timings
from scheduler.accounts import add_user
from scheduler.booking import propose_slots
from scheduler.calendars import Calendars
from scheduler.clock import FixedClock
from scheduler.connections import connect_account
from scheduler.requests import ProposalRequest
from scheduler.runtime import PROVIDERS, default_builders
from scheduler.settings import settings_from
from scheduler.store import Store
from scheduler.store.migrate import upgrade
from scheduler.sync import sync_connection
from tests.contract.harness_google import running_emulator
from tests.contract.harness_outlook import emulated_outlook

LATENCY = 0.080
REP, HELPER = "rep@example.com", "helper1@example.com"
RUNS = 100
PROSPECT = {"name": "Dana Whitfield", "email": "dana@acme.example.com",
            "timezone": "America/New_York"}


def run() -> Iterator[tuple[str, float, str]]:
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    clock = FixedClock(now)
    with tempfile.TemporaryDirectory() as folder, running_emulator() as google, \
            emulated_outlook() as outlook:
        url = f"sqlite:///{Path(folder) / 'bench.sqlite3'}"
        upgrade(url)
        settings = settings_from({"database_url": url, "secret_key": "bench-secret",
                                  **google.pointing, **outlook.pointing})
        store = Store(url)
        calendars = Calendars(store=store, settings=settings, clock=clock, providers=PROVIDERS,
                              builders=default_builders(outlook.session))
        deps = {"store": store, "calendars": calendars, "clock": clock, "settings": settings}
        rep = add_user(REP, store=store, clock=clock, timezone="America/New_York")
        helper = add_user(HELPER, store=store, clock=clock, timezone="America/New_York")
        for n in range(200):
            start = now + timedelta(hours=2 + n * 2.5)
            google.state.add_busy(REP, start, start + timedelta(minutes=30))
            outlook.state.add_event(HELPER, start + timedelta(hours=1),
                                    start + timedelta(hours=1, minutes=30))
        google_id = connect_account(
            user_id=rep.id, provider="google", store=store, calendars=calendars, clock=clock,
            credentials={**google.state.identity.issue(REP), "email": REP}).id
        outlook_id = connect_account(user_id=helper.id, provider="outlook",
                                     credentials=outlook.connect(), store=store,
                                     calendars=calendars, clock=clock).id
        google.state.latency = outlook.state.latency = LATENCY
        for connection_id in (google_id, outlook_id):
            sync_connection(connection_id, store=store, calendars=calendars, clock=clock)
        request = ProposalRequest.model_validate({"prospect": PROSPECT, "helpers": [HELPER],
                                                  "duration_minutes": 30})

        def propose():
            return propose_slots(request, rep=rep, **deps).slots

        slots = propose()  # the copies read once
        assert len(slots) == 3, slots
        calls_before = google.state.request_count() + outlook.state.request_count()
        fresh = timings(propose, runs=RUNS)
        calls = google.state.request_count() + outlook.state.request_count() - calls_before

        first = slots[0]
        changed = time.perf_counter()
        google.state.add_busy(REP, first.start, first.end)
        sync_connection(google_id, store=store, calendars=calendars, clock=clock)
        avoided = propose()
        change_ms = (time.perf_counter() - changed) * 1000
        assert first not in avoided, (first, avoided)

        clock.advance(timedelta(minutes=settings.busy_mirror_max_age_minutes + 1))
        stale = timings(propose, runs=10, warmup=0)
        store.dispose()
    yield "mirror.providers.proposal.p50", round(percentile(fresh, 50), 2), "ms"
    yield "mirror.providers.proposal.p95", round(percentile(fresh, 95), 2), "ms"
    yield "mirror.providers.provider_calls", calls / RUNS, "requests/proposal"
    yield "mirror.providers.stale_proposal.p50", round(percentile(stale, 50), 1), "ms"
    yield "mirror.providers.change_to_proposal", round(change_ms, 1), "ms"
