"""Google busy time through the real client libraries, with the provider 80 ms away.

What it measures: wall time of `GoogleCalendar.busy` for a rep and 2 helpers over a 21-day
window, against the Google emulator (web/sandbox/google.py) with 80 ms of latency added to
every request; each calendar holds 40 busy events. The adapter is built once, as a sync job or
a proposal request would hold it; the token is fresh, so no refresh is in the timing.
- google_busy_3_people_80ms_latency: median of 20 runs after 3 warm-up runs, in ms.
- google_busy_3_people_80ms_latency.ratio: that median / 80 ms.
- google_busy_3_people_80ms_latency.requests: freeBusy requests per busy call (must be 1).
Target (DESIGN.md, proposal with provider latency): <= 1.3 x one round trip, i.e. ratio
<= 1.3 (104 ms): one batched call, no extra round trips.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from scheduler.availability import Interval
from tests.contract.harness_google import HELPERS, REP, running_emulator

LATENCY = 0.080
START = datetime(2030, 1, 7, tzinfo=UTC)
WINDOW = Interval(START, START + timedelta(days=21))
NAME = "google_busy_3_people_80ms_latency"


def run() -> Iterator[tuple[str, float, str]]:
    people = [REP, *HELPERS]
    with running_emulator(latency=LATENCY) as google:
        for index, email in enumerate(people):
            for n in range(40):
                start = START + timedelta(days=n % 21, hours=9 + (n + index) % 8)
                google.state.add_busy(email, start, start + timedelta(minutes=30))
        provider = google.provider()
        for _ in range(3):
            provider.busy(people, WINDOW)
        before = google.state.request_count()
        timings = []
        for _ in range(20):
            started = time.perf_counter()
            result = provider.busy(people, WINDOW)
            timings.append((time.perf_counter() - started) * 1000)
        requests_per_call = (google.state.request_count() - before) / len(timings)
    assert not result.errors and all(result.busy[email] for email in people)
    median = statistics.median(timings)
    yield NAME, round(median, 1), "ms"
    yield f"{NAME}.ratio", round(median / (LATENCY * 1000), 2), "x"
    yield f"{NAME}.requests", requests_per_call, "requests"
