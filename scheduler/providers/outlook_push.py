"""Graph's change notifications: subscriptions to the signed-in user's events, the
validation handshake (echo the token as text/plain) and batches of notifications, each
carrying the clientState we gave its subscription. A subscription is extended in place."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from scheduler.clock import iso_utc
from scheduler.providers.base import ChannelLookup, RawRequest, Reply

if TYPE_CHECKING:
    from scheduler.providers.outlook import OutlookCalendar

logger = logging.getLogger(__name__)
MAX_VALIDATION_TOKEN = 1024  # Graph's tokens are short; anything longer is not Graph


class GraphSubscriptions:
    lifetime = timedelta(days=2)  # Graph caps event subscriptions near 3 days
    https_only = False

    def open(self, adapter: OutlookCalendar, *, calendar_id: str, address: str, secret: str,
             now: datetime) -> dict[str, Any]:
        opened = adapter.subscribe(notification_url=address, client_state=secret,
                                   expires_at=now + self.lifetime)
        return {"id": opened["id"], "token": secret, "expires_at": iso_utc(opened["expiration"])}

    def renew(self, adapter: OutlookCalendar, channel: dict[str, Any], *,
              now: datetime) -> dict[str, Any]:
        expires_at = now + self.lifetime
        adapter.renew_subscription(channel["id"], expires_at)
        return dict(channel, expires_at=iso_utc(expires_at))

    def close(self, adapter: OutlookCalendar, channel: dict[str, Any]) -> None:
        adapter.delete_subscription(channel["id"])

    def receive(self, request: RawRequest, find: ChannelLookup) -> Reply:
        token = request.args.get("validationToken")
        if token is not None:
            if len(token) > MAX_VALIDATION_TOKEN:
                return Reply(400, "validationToken is too long")
            return Reply(200, token)
        body = _json(request)
        notes = body.get("value") if isinstance(body, dict) else None
        if not isinstance(notes, list):
            return Reply(400, "malformed body: expected Graph change notifications "
                              "{\"value\": [...]}")
        wanted = []
        for note in notes:
            note = note if isinstance(note, dict) else {}
            connection_id = find(str(note.get("subscriptionId") or ""),
                                 str(note.get("clientState") or ""))
            if connection_id is None:
                logger.warning("Graph notification with an unknown subscription or clientState")
                continue
            wanted.append(connection_id)
        return Reply(202, sync=tuple(wanted))


def _json(request: RawRequest) -> Any:
    """The body as JSON when it says it is JSON (as Flask's get_json reads it), else None."""
    mimetype = request.header("Content-Type").split(";", 1)[0].strip().lower()
    if mimetype != "application/json" and not (mimetype.startswith("application/")
                                               and mimetype.endswith("+json")):
        return None
    try:
        return json.loads(request.body)
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: nested 100k deep
        return None
