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


def apply(fields: dict[str, Any], current: dict[str, Any] | None, version: int) -> None:
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
    code = meeting_code(request_id)
    uri = f"https://meet.google.com/{code}"
    fields["conferenceData"] = {
        "createRequest": {"requestId": request_id, "conferenceSolutionKey": {"type": kind},
                          "status": {"statusCode": "success"}},
        "entryPoints": [{"entryPointType": "video", "uri": uri,
                         "label": uri.removeprefix("https://")}],
        "conferenceSolution": {"key": {"type": kind}, "name": "Google Meet",
                               "iconUri": MEET_ICON},
        "conferenceId": code}
    fields["hangoutLink"] = uri


def meeting_code(request_id: str) -> str:
    """A Meet code (aaa-bbbb-ccc) that follows from the request id, so tests can expect it."""
    digest = hashlib.sha256(request_id.encode()).digest()
    letters = "".join(LETTERS[b % 26] for b in digest[:10])
    return f"{letters[:3]}-{letters[3:7]}-{letters[7:]}"
