"""Each rep's own availability and preferences: working hours, buffers, notice, default
length, the prospect daytime they offer and their video link. A value the rep never set
follows the deployment's setting, so a rep who never opens /settings sees no change.

Every person in a meeting counts with their own settings: a helper's hours and buffers
narrow the slots of the meetings they help in, and the longest notice anyone asks for wins.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from scheduler.availability import Interval, LocalRange, SlotRules, WorkingHours, merge
from scheduler.calendars import Calendars
from scheduler.clock import Clock
from scheduler.errors import InvalidInput, NotFound
from scheduler.requests import AvailabilityRequest
from scheduler.settings import Settings
from scheduler.store import Store
from scheduler.store.models import User

PROSPECT_DAYS = range(5)  # the prospect's daytime counts Monday to Friday in their zone
DEFAULT_DURATION_MINUTES = 30  # what requests took before reps had a default of their own


@dataclass(frozen=True)
class Preferences:
    """What one person's settings come to, defaults filled in."""

    timezone: str
    working_hours: WorkingHours
    buffer_before: timedelta
    buffer_after: timedelta
    min_notice: timedelta
    default_duration_minutes: int
    prospect_daytime: tuple[LocalRange, ...]
    video_link: str | None


def preferences_of(user: User, settings: Settings) -> Preferences:
    def minutes(own: int | None, default: int) -> timedelta:
        return timedelta(minutes=default if own is None else own)

    daytime = (parse_daytime(user.prospect_daytime) if user.prospect_daytime is not None
               else ((time.fromisoformat(settings.prospect_day_start),
                      time.fromisoformat(settings.prospect_day_end)),))
    return Preferences(
        timezone=user.timezone, working_hours=_working_hours(user.working_hours),
        buffer_before=minutes(user.buffer_before_minutes, settings.buffer_minutes),
        buffer_after=minutes(user.buffer_after_minutes, settings.buffer_minutes),
        min_notice=minutes(user.min_notice_minutes, settings.min_notice_minutes),
        default_duration_minutes=user.default_duration_minutes or DEFAULT_DURATION_MINUTES,
        prospect_daytime=daytime, video_link=user.video_link)


def _working_hours(stored: Mapping) -> WorkingHours:
    """Stored hours read once per process: every proposal reads everyone's, and parsing
    them cost more than the proposal's maths (WorkingHours is frozen, so sharing is safe)."""
    return _parsed_hours(json.dumps(stored, sort_keys=True))


@lru_cache(maxsize=4096)
def _parsed_hours(text: str) -> WorkingHours:
    return WorkingHours.from_dict(json.loads(text))


def parse_daytime(value: object, field: str = "prospect_daytime") -> tuple[LocalRange, ...]:
    """[["08:00", "18:00"]] -> local ranges, checked as working hours are."""
    try:
        hours = WorkingHours.from_dict({"timezone": "UTC", "weekly": {"0": value}})
    except InvalidInput as exc:
        raise InvalidInput(exc.message, field=field) from None
    return tuple(hours.weekly.get(0, ()))


def format_ranges(ranges: Iterable[LocalRange]) -> list[list[str]]:
    return WorkingHours("UTC", {0: tuple(ranges)}).to_dict()["weekly"].get("0", [])


def prospect_daytime(preferences: Preferences, timezone: str) -> WorkingHours:
    """The prospect's daytime as the rep offers it: weekdays, in the prospect's zone."""
    return WorkingHours(timezone, {day: preferences.prospect_daytime for day in PROSPECT_DAYS})


def meeting_duration(request: Any, preferences: Preferences) -> int:
    """The length asked for, or the rep's default when the request left it out."""
    if "duration_minutes" in request.model_fields_set:
        return request.duration_minutes
    return preferences.default_duration_minutes


def shared_rules(people: Sequence[Preferences], *, duration_minutes: int,
                 grid_minutes: int) -> SlotRules:
    """Buffers everyone asks for (the smallest; the rest pad each one's own busy time, see
    `extra_buffers`) and the longest notice anyone asks for."""
    return SlotRules(duration=timedelta(minutes=duration_minutes),
                     grid=timedelta(minutes=grid_minutes),
                     buffer_before=min(p.buffer_before for p in people),
                     buffer_after=min(p.buffer_after for p in people),
                     notice=max(p.min_notice for p in people))


def extra_buffers(preferences: Preferences, rules: SlotRules) -> tuple[timedelta, timedelta]:
    """The part of a person's buffers the shared rules lack, by which their busy time is
    read wider (`PackedBusy.grown`): a slot must start `buffer_before` after a busy piece
    ends and end `buffer_after` before one starts."""
    return (preferences.buffer_before - rules.buffer_before,
            preferences.buffer_after - rules.buffer_after)


def blocked_window(start: datetime, end: datetime, preferences: Preferences) -> Interval:
    """The time a person's busy must stay out of for a meeting [start, end) to fit."""
    return Interval(start - preferences.buffer_before, end + preferences.buffer_after)


def free_time(hours: WorkingHours, busy: Iterable[Interval], window: Interval, *,
              before: timedelta = timedelta(0),
              after: timedelta = timedelta(0)) -> list[Interval]:
    """Working time in `window` that no busy interval (grown by the buffers) takes."""
    taken = merge(Interval(b.start - after, b.end + before) for b in busy)
    free: list[Interval] = []
    for span in hours.intervals(window):
        cursor = span.start
        for block in taken:
            if block.end <= cursor or block.start >= span.end:
                continue
            if block.start > cursor:
                free.append(Interval(cursor, block.start))
            cursor = max(cursor, block.end)
        if cursor < span.end:
            free.append(Interval(cursor, span.end))
    return free


# Reading and changing them

def availability_dict(preferences: Preferences) -> dict[str, Any]:
    """The JSON form of API.md's GET /me/availability."""
    return {"timezone": preferences.timezone,
            "working_hours": preferences.working_hours.to_dict(),
            "buffer_before_minutes": _minutes(preferences.buffer_before),
            "buffer_after_minutes": _minutes(preferences.buffer_after),
            "min_notice_minutes": _minutes(preferences.min_notice),
            "default_duration_minutes": preferences.default_duration_minutes,
            "prospect_daytime": format_ranges(preferences.prospect_daytime),
            "video_link": preferences.video_link}


def _minutes(value: timedelta) -> int:
    return int(value / timedelta(minutes=1))


def get_preferences_or_raise(store: Store, rep_id: int, settings: Settings) -> Preferences:
    with store.reading() as session:
        user = session.get(User, rep_id)
    if user is None:
        raise NotFound("no such rep", field="rep")
    return preferences_of(user, settings)


def update_availability(request: AvailabilityRequest, *, rep_id: int, store: Store,
                        settings: Settings) -> Preferences:
    """Check everything first, then save it in one transaction: nothing is half saved."""
    hours = WorkingHours.from_dict(request.working_hours, field="working_hours")
    daytime = parse_daytime(request.prospect_daytime)
    with store.transaction() as session:
        user = session.scalar(select(User).where(User.id == rep_id).with_for_update())
        if user is None:
            raise NotFound("no such rep", field="rep")
        user.timezone = request.timezone
        user.working_hours = hours.to_dict()
        user.buffer_before_minutes = request.buffer_before_minutes
        user.buffer_after_minutes = request.buffer_after_minutes
        user.min_notice_minutes = request.min_notice_minutes
        user.default_duration_minutes = request.default_duration_minutes
        user.prospect_daytime = format_ranges(daytime)
        user.video_link = request.video_link
        session.flush()
        return preferences_of(user, settings)


def next_week(now: datetime, timezone: str) -> tuple[date, date]:
    """Monday and the Monday after, of the week after `now` in `timezone`."""
    today = now.astimezone(ZoneInfo(timezone)).date()
    monday = today + timedelta(days=7 - today.weekday())
    return monday, monday + timedelta(days=7)


def by_day(intervals: Iterable[Interval], timezone: str) -> Mapping[date, list[Interval]]:
    zone = ZoneInfo(timezone)
    days: dict[date, list[Interval]] = {}
    for interval in intervals:
        days.setdefault(interval.start.astimezone(zone).date(), []).append(interval)
    return days


@dataclass(frozen=True)
class WeekPreview:
    """Next week's free time of one rep, day by day in their zone, and calendars that
    could not be read (their time then looks free)."""

    timezone: str
    days: list[tuple[date, list[Interval]]]
    warnings: list[str]


def preview_next_week(rep: User, *, calendars: Calendars, clock: Clock,
                      settings: Settings) -> WeekPreview:
    """What the rep's settings leave free next week: working hours minus busy time and
    buffers, so a change on /settings shows its effect before any prospect sees it."""
    mine = preferences_of(rep, settings)
    zone = ZoneInfo(mine.timezone)
    monday, after = next_week(clock.now(), mine.timezone)
    window = Interval(datetime.combine(monday, time(0), zone).astimezone(UTC),
                      datetime.combine(after, time(0), zone).astimezone(UTC))
    report = calendars.busy([rep], window)
    free = by_day(free_time(mine.working_hours, report.busy.get(rep.email, []), window,
                            before=mine.buffer_before, after=mine.buffer_after),
                  mine.timezone)
    days = [(day, free.get(day, [])) for day in
            (monday + timedelta(days=n) for n in range(7))]
    warnings = [f"Could not read the calendar of {email}: {message}"
                for email, message in sorted(report.errors.items())]
    return WeekPreview(timezone=mine.timezone, days=days, warnings=warnings)
