"""When the rep's hours and the prospect's daytime never meet: the nearest slots just
outside one side's hours. Pure interval maths like scheduler.availability, whose sweeps it
reuses; a slot here stretches one side by at most `reach` and never covers busy time."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from heapq import merge
from typing import Literal

from scheduler.availability import (
    _US,
    Interval,
    Person,
    SlotRules,
    WorkingHours,
    _dt,
    _intersect,
    _join,
    _open_starts,
    _segments,
    _Span,
    _us,
    canonical_zone,
    free_slots,
)

REACH = timedelta(hours=3)
Side = Literal["rep", "prospect"]


@dataclass(frozen=True, slots=True)
class OutsideSlot:
    """A slot that fits one side's hours and stretches the other side's (`side`) by
    `beyond`: how far past the end (or before the start) of their hours it reaches."""

    slot: Interval
    side: Side
    beyond: timedelta


def hours_meet(people: Sequence[Person], *, window: Interval, rules: SlotRules, now: datetime,
               prospect_hours: WorkingHours) -> bool:
    """Whether everyone's hours and the prospect's daytime meet at all in the window, busy
    time aside: if they never do, that (not a full calendar) is why nothing is free."""
    start, end = _bounds(window, rules, now)
    spans = _intersect([_hours(h, start, end) for h in (*_team(people), prospect_hours)])
    return next(spans, None) is not None


def outside_hours_slots(people: Sequence[Person], *, window: Interval, rules: SlotRules,
                        now: datetime, prospect_hours: WorkingHours,
                        holds: Sequence[Interval] = (), count: int = 3,
                        reach: timedelta = REACH) -> list[OutsideSlot]:
    """The nearest slots outside one side's hours, on up to `count` different days of the
    prospect's zone, soonest first: on each day the one that stretches a side the least.

    A "rep" slot lies in the prospect's daytime and within `reach` of the hours of the rep
    and helpers; a "prospect" slot the other way round. Busy time and holds block as usual.
    """
    if count <= 0:
        return []
    free_slots(people, window=window, rules=rules, now=now)  # the same input checks
    start, end = _bounds(window, rules, now)
    stretch = reach // _US
    # Hours just outside the window can still reach into it.
    team = list(_intersect([_hours(h, start - stretch, end + stretch) for h in _team(people)]))
    prospect = list(_hours(prospect_hours, start - stretch, end + stretch))
    grid = _segments(people[0].hours.timezone, start, end)
    duration = rules.duration // _US

    def side(name: Side, stretched: list[_Span], kept: list[_Span]) -> Iterator[OutsideSlot]:
        working = list(_intersect([iter(_clip(_grow(stretched, stretch), start, end)),
                                   iter(_clip(kept, start, end))]))
        for slot_start in _open_starts(people, working, grid, rules, holds):
            beyond = _beyond(stretched, slot_start, slot_start + duration)
            if beyond > 0:
                moment = _dt(slot_start)
                yield OutsideSlot(Interval(moment, moment + rules.duration), name,
                                  beyond * _US)

    candidates = merge(side("rep", team, prospect), side("prospect", prospect, team),
                       key=lambda option: option.slot.start)
    return _nearest_per_day(candidates, count, canonical_zone(prospect_hours.timezone, "timezone"))


def _nearest_per_day(candidates: Iterator[OutsideSlot], count: int, zone) -> list[OutsideSlot]:
    """Per local day the least stretch (soonest on a tie); read until a day past `count`."""
    best: dict[date, OutsideSlot] = {}
    for option in candidates:
        day = option.slot.start.astimezone(zone).date()
        if day not in best:
            if len(best) == count:
                break
            best[day] = option
        elif option.beyond < best[day].beyond:
            best[day] = option
    return sorted(best.values(), key=lambda option: option.slot.start)


def _team(people: Sequence[Person]) -> list[WorkingHours]:
    return [person.hours for person in people]


def _bounds(window: Interval, rules: SlotRules, now: datetime) -> tuple[int, int]:
    return max(_us(window.start), _us(now + rules.notice)), _us(window.end)


def _hours(hours: WorkingHours, start: int, end: int) -> Iterator[_Span]:
    return hours._spans(start, end, _segments(hours.timezone, start, end))


def _grow(spans: list[_Span], by: int) -> Iterator[_Span]:
    return _join((s - by, e + by) for s, e in spans)


def _clip(spans: Iterator[_Span] | list[_Span], start: int, end: int) -> Iterator[_Span]:
    for s, e in spans:
        s, e = max(s, start), min(e, end)
        if s < e:
            yield s, e


def _beyond(spans: list[_Span], start: int, end: int) -> int:
    """How far [start, end) reaches outside the nearest of `spans` (0 when inside one)."""
    at = bisect_right(spans, (start, end))
    nearby = spans[max(at - 1, 0):at + 1]
    return min((max(s - start, 0) + max(end - e, 0) for s, e in nearby), default=end - start)

