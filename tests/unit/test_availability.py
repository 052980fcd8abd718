"""The availability engine by example: merging, working hours, rules, ranking, storage form."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta

import pytest

from scheduler.availability import (
    Interval,
    Person,
    SlotRules,
    WorkingHours,
    free_slots,
    merge,
    rank_slots,
)
from scheduler.errors import InvalidInput

MONDAY = datetime(2026, 6, 15, tzinfo=UTC)  # no DST change anywhere near
WEEK = Interval(MONDAY, MONDAY + timedelta(days=7))
HALF_HOUR = SlotRules(duration=timedelta(minutes=30), grid=timedelta(minutes=30),
                      notice=timedelta(0))


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """An instant in the test week: `day` days after Monday 00:00 UTC."""
    return MONDAY + timedelta(days=day, hours=hour, minutes=minute)


def iv(day: int, start: tuple[int, int], end: tuple[int, int]) -> Interval:
    return Interval(at(day, *start), at(day, *end))


def utc_office(**overrides: object) -> WorkingHours:
    return WorkingHours.office("UTC", **overrides)  # type: ignore[arg-type]


def starts(slots: list[Interval]) -> list[datetime]:
    return [slot.start for slot in slots]


def monday_slots(*people: Person, rules: SlotRules = HALF_HOUR, **kwargs: object) -> list[Interval]:
    window = Interval(at(0, 0), at(1, 0))
    return list(free_slots(list(people), window=window, rules=rules, now=at(0, 0),
                           **kwargs))  # type: ignore[arg-type]


# --- merge --------------------------------------------------------------------------------


def test_merge_joins_overlapping_and_touching_intervals_and_sorts_them() -> None:
    merged = merge([iv(0, (11, 0), (12, 0)), iv(0, (9, 0), (10, 0)), iv(0, (10, 0), (10, 30)),
                    iv(0, (9, 30), (9, 45)), iv(0, (11, 30), (13, 0))])
    assert merged == [iv(0, (9, 0), (10, 30)), iv(0, (11, 0), (13, 0))]


def test_merge_keeps_gaps_and_of_nothing_is_nothing() -> None:
    apart = [iv(0, (9, 0), (10, 0)), iv(0, (10, 1), (11, 0))]
    assert merge(reversed(apart)) == apart
    assert merge([]) == []


# --- working hours ------------------------------------------------------------------------


def test_office_hours_are_weekdays_nine_to_five_in_the_persons_zone() -> None:
    hours = WorkingHours.office("Asia/Tokyo")  # UTC+9, no DST
    assert hours.intervals(WEEK) == [
        iv(day, (0, 0), (8, 0)) for day in range(5)]  # Tokyo Mon..Fri 09-17 = 00-08 UTC


def test_working_hours_cover_local_dates_at_both_ends_of_the_window() -> None:
    # Kiritimati is UTC+14: its Tuesday 09-17 is Monday 19:00-03:00 UTC.
    hours = WorkingHours("Pacific/Kiritimati", {1: ((time(9), time(17)),)})
    window = Interval(at(0, 20), at(1, 2))
    assert hours.intervals(window) == [Interval(at(0, 20), at(1, 2))]


def test_end_of_midnight_means_the_end_of_the_day() -> None:
    hours = WorkingHours("UTC", {0: ((time(22), time(0)),), 1: ((time(0), time(1)),)})
    assert hours.intervals(WEEK) == [Interval(at(0, 22), at(1, 1))]


def test_override_replaces_the_weekly_rule_for_that_date_only() -> None:
    hours = WorkingHours("UTC", {0: ((time(9), time(17)),), 1: ((time(9), time(17)),)},
                         {date(2026, 6, 15): ((time(13), time(14)), (time(8), time(9)))})
    assert hours.intervals(Interval(at(0, 0), at(2, 0))) == [
        iv(0, (8, 0), (9, 0)), iv(0, (13, 0), (14, 0)), iv(1, (9, 0), (17, 0))]


def test_a_day_off_yields_no_slots_that_day() -> None:
    rep = Person("rep", WorkingHours("UTC", utc_office().weekly, {date(2026, 6, 15): ()}))
    assert monday_slots(rep) == []


def test_overlapping_local_ranges_count_once() -> None:
    hours = WorkingHours("UTC", {0: ((time(9), time(12)), (time(11), time(13)))})
    assert hours.intervals(WEEK) == [iv(0, (9, 0), (13, 0))]


# --- rules ----------------------------------------------------------------------------------


def test_every_slot_of_a_free_day_is_offered_on_the_grid() -> None:
    slots = monday_slots(Person("rep", utc_office()))
    assert starts(slots) == [at(0, 9) + timedelta(minutes=30 * k) for k in range(16)]
    assert all(slot.duration == timedelta(minutes=30) for slot in slots)


def test_slot_keeps_its_buffers_clear_of_busy_time() -> None:
    rep = Person("rep", utc_office(), busy=[iv(0, (10, 0), (11, 0))])
    rules = SlotRules(duration=timedelta(minutes=30), grid=timedelta(minutes=15),
                      buffer_before=timedelta(minutes=15), buffer_after=timedelta(minutes=30),
                      notice=timedelta(0))
    slots = starts(monday_slots(rep, rules=rules, prospect_hours=utc_office(end=time(12))))
    # before the meeting the slot must end 30 min early; after it, start 15 min late
    assert slots == [at(0, 9), at(0, 11, 15), at(0, 11, 30)]


def test_buffers_do_not_apply_to_working_hours_edges() -> None:
    rules = SlotRules(duration=timedelta(minutes=30), buffer_before=timedelta(hours=1),
                      buffer_after=timedelta(hours=1), notice=timedelta(0))
    slots = monday_slots(Person("rep", utc_office()), rules=rules)
    assert slots[0].start == at(0, 9) and slots[-1].end == at(0, 17)


def test_slots_start_no_sooner_than_the_minimum_notice() -> None:
    rules = SlotRules(duration=timedelta(minutes=30), notice=timedelta(hours=2))
    slots = free_slots([Person("rep", utc_office())], window=WEEK, rules=rules,
                       now=at(0, 9, 7))
    assert next(slots).start == at(0, 11, 15)


def test_slot_must_lie_inside_the_search_window() -> None:
    window = Interval(at(0, 10, 10), at(0, 12))
    slots = list(free_slots([Person("rep", utc_office())], window=window, rules=HALF_HOUR,
                            now=at(0, 0)))
    assert starts(slots) == [at(0, 10, 30), at(0, 11), at(0, 11, 30)]


def test_a_hold_counts_as_busy_for_everyone() -> None:
    people = [Person("rep", utc_office(end=time(11))), Person("helper", utc_office())]
    slots = monday_slots(*people, holds=[iv(0, (9, 30), (10, 30))])
    assert starts(slots) == [at(0, 9), at(0, 10, 30)]


def test_slots_fit_everyone_and_the_prospects_daytime() -> None:
    rep = Person("rep", WorkingHours.office("Europe/London"))  # BST: 08-16 UTC
    helper = Person("helper", WorkingHours.office("America/New_York"),  # EDT: 13-21 UTC
                    busy=[iv(0, (13, 0), (14, 0))])
    prospect = WorkingHours.office("America/Chicago", start=time(8), end=time(18))  # 13-23
    slots = monday_slots(rep, helper, prospect_hours=prospect)
    assert starts(slots) == [at(0, 14), at(0, 14, 30), at(0, 15), at(0, 15, 30)]


def test_grid_follows_the_first_persons_wall_clock() -> None:
    rules = SlotRules(duration=timedelta(minutes=60), grid=timedelta(minutes=60),
                      notice=timedelta(0))
    rep = Person("rep", WorkingHours("Asia/Kolkata", {0: ((time(0), time(0)),)}))
    helper = Person("helper", utc_office())
    assert starts(monday_slots(rep, helper, rules=rules))[:2] == [at(0, 9, 30), at(0, 10, 30)]


def test_free_slots_is_lazy_and_reports_bad_rules_at_once() -> None:
    slots = free_slots([Person("rep", utc_office())], window=WEEK, rules=HALF_HOUR,
                       now=at(0, 0))
    assert isinstance(slots, Iterator) and next(slots).start == at(0, 9)
    with pytest.raises(InvalidInput) as error:
        free_slots([Person("rep", utc_office())], window=WEEK, now=at(0, 0),
                   rules=SlotRules(duration=timedelta(0)))
    assert error.value.field == "duration"


# --- ranking -------------------------------------------------------------------------------


def slots_on(*moments: datetime) -> list[Interval]:
    return [Interval(m, m + timedelta(minutes=30)) for m in moments]


def test_ranking_spreads_the_top_three_over_different_days() -> None:
    candidates = slots_on(at(0, 9), at(0, 10), at(0, 11), at(1, 9), at(1, 10), at(3, 15))
    assert starts(rank_slots(candidates)) == [at(0, 9), at(1, 9), at(3, 15)]


def test_ranking_fills_with_the_soonest_when_there_are_fewer_days_than_count() -> None:
    candidates = slots_on(at(0, 9), at(0, 10), at(0, 11), at(1, 9), at(1, 10))
    assert starts(rank_slots(candidates, count=4)) == [at(0, 9), at(0, 10), at(0, 11),
                                                         at(1, 9)]


def test_ranking_counts_days_in_the_prospects_zone() -> None:
    # In UTC these are two days; in Tokyo (UTC+9) 23:00 UTC is already Tuesday morning
    # and 16:00 UTC Tuesday is Wednesday. In UTC, Tuesday's afternoon slot is taken over its
    # 02:00 so that the choice is not two mornings; Monday's 23:00 fills the third place.
    candidates = slots_on(at(0, 10), at(0, 23), at(0, 23, 30), at(1, 2), at(1, 16))
    assert starts(rank_slots(candidates, timezone="UTC")) == [at(0, 10), at(0, 23), at(1, 16)]
    assert starts(rank_slots(candidates, timezone="Asia/Tokyo")) == [at(0, 10), at(0, 23),
                                                                      at(1, 16)]
    assert starts(rank_slots(candidates, count=2, timezone="Asia/Tokyo")) == [at(0, 10),
                                                                              at(0, 23)]


def test_ranking_stops_reading_one_day_past_enough_days() -> None:
    # The fourth day is read in case its other half of the day makes a better mix.
    def candidates() -> Iterator[Interval]:
        yield from slots_on(at(0, 9), at(0, 9, 30), at(1, 9), at(2, 9), at(3, 9), at(4, 9))
        raise AssertionError("read past the fifth day")

    assert len(rank_slots(candidates())) == 3


def test_ranking_without_spread_takes_the_soonest() -> None:
    candidates = slots_on(at(0, 9), at(0, 10), at(1, 9))
    assert starts(rank_slots(candidates, count=2, spread_days=False)) == [at(0, 9), at(0, 10)]
    assert rank_slots([]) == [] and rank_slots(candidates, count=0) == []


def test_a_whole_quarter_proposal_ranks_the_first_free_days() -> None:
    rep = Person("rep", utc_office(), busy=[iv(0, (0, 0), (23, 0))])
    quarter = Interval(MONDAY, MONDAY + timedelta(days=90))
    proposal = rank_slots(free_slots([rep], window=quarter, rules=HALF_HOUR, now=at(0, 0)))
    # Soonest first on different days, with an afternoon among the mornings.
    assert starts(proposal) == [at(1, 9), at(2, 12), at(3, 9)]


# --- storage form -------------------------------------------------------------------------


def test_storage_form_round_trips() -> None:
    hours = WorkingHours("Europe/Berlin", {0: ((time(9), time(12)), (time(13), time(0))),
                                           4: ((time(8, 30), time(12, 0, 30)),)},
                         {date(2026, 12, 24): (), date(2026, 12, 31): ((time(9), time(12)),)})
    data = hours.to_dict()
    assert data == {"timezone": "Europe/Berlin",
                    "weekly": {"0": [["09:00", "12:00"], ["13:00", "24:00"]],
                               "4": [["08:30", "12:00:30"]]},
                    "overrides": {"2026-12-24": [], "2026-12-31": [["09:00", "12:00"]]}}
    assert WorkingHours.from_dict(data) == hours


@pytest.mark.parametrize("end", ["24:00", "00:00"])
def test_storage_form_reads_midnight_as_the_end_of_the_day(end: str) -> None:
    hours = WorkingHours.from_dict({"timezone": "UTC", "weekly": {"0": [["00:00", end]]}})
    assert hours.intervals(WEEK) == [Interval(at(0, 0), at(1, 0))]


@pytest.mark.parametrize(("data", "field"), [
    ({"timezone": "Mars/Olympus", "weekly": {}}, "working_hours.timezone"),
    ({"timezone": 3, "weekly": {}}, "working_hours.timezone"),
    ({"weekly": {}}, "working_hours.timezone"),
    ({"timezone": "UTC", "weekly": {"0": [["9:00", "17:00"]]}}, "working_hours.weekly.0"),
    ({"timezone": "UTC", "weekly": {"1": [["09:00", "25:00"]]}}, "working_hours.weekly.1"),
    ({"timezone": "UTC", "weekly": {"2": [["17:00", "09:00"]]}}, "working_hours.weekly.2"),
    ({"timezone": "UTC", "weekly": {"3": [["09:00", "09:00"]]}}, "working_hours.weekly.3"),
    ({"timezone": "UTC", "weekly": {"4": [["24:00", "24:00"]]}}, "working_hours.weekly.4"),
    ({"timezone": "UTC", "weekly": {"5": ["09:00-17:00"]}}, "working_hours.weekly.5"),
    ({"timezone": "UTC", "weekly": {"6": "09:00"}}, "working_hours.weekly.6"),
    ({"timezone": "UTC", "weekly": {"7": []}}, "working_hours.weekly.7"),
    ({"timezone": "UTC", "weekly": []}, "working_hours.weekly"),
    ({"timezone": "UTC", "weekly": {}, "overrides": {"2026-02-30": []}},
     "working_hours.overrides.2026-02-30"),
    ({"timezone": "UTC", "weekly": {}, "overrides": {"20261224": []}},
     "working_hours.overrides.20261224"),
    ({"timezone": "UTC", "weekly": {}, "overrides": {"2026-12-24": [["10:00"]]}},
     "working_hours.overrides.2026-12-24"),
    ({"timezone": "UTC", "weekly": {}, "days": {}}, "working_hours.days"),
    (["UTC"], "working_hours"),
])
def test_storage_form_errors_name_the_offending_key(data: object, field: str) -> None:
    with pytest.raises(InvalidInput) as error:
        WorkingHours.from_dict(data)  # type: ignore[arg-type]
    assert error.value.field == field


def test_unknown_zone_is_bad_input_naming_the_field() -> None:
    with pytest.raises(InvalidInput) as error:
        WorkingHours.office("Europe/Atlantis")
    assert error.value.field == "timezone"
    with pytest.raises(InvalidInput) as error:
        rank_slots(slots_on(at(0, 9)), timezone="Nowhere/Land")
    assert error.value.field == "timezone"
