"""Availability engine (scheduler/availability.py), in-process, from data already in memory.

What it measures, against DESIGN.md's targets:
- engine.proposal.p50/p95: `rank_slots(free_slots(...), count=3)` for a rep and 2 helpers
  (New York, Berlin, London: 2 shared hours a day), 2,000 busy intervals each, a 90-day
  window, 30-min slots on the 15-min grid, 08:00-18:00 prospect daytime in Sao Paulo.
  Target p95 <= 5 ms.
- engine.all_slots.p50/p95: `list(free_slots(...))`, 3 people x 2,000 busy, 90 days,
  Mon-Fri 09:00-17:00, 30-min slots; all three in New York so the whole 8-hour day is
  shared (the most slots, the most work). Target <= 20 ms.
- engine.scale_10x1000 / engine.scale_10x10000: all free slots for 10 people with 1,000 and
  10,000 busy intervals each over 90 days; the ratio of the two should stay near 10-13
  (n log n, not n^2). Target <= 100 ms at 10 x 10,000. The ten work in US zones, so
  they share hours and every busy interval goes through the sort, merge and sweep.

Inputs are fixed (seeded random, fixed `now`): numbers depend only on code and machine.
"""

from __future__ import annotations

import random
import statistics
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta

from bench.timing import percentile, timings
from scheduler.availability import (
    Interval,
    Person,
    SlotRules,
    WorkingHours,
    free_slots,
    rank_slots,
)
from scheduler.clock import FixedClock

NOW = FixedClock(datetime(2026, 2, 2, 14, 7, 31, tzinfo=UTC)).now()
WINDOW = Interval(NOW, NOW + timedelta(days=90))
RULES = SlotRules(duration=timedelta(minutes=30))
US_ZONES = ["America/New_York", "America/Chicago", "America/Toronto", "America/Detroit"]


def busy(rng: random.Random, count: int) -> list[Interval]:
    """`count` events of 10-30 min on 5-min marks, anywhere in the window, in no order
    (providers usually sort; unsorted input is the engine's worst case)."""
    span_minutes = int(WINDOW.duration.total_seconds() // 60)
    starts = [rng.randrange(0, span_minutes, 5) for _ in range(count)]
    return [Interval(WINDOW.start + timedelta(minutes=m),
                     WINDOW.start + timedelta(minutes=m + rng.choice((10, 15, 30))))
            for m in starts]


def people(count: int, busy_each: int, zones: list[str],
           seed: int = 7) -> list[Person]:
    rng = random.Random(seed)
    return [Person(f"p{i}", WorkingHours.office(zones[i % len(zones)]), busy(rng, busy_each))
            for i in range(count)]


def run() -> Iterator[tuple[str, float, str]]:
    trio = people(3, 2000, ["America/New_York", "Europe/Berlin", "Europe/London"])
    prospect = WorkingHours.office("America/Sao_Paulo", start=time(8), end=time(18))

    def proposal() -> list[Interval]:
        return rank_slots(free_slots(trio, window=WINDOW, rules=RULES, now=NOW,
                                     prospect_hours=prospect),
                          count=3, timezone="America/Sao_Paulo")

    assert len(proposal()) == 3
    ms = timings(proposal, runs=200)
    yield "engine.proposal.p50", round(percentile(ms, 50), 3), "ms"
    yield "engine.proposal.p95", round(percentile(ms, 95), 3), "ms"

    office_trio = people(3, 2000, ["America/New_York"])

    def all_slots() -> list[Interval]:
        return list(free_slots(office_trio, window=WINDOW, rules=RULES, now=NOW))

    yield "engine.all_slots.count", len(all_slots()), "slots"
    ms = timings(all_slots, runs=100)
    yield "engine.all_slots.p50", round(percentile(ms, 50), 3), "ms"
    yield "engine.all_slots.p95", round(percentile(ms, 95), 3), "ms"

    medians = {}
    for busy_each in (1000, 10000):
        team = people(10, busy_each, US_ZONES)
        ms = timings(lambda team=team: list(free_slots(team, window=WINDOW, rules=RULES,
                                                        now=NOW)),
                     runs=20, warmup=2)
        medians[busy_each] = statistics.median(ms)
        yield f"engine.scale_10x{busy_each}.p50", round(medians[busy_each], 3), "ms"
    yield "engine.scale.ratio_10x", round(medians[10000] / medians[1000], 2), "x"
