"""Google's push notifications: watch channels on a calendar's events, and the notification
Google sends (headers only; the first message of a channel says "sync": the channel works
and carries no change). A channel cannot be extended: renewing opens another."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from scheduler.clock import iso_utc
from scheduler.providers.base import ChannelLookup, RawRequest, Reply

if TYPE_CHECKING:
    from scheduler.providers.google import GoogleCalendar

logger = logging.getLogger(__name__)


class GoogleWatch:
    lifetime = timedelta(days=7)
    https_only = True  # Google calls only HTTPS addresses

    def open(self, adapter: GoogleCalendar, *, calendar_id: str, address: str, secret: str,
             now: datetime) -> dict[str, Any]:
        opened = adapter.watch(calendar_id, address=address, channel_token=secret,
                               channel_id=uuid.uuid4().hex,
                               ttl_seconds=int(self.lifetime.total_seconds()))
        return {"id": opened["id"], "resource_id": opened["resource_id"], "token": secret,
                "expires_at": iso_utc(opened["expiration"])}

    def renew(self, adapter: GoogleCalendar, channel: dict[str, Any], *,
              now: datetime) -> None:
        return None

    def close(self, adapter: GoogleCalendar, channel: dict[str, Any]) -> None:
        adapter.stop_watch(channel["id"], channel["resource_id"])

    def receive(self, request: RawRequest, find: ChannelLookup) -> Reply:
        connection_id = find(request.header("X-Goog-Channel-ID"),
                             request.header("X-Goog-Channel-Token"))
        if connection_id is None:
            logger.warning("Google notification for an unknown channel or with a wrong token")
            return Reply(404)
        changed = request.header("X-Goog-Resource-State") != "sync"
        return Reply(200, sync=(connection_id,) if changed else ())
