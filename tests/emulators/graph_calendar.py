"""The Graph v1.0 calendar routes the Outlook adapter uses: the user's calendars, events
(create honouring transactionId, get, update, delete, cancel), getSchedule, calendarView and its
delta, and subscriptions with the validation handshake."""

from __future__ import annotations

import math
import re
import uuid
from datetime import UTC, datetime, timedelta
from ipaddress import ip_address
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, request

from tests.emulators.graph_identity import Account
from tests.emulators.graph_state import DeltaState, StoredEvent
from tests.emulators.graph_wire import (
    GraphError,
    arg,
    caller,
    dtz_in,
    dtz_out,
    event_fields,
    expand_ids,
    instant_arg,
    iso,
    json_body,
    link,
    page_size,
    render,
    select,
    state,
)

MAX_SCHEDULES, MAX_SCHEDULE_SPAN = 20, timedelta(days=62)
MAX_SUBSCRIPTION_LIFETIME = timedelta(minutes=10080)  # events: under 7 days
VIEW_CODES = {"free": "0", "tentative": "1", "busy": "2", "oof": "3", "workingElsewhere": "4"}
SUBSCRIBABLE = re.compile(r"^/?me/(calendar/)?events$", re.IGNORECASE)

bp = Blueprint("graph", __name__, url_prefix="/v1.0")


# --- events ----------------------------------------------------------------------------------


@bp.post("/me/events")
def create_event() -> tuple[dict[str, Any], int]:
    account = caller(write=True)
    body = json_body()
    fields, properties = event_fields(body, account)
    event, _ = state().create_event(
        account.email, dtz_in(body.get("start"), "start"), dtz_in(body.get("end"), "end"),
        fields, properties, body.get("transactionId"))
    return render(event), 201


def _own_event(account: Account, event_id: str) -> StoredEvent:
    event = state().get_event(event_id, account.email)
    if event is None:
        raise GraphError(404, "ErrorItemNotFound", "The specified object was not found in the "
                                                   "store.")
    return event


@bp.get("/me/events/<event_id>")
def get_event(event_id: str) -> dict[str, Any]:
    event = _own_event(caller(write=False), event_id)
    return select(render(event, expand_ids(arg("$expand"))))


@bp.patch("/me/events/<event_id>")
def update_event(event_id: str) -> dict[str, Any]:
    account = caller(write=True)
    body = json_body()
    fields, properties = event_fields(body, account, _own_event(account, event_id))
    updated = state().update_event(
        account.email, event_id, fields=fields, properties=properties,
        start=dtz_in(body["start"], "start") if "start" in body else None,
        end=dtz_in(body["end"], "end") if "end" in body else None)
    return render(updated or _own_event(account, event_id))


@bp.delete("/me/events/<event_id>")
def delete_event(event_id: str) -> tuple[str, int]:
    account = caller(write=True)
    if not state().delete_event(event_id, account.email):
        raise GraphError(404, "ErrorItemNotFound", "The specified object was not found in the "
                                                   "store.")
    return "", 204


@bp.post("/me/events/<event_id>/cancel")
def cancel_event(event_id: str) -> tuple[str, int]:
    """Organizer only: attendees get a cancellation (with the comment) and the event goes."""
    account = caller(write=True)
    event = _own_event(account, event_id)
    if event.fields["organizer"]["emailAddress"]["address"].lower() != account.email:
        raise GraphError(400, "ErrorInvalidRequest", "Your request can't be completed. You need "
                                                     "to be an organizer to cancel a meeting.")
    state().delete_event(event_id, account.email)
    return "", 202


# --- reading time ----------------------------------------------------------------------------


@bp.post("/me/calendar/getSchedule")
@bp.post("/users/<user>/calendar/getSchedule")
def get_schedule(user: str | None = None) -> dict[str, Any]:
    """Personal accounts are refused: Microsoft documents getSchedule as not supported there."""
    account = caller(write=False)
    if account.personal:
        raise GraphError(403, "ErrorAccessDenied", "Access is denied. Check credentials and "
                                                   "try again.")
    if user is not None and not state().has_mailbox(user):
        raise GraphError(404, "ErrorInvalidUser", f"The requested user '{user}' is invalid.")
    body = json_body()
    schedules = body.get("schedules")
    if not isinstance(schedules, list) or not schedules:
        raise GraphError(400, "ErrorInvalidParameter", "schedules must list addresses.")
    if len(schedules) > MAX_SCHEDULES:
        raise GraphError(400, "ErrorInvalidParameter",
                         f"At most {MAX_SCHEDULES} schedules can be requested at once.")
    start, end = dtz_in(body.get("startTime"), "startTime"), dtz_in(body.get("endTime"),
                                                                       "endTime")
    if not start < end or end - start >= MAX_SCHEDULE_SPAN:
        raise GraphError(400, "ErrorInvalidTimeInterval", "The time interval must be positive "
                                                          "and shorter than 62 days.")
    interval = body.get("availabilityViewInterval", 30)
    if not isinstance(interval, int) or not 5 <= interval <= 1440:
        raise GraphError(400, "ErrorInvalidParameter", "availabilityViewInterval: 5 to 1440.")
    zone = body["startTime"].get("timeZone") or "UTC"
    return {"@odata.context": f"{request.host_url}v1.0/$metadata#Collection("
                              "microsoft.graph.scheduleInformation)",
            "value": [_schedule(address, start, end, interval, zone) for address in schedules]}


def _schedule(address: str, start: datetime, end: datetime, interval: int,
              zone: str) -> dict[str, Any]:
    if not state().has_mailbox(address):
        return {"scheduleId": address, "availabilityView": "", "scheduleItems": [],
                "error": {"message": f"Unable to resolve e-mail address {address} to an "
                                     "Active Directory object.",
                          "responseCode": "ErrorMailRecipientNotFound"}}
    events = state().live_events(address, start, end)
    step = timedelta(minutes=interval)
    view = []
    for slot in range(math.ceil((end - start) / step)):
        lo, hi = start + slot * step, min(start + (slot + 1) * step, end)
        codes = [VIEW_CODES.get(e.fields.get("showAs", "busy"), "2")
                 for e in events if e.overlaps(lo, hi)]
        view.append(max(codes, default="0"))
    return {"scheduleId": address, "availabilityView": "".join(view),
            "scheduleItems": [{"isPrivate": False, "status": e.fields.get("showAs", "busy"),
                               "subject": e.fields.get("subject", ""),
                               "location": (e.fields.get("location") or {}).get(
                                   "displayName", ""),
                               "isMeeting": bool(e.fields.get("attendees")),
                               "isRecurring": False, "isException": False,
                               "isReminderSet": True, "start": dtz_out(e.start, zone),
                               "end": dtz_out(e.end, zone)} for e in events],
            "workingHours": {"daysOfWeek": ["monday", "tuesday", "wednesday", "thursday",
                                            "friday"],
                             "startTime": "08:00:00.0000000", "endTime": "17:00:00.0000000",
                             "timeZone": {"name": "UTC"}}}


@bp.get("/me/calendars")
def list_calendars() -> dict[str, Any]:
    """The signed-in user's calendars, a page at a time ($top or the default page size),
    with an @odata.nextLink ($skip) while more remain."""
    account = caller(write=False)
    calendars = state().calendars_of(account.email)
    size, skip = page_size(), int(arg("$skip") or "0")
    data: dict[str, Any] = {"value": [select(c) for c in calendars[skip:skip + size]]}
    if skip + size < len(calendars):
        data["@odata.nextLink"] = link("me/calendars", {**request.args, "$skip": skip + size})
    return data


@bp.get("/me/calendarView")
def calendar_view() -> dict[str, Any]:
    account = caller(write=False)
    events = state().live_events(account.email, instant_arg("startDateTime"),
                                  instant_arg("endDateTime"))
    size, skip = page_size(), int(arg("$skip") or "0")
    data: dict[str, Any] = {"value": [select(render(e)) for e in events[skip:skip + size]]}
    if skip + size < len(events):
        data["@odata.nextLink"] = link("me/calendarView", {**request.args, "$skip": skip + size})
    return data


@bp.get("/me/calendarView/delta")
def calendar_view_delta() -> dict[str, Any]:
    account = caller(write=False)
    token = arg("$skiptoken") or arg("$deltatoken")
    if token:
        delta = state().delta_state(token)
        if delta is None or delta.mailbox != account.email:
            raise GraphError(410, "syncStateNotFound", "The sync state generation is not "
                             "found. Start a new full synchronization.")
    else:
        delta = DeltaState(account.email, instant_arg("startDateTime"),
                           instant_arg("endDateTime"), since=0)
    page, next_token, last = state().delta_page(delta, page_size())
    value = [{"@odata.type": "#microsoft.graph.event", "id": item,
              "@removed": {"reason": "deleted"}} if isinstance(item, str)
             else render(item) for item in page]
    key, param = ("@odata.deltaLink", "$deltatoken") if last else ("@odata.nextLink",
                                                                   "$skiptoken")
    return {"value": value, key: link("me/calendarView/delta", {param: next_token})}


# --- subscriptions ---------------------------------------------------------------------------


def _expiration(body: dict[str, Any]) -> str:
    try:
        expires = datetime.fromisoformat(body["expirationDateTime"]).astimezone(UTC)
    except (KeyError, TypeError, ValueError):
        raise GraphError(400, "ExtensionError", "expirationDateTime is required.") from None
    now = datetime.now(UTC)
    if not now < expires <= now + MAX_SUBSCRIPTION_LIFETIME:
        raise GraphError(400, "ExtensionError", "Subscription expiration can only be "
                         f"{MAX_SUBSCRIPTION_LIFETIME.total_seconds() / 60:g} minutes in the "
                         "future.")
    return iso(expires)


def _check_notification_url(url: object) -> str:
    """HTTPS only, as Graph demands; plain http is let through for loopback receivers."""
    parts = urlsplit(url if isinstance(url, str) else "")
    try:
        loopback = parts.hostname == "localhost" or ip_address(parts.hostname or "").is_loopback
    except ValueError:
        loopback = False
    if parts.scheme != "https" and not (parts.scheme == "http" and loopback):
        raise GraphError(400, "ValidationError", "The Notification Url must be HTTPS.")
    return str(url)


@bp.post("/subscriptions")
def create_subscription() -> tuple[dict[str, Any], int]:
    account = caller(write=False)
    body = json_body()
    change_types = set(str(body.get("changeType", "")).split(","))
    if not change_types <= {"created", "updated", "deleted"}:
        raise GraphError(400, "ExtensionError", "changeType must be created, updated, deleted.")
    if not SUBSCRIBABLE.match(str(body.get("resource", ""))):
        raise GraphError(400, "ExtensionError", f"Resource '{body.get('resource')}' is not "
                                                "supported for subscriptions.")
    if len(body.get("clientState") or "") > 128:
        raise GraphError(400, "ExtensionError", "clientState is limited to 128 characters.")
    url, expires = _check_notification_url(body.get("notificationUrl")), _expiration(body)
    problem = state().validate_notification_url(url)
    if problem:
        raise GraphError(400, "ValidationError", problem)
    subscription = {"id": str(uuid.uuid4()), "resource": body["resource"],
                    "applicationId": state().identity.client_id,
                    "changeType": body["changeType"], "clientState": body.get("clientState"),
                    "notificationUrl": url, "expirationDateTime": expires,
                    "creatorId": account.oid, "latestSupportedTlsVersion": "v1_2"}
    with state().lock:
        state().subscriptions[subscription["id"]] = dict(subscription, mailbox=account.email)
    return subscription, 201


@bp.patch("/subscriptions/<subscription_id>")
def renew_subscription(subscription_id: str) -> dict[str, Any]:
    caller(write=False)
    expires = _expiration(json_body())
    with state().lock:
        subscription = state().subscriptions.get(subscription_id)
        if subscription is None:
            raise GraphError(404, "ResourceNotFound", "The object was not found.")
        subscription["expirationDateTime"] = expires
        return {k: v for k, v in subscription.items() if k != "mailbox"}


@bp.delete("/subscriptions/<subscription_id>")
def delete_subscription(subscription_id: str) -> tuple[str, int]:
    caller(write=False)
    with state().lock:
        if state().subscriptions.pop(subscription_id, None) is None:
            raise GraphError(404, "ResourceNotFound", "The object was not found.")
    return "", 204
