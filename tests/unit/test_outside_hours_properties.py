"""Properties of the outside-hours fallback, against the same zoneinfo-per-five-minutes
reference as the engine's own properties: a slot keeps one side's hours whole, stretches the
other side's by at most 3 h, never covers busy time or a hold, DST changes included."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scheduler.availability import Interval, Person, WorkingHours
from scheduler.outside_hours import REACH, hours_meet, outside_hours_slots
from tests.unit.test_availability_properties import CELL, Case, Reference, cases

FALLBACK = settings(max_examples=400, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
WITH_PROSPECT = cases().filter(lambda case: case.prospect_hours is not None)


def _cells(slot: Interval) -> list[datetime]:
    return [slot.start + k * CELL for k in range(slot.duration // CELL)]


def _run(case: Case, count: int):
    return outside_hours_slots(case.people, window=case.window, rules=case.rules, now=case.now,
                               prospect_hours=case.prospect_hours, holds=case.holds,
                               count=count)


@FALLBACK
@given(WITH_PROSPECT, st.integers(1, 4))
def test_a_fallback_slot_stretches_one_side_by_at_most_three_hours(case: Case,
                                                                   count: int) -> None:
    reference = Reference(case)
    team_size = len(case.people)

    def team(cell: datetime) -> bool:
        return all(reference.works(i, cell) for i in range(team_size))

    def prospect(cell: datetime) -> bool:
        return reference.works(team_size, cell)

    found = _run(case, count)
    zone = ZoneInfo(case.prospect_hours.timezone)
    days: list[date] = [option.slot.start.astimezone(zone).date() for option in found]
    assert len(found) <= count and len(set(days)) == len(days)
    assert all(a.slot.start < b.slot.start for a, b in pairwise(found))
    reach = REACH // CELL
    for option in found:
        slot, cells_ = option.slot, _cells(option.slot)
        assert slot.duration == case.rules.duration
        assert reference.in_time(slot), "outside the window or too soon"
        assert reference.on_grid(slot.start), "off the first person's local grid"
        assert reference.clear_of_busy(slot), "over busy time, its buffers or a hold"
        kept, stretched = (prospect, team) if option.side == "rep" else (team, prospect)
        assert all(kept(cell) for cell in cells_), "outside the side that is kept"
        assert not all(stretched(cell) for cell in cells_), "not outside anyone's hours"
        for cell in cells_:
            assert any(stretched(cell + k * CELL) for k in range(-reach, reach + 1)), \
                "more than 3 h beyond the stretched side's hours"
        assert timedelta(0) < option.beyond <= REACH + case.rules.duration


@FALLBACK
@given(WITH_PROSPECT)
def test_hours_meet_exactly_when_some_cell_has_everyone_working(case: Case) -> None:
    reference = Reference(case)
    start = max(case.window.start, case.now + case.rules.notice)
    cells_ = [start + k * CELL for k in range(max((case.window.end - start) // CELL, 0))]
    everyone = any(all(reference.works(i, cell) for i in range(len(case.people) + 1))
                   for cell in cells_)

    assert hours_meet(case.people, window=case.window, rules=case.rules, now=case.now,
                      prospect_hours=case.prospect_hours) == everyone


def test_new_york_and_tokyo_meet_only_outside_hours_across_the_us_dst_change():
    from datetime import UTC

    from scheduler.availability import SlotRules

    rep = Person("rep", WorkingHours.office("America/New_York"))
    tokyo = WorkingHours.office("Asia/Tokyo", start=datetime(1, 1, 1, 8).time(),
                                end=datetime(1, 1, 1, 18).time())
    window = Interval(datetime(2026, 10, 26, tzinfo=UTC), datetime(2026, 11, 7, tzinfo=UTC))
    rules = SlotRules(duration=timedelta(minutes=30))

    found = outside_hours_slots([rep], window=window, rules=rules, now=window.start,
                                prospect_hours=tokyo, count=10)

    assert not hours_meet([rep], window=window, rules=rules, now=window.start,
                          prospect_hours=tokyo)
    # Before 1 Nov New York is UTC-4 (17:00 is Tokyo 06:00), after it UTC-5 (Tokyo 07:00):
    # a 30-minute slot stretches one side by the gap plus its length: 2.5 h, then 1.5 h.
    for option in found:
        ny = option.slot.start.astimezone(ZoneInfo("America/New_York"))
        expected = timedelta(hours=2.5) if ny.date() < date(2026, 11, 1) else timedelta(hours=1.5)
        assert option.beyond == expected, (ny, option)
    assert found
