"""Three slots a prospect can choose from: soonest first, different days, and a mix of
morning and afternoon when that costs no more than a day."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from scheduler.availability import Interval, rank_slots

MONDAY = datetime(2026, 12, 7, tzinfo=UTC)


def _slots(*day_hours: tuple[int, float]) -> list[Interval]:
    starts = [MONDAY + timedelta(days=d, hours=h) for d, h in day_hours]
    return [Interval(s, s + timedelta(minutes=30)) for s in sorted(starts)]


def _labels(ranked: list[Interval]) -> list[str]:
    return [f"{s.start:%a %H:%M}" for s in ranked]


def test_the_same_hour_every_day_becomes_a_morning_and_afternoon_mix():
    slots = _slots(*((d, h) for d in range(4) for h in (10, 14, 15.5)))

    assert _labels(rank_slots(iter(slots))) == ["Mon 10:00", "Tue 14:00", "Wed 10:00"]


def test_a_day_is_spent_once_for_the_other_half_of_the_day():
    # Afternoons only on Monday and Tuesday; Wednesday has a morning.
    slots = _slots((0, 14), (1, 14), (2, 9), (2, 14), (3, 14))

    assert _labels(rank_slots(iter(slots))) == ["Mon 14:00", "Wed 09:00", "Thu 14:00"]


def test_no_mix_is_forced_when_it_would_cost_more_than_a_day():
    slots = _slots((0, 14), (1, 14), (2, 14), (3, 14), (4, 9))

    assert _labels(rank_slots(iter(slots))) == ["Mon 14:00", "Tue 14:00", "Wed 14:00"]
