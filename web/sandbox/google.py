"""An emulator of the Google Calendar v3 HTTP API and Google's OAuth 2.0 endpoints, for driving
the Google adapter through its real client libraries (google-api-python-client, google-auth,
google-auth-oauthlib).

Every Calendar request is first checked against the Calendar v3 discovery document that
google-api-python-client ships (google_discovery.py): unknown methods, parameters and body
fields, missing required ones and values of the wrong type get Google's 400 (404 for a method).

What it keeps from the real service: freeBusy with per-calendar `errors` (notFound,
tooManyCalendarsRequested past 50) and a 400 past 90 days; events with client-chosen base32hex
ids (409 duplicate), etags that change on every write and `If-Match` (412), deletion as
`status: cancelled` (410 on a second delete), extendedProperties (keys over 44 characters
dropped, values cut at 1024), attendees with `responseStatus`, dateTimes written in the
calendar's zone; list paging with `nextSyncToken` on the last page only, deleted events in
incremental rounds, 410 fullSyncRequired for a lost sync token; calendarList.list of the
caller's own calendar and those shared with it (`share`), paged by maxResults (default 100, at
most 250) and nextPageToken; watch/stop channels (HTTPS
addresses only); OAuth scopes per route (401 authError, 403 insufficientPermissions); and the
error JSON every failure uses; Meet conferences on request (google_conference.py). What it
leaves out: recurrence, list filters (timeMin, q, ...),
invitations landing in attendees' calendars, notifications actually sent.

Tests point the settings at it (`endpoints(base_url)`); knobs live on `GoogleState`
(google_state.py), the OAuth side on `state.identity` (google_identity.py), the wire format in
google_wire.py. Requests are counted per route under Google's method names
("freebusy.query", "events.insert", "token").

Standalone: `python -m web.sandbox.google --port 8766`.
"""

from __future__ import annotations

import argparse
import socket
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask, Response, current_app, g, jsonify, request
from werkzeug.serving import WSGIRequestHandler, make_server

from web.sandbox import google_conference, google_discovery
from web.sandbox.google_identity import ISSUER, Grant
from web.sandbox.google_identity import bp as identity_bp
from web.sandbox.google_state import DEFAULT_PAGE_SIZE, Fault, GoogleState
from web.sandbox.google_wire import (
    ApiError,
    error_response,
    event_times,
    fault_response,
    json_body,
    query_instant,
    render,
    rfc3339,
    stamp,
)

API = "/calendar/v3"
FREEBUSY_MAX_CALENDARS = 50
FREEBUSY_MAX_SPAN = timedelta(days=90)
_AUTH = "https://www.googleapis.com/auth/"
SCOPES_FOR = {  # which granted scopes open which routes
    "freebusy": {_AUTH + s for s in ("calendar", "calendar.readonly", "calendar.freebusy",
                                     "calendar.events.freebusy")},
    "read": {_AUTH + s for s in ("calendar", "calendar.readonly", "calendar.events",
                                 "calendar.events.readonly")},
    "write": {_AUTH + s for s in ("calendar", "calendar.events")},
    "calendarlist": {_AUTH + s for s in ("calendar", "calendar.readonly", "calendar.calendarlist",
                                         "calendar.calendarlist.readonly")},
}
CALENDAR_LIST_PAGE, CALENDAR_LIST_MAX = 100, 250  # calendarList.list maxResults: default, most


def create_app(state: GoogleState | None = None) -> Flask:
    app = Flask(__name__)
    app.extensions["google_state"] = state or GoogleState()
    app.register_blueprint(identity_bp)
    for rule, view, methods in (
            ("/freeBusy", freebusy_query, ["POST"]),
            ("/calendars/<calendar_id>/events", events_insert, ["POST"]),
            ("/calendars/<calendar_id>/events", events_list, ["GET"]),
            ("/calendars/<calendar_id>/events/watch", events_watch, ["POST"]),
            ("/calendars/<calendar_id>/events/<event_id>", events_get, ["GET"]),
            ("/calendars/<calendar_id>/events/<event_id>", events_patch, ["PATCH"]),
            ("/calendars/<calendar_id>/events/<event_id>", events_update, ["PUT"]),
            ("/calendars/<calendar_id>/events/<event_id>", events_delete, ["DELETE"]),
            ("/channels/stop", channels_stop, ["POST"]),
            ("/users/me/calendarList", calendarList_list, ["GET"])):
        app.add_url_rule(API + rule, view_func=view, methods=methods)
    google_discovery.install(app)
    app.before_request(_before)
    app.after_request(_after)
    app.register_error_handler(ApiError, error_response)
    return app


def current_state() -> GoogleState:
    return current_app.extensions["google_state"]


# --- latency, faults, counters ---------------------------------------------------------------


def _route() -> str:
    """Google's method name for the view: events_insert -> events.insert."""
    return (request.endpoint or "unknown").rsplit(".", 1)[-1].replace("_", ".", 1)


def _before() -> Response | None:
    request.get_data()  # read the body, so an early answer leaves the connection clean
    emulated = current_state()
    emulated.count(_route())
    time.sleep(emulated.latency)
    fault = emulated.next_fault(_route())
    if fault is None or fault.after_commit:
        g.fault = fault
        return None
    time.sleep(fault.delay)
    return _drop() if fault.drop else fault_response(fault)


def _after(response: Response) -> Response:
    fault: Fault | None = g.pop("fault", None)
    if fault is None:
        return response
    time.sleep(fault.delay)
    if fault.drop:
        return _drop()
    return response if fault.status is None else fault_response(fault)


def _drop() -> Response:
    """Close the connection under the client: it sees no answer at all."""
    request.environ["werkzeug.socket"].shutdown(socket.SHUT_RDWR)
    return Response(status=204)  # never arrives


# --- who is calling ----------------------------------------------------------------------------


def _caller(kind: str) -> Grant:
    header = request.headers.get("Authorization", "")
    grant = current_state().identity.holder(header.removeprefix("Bearer ")) \
        if header.startswith("Bearer ") else None
    if grant is None:
        raise ApiError(401, "authError", "Invalid Credentials")
    if not grant.scopes & SCOPES_FOR[kind]:
        raise ApiError(403, "insufficientPermissions",
                       "Request had insufficient authentication scopes.")
    return grant


def _own_calendar(calendar_id: str, kind: str) -> str:
    """The caller's own calendar ("primary" names it); others exist only for freeBusy here."""
    grant = _caller(kind)
    calendar_id = grant.email if calendar_id == "primary" else calendar_id
    if calendar_id.lower() not in current_state().calendars:
        raise ApiError(404, "notFound", "Not Found")
    if calendar_id.lower() != grant.email.lower():
        raise ApiError(403, "requiredAccessLevel",
                       "You need to have writer access to this calendar.")
    return calendar_id


def _record_send_updates(event_id: str) -> None:
    with current_state().lock:
        current_state().sent_updates.append((_route(), event_id, request.args.get("sendUpdates")))


# --- the Calendar routes -----------------------------------------------------------------------


def freebusy_query() -> Response:
    _caller("freebusy")
    body = json_body()
    start, end = query_instant(body.get("timeMin"), "timeMin"), query_instant(body.get("timeMax"),
                                                                      "timeMax")
    if end <= start:
        raise ApiError(400, "timeRangeEmpty", "The specified time range is empty.", "calendar")
    if end - start > FREEBUSY_MAX_SPAN:
        raise ApiError(400, "timeRangeTooLong", "The requested time range is too long.",
                       "calendar")
    zone = body.get("timeZone") or "UTC"
    calendars: dict[str, Any] = {}
    for index, item in enumerate(body.get("items") or []):
        calendar_id = item.get("id", "")
        if index >= FREEBUSY_MAX_CALENDARS:
            calendars[calendar_id] = {"errors": [{"domain": "calendar",
                                                  "reason": "tooManyCalendarsRequested"}],
                                      "busy": []}
        elif calendar_id.lower() not in current_state().calendars:
            calendars[calendar_id] = {"errors": [{"domain": "global", "reason": "notFound"}],
                                      "busy": []}
        else:
            calendars[calendar_id] = {"busy": [
                {"start": rfc3339(s, zone), "end": rfc3339(e, zone)}
                for s, e in current_state().busy(calendar_id, start, end)]}
    return jsonify({"kind": "calendar#freeBusy", "timeMin": rfc3339(start),
                    "timeMax": rfc3339(end), "calendars": calendars})


def events_insert(calendar_id: str) -> Response:
    calendar_id = _own_calendar(calendar_id, "write")
    fields, zone = json_body(), current_state().time_zone(calendar_id)
    start, end = event_times(fields, zone)
    google_conference.apply(fields, None, _conference_version(),
                            pending=current_state().meets_pending)
    event = current_state().insert_event(calendar_id, fields, start, end)
    _record_send_updates(event.id)
    return jsonify(render(event, zone))


def events_get(calendar_id: str, event_id: str) -> Response:
    calendar_id = _own_calendar(calendar_id, "read")
    return jsonify(render(current_state().get_event(calendar_id, event_id),
                           current_state().time_zone(calendar_id)))


def events_patch(calendar_id: str, event_id: str) -> Response:
    return _write(calendar_id, event_id, replace=False)


def events_update(calendar_id: str, event_id: str) -> Response:
    return _write(calendar_id, event_id, replace=True)


def _write(calendar_id: str, event_id: str, *, replace: bool) -> Response:
    calendar_id = _own_calendar(calendar_id, "write")
    fields, zone = json_body(), current_state().time_zone(calendar_id)
    current = current_state().get_event(calendar_id, event_id).fields
    google_conference.apply(fields, current, _conference_version(),
                            pending=current_state().meets_pending)
    times = event_times({"start": fields.get("start", None if replace else current["start"]),
                    "end": fields.get("end", None if replace else current["end"])}, zone)
    event = current_state().write_event(calendar_id, event_id, fields, replace=replace,
                                if_match=request.headers.get("If-Match"), times=times)
    _record_send_updates(event_id)
    return jsonify(render(event, zone))


def _conference_version() -> int:
    return int(request.args.get("conferenceDataVersion", "0"))


def events_delete(calendar_id: str, event_id: str) -> Response:
    calendar_id = _own_calendar(calendar_id, "write")
    current_state().delete_event(calendar_id, event_id)
    _record_send_updates(event_id)
    return Response(status=204)


def events_list(calendar_id: str) -> Response:
    calendar_id = _own_calendar(calendar_id, "read")
    args = request.args
    sync_token, page_token = args.get("syncToken"), args.get("pageToken")
    if sync_token and any(args.get(name) for name in ("timeMin", "timeMax", "updatedMin",
                                                      "orderBy", "q", "iCalUID")):
        raise ApiError(400, "invalid", "Some requested parameters cannot be used together "
                                       "with a sync token.")
    size = int(args.get("maxResults", DEFAULT_PAGE_SIZE))  # the document's check: >= 1
    if not page_token:
        page_token = current_state().start_round(calendar_id, sync_token=sync_token, size=size,
                                         show_deleted=args.get("showDeleted") == "true")
    events, next_page, next_sync = current_state().page(page_token)
    zone = current_state().time_zone(calendar_id)
    answer: dict[str, Any] = {
        "kind": "calendar#events", "etag": f'"p{int(time.time() * 1000)}"',
        "summary": calendar_id, "updated": stamp(datetime.now(UTC)), "timeZone": zone,
        "accessRole": "owner", "defaultReminders": [],
        "items": [render(event, zone, full=False) for event in events]}
    if next_page:
        answer["nextPageToken"] = next_page
    else:
        answer["nextSyncToken"] = next_sync
    return jsonify(answer)


def events_watch(calendar_id: str) -> Response:
    calendar_id = _own_calendar(calendar_id, "read")
    body = json_body()
    if body.get("type") not in ("web_hook", "webhook"):
        raise ApiError(400, "invalid", "Invalid value for: type")
    if not str(body.get("address", "")).startswith("https://"):
        raise ApiError(400, "push.webhookUrlNotHttps",
                       f"WebHook callback must be HTTPS: {body.get('address')}", "push")
    if not body.get("id") or body["id"] in current_state().channels:
        raise ApiError(400, "channelIdNotUnique", "Channel id not unique", "push")
    return jsonify(current_state().open_channel(calendar_id, body))


def channels_stop() -> Response:
    _caller("read")
    body = json_body()
    current_state().close_channel(body.get("id", ""), body.get("resourceId", ""))
    return Response(status=204)


def calendarList_list() -> Response:  # Google's method name: calendarList.list
    """The caller's calendars, `maxResults` (at most 250) a page; the page token says where
    the next page starts and only works for the account it was given to."""
    grant = _caller("calendarlist")
    entries = current_state().calendar_list(grant.email)
    size = min(int(request.args.get("maxResults", CALENDAR_LIST_PAGE)), CALENDAR_LIST_MAX)
    start = 0
    if request.args.get("pageToken"):
        owner, _, offset = request.args["pageToken"].rpartition(":")
        if owner != grant.email.lower() or not offset.isdigit():
            raise ApiError(400, "invalid", "Invalid page token value.")
        start = int(offset)
    items = [{"kind": "calendar#calendarListEntry", "etag": f'"{n}"', "timeZone":
              current_state().time_zone(entry["id"]), "defaultReminders": [], **entry}
             for n, entry in enumerate(entries[start:start + size], start)]
    answer: dict[str, Any] = {"kind": "calendar#calendarList",
                              "etag": f'"l{len(entries)}"', "items": items}
    if start + size < len(entries):
        answer["nextPageToken"] = f"{grant.email.lower()}:{start + size}"
    else:
        answer["nextSyncToken"] = f"cl{len(entries)}"
    return jsonify(answer)


# --- serving ---------------------------------------------------------------------------------


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Tests read the counters; an access log line per request is noise."""


def serve(state: GoogleState) -> tuple[str, Callable[[], None]]:
    """Serve the emulator on a free loopback port in a thread: (base URL, shutdown)."""
    server = make_server("127.0.0.1", 0, create_app(state), threaded=True,
                         request_handler=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02},
                              name="google-emulator", daemon=True)  # quick to shut down
    thread.start()

    def shutdown() -> None:
        server.shutdown()
        server.server_close()
        thread.join()

    return f"http://127.0.0.1:{server.server_port}", shutdown


def endpoints(base_url: str) -> dict[str, str]:
    """The provider settings that point a client at the emulator."""
    return {"google_auth_uri": f"{base_url}/o/oauth2/auth",
            "google_token_uri": f"{base_url}/token",
            "google_api_endpoint": f"{base_url}{API}/"}


def demo_state() -> GoogleState:
    """A rep who can sign in and two colleagues whose free/busy the rep can read."""
    emulated = GoogleState()
    for helper in ("helper1@example.com", "helper2@example.com"):
        emulated.add_calendar(helper)
    return emulated


def sandbox(people: list[tuple[str, str]], busy: Callable[[str, str], list[tuple[datetime,
                                                                                   datetime]]]
            ) -> tuple[GoogleState, dict[str, str]]:
    """A Google to connect to in `nextstep demo --google-sandbox`: the first person signs in
    on its consent page, everyone has a calendar in their zone filled with `busy(email,
    zone)`. Returns the state and the settings that point Nextstep at it."""
    emulated = GoogleState(account=people[0][0])
    for email, zone in people:
        emulated.add_calendar(email, time_zone=zone)
        for start, end in busy(email, zone):
            emulated.add_busy(email, start, end)
    base, _shutdown = serve(emulated)  # a daemon thread: it ends with the demo
    return emulated, {"google_client_id": emulated.identity.client_id,
                      "google_client_secret": emulated.identity.client_secret,
                      **endpoints(base)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8766)
    args = parser.parse_args(argv)
    emulated = demo_state()
    server = make_server(args.host, args.port, create_app(emulated), threaded=True,
                         request_handler=_QuietHandler)
    base = f"http://{args.host}:{server.server_port}"
    print(f"Google emulator on {base} (issuer stands in for {ISSUER}); signs in "
          f"{emulated.identity.account}. Settings:", flush=True)
    settings = {"google_client_id": emulated.identity.client_id,
                "google_client_secret": emulated.identity.client_secret, **endpoints(base)}
    for name, value in settings.items():
        print(f"  NEXTSTEP_{name.upper()}={value}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
