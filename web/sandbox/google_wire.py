"""Google Calendar's wire format as the emulator speaks it: the error JSON every failure uses,
reading request bodies and times, and rendering events the way Google writes them back."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from flask import Response, jsonify, request

if TYPE_CHECKING:
    from web.sandbox.google_state import Fault, StoredEvent

FAULT_ERRORS = {  # status -> (domain, reason, message) of an injected failure
    400: ("global", "badRequest", "Bad Request"),
    403: ("global", "forbidden", "Forbidden"),
    404: ("global", "notFound", "Not Found"),
    429: ("usageLimits", "rateLimitExceeded", "Rate Limit Exceeded"),
    500: ("global", "backendError", "Backend Error"),
    502: ("global", "backendError", "Bad Gateway"),
    503: ("global", "backendError", "The service is currently unavailable."),
}
REASON_ERRORS = {  # reason -> (domain, message), for faults that name their reason
    "rateLimitExceeded": ("usageLimits", "Rate Limit Exceeded"),
    "userRateLimitExceeded": ("usageLimits", "User Rate Limit Exceeded"),
    "forbidden": ("global", "Forbidden"),
}


class ApiError(Exception):
    """An answer in Calendar's error shape: {"error": {"errors": [...], "code", "message"}}."""

    def __init__(self, status: int, reason: str, message: str, domain: str = "global") -> None:
        super().__init__(message)
        self.status, self.reason, self.message, self.domain = status, reason, message, domain


def error_response(error: ApiError) -> Response:
    answer = jsonify({"error": {"errors": [{"domain": error.domain, "reason": error.reason,
                                            "message": error.message}],
                                "code": error.status, "message": error.message}})
    answer.status_code = error.status
    return answer


def fault_response(fault: Fault) -> Response:
    status = fault.status or 503
    domain, reason, message = FAULT_ERRORS.get(status, ("global", "backendError", "Error"))
    if fault.reason:
        reason = fault.reason
        domain, message = REASON_ERRORS.get(reason, (domain, message))
    answer = error_response(ApiError(status, reason, message, domain))
    if fault.retry_after is not None:
        answer.headers["Retry-After"] = f"{fault.retry_after:g}"
    return answer


def json_body() -> dict[str, Any]:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ApiError(400, "parseError", "Parse Error")
    return data


def query_instant(value: object, name: str) -> datetime:
    """timeMin/timeMax: RFC 3339 with an offset, required."""
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        raise ApiError(400, "required" if value is None else "invalid",
                       f"Missing {name} parameter." if value is None
                       else f"Invalid value for: {name}") from None
    if moment.tzinfo is None:
        raise ApiError(400, "invalid", f"Invalid value for: {name}")
    return moment.astimezone(UTC)


def parse_time(value: dict[str, Any], calendar_zone: str, what: str) -> datetime:
    """An EventDateTime as a UTC instant: dateTime with an offset, or local with timeZone,
    or an all-day date at midnight in the calendar's zone."""
    if "date" in value and "dateTime" not in value:
        day = datetime.fromisoformat(value["date"])
        return day.replace(tzinfo=ZoneInfo(calendar_zone)).astimezone(UTC)
    try:
        moment = datetime.fromisoformat(value["dateTime"])
    except (KeyError, TypeError, ValueError):
        raise ApiError(400, "required", f"Missing {what} time.") from None
    if moment.tzinfo is None:
        try:
            moment = moment.replace(tzinfo=ZoneInfo(value["timeZone"]))
        except (KeyError, ValueError):
            raise ApiError(400, "required",
                           f"Missing time zone definition for {what} time.") from None
    return moment.astimezone(UTC)


def event_times(fields: dict[str, Any], zone: str) -> tuple[datetime, datetime]:
    start = parse_time(fields.get("start") or {}, zone, "start")
    end = parse_time(fields.get("end") or {}, zone, "end")
    if end < start:
        raise ApiError(400, "timeRangeEmpty", "The specified time range is empty.", "calendar")
    return start, end


def rfc3339(moment: datetime, zone: str = "UTC") -> str:
    """How Calendar writes instants: in the calendar's zone, with its offset ("Z" for UTC)."""
    if zone == "UTC":
        return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return moment.astimezone(ZoneInfo(zone)).isoformat(timespec="seconds")


def stamp(moment: datetime) -> str:
    """created/updated: UTC with milliseconds."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + \
        f"{moment.microsecond // 1000:03d}Z"


def render(event: StoredEvent, zone: str, *, full: bool = True) -> dict[str, Any]:
    """The event resource. A deleted event in a list carries little more than its id."""
    head = {"kind": "calendar#event", "etag": event.etag, "id": event.id,
            "status": event.status}
    if event.status == "cancelled" and not full:
        return head
    owner = event.calendar_id
    data = {**head, "htmlLink": f"https://www.google.com/calendar/event?eid={event.id}",
            "created": stamp(event.created), "updated": stamp(event.updated),
            "creator": {"email": owner, "self": True},
            "organizer": {"email": owner, "self": True},
            "start": _when(event.fields["start"], event.start, zone),
            "end": _when(event.fields["end"], event.end, zone),
            "iCalUID": f"{event.id}@google.com", "sequence": event.sequence,
            "reminders": {"useDefault": True}, "eventType": "default"}
    for key in ("summary", "description", "location", "transparency", "extendedProperties",
                "conferenceData", "hangoutLink"):
        if key in event.fields:
            data[key] = event.fields[key]
    if event.fields.get("attendees"):
        data["attendees"] = [
            {**a, **({"organizer": True, "self": True}
                     if a.get("email", "").lower() == owner else {})}
            for a in event.fields["attendees"]]
    return data


def _when(given: dict[str, Any], instant: datetime, zone: str) -> dict[str, str]:
    if "date" in given and "dateTime" not in given:
        return {"date": given["date"]}
    when = {"dateTime": rfc3339(instant, zone)}
    if given.get("timeZone"):
        when["timeZone"] = given["timeZone"]
    return when
