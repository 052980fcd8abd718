"""Properties of the availability engine, checked against an independent reference.

The reference never touches the engine's arithmetic: it asks zoneinfo for the local wall
clock of each five-minute UTC cell. Every generated boundary (busy, window, now, working
ranges, grid, duration) sits on five-minute marks and every zone's offset is a multiple of
15 minutes, DST changes included, so what holds at the start of a cell holds for all of it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scheduler.availability import (
    Interval,
    Person,
    SlotRules,
    WorkingHours,
    free_slots,
    rank_slots,
)

ZONES = ["America/New_York", "Europe/Berlin", "Asia/Kolkata", "Australia/Lord_Howe",
         "Pacific/Chatham", "Asia/Tokyo", "UTC"]
CHANGE_DAYS = [datetime(2026, 3, 8, tzinfo=UTC),    # New York springs forward
               datetime(2026, 3, 29, tzinfo=UTC),   # Berlin springs forward
               datetime(2026, 4, 5, tzinfo=UTC),    # Lord Howe and Chatham fall back
               datetime(2026, 9, 27, tzinfo=UTC),   # Chatham springs forward
               datetime(2026, 10, 4, tzinfo=UTC),   # Lord Howe springs forward (30 min)
               datetime(2026, 10, 25, tzinfo=UTC),  # Berlin falls back
               datetime(2026, 11, 1, tzinfo=UTC)]   # New York falls back
CELL = timedelta(minutes=5)
PROPERTY = settings(max_examples=1000, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


def cells(count_min: int, count_max: int) -> st.SearchStrategy[timedelta]:
    return st.integers(count_min, count_max).map(lambda n: n * CELL)


def clock(five_minutes: int) -> time:
    return time(0) if five_minutes == 288 else time(five_minutes // 12, five_minutes % 12 * 5)


@st.composite
def local_ranges(draw: st.DrawFn) -> tuple[tuple[time, time], ...]:
    """Mostly long days (so people share time and slots exist), else anything, or a day off."""
    kind = draw(st.sampled_from(["long", "long", "long", "any", "off"]))
    if kind == "long":
        return ((clock(draw(st.integers(0, 120))), clock(draw(st.integers(168, 288)))),)
    ranges = []
    for _ in range(draw(st.integers(0, 2)) if kind == "any" else 0):
        start = draw(st.integers(0, 287))
        ranges.append((clock(start), clock(draw(st.integers(start + 1, 288)))))
    return tuple(ranges)


@st.composite
def working_hours(draw: st.DrawFn, near: date, zones: Sequence[str] = ZONES) -> WorkingHours:
    weekly = {day: draw(local_ranges()) for day in range(7)}
    dates = st.integers(-1, 4).map(lambda d: near + timedelta(days=d))
    overrides = draw(st.dictionaries(dates, local_ranges(), max_size=2))
    return WorkingHours(draw(st.sampled_from(zones)), weekly, overrides)


def intervals_near(window: Interval, max_size: int) -> st.SearchStrategy[list[Interval]]:
    span = window.duration // CELL
    starts = st.integers(-36, span + 36).map(lambda n: window.start + n * CELL)
    return st.lists(st.builds(lambda s, d: Interval(s, s + d), starts, cells(1, 24)),
                    max_size=max_size)


@dataclass(frozen=True)
class Case:
    people: list[Person]
    window: Interval
    rules: SlotRules
    now: datetime
    prospect_hours: WorkingHours | None
    holds: list[Interval]

    def run(self) -> list[Interval]:
        return list(free_slots(self.people, window=self.window, rules=self.rules, now=self.now,
                               prospect_hours=self.prospect_hours, holds=self.holds))


@st.composite
def cases(draw: st.DrawFn) -> Case:
    start = draw(st.sampled_from(CHANGE_DAYS)) + draw(cells(-36 * 12, 24 * 12))
    window = Interval(start, start + draw(cells(48, 60 * 12)))
    near = (start - timedelta(days=1)).date()
    zones = draw(st.sampled_from([ZONES, *([zone] for zone in ZONES)]))  # often one zone
    people = [Person(f"p{i}", draw(working_hours(near, zones)), draw(intervals_near(window, 4)))
              for i in range(draw(st.integers(1, 3)))]
    rules = SlotRules(duration=draw(cells(1, 36)),
                      grid=timedelta(minutes=draw(st.sampled_from([5, 10, 15, 20, 30, 45, 60,
                                                                   90]))),
                      buffer_before=draw(cells(0, 6)), buffer_after=draw(cells(0, 6)),
                      notice=draw(st.sampled_from([0, 15, 30, 240])) * timedelta(minutes=1))
    return Case(people=people, window=window, rules=rules,
                now=window.start + draw(cells(-24 * 12, 4 * 12)),
                prospect_hours=draw(st.none() | working_hours(near, zones)),
                holds=draw(intervals_near(window, 3)))


class Reference:
    """Answers each constraint from zoneinfo's wall clock, one five-minute cell at a time."""

    def __init__(self, case: Case) -> None:
        self.case = case
        self.hours = [p.hours for p in case.people]
        if case.prospect_hours is not None:
            self.hours.append(case.prospect_hours)
        self.blocked = [*case.holds, *(b for p in case.people for b in p.busy)]
        self._working: dict[tuple[int, datetime], bool] = {}

    def works(self, index: int, cell: datetime) -> bool:
        key = (index, cell)
        if key not in self._working:
            self._working[key] = in_local_ranges(self.hours[index], cell)
        return self._working[key]

    def everyone_works(self, slot: Interval) -> bool:
        cells_ = [slot.start + k * CELL for k in range(slot.duration // CELL)]
        return all(self.works(i, c) for i in range(len(self.hours)) for c in cells_)

    def clear_of_busy(self, slot: Interval) -> bool:
        rules = self.case.rules
        padded = Interval(slot.start - rules.buffer_before, slot.end + rules.buffer_after)
        return not any(padded.overlaps(b) for b in self.blocked)

    def on_grid(self, start: datetime) -> bool:
        local = start.astimezone(ZoneInfo(self.case.people[0].hours.timezone))
        grid_minutes = self.case.rules.grid // timedelta(minutes=1)
        return (local.second == local.microsecond == 0
                and (local.hour * 60 + local.minute) % grid_minutes == 0)

    def in_time(self, slot: Interval) -> bool:
        case = self.case
        return (slot.start >= case.now + case.rules.notice
                and case.window.start <= slot.start and slot.end <= case.window.end)

    def fits(self, slot: Interval) -> bool:
        return (self.in_time(slot) and self.on_grid(slot.start) and self.clear_of_busy(slot)
                and self.everyone_works(slot))

    def all_slots(self) -> list[Interval]:
        """Brute force: try every five-minute mark of the window."""
        case, found = self.case, []
        moment = case.window.start
        while moment + case.rules.duration <= case.window.end:
            if self.fits(Interval(moment, moment + case.rules.duration)):
                found.append(Interval(moment, moment + case.rules.duration))
            moment += CELL
        return found


def in_local_ranges(hours: WorkingHours, moment: datetime) -> bool:
    """Is the wall-clock time of `moment` in its zone inside that local date's ranges?"""
    local = moment.astimezone(ZoneInfo(hours.timezone))
    day = local.date()
    ranges = hours.overrides.get(day, hours.weekly.get(day.weekday(), ()))
    minute = local.hour * 60 + local.minute
    return any(start.hour * 60 + start.minute <= minute < (end.hour * 60 + end.minute or 1440)
               for start, end in ranges)


@PROPERTY
@given(cases())
def test_every_slot_keeps_every_rule(case: Case) -> None:
    reference = Reference(case)
    found = case.run()
    assert all(a.start < b.start for a, b in pairwise(found))
    for slot in found:
        assert slot.duration == case.rules.duration
        assert slot.start.tzinfo is not None
        assert reference.in_time(slot), "outside the window or too soon"
        assert reference.on_grid(slot.start), "off the first person's local grid"
        assert reference.clear_of_busy(slot), "overlaps busy time, its buffers or a hold"
        assert reference.everyone_works(slot), "outside someone's hours or the prospect's"


@PROPERTY
@given(cases())
def test_the_engine_finds_exactly_the_slots_brute_force_finds(case: Case) -> None:
    assert case.run() == Reference(case).all_slots()


@PROPERTY
@given(st.sampled_from(CHANGE_DAYS) | st.datetimes(min_value=datetime(2026, 1, 1),
                                                   max_value=datetime(2026, 12, 31),
                                                   timezones=st.just(UTC)),
       st.integers(1, 4 * 24 * 12), st.data())
def test_working_intervals_are_the_local_rules_read_in_utc(start: datetime, cells_: int,
                                                           data: st.DataObject) -> None:
    start = start.replace(minute=start.minute // 5 * 5, second=0, microsecond=0)
    window = Interval(start, start + cells_ * CELL)
    hours = data.draw(working_hours((start - timedelta(days=1)).date()))
    found = hours.intervals(window)
    assert all(a.end < b.start for a, b in pairwise(found))
    inside = {window.start + k * CELL for k in range(cells_)
              if any(i.start <= window.start + k * CELL < i.end for i in found)}
    expected = {window.start + k * CELL for k in range(cells_)
                if in_local_ranges(hours, window.start + k * CELL)}
    assert inside == expected
    assert all(window.start <= i.start and i.end <= window.end for i in found)


def mixed_per_day(slots: Sequence[Interval], day_of: Callable[[Interval], date],
                  count: int, morning: Callable[[Interval], bool]) -> list[Interval]:
    """What ranking should pick: the soonest slot, then one per following day: that day's
    first, unless all picks share a half of the day and the day (or, once, when days are to
    spare, the next day) has a slot in the other half. Then the soonest of the rest."""
    days = sorted({day_of(s) for s in slots})
    by_day = {day: [s for s in slots if day_of(s) == day] for day in days[:count + 1]}
    ordered = list(by_day.values())
    picks: list[Interval] = []
    skipped = False
    i = 0
    while len(picks) < count and i < len(ordered):
        same = len({morning(p) for p in picks}) == 1
        want = (lambda s: morning(s) != morning(picks[0])) if same else None
        today = [s for s in ordered[i] if want and want(s)]
        spare_days = len(ordered) - i - 1 >= count - len(picks)
        tomorrow = ([s for s in ordered[i + 1] if want(s)]
                    if want and not skipped and spare_days else [])
        if today:
            picks.append(today[0])
        elif tomorrow:
            picks.append(tomorrow[0])
            skipped = True
            i += 1
        else:
            picks.append(ordered[i][0])
        i += 1
    rest = [s for day in ordered for s in day if s not in picks]
    return sorted(picks + rest[:count - len(picks)])


@PROPERTY
@given(st.lists(st.integers(0, 10 * 24 * 4), unique=True, max_size=40).map(sorted),
       st.sampled_from(ZONES), st.integers(1, 5))
def test_ranking_picks_the_soonest_slot_of_as_many_days_as_it_can(
        quarter_hours: list[int], zone: str, count: int) -> None:
    base = CHANGE_DAYS[0]
    slots = [Interval(base + q * timedelta(minutes=15), base + (q + 2) * timedelta(minutes=15))
             for q in quarter_hours]
    ranked = rank_slots(iter(slots), count=count, timezone=zone)

    def day_of(slot: Interval) -> date:
        return slot.start.astimezone(ZoneInfo(zone)).date()

    assert set(ranked) <= set(slots)
    assert ranked == sorted(ranked)
    assert len(ranked) == min(count, len(slots))
    assert not slots or ranked[0] == slots[0]
    assert len({day_of(s) for s in ranked}) == min(count, len({day_of(s) for s in slots}))
    def morning(slot: Interval) -> bool:
        return slot.start.astimezone(ZoneInfo(zone)).hour < 12

    assert ranked == mixed_per_day(slots, day_of, count, morning)
