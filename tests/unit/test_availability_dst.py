"""Daylight-saving changes, pinned to real 2026 dates.

New York: 2026-03-08 02:00 EST -> 03:00 EDT (07:00Z); 2026-11-01 02:00 EDT -> 01:00 EST (06:00Z).
Berlin: 2026-03-29 02:00 CET -> 03:00 CEST (01:00Z); 2026-10-25 03:00 CEST -> 02:00 CET (01:00Z).
All four are Sundays (weekday 6).
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from scheduler.availability import Interval, Person, SlotRules, WorkingHours, free_slots

SUNDAY = 6
NY, BERLIN = "America/New_York", "Europe/Berlin"


def z(*args: int) -> datetime:
    """A UTC instant: z(2026, 3, 8, 7) is 2026-03-08T07:00Z."""
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def around(day: datetime) -> Interval:
    return Interval(day - timedelta(days=1), day + timedelta(days=2))


def sunday(zone: str, start: time, end: time) -> WorkingHours:
    return WorkingHours(zone, {SUNDAY: ((start, end),)})


def slots(hours: WorkingHours, window: Interval, minutes: int, grid: int = 30) -> list[Interval]:
    rules = SlotRules(duration=timedelta(minutes=minutes), grid=timedelta(minutes=grid),
                      notice=timedelta(0))
    return list(free_slots([Person("rep", hours)], window=window, rules=rules,
                           now=window.start))


def local_clock(moments: list[datetime], zone: str) -> list[str]:
    return [m.astimezone(ZoneInfo(zone)).strftime("%H:%M%z") for m in moments]


CHANGE_DAYS = [  # zone, local date (UTC midnight), local midnight in UTC, next local midnight
    (NY, z(2026, 3, 8), z(2026, 3, 8, 5), z(2026, 3, 9, 4)),
    (NY, z(2026, 11, 1), z(2026, 11, 1, 4), z(2026, 11, 2, 5)),
    (BERLIN, z(2026, 3, 29), z(2026, 3, 28, 23), z(2026, 3, 29, 22)),
    (BERLIN, z(2026, 10, 25), z(2026, 10, 24, 22), z(2026, 10, 25, 23)),
]


@pytest.mark.parametrize(("zone", "day", "midnight", "next_midnight"), CHANGE_DAYS)
def test_a_whole_change_day_is_23_or_25_real_hours(zone: str, day: datetime,
                                                   midnight: datetime,
                                                   next_midnight: datetime) -> None:
    hours = sunday(zone, time(0), time(0))
    assert hours.intervals(around(day)) == [Interval(midnight, next_midnight)]


@pytest.mark.parametrize(("zone", "day", "midnight", "next_midnight"), CHANGE_DAYS)
def test_half_hour_slots_on_a_change_day_are_evenly_spaced_in_real_time(
        zone: str, day: datetime, midnight: datetime, next_midnight: datetime) -> None:
    found = slots(sunday(zone, time(0), time(0)), around(day), minutes=30)
    real_hours = (next_midnight - midnight) // timedelta(hours=1)
    assert [s.start for s in found] == [midnight + timedelta(minutes=30 * k)
                                        for k in range(2 * real_hours)]
    assert all(s.duration == timedelta(minutes=30) for s in found)


@pytest.mark.parametrize(("zone", "day"), [(NY, z(2026, 3, 8)), (BERLIN, z(2026, 3, 29))])
def test_no_slot_starts_at_a_local_time_that_does_not_exist(zone: str, day: datetime) -> None:
    found = slots(sunday(zone, time(0), time(0)), around(day), minutes=15, grid=15)
    assert not any(clock.startswith("02:") for clock in local_clock([s.start for s in found],
                                                                    zone))


@pytest.mark.parametrize(("zone", "day", "real_range"), [
    (NY, z(2026, 3, 8), Interval(z(2026, 3, 8, 6), z(2026, 3, 8, 7))),
    (NY, z(2026, 11, 1), Interval(z(2026, 11, 1, 5), z(2026, 11, 1, 8))),
    (BERLIN, z(2026, 3, 29), Interval(z(2026, 3, 29, 0), z(2026, 3, 29, 1))),
    (BERLIN, z(2026, 10, 25), Interval(z(2026, 10, 24, 23), z(2026, 10, 25, 2))),
])
def test_one_to_three_local_is_one_real_hour_in_spring_and_three_in_autumn(
        zone: str, day: datetime, real_range: Interval) -> None:
    assert sunday(zone, time(1), time(3)).intervals(around(day)) == [real_range]


def test_lord_howes_half_hour_change_stretches_one_to_three_to_two_and_a_half_hours() -> None:
    # 2026-04-05 02:00 +11:00 -> 01:30 +10:30 on Lord Howe Island.
    hours = sunday("Australia/Lord_Howe", time(1), time(3))
    assert hours.intervals(around(z(2026, 4, 5))) == [Interval(z(2026, 4, 4, 14),
                                                               z(2026, 4, 4, 16, 30))]


@pytest.mark.parametrize(("zone", "before", "after"), [
    (NY, [Interval(z(2026, 3, 6, 14), z(2026, 3, 6, 22))],
     [Interval(z(2026, 3, 9, 13), z(2026, 3, 9, 21))]),
    (NY, [Interval(z(2026, 10, 30, 13), z(2026, 10, 30, 21))],
     [Interval(z(2026, 11, 2, 14), z(2026, 11, 2, 22))]),
    (BERLIN, [Interval(z(2026, 3, 27, 8), z(2026, 3, 27, 16))],
     [Interval(z(2026, 3, 30, 7), z(2026, 3, 30, 15))]),
    (BERLIN, [Interval(z(2026, 10, 23, 7), z(2026, 10, 23, 15))],
     [Interval(z(2026, 10, 26, 8), z(2026, 10, 26, 16))]),
])
def test_office_hours_map_to_the_right_utc_either_side_of_the_change(
        zone: str, before: list[Interval], after: list[Interval]) -> None:
    friday, monday = before[0].start, after[0].start
    window = Interval(friday.replace(hour=0), monday.replace(hour=0) + timedelta(days=1))
    assert WorkingHours.office(zone).intervals(window) == before + after


@pytest.mark.parametrize(("day", "starts", "clock"), [
    (z(2026, 3, 8), [z(2026, 3, 8, 6), z(2026, 3, 8, 6, 30), z(2026, 3, 8, 7),
                     z(2026, 3, 8, 7, 30)],
     ["01:00-0500", "01:30-0500", "03:00-0400", "03:30-0400"]),
    (z(2026, 11, 1), [z(2026, 11, 1, 5) + timedelta(minutes=30 * k) for k in range(8)],
     ["01:00-0400", "01:30-0400", "01:00-0500", "01:30-0500", "02:00-0500", "02:30-0500",
      "03:00-0500", "03:30-0500"]),
])
def test_half_hour_slots_from_one_to_four_sit_at_the_right_utc_instants(
        day: datetime, starts: list[datetime], clock: list[str]) -> None:
    found = [s.start for s in slots(sunday(NY, time(1), time(4)), around(day), minutes=30)]
    assert found == starts
    assert local_clock(found, NY) == clock


def test_a_slot_across_the_change_lasts_exactly_its_duration_in_real_time() -> None:
    found = slots(sunday(NY, time(0), time(0)), around(z(2026, 3, 8)), minutes=120, grid=60)
    assert Interval(z(2026, 3, 8, 6), z(2026, 3, 8, 8)) in found  # 01:00 EST -> 04:00 EDT
    assert {s.duration for s in found} == {timedelta(hours=2)}
    assert local_clock([s.start for s in found], NY)[:4] == [
        "00:00-0500", "01:00-0500", "03:00-0400", "04:00-0400"]


def test_the_grid_stays_on_the_wall_clock_across_the_change() -> None:
    window = Interval(z(2026, 3, 6), z(2026, 3, 10))
    found = slots(WorkingHours.office(NY), window, minutes=60, grid=60)
    by_day: dict[str, list[str]] = {}
    for slot, clock in zip(found, local_clock([s.start for s in found], NY), strict=True):
        by_day.setdefault(slot.start.astimezone(ZoneInfo(NY)).date().isoformat(), []).append(
            clock[:5])
    hours = [f"{h:02d}:00" for h in range(9, 17)]
    assert by_day == {"2026-03-06": hours, "2026-03-09": hours}


def test_new_york_and_berlin_share_more_hours_while_only_new_york_has_changed() -> None:
    people = [Person("rep", WorkingHours.office(NY)), Person("helper",
                                                             WorkingHours.office(BERLIN))]
    rules = SlotRules(duration=timedelta(hours=1), grid=timedelta(hours=1), notice=timedelta(0))

    def shared(day: datetime) -> list[datetime]:
        window = Interval(day, day + timedelta(days=1))
        return [s.start for s in free_slots(people, window=window, rules=rules, now=day)]

    assert shared(z(2026, 3, 6)) == [z(2026, 3, 6, 14), z(2026, 3, 6, 15)]  # EST, CET
    assert shared(z(2026, 3, 9)) == [z(2026, 3, 9, h) for h in (13, 14, 15)]  # EDT, CET
    assert shared(z(2026, 3, 30)) == [z(2026, 3, 30, 13), z(2026, 3, 30, 14)]  # EDT, CEST
