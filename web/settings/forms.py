"""The settings page's forms: each carries its CSRF token like every other form."""

import re
from typing import Any

from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from wtforms import IntegerField
from wtforms.validators import DataRequired, NumberRange

from scheduler.errors import InvalidInput
from scheduler.requests import AvailabilityRequest
from web.errors import parse


class RevokeTokenForm(FlaskForm):
    token_id = IntegerField("Token", validators=[DataRequired(), NumberRange(min=1)])


class PlainForm(FlaskForm):
    """A button with nothing to fill in: creating a token, signing out everywhere."""


# The availability section: a week grid of ranges, dates that differ, the numbers.

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_RANGE = re.compile(r"^\s*(\d{1,2}:\d{2})\s*[-–]\s*(\d{1,2}:\d{2})\s*$")
_OVERRIDE = re.compile(r"^\s*(\S+)\s*(.*?)\s*$")
OFF_WORDS = {"", "off", "day off", "holiday", "closed"}


def ranges_from_text(text: str, field: str) -> list[list[str]]:
    """'09:00-12:00, 13:00-17:00' -> [["09:00", "12:00"], ["13:00", "17:00"]]; the times
    themselves are checked by the service, which names the same field."""
    ranges = []
    for part in text.split(","):
        if not part.strip():
            continue
        match = _RANGE.match(part)
        if match is None:
            raise InvalidInput(f"write hours as 09:00-17:00, not {part.strip()!r}", field=field)
        ranges.append([_padded(match[1]), _padded(match[2])])
    return ranges


def ranges_text(ranges: list[list[str]]) -> str:
    return ", ".join(f"{start}-{end}" for start, end in ranges)


def _padded(clock: str) -> str:
    hours, _, minutes = clock.partition(":")
    return f"{int(hours):02d}:{minutes}"


def overrides_text(overrides: dict[str, list[list[str]]]) -> str:
    return "\n".join(f"{day} {ranges_text(ranges) or 'off'}"
                     for day, ranges in sorted(overrides.items()))


def availability_request(form: MultiDict) -> AvailabilityRequest:
    """The page's fields as the API's request: a day left empty or ticked off is a day off;
    each line of the dates box is `2026-12-24 off` or `2026-12-31 09:00-12:00`."""
    timezone = form.get("timezone", "").strip()
    weekly = {}
    for day in range(7):
        if form.get(f"off-{day}"):
            continue
        ranges = ranges_from_text(form.get(f"day-{day}", ""), f"working_hours.weekly.{day}")
        if ranges:
            weekly[str(day)] = ranges
    overrides = {}
    for line in form.get("overrides", "").splitlines():
        if not line.strip():
            continue
        day, rest = _OVERRIDE.match(line).groups()
        where = f"working_hours.overrides.{day}"
        overrides[day] = [] if rest.lower() in OFF_WORDS else ranges_from_text(rest, where)
    return parse(AvailabilityRequest, {
        "timezone": timezone,
        "working_hours": {"timezone": timezone, "weekly": weekly, "overrides": overrides},
        "buffer_before_minutes": form.get("buffer_before_minutes", ""),
        "buffer_after_minutes": form.get("buffer_after_minutes", ""),
        "min_notice_minutes": form.get("min_notice_minutes", ""),
        "default_duration_minutes": form.get("default_duration_minutes", ""),
        "prospect_daytime": ranges_from_text(form.get("prospect_daytime", ""),
                                             "prospect_daytime"),
        "video_link": form.get("video_link", "").strip() or None})


def availability_fields(values: dict[str, Any]) -> dict[str, Any]:
    """The form's values from the API's shape (what GET /me/availability answers)."""
    weekly = values["working_hours"]["weekly"]
    return {"timezone": values["timezone"],
            "days": [{"index": day, "name": name, "hours": ranges_text(weekly.get(str(day), [])),
                      "off": not weekly.get(str(day))} for day, name in enumerate(WEEKDAYS)],
            "overrides": overrides_text(values["working_hours"]["overrides"]),
            **{key: values[key] for key in ("buffer_before_minutes", "buffer_after_minutes",
                                            "min_notice_minutes", "default_duration_minutes")},
            "prospect_daytime": ranges_text(values["prospect_daytime"]),
            "video_link": values["video_link"] or ""}


def submitted_fields(form: MultiDict) -> dict[str, Any]:
    """What the rep typed, shown again next to the problem so nothing is lost."""
    return {"timezone": form.get("timezone", ""),
            "days": [{"index": day, "name": name, "hours": form.get(f"day-{day}", ""),
                      "off": bool(form.get(f"off-{day}"))} for day, name in enumerate(WEEKDAYS)],
            "overrides": form.get("overrides", ""),
            **{key: form.get(key, "") for key in ("buffer_before_minutes",
                                                   "buffer_after_minutes", "min_notice_minutes",
                                                   "default_duration_minutes",
                                                   "prospect_daytime", "video_link")}}
