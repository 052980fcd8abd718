"""A proposal in-process, through the Flask app, answered from a current busy mirror.

What it measures, against the busy-mirror issue's targets (measured as ratios in one run,
since the machine is shared):
- proposal.2x2000.*: POST /api/v1/proposals (Flask's test client, bearer token) for the rep
  and 2 helpers with 2,000 busy events each over 90 days (bench_http's data), a 90-day
  window, every answer 3 slots (asserted). p50/p95 over RUNS after WARMUP; target p95
  <= 5 ms and `.vs_health` (p95 / health's p95 in the same run) <= 2.
- proposal.health.*: GET /api/v1/health the same way: the floor of one request.
- proposal.9x20000.*: the rep and 9 helpers with 20,000 busy events each; target p95 <=
  25 ms. The team's shared hours (15:00-17:00 UTC) are mostly kept clear of the busy data
  (a few events fall in them each day), or ten people that busy would share no time at all
  and the answer would be empty; the mirror still holds all 20,000 each.
- proposal.*.busy_rows_read: copies the mirror read from the database during the timed
  runs (must be 0: the mirror is current).
- mirror.memory.*: 1,000 people x 2,000 busy intervals loaded through the mirror from the
  database; `.arrays` is what the packed arrays hold, `.rss_growth` what the process grew
  by while loading them; target <= 100 MB.

Set-up: a SQLite file in a temporary folder (what `make demo` runs on), migrated, seeded in
one bulk insert.
"""

from __future__ import annotations

import gc
import random
import tempfile
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.bench_http import BUSY_DAYS, HELPERS, PROSPECTS, REP, seed
from bench.timing import percentile, timings

WARMUP, RUNS = 20, 300
NINE_HELPERS = tuple((f"helper{n}@bench.example.com", f"Helper {n}", zone)
                     for n, zone in enumerate(["America/Chicago", "Europe/London"] * 4
                                              + ["America/Toronto"], 1))


def _app(folder: str, people, busy_each: int, keep_free=None):
    from scheduler.settings import load_settings
    from web.app import create_app

    env = {"DATABASE_URL": f"sqlite:///{folder}/bench.sqlite3",
           "NEXTSTEP_SECRET_KEY": uuid.uuid4().hex, "NEXTSTEP_OUTBOX_DIR": f"{folder}/outbox",
           "NEXTSTEP_INSTANCE_DIR": folder, "NEXTSTEP_BASE_URL": "http://127.0.0.1"}
    token = seed(env["DATABASE_URL"], env, people=people, busy_each=busy_each,
                 keep_free=keep_free)
    app = create_app(load_settings(env), start_jobs=False)
    return app, token


def _proposals(app, token: str, helpers) -> Callable[[], object]:
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    latest = (datetime.now(UTC) + timedelta(days=BUSY_DAYS)).isoformat()
    bodies = [{"prospect": prospect, "helpers": [email for email, _, _ in helpers],
               "duration_minutes": 30, "count": 3, "latest": latest}
              for prospect in PROSPECTS]
    turn = iter(range(10**9))

    def propose() -> None:
        answer = client.post("/api/v1/proposals", json=bodies[next(turn) % len(bodies)],
                             headers=headers)
        assert answer.status_code == 200, answer.get_json()
        assert len(answer.get_json()["proposals"]) == 3, answer.get_json()
    return propose


def _health(app) -> Callable[[], object]:
    client = app.test_client()

    def health() -> None:
        assert client.get("/api/v1/health").status_code == 200
    return health


def _mirror_reads(app) -> int:
    return app.extensions["nextstep"].calendars.mirror.reads


def _outside_shared_hours(start: datetime) -> bool:
    """Keep 15:00-17:00 UTC mostly clear (True: drop this event), a few events kept."""
    return 14 <= start.hour < 17 and random.random() < 0.97


def run() -> Iterator[tuple[str, float, str]]:
    with tempfile.TemporaryDirectory(prefix="nextstep-bench-") as folder:
        app, token = _app(folder, (REP, *HELPERS), 2000)
        health = timings(_health(app), runs=RUNS, warmup=WARMUP)
        propose = _proposals(app, token, HELPERS)
        propose()
        reads = _mirror_reads(app)
        proposal = timings(propose, runs=RUNS, warmup=WARMUP)
        yield "proposal.health.p50", round(percentile(health, 50), 3), "ms"
        yield "proposal.health.p95", round(percentile(health, 95), 3), "ms"
        yield "proposal.2x2000.p50", round(percentile(proposal, 50), 3), "ms"
        yield "proposal.2x2000.p95", round(percentile(proposal, 95), 3), "ms"
        yield ("proposal.2x2000.vs_health",
               round(percentile(proposal, 95) / percentile(health, 95), 2), "x")
        yield "proposal.2x2000.busy_rows_read", _mirror_reads(app) - reads, "copies"

    with tempfile.TemporaryDirectory(prefix="nextstep-bench-") as folder:
        random.seed(11)
        app, token = _app(folder, (REP, *NINE_HELPERS), 20_000, _outside_shared_hours)
        propose = _proposals(app, token, NINE_HELPERS)
        propose()
        reads = _mirror_reads(app)
        proposal = timings(propose, runs=100, warmup=WARMUP)
        yield "proposal.9x20000.p50", round(percentile(proposal, 50), 3), "ms"
        yield "proposal.9x20000.p95", round(percentile(proposal, 95), 3), "ms"
        yield "proposal.9x20000.busy_rows_read", _mirror_reads(app) - reads, "copies"

    yield from _memory()


def _rss_mb() -> float:
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    import os
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def _memory() -> Iterator[tuple[str, float, str]]:
    """1,000 people's copies read through the mirror from a database holding them."""
    import sqlite3

    from scheduler.availability import Interval
    from scheduler.busy_versions import local_key
    from scheduler.mirror import BusyMirror
    from scheduler.store import Store
    from scheduler.store.migrate import upgrade

    people, each = 1000, 2000
    with tempfile.TemporaryDirectory(prefix="nextstep-bench-") as folder:
        path = f"{folder}/memory.sqlite3"
        upgrade(f"sqlite:///{path}")
        rng = random.Random(3)
        now = datetime.now(UTC).replace(second=0, microsecond=0)
        span = BUSY_DAYS * 24 * 60
        with sqlite3.connect(path) as raw:  # 2 million rows: the driver's bulk path
            for person in range(people):
                rows = []
                for n in range(each):
                    start = now + timedelta(minutes=rng.randrange(0, span, 5))
                    end = start + timedelta(minutes=15)
                    rows.append((f"p{person}@bench.example.com", f"{person}-{n}",
                                 start.strftime("%Y-%m-%d %H:%M:%S.000000"),
                                 end.strftime("%Y-%m-%d %H:%M:%S.000000"), "Busy", "", "{}",
                                 "[]", "{}", "confirmed", 0, 1))
                raw.executemany("INSERT INTO local_events VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                                rows)
        store = Store(f"sqlite:///{path}")
        mirror = BusyMirror(store)
        window = Interval(now, now + timedelta(days=BUSY_DAYS))
        gc.collect()
        before = _rss_mb()
        for offset in range(0, people, 50):
            mirror.busy({local_key(f"p{n}@bench.example.com"): 0
                         for n in range(offset, offset + 50)}, window, now)
        gc.collect()
        grown = _rss_mb() - before
        held = mirror.intervals()
        store.dispose()
    yield "mirror.memory.intervals", held, "intervals"
    yield "mirror.memory.arrays", round(mirror.nbytes() / 2**20, 1), "MB"
    yield "mirror.memory.rss_growth", round(grown, 1), "MB"
