"""Pure interval maths: busy + working hours + rules -> ranked slots. No I/O, no database.

All instants are UTC-aware datetimes; time zones only enter through `WorkingHours.timezone`.
Inside, instants are integer microseconds since the epoch ("µs") so the sweeps compare plain
ints; datetimes are built only for the slots a caller actually takes.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cache, lru_cache
from itertools import chain, islice
from operator import attrgetter
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from scheduler.errors import InvalidInput
from scheduler.packed import US as _US
from scheduler.packed import PackedBusy
from scheduler.packed import from_us as _dt
from scheduler.packed import to_us as _us


@dataclass(frozen=True, slots=True, order=True)
class Interval:
    """[start, end) in UTC."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("Interval needs aware datetimes")
        if not self.start < self.end:
            raise ValueError(f"Interval must have start < end, got {self.start} .. {self.end}")

    @property
    def duration(self) -> timedelta:
        return self.end - self.start

    def overlaps(self, other: Interval) -> bool:
        return self.start < other.end and other.start < self.end


LocalRange = tuple[time, time]
_Span = tuple[int, int]  # [start, end) in µs since the epoch

_SECOND = 1_000_000
_DAY = 86_400 * _SECOND
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_EPOCH_WEEKDAY = date(1970, 1, 1).weekday()
_PROBE_SECONDS = 6 * 3600  # no two tzdata transitions since 1970 are closer than this
_START = attrgetter("start")


# Canonical IANA names are Area/Location (a few have a third part) or UTC. The rest of the
# database (localtime, Factory, EST5EDT, US/Eastern, Etc/GMT+5) is the host's setting,
# a placeholder or a legacy alias whose meaning surprises: refused.
_CANONICAL_ZONE = re.compile(
    r"(Africa|America|Antarctica|Arctic|Asia|Atlantic|Australia|Europe|Indian|Pacific)"
    r"/[A-Z][A-Za-z0-9_+-]*(/[A-Z][A-Za-z0-9_+-]*)?")


def canonical_zone(name: object, field: str = "timezone") -> ZoneInfo:
    """The zone of a canonical IANA name, or the 4xx-worthy error naming the field: the one
    check every time zone from outside passes (requests, working hours, settings)."""
    if not isinstance(name, str) or not (name == "UTC" or _CANONICAL_ZONE.fullmatch(name)):
        raise InvalidInput(f"{name!r} is not an IANA time zone such as Europe/Berlin or UTC",
                           field=field)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # "America/" names a directory
        raise InvalidInput(f"{name!r} is not an IANA time zone such as Europe/Berlin or UTC",
                           field=field) from None



@cache
def canonical_zone_names() -> tuple[str, ...]:
    """Every zone `canonical_zone` takes, sorted: what the pickers offer and the OpenAPI
    document lists, so no page offers a name the API would refuse."""
    return tuple(sorted(name for name in available_timezones()
                        if name == "UTC" or _CANONICAL_ZONE.fullmatch(name)))


def _local_us(moment: time) -> int:
    return (((moment.hour * 60 + moment.minute) * 60 + moment.second) * _SECOND
            + moment.microsecond)


def _compile_ranges(ranges: object, field: str) -> tuple[_Span, ...]:
    """Local ranges as sorted, joined µs-since-midnight spans; `end == 00:00` is 24:00."""
    if not isinstance(ranges, Sequence) or isinstance(ranges, str):
        raise InvalidInput("expected a list of [start, end] ranges", field=field)
    spans = []
    for pair in ranges:
        if not (isinstance(pair, Sequence) and len(pair) == 2
                and all(isinstance(t, time) and t.tzinfo is None for t in pair)):
            raise InvalidInput("each range must be a pair of local times", field=field)
        start, end = _local_us(pair[0]), _local_us(pair[1]) or _DAY
        if start >= end:
            raise InvalidInput(f"range {pair[0]}-{pair[1]} must start before it ends",
                               field=field)
        spans.append((start, end))
    return tuple(_join(sorted(spans)))


@dataclass(frozen=True)
class WorkingHours:
    """Weekly rules in a person's own IANA zone (weekday 0 = Monday), plus date overrides.

    An override maps a local date to the ranges that replace that day's weekly rule;
    an empty tuple is a day off. `end == time(0)` means midnight at the end of the day.
    """

    timezone: str
    weekly: Mapping[int, tuple[LocalRange, ...]]
    overrides: Mapping[date, tuple[LocalRange, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Validate once and keep the µs form, so every conversion is integer arithmetic.
        canonical_zone(self.timezone, "timezone")
        weekly: list[tuple[_Span, ...]] = [()] * 7
        for day, ranges in self.weekly.items():
            if not isinstance(day, int) or not 0 <= day <= 6:
                raise InvalidInput(f"weekday must be 0..6, got {day!r}", field="weekly")
            weekly[day] = _compile_ranges(ranges, f"weekly.{day}")
        overrides = {}
        for day, ranges in self.overrides.items():
            if not isinstance(day, date) or isinstance(day, datetime):
                raise InvalidInput(f"override key must be a date, got {day!r}",
                                   field="overrides")
            overrides[day.toordinal() - _EPOCH_ORDINAL] = _compile_ranges(
                ranges, f"overrides.{day.isoformat()}")
        object.__setattr__(self, "_weekly_us", tuple(weekly))
        object.__setattr__(self, "_overrides_us", overrides)

    @classmethod
    def office(cls, timezone: str, start: time = time(9), end: time = time(17),
               days: Iterable[int] = range(5)) -> WorkingHours:
        """Monday-Friday 09:00-17:00 unless told otherwise: what new reps get."""
        return cls(timezone, {day: ((start, end),) for day in days})

    def intervals(self, window: Interval) -> list[Interval]:
        """The working time inside `window`, as sorted UTC intervals (DST-correct)."""
        start, end = _us(window.start), _us(window.end)
        return [Interval(_dt(s), _dt(e))
                for s, e in self._spans(start, end, _segments(self.timezone, start, end))]

    def _spans(self, start: int, end: int,
               segments: Sequence[tuple[int, int, int]]) -> Iterator[_Span]:
        """Lazily, the exact UTC preimage of the local rules inside [start, end).

        Within a segment of constant UTC offset local time is a shift of UTC, so each local
        range maps to one span clipped to the segment: gaps shrink it, folds stretch it.
        """
        weekly: tuple[tuple[_Span, ...], ...] = self._weekly_us  # type: ignore[attr-defined]
        overrides: dict[int, tuple[_Span, ...]] = self._overrides_us  # type: ignore[attr-defined]

        def pieces() -> Iterator[_Span]:
            for seg_start, seg_end, offset in segments:
                lo, hi = max(seg_start, start), min(seg_end, end)
                for day in range((lo + offset) // _DAY, (hi - 1 + offset) // _DAY + 1):
                    ranges = overrides.get(day)
                    if ranges is None:
                        ranges = weekly[(day + _EPOCH_WEEKDAY) % 7]
                    base = day * _DAY - offset
                    for range_start, range_end in ranges:
                        s, e = max(base + range_start, lo), min(base + range_end, hi)
                        if s < e:
                            yield s, e

        return _join(pieces())

    def to_dict(self) -> dict:
        """JSON-ready form for storage: {"timezone", "weekly": {"0": [["09:00","17:00"]]},
        "overrides": {"2026-12-24": []}}."""
        def ranges(rs: Iterable[LocalRange]) -> list[list[str]]:
            return [[_format(s), _format(e, end=True)] for s, e in rs]

        return {"timezone": self.timezone,
                "weekly": {str(d): ranges(rs) for d, rs in sorted(self.weekly.items())},
                "overrides": {d.isoformat(): ranges(rs)
                              for d, rs in sorted(self.overrides.items())}}

    @classmethod
    def from_dict(cls, data: Mapping, *, field: str = "working_hours") -> WorkingHours:
        """Parse the stored/JSON form; errors name the offending key under `field`."""
        if not isinstance(data, Mapping):
            raise InvalidInput("working hours must be an object", field=field)
        for key in data:
            if key not in ("timezone", "weekly", "overrides"):
                raise InvalidInput(f"unknown key {key!r}", field=f"{field}.{key}")
        if "timezone" not in data:
            raise InvalidInput("a time zone is required", field=f"{field}.timezone")
        canonical_zone(data["timezone"], f"{field}.timezone")
        weekly: dict[int, tuple[LocalRange, ...]] = {}
        for key, value in _mapping(data.get("weekly", {}), f"{field}.weekly").items():
            where = f"{field}.weekly.{key}"
            day = _WEEKDAYS.get(str(key))
            if day is None:
                raise InvalidInput("weekday must be 0 (Monday) .. 6 (Sunday)", field=where)
            weekly[day] = _parse_ranges(value, where)
        overrides: dict[date, tuple[LocalRange, ...]] = {}
        for key, value in _mapping(data.get("overrides", {}), f"{field}.overrides").items():
            where = f"{field}.overrides.{key}"
            try:
                day = date.fromisoformat(key) if isinstance(key, str) and _DATE.fullmatch(key) \
                    else None
            except ValueError:
                day = None
            if day is None:
                raise InvalidInput("override dates must be YYYY-MM-DD", field=where)
            overrides[day] = _parse_ranges(value, where)
        return cls(data["timezone"], weekly, overrides)


_WEEKDAYS = {str(day): day for day in range(7)}
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_TIME = re.compile(r"([01]\d|2[0-3]):([0-5]\d)(?::([0-5]\d))?")
_MIDNIGHT = ("24:00", "24:00:00")


def _format(moment: time, *, end: bool = False) -> str:
    if end and moment == time(0):
        return "24:00"
    return moment.isoformat("minutes" if moment.second == 0 else "seconds")


def _mapping(value: object, field: str) -> Mapping:
    if not isinstance(value, Mapping):
        raise InvalidInput("expected an object", field=field)
    return value


def _parse_ranges(value: object, field: str) -> tuple[LocalRange, ...]:
    """[["09:00", "17:00"], ...] -> ((time, time), ...), checked like the constructor does."""
    if not isinstance(value, Sequence) or isinstance(value, str):
        raise InvalidInput("expected a list of [start, end] ranges", field=field)
    ranges = []
    for pair in value:
        if not (isinstance(pair, Sequence) and not isinstance(pair, str) and len(pair) == 2
                and all(isinstance(t, str) for t in pair)):
            raise InvalidInput('each range must be ["HH:MM", "HH:MM"]', field=field)
        start, end = pair
        if not _TIME.fullmatch(start):
            raise InvalidInput(f"malformed start time {start!r}", field=field)
        if not (_TIME.fullmatch(end) or end in _MIDNIGHT):
            raise InvalidInput(f"malformed end time {end!r}", field=field)
        ranges.append((time.fromisoformat(start),
                       time(0) if end in _MIDNIGHT else time.fromisoformat(end)))
    _compile_ranges(ranges, field)
    return tuple(ranges)


@dataclass(frozen=True)
class Person:
    """Someone whose time the slot must fit: the rep or a helper."""

    key: str
    hours: WorkingHours
    busy: Sequence[Interval] = ()
    packed: tuple[PackedBusy, ...] = ()  # busy time already packed (the mirror's)


@dataclass(frozen=True)
class SlotRules:
    duration: timedelta
    grid: timedelta = timedelta(minutes=15)
    buffer_before: timedelta = timedelta(0)
    buffer_after: timedelta = timedelta(0)
    notice: timedelta = timedelta(minutes=30)


# --- time zones as data -------------------------------------------------------------------


def _offset_us(zone: ZoneInfo, seconds: int) -> int:
    return datetime.fromtimestamp(seconds, zone).utcoffset() // _US  # type: ignore[operator]


@lru_cache(maxsize=1024)
def _year_offsets(zone_name: str, year: int) -> tuple[tuple[int, int], ...]:
    """(instant µs, UTC offset µs from then on) for one UTC year: its start, then each change.

    zoneinfo has no public transition list, so probe every few hours and bisect each change
    down to the second; cached because tz rules do not change while the process runs.
    """
    zone = ZoneInfo(zone_name)
    first = (date(year, 1, 1).toordinal() - _EPOCH_ORDINAL) * 86_400
    last = (date(year + 1, 1, 1).toordinal() - _EPOCH_ORDINAL) * 86_400
    current = _offset_us(zone, first)
    changes = [(first * _SECOND, current)]
    probe = first
    while probe < last:
        ahead = min(probe + _PROBE_SECONDS, last)
        while _offset_us(zone, ahead) != current:
            lo, hi = probe, ahead  # offset(lo) == current != offset(hi)
            while hi - lo > 1:
                mid = (lo + hi) // 2
                lo, hi = (mid, hi) if _offset_us(zone, mid) == current else (lo, mid)
            current = _offset_us(zone, hi)
            if hi < last:
                changes.append((hi * _SECOND, current))
            probe = hi
        probe = ahead
    return tuple(changes)


def _segments(zone_name: str, start: int, end: int) -> list[tuple[int, int, int]]:
    """[start, end) cut where the zone's UTC offset changes: (seg_start, seg_end, offset)."""
    if start >= end:
        return []
    changes = [change for year in range(_dt(start).year, _dt(end - 1).year + 1)
               for change in _year_offsets(zone_name, year)]
    segments: list[tuple[int, int, int]] = []
    for (at, offset), (until, _) in zip(changes, [*changes[1:], (end, 0)], strict=True):
        lo, hi = max(at, start), min(until, end)
        if lo >= hi:
            continue
        if segments and segments[-1][2] == offset:
            lo = segments.pop()[0]
        segments.append((lo, hi, offset))
    return segments


# --- sweeps over sorted spans ---------------------------------------------------------------


def _join(spans: Iterable[_Span]) -> Iterator[_Span]:
    """Spans sorted by start -> disjoint spans, touching ones joined; lazily."""
    it = iter(spans)
    first = next(it, None)
    if first is None:
        return
    cur_start, cur_end = first
    for s, e in it:
        if s > cur_end:
            yield cur_start, cur_end
            cur_start, cur_end = s, e
        elif e > cur_end:
            cur_end = e
    yield cur_start, cur_end


def _intersect(streams: Sequence[Iterator[_Span]]) -> Iterator[_Span]:
    """Where every stream of sorted disjoint spans is covered: pairwise, lazily."""
    joined = streams[0]
    for stream in streams[1:]:
        joined = _intersect_two(joined, stream)
    return joined


def _intersect_two(a: Iterator[_Span], b: Iterator[_Span]) -> Iterator[_Span]:
    """Two sorted disjoint streams' overlap; advances whichever span ends first (both when
    they end together). Plain comparisons: this runs for every working span a proposal
    visits."""
    x, y = next(a, None), next(b, None)
    while x is not None and y is not None:
        lo = x[0] if x[0] > y[0] else y[0]
        if x[1] < y[1]:
            if lo < x[1]:
                yield lo, x[1]
            x = next(a, None)
        else:
            if lo < y[1]:
                yield lo, y[1]
            if x[1] == y[1]:
                x = next(a, None)
            y = next(b, None)


def _busy_parts(people: Sequence[Person], given: Sequence[Interval], rules: SlotRules,
               working: Sequence[_Span]) -> list[PackedBusy]:
    """Everyone's busy time (and the holds) as packed parts widened by the shared buffers.
    Busy `given` as Intervals is packed here, after dropping what cannot touch working time
    (comparing datetimes is cheap, converting them is not)."""
    before, after = rules.buffer_before // _US, rules.buffer_after // _US
    parts = [*(part for person in people for part in person.packed)]
    if given:
        parts.append(PackedBusy.from_intervals(_relevant(given, working, before, after)))
    return [part.grown(rules.buffer_before, rules.buffer_after) for part in parts]


def _relevant(intervals: Iterable[Interval], working: Sequence[_Span], before: int,
              after: int) -> list[Interval]:
    """Only busy that touches working time (with buffers) can block a slot."""
    if not working:
        return []
    lows = [_dt(s - before) for s, _ in working]
    highs = [_dt(e + after) for _, e in working]
    last = len(working)
    # the first span whose padded end is after the busy start is the only one to check
    return [interval for interval in intervals
            if (i := bisect_right(highs, interval.start)) < last and interval.end > lows[i]]


def _free_spans(working: Iterable[_Span], parts: Sequence[PackedBusy]) -> Iterator[_Span]:
    """Working spans minus the busy pieces near each one, found by bisection: a proposal that
    takes the first few days never looks at the busy time of the rest of the window."""
    for s, e in working:
        cursor = s
        for blocked_from, blocked_until in _join(sorted(chain.from_iterable(
                part.touching(s, e) for part in parts))):
            if blocked_from > cursor:
                yield cursor, blocked_from
            cursor = max(cursor, blocked_until)
        if cursor < e:
            yield cursor, e


def _grid_starts(free: Iterable[_Span], segments: Sequence[tuple[int, int, int]],
                 duration: int, grid: int) -> Iterator[int]:
    """Every start that fits `duration` in a free span and sits on the local grid: local µs
    since local midnight divisible by `grid`, with the offset of the segment it falls in."""
    seg = 0
    for s, e in free:
        last = e - duration
        if last < s:
            continue
        while seg < len(segments) and segments[seg][1] <= s:
            seg += 1
        for seg_start, seg_end, offset in islice(segments, seg, None):
            if seg_start > last:
                break
            lo, hi = max(s, seg_start), min(last, seg_end - 1)
            for day in range((lo + offset) // _DAY, (hi + offset) // _DAY + 1):
                midnight = day * _DAY - offset
                first = midnight + -(-max(lo - midnight, 0) // grid) * grid
                yield from range(first, min(hi, midnight + _DAY - 1) + 1, grid)


# --- the public operations -------------------------------------------------------------------


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """Sorted, non-overlapping union; touching intervals join. O(n log n)."""
    merged: list[Interval] = []
    for interval in sorted(intervals, key=_START):
        if merged and interval.start <= merged[-1].end:
            if interval.end > merged[-1].end:
                merged[-1] = Interval(merged[-1].start, interval.end)
        else:
            merged.append(interval)
    return merged


def free_slots(people: Sequence[Person], *, window: Interval, rules: SlotRules, now: datetime,
               prospect_hours: WorkingHours | None = None,
               holds: Sequence[Interval] = ()) -> Iterator[Interval]:
    """Every slot that fits everyone, soonest first, on the grid of the first person's zone.

    Holds count as busy for everyone, buffers included. Input errors raise here. The first
    slot costs one pass over the busy data; the rest come lazily, so a caller that takes a
    few never pays for the sweep of the whole window.
    """
    if not people:
        raise InvalidInput("at least one person is needed", field="people")
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    for name in ("duration", "grid"):
        if getattr(rules, name) <= timedelta(0):
            raise InvalidInput(f"{name} must be positive", field=name)
    for name in ("buffer_before", "buffer_after"):
        if getattr(rules, name) < timedelta(0):
            raise InvalidInput(f"{name} must not be negative", field=name)
    return _free_slots(people, window, rules, now, prospect_hours, holds)


def _free_slots(people: Sequence[Person], window: Interval, rules: SlotRules, now: datetime,
                prospect_hours: WorkingHours | None,
                holds: Sequence[Interval]) -> Iterator[Interval]:
    start = max(_us(window.start), _us(now + rules.notice))
    end = _us(window.end)
    all_hours = [person.hours for person in people]
    if prospect_hours is not None:
        all_hours.append(prospect_hours)
    segments = {hours.timezone: _segments(hours.timezone, start, end) for hours in all_hours}
    working = _intersect([hours._spans(start, end, segments[hours.timezone])
                          for hours in all_hours])
    duration = rules.duration
    for slot_start in _open_starts(people, working, segments[people[0].hours.timezone],
                                   rules, holds):
        moment = _dt(slot_start)
        yield Interval(moment, moment + duration)


def _open_starts(people: Sequence[Person], working: Iterable[_Span],
                 grid_segments: Sequence[tuple[int, int, int]], rules: SlotRules,
                 holds: Sequence[Interval]) -> Iterator[int]:
    """Grid starts inside `working` that no one's busy time (or a hold) blocks. With busy
    time all packed, working time is walked lazily: a proposal that takes the first few
    days never works out the rest of the window's hours."""
    given = list(chain(holds, *(person.busy for person in people)))
    if given:
        working = list(working)
    free = _free_spans(working, _busy_parts(people, given, rules, working))
    return _grid_starts(free, grid_segments, rules.duration // _US, rules.grid // _US)


def rank_slots(slots: Iterable[Interval], *, count: int = 3, timezone: str = "UTC",
               spread_days: bool = True) -> list[Interval]:
    """The best `count` slots: soonest first, on different local days of `timezone` while
    other days have room, and a mix of morning and afternoon when that costs at most a day
    ("Tuesday at 10:00 or Wednesday at 15:30" is a choice; three times 14:00 is not).

    `slots` must come soonest first (as `free_slots` yields them); it is read only until
    one day more than `count` is found, so a 90-day search costs what its first days cost.
    """
    if count <= 0:
        return []
    if not spread_days:
        return sorted(islice(slots, count), key=_START)
    zone = canonical_zone(timezone, "timezone")
    days: dict[date, list[Interval]] = {}
    for slot in slots:
        day = slot.start.astimezone(zone).date()
        if day not in days:
            if len(days) == count + 1:
                break
            days[day] = []
        days[day].append(slot)
    return sorted(_mixed_picks(list(days.values()), count, zone), key=_START)


def _mixed_picks(days: list[list[Interval]], count: int, zone: ZoneInfo) -> list[Interval]:
    """Each day's first slot, except that while every pick so far is in the same half of the
    day, the day's first slot in the other half is taken, or once, the next day's."""
    def morning(slot: Interval) -> bool:
        return slot.start.astimezone(zone).hour < 12

    picks: list[Interval] = []
    skipped, index = False, 0
    while len(picks) < count and index < len(days):
        pick = days[index][0]
        halves = {morning(p) for p in picks}
        if len(halves) == 1:
            other = next((s for s in days[index] if morning(s) not in halves), None)
            later = (next((s for s in days[index + 1] if morning(s) not in halves), None)
                     if not skipped and len(days) - index - 1 >= count - len(picks) else None)
            if other is not None:
                pick = other
            elif later is not None:
                pick, skipped, index = later, True, index + 1
        picks.append(pick)
        index += 1
    spare = [slot for day in days for slot in day if slot not in picks]
    return picks + spare[:count - len(picks)]


__all__ = ["UTC", "Interval", "Person", "SlotRules", "WorkingHours", "free_slots", "merge",
           "rank_slots"]
