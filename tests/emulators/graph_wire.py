"""Microsoft Graph's wire format as the emulator speaks it: who is calling (bearer token and
calendar permission), reading request bodies and query options (`Prefer`, `$top`, `$expand`,
`$select`), rendering events, and the error JSON every failure uses."""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime
from html import escape
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import Response, current_app, jsonify, request

from tests.emulators.graph_identity import Account
from tests.emulators.graph_state import GraphState, StoredEvent

WRITABLE = {"subject", "body", "start", "end", "attendees", "showAs", "location", "importance",
            "sensitivity", "isReminderOn", "reminderMinutesBeforeStart", "responseRequested",
            "allowNewTimeProposals", "isOnlineMeeting", "onlineMeetingProvider", "categories",
            "transactionId",
            "singleValueExtendedProperties", "@odata.type"}
SHOW_AS = {"free", "tentative", "busy", "oof", "workingElsewhere", "unknown"}
PROPERTY_ID = re.compile(r"^String \{[0-9a-fA-F-]{36}\} Name \S+$|^String 0x[0-9a-fA-F]{4}$")
NO_TIME = "0001-01-01T00:00:00Z"
# onlineMeetingProviderType, and what a calendar allows (its allowedOnlineMeetingProviders):
# work accounts Teams, personal ones only Skype for consumers. Asking for a provider the
# calendar does not allow makes no online meeting (outlook-calendar-online-meetings).
MEETING_PROVIDERS = {"unknown", "skypeForBusiness", "skypeForConsumer", "teamsForBusiness"}
ALLOWED_PROVIDERS = {False: ("teamsForBusiness",), True: ("skypeForConsumer",)}


class GraphError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def state() -> GraphState:
    return current_app.extensions["graph_state"]


def error_response(error: GraphError) -> Response:
    answer = jsonify({"error": {"code": error.code, "message": error.message, "innerError": {
        "date": iso(datetime.now(UTC)), "request-id": "emulated",
        "client-request-id": request.headers.get("client-request-id", "")}}})
    answer.status_code = error.status
    return answer


def caller(*, write: bool) -> Account:
    """The signed-in user behind the bearer token, if it carries a calendar permission."""
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        raise GraphError(401, "InvalidAuthenticationToken", "Access token is empty.")
    holder = state().identity.token_holder(header.removeprefix("Bearer "))
    if holder is None:
        raise GraphError(401, "InvalidAuthenticationToken",
                         "Lifetime validation failed, the token is expired.")
    account, scopes = holder
    wanted = {"Calendars.ReadWrite"} if write else {"Calendars.ReadWrite", "Calendars.Read"}
    if not wanted & {scope.rsplit("/", 1)[-1] for scope in scopes}:
        raise GraphError(403, "ErrorAccessDenied", "Access is denied. Check credentials and "
                                                   "try again.")
    return account


def json_body() -> dict[str, Any]:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise GraphError(400, "BadRequest", "Empty Payload. JSON content expected.")
    return data


def preferences() -> dict[str, str]:
    prefs = {}
    for header in request.headers.getlist("Prefer"):
        for part in header.split(","):
            name, _, value = part.strip().partition("=")
            prefs[name.strip().lower()] = value.strip().strip('"')
    return prefs


def time_zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise GraphError(400, "TimeZoneNotSupportedException",
                         f"A valid TimeZone value must be specified. '{name}'") from None


def dtz_in(value: object, field: str) -> datetime:
    """A dateTimeTimeZone from a request body, as a UTC instant."""
    if not isinstance(value, dict) or not isinstance(value.get("dateTime"), str):
        raise GraphError(400, "ErrorInvalidRequest", f"'{field}' needs dateTime and timeZone.")
    try:
        local = datetime.fromisoformat(value["dateTime"])
    except ValueError:
        raise GraphError(400, "ErrorInvalidRequest", f"Cannot read '{field}'.") from None
    if local.tzinfo is None:
        local = local.replace(tzinfo=time_zone(value.get("timeZone") or "UTC"))
    return local.astimezone(UTC)


def arg(name: str) -> str | None:
    """A query parameter by name, in any case: Graph reads `startdatetime` as startDateTime."""
    return next((value for key, value in request.args.items()
                 if key.lower() == name.lower()), None)


def instant_arg(name: str) -> datetime:
    raw = arg(name)
    if not raw:
        raise GraphError(400, "ErrorInvalidParameter", "This request requires a time window "
                         "specified by the query string parameters StartDateTime and "
                         "EndDateTime.")
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise GraphError(400, "ErrorInvalidParameter", f"Cannot read {name}.") from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)


def page_size() -> int:
    asked = arg("$top") or preferences().get("odata.maxpagesize")
    size = int(asked) if asked and asked.isdigit() else state().default_page_size
    return max(1, min(size, state().max_page_size))


def expand_ids(expand: str | None) -> list[str] | None:
    """None: not expanded; []: all of them; else the lower-cased ids the $filter asks for."""
    if not expand or not expand.startswith("singleValueExtendedProperties"):
        return None
    return [pid.lower() for pid in re.findall(r"id eq '([^']*)'", expand)]


def event_fields(body: dict[str, Any], account: Account,
                 before: StoredEvent | None = None) -> tuple[dict[str, Any], dict[str, str]]:
    """Graph rejects properties it does not know; attendees get a status, kept when known."""
    unknown = set(body) - WRITABLE
    if unknown:
        raise GraphError(400, "RequestBodyRead", f"The property '{sorted(unknown)[0]}' does "
                         "not exist on type 'microsoft.graph.event'.")
    fields = {k: v for k, v in body.items() if k not in {"start", "end", "transactionId",
                                                         "singleValueExtendedProperties"}}
    if fields.get("showAs", "busy") not in SHOW_AS:
        raise GraphError(400, "ErrorInvalidRequest", "Invalid showAs value.")
    _online_meeting(fields, account, before)
    if "attendees" in fields:
        known = {a["emailAddress"]["address"].lower(): a["status"]
                 for a in (before.fields.get("attendees", []) if before else [])}
        attendees = []
        for attendee in fields["attendees"]:
            address = (attendee.get("emailAddress") or {}).get("address")
            if not address:
                raise GraphError(400, "ErrorInvalidRecipients", "An attendee has no address.")
            attendees.append({"type": attendee.get("type", "required"),
                              "status": known.get(address.lower(),
                                                  {"response": "none", "time": NO_TIME}),
                              "emailAddress": {"name": attendee["emailAddress"].get("name",
                                                                                    address),
                                               "address": address}})
        fields["attendees"] = attendees
    if before is None:
        fields.setdefault("attendees", [])
        fields["organizer"] = {"emailAddress": {"name": account.name, "address": account.email}}
    properties = {}
    for prop in body.get("singleValueExtendedProperties", []):
        if not PROPERTY_ID.match(prop.get("id", "")):
            raise GraphError(400, "ErrorInvalidProperty", f"Invalid property id {prop!r}.")
        properties[prop["id"]] = str(prop.get("value", ""))
    return fields, properties


def _online_meeting(fields: dict[str, Any], account: Account,
                    before: StoredEvent | None) -> None:
    """isOnlineMeeting with an allowed provider gets a join URL once (kept on updates); with
    a provider the calendar does not allow, the event is made without one."""
    provider = fields.get("onlineMeetingProvider")
    if provider is not None and provider not in MEETING_PROVIDERS:
        raise GraphError(400, "RequestBodyRead", f"Cannot convert the literal '{provider}' to "
                         "the expected type 'microsoft.graph.onlineMeetingProviderType'.")
    if not fields.get("isOnlineMeeting"):
        return
    allowed = ALLOWED_PROVIDERS[account.personal]
    provider = provider or allowed[0]
    if provider not in allowed:
        fields.update(isOnlineMeeting=False, onlineMeetingProvider="unknown")
        return
    fields["onlineMeetingProvider"] = provider
    if before is not None and before.fields.get("onlineMeeting"):
        return
    thread = secrets.token_hex(16)
    fields["onlineMeeting"] = {
        "joinUrl": f"https://teams.microsoft.com/l/meetup-join/19%3ameeting_{thread}"
                   f"%40thread.v2/0?context=%7b%22Tid%22%3a%22{account.tid}%22%7d",
        "conferenceId": str(int(thread[:8], 16)), "tollNumber": None, "tollFreeNumbers": None,
        "quickDial": None, "phones": [], "tollFreeNumber": None}


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f0Z")


def dtz_out(moment: datetime, zone: str) -> dict[str, str]:
    local = moment.astimezone(time_zone(zone)).replace(tzinfo=None)
    return {"dateTime": local.strftime("%Y-%m-%dT%H:%M:%S.%f0"), "timeZone": zone}


def render(event: StoredEvent, expand: list[str] | None = None) -> dict[str, Any]:
    prefer = preferences()
    zone = prefer.get("outlook.timezone", "UTC")
    f = event.fields
    body = f.get("body") or {"contentType": "text", "content": ""}
    preview = body["content"][:255]
    if body["contentType"] == "text" and prefer.get("outlook.body-content-type") != "text":
        html = escape(body["content"]).replace("\n", "<br>\r\n")
        body = {"contentType": "html", "content": f"<html><body>{html}</body></html>"}
    organizing = f["organizer"]["emailAddress"]["address"].lower() == event.mailbox
    data = {
        "@odata.etag": f'W/"{event.change_key}"', "id": event.id,
        "createdDateTime": iso(event.created), "lastModifiedDateTime": iso(event.modified),
        "changeKey": event.change_key, "categories": f.get("categories", []),
        "transactionId": event.transaction_id, "iCalUId": event.ical_uid,
        "subject": f.get("subject", ""), "bodyPreview": preview,
        "importance": f.get("importance", "normal"), "isAllDay": False, "isCancelled": False,
        "isOrganizer": organizing, "responseRequested": f.get("responseRequested", True),
        "showAs": f.get("showAs", "busy"), "type": "singleInstance",
        "webLink": f"https://outlook.office365.com/owa/?itemid={event.id}",
        "responseStatus": {"response": "organizer" if organizing else "notResponded",
                           "time": NO_TIME}, "body": body,
        "start": dtz_out(event.start, zone), "end": dtz_out(event.end, zone),
        "location": f.get("location", {"displayName": ""}), "attendees": f["attendees"],
        "isOnlineMeeting": f.get("isOnlineMeeting", False),
        "onlineMeetingProvider": f.get("onlineMeetingProvider", "unknown"),
        "onlineMeeting": f.get("onlineMeeting"), "onlineMeetingUrl": None,
        "organizer": f["organizer"]}
    props = [{"id": pid, "value": value} for pid, value in event.properties.items()
             if expand is not None and (not expand or pid.lower() in expand)]
    if props:
        data["singleValueExtendedProperties"] = props
    return data


def link(path: str, params: dict[str, Any]) -> str:
    return f"{request.host_url}v1.0/{path}?{urlencode(params, safe='$')}"


def select(data: dict[str, Any]) -> dict[str, Any]:
    fields = arg("$select")
    if not fields:
        return data
    keep = {"id", "@odata.etag", *fields.split(",")}
    return {k: v for k, v in data.items() if k in keep}
