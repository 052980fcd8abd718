"""Google Meet conferences as Calendar v3 makes them for an event (the Event resource's
`conferenceData` and `hangoutLink`, developers.google.com/calendar/api/guides/create-events
"Add video and phone conferences to events"):

- `conferenceData` counts only with `conferenceDataVersion=1`; at version 0 (the default) it
  is ignored and the event keeps whatever conference it had.
- `createRequest` needs a `requestId` and a `conferenceSolutionKey.type` the calendar allows
  (`allowedConferenceSolutionTypes`, `hangoutsMeet` here); another type is a 400.
- A `requestId` the event has seen is ignored, so a retried request makes no second meeting;
  a new one replaces the conference.
- The answer carries `entryPoints` (a `video` uri `https://meet.google.com/aaa-bbbb-ccc`),
  `conferenceSolution`, `conferenceId`, the request with `status.statusCode` and the event's
  read-only `hangoutLink` (sent by a client, it is ignored).
- Google may make the meeting asynchronously: then the answer holds only the request, its
  status `pending`, and the entry points appear later as a change to the event (a test
  turns this on with `pending=True` and finishes them with `GoogleState.finish_meets`).
"""

from __future__ import annotations

import hashlib
from typing import Any

from web.sandbox.google_wire import ApiError

MEET = "hangoutsMeet"
ALLOWED_TYPES = (MEET,)
MEET_ICON = ("https://fonts.gstatic.com/s/i/productlogos/meet_2020q4/v6/web-512dp/"
             "logo_meet_2020q4_color_2x_web_512dp.png")
LETTERS = "abcdefghijklmnopqrstuvwxyz"


def apply(fields: dict[str, Any], current: dict[str, Any] | None, version: int, *,
          pending: bool = False) -> None:
    """Turn the request's conference fields into what the event stores, in place."""
    fields.pop("hangoutLink", None)
    asked = fields.pop("conferenceData", None)
    kept = {key: current[key] for key in ("conferenceData", "hangoutLink")
            if current and key in current}
    if version < 1 or asked is None:
        fields.update(kept)
        return
    request = asked.get("createRequest")
    if request is None:  # copying conference data the client already has
        fields["conferenceData"] = asked
        return
    request_id = request.get("requestId")
    kind = (request.get("conferenceSolutionKey") or {}).get("type")
    if not request_id:
        raise ApiError(400, "invalid", "Invalid conference create request: requestId is "
                                       "required.")
    if kind not in ALLOWED_TYPES:
        raise ApiError(400, "invalid", "Invalid conference type value.")
    seen = (kept.get("conferenceData") or {}).get("createRequest", {}).get("requestId")
    if seen == request_id:
        fields.update(kept)
        return
    fields.pop("hangoutLink", None)
    fields["conferenceData"] = {"createRequest": {
        "requestId": request_id, "conferenceSolutionKey": {"type": kind},
        "status": {"statusCode": "pending"}}}
    if not pending:
        finish(fields)


def finish(fields: dict[str, Any]) -> bool:
    """A pending meeting made: its entry points and `hangoutLink`. False if none pends."""
    conference = fields.get("conferenceData") or {}
    request = conference.get("createRequest") or {}
    if request.get("status", {}).get("statusCode") != "pending":
        return False
    kind = request["conferenceSolutionKey"]["type"]
    code = meeting_code(request["requestId"])
    uri = f"https://meet.google.com/{code}"
    fields["conferenceData"] = {
        "createRequest": {**request, "status": {"statusCode": "success"}},
        "entryPoints": [{"entryPointType": "video", "uri": uri,
                         "label": uri.removeprefix("https://")}],
        "conferenceSolution": {"key": {"type": kind}, "name": "Google Meet",
                               "iconUri": MEET_ICON},
        "conferenceId": code}
    fields["hangoutLink"] = uri
    return True


def meeting_code(request_id: str) -> str:
    """A Meet code (aaa-bbbb-ccc) that follows from the request id, so tests can expect it."""
    digest = hashlib.sha256(request_id.encode()).digest()
    letters = "".join(LETTERS[b % 26] for b in digest[:10])
    return f"{letters[:3]}-{letters[3:7]}-{letters[7:]}"
