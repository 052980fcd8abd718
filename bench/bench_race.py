"""200 concurrent bookings of one slot over HTTP: gunicorn on the real PostgreSQL.

What it measures, against DESIGN.md's target (exactly 1 booked, 199 x 409, 0 x 5xx, 1
calendar event): ATTEMPTS threads, each with its own connection and idempotency key, wait
at a barrier and then POST /api/v1/followups for the same half hour (rep + 2 helpers, 2-step
plan). Afterwards the outbox is drained and the rep's built-in calendar is counted for
events at that time. The server is the same as bench_http's (2 gthread workers x 4 threads),
on the same seeded busy data. Skips with one line when PostgreSQL is unreachable.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from bench.bench_http import (
    BUSY_DAYS,
    HELPERS,
    PROSPECTS,
    REP,
    postgres_reachable,
    served,
)

ATTEMPTS = 200
DRAIN_SECONDS = 30.0


def booking(start: datetime, key: str) -> bytes:
    due = (start - timedelta(days=1)).date().isoformat()
    return json.dumps({
        "prospect": PROSPECTS[0], "helpers": [email for email, _n, _z in HELPERS],
        "duration_minutes": 30, "start": start.isoformat().replace("+00:00", "Z"),
        "idempotency_key": key, "step_type": "proposal_review",
        "plan": {"steps": [{"who": "rep", "what": "send the proposal", "type": "send_proposal",
                            "due": due}]}}).encode()


def race(port: int, token: str, start: datetime) -> Counter[str]:
    """Every thread connects first, then all send at once."""
    statuses: Counter[str] = Counter()
    lock = threading.Lock()
    barrier = threading.Barrier(ATTEMPTS)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def attempt(number: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        body = booking(start, f"race-{uuid.uuid4().hex}-{number}")
        try:
            connection.connect()
            barrier.wait(timeout=60)
            connection.request("POST", "/api/v1/followups", body=body, headers=headers)
            outcome = str(connection.getresponse().status)
        except OSError as exc:
            outcome = f"error:{type(exc).__name__}"
        finally:
            connection.close()
        with lock:
            statuses[outcome] += 1

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(ATTEMPTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


def calendar_events(url: str, start: datetime) -> int:
    """Events at `start` in the rep's built-in calendar, once the outbox has drained."""
    from sqlalchemy import func, select

    from scheduler.store import Store
    from scheduler.store.models import LocalEvent, OutboxMessage

    store = Store(url)
    try:
        deadline = time.monotonic() + DRAIN_SECONDS
        while time.monotonic() < deadline:
            with store.reading() as session:
                pending = session.scalar(select(func.count()).select_from(OutboxMessage)
                                         .where(OutboxMessage.done_at.is_(None)))
            if not pending:
                break
            time.sleep(0.2)
        with store.reading() as session:
            return session.scalar(select(func.count()).select_from(LocalEvent).where(
                LocalEvent.calendar_id == REP[0], LocalEvent.start == start,
                LocalEvent.status != "cancelled")) or 0
    finally:
        store.dispose()


def run() -> Iterator[tuple[str, float, str]]:
    if not postgres_reachable():
        print("race: skipped, PostgreSQL is not reachable at 127.0.0.1:5432", flush=True)
        return
    with served("nextstep-race-") as (url, port, token, _server):
        # Past the seeded busy data, on the hour: free for all three.
        start = (datetime.now(UTC) + timedelta(days=BUSY_DAYS + 5)).replace(
            hour=15, minute=0, second=0, microsecond=0)
        started = time.monotonic()
        statuses = race(port, token, start)
        elapsed = time.monotonic() - started
        events = calendar_events(url, start)
    yield "race.attempts", ATTEMPTS, "requests"
    yield "race.booked_201", statuses.get("201", 0), "responses"
    yield "race.slot_taken_409", statuses.get("409", 0), "responses"
    yield "race.5xx", sum(n for s, n in statuses.items() if s.startswith("5")), "responses"
    yield "race.other", sum(n for s, n in statuses.items()
                            if s not in ("201", "409") and not s.startswith("5")), "responses"
    yield "race.calendar_events", events, "events"
    yield "race.wall_time", round(elapsed, 2), "s"
