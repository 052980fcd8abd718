"""Change notifications. Each is checked against its channel's secret (in constant time),
then only asks for a sync: the answer goes back at once, the worker does the reading, and a
burst of notifications for one calendar costs one sync."""

from __future__ import annotations

import logging

from flask import Response, request

from scheduler.connections import connection_for_channel, request_sync
from web.hooks import bp
from web.runtime import runtime

logger = logging.getLogger(__name__)
MAX_VALIDATION_TOKEN = 1024  # Graph's tokens are short; anything longer is not Graph


@bp.post("/google")
def google():
    """Google's push notification: headers only. The first message of a channel says "sync"
    (the channel works) and carries no change."""
    connection_id = connection_for_channel(
        runtime().store, "google", request.headers.get("X-Goog-Channel-ID", ""),
        request.headers.get("X-Goog-Channel-Token", ""))
    if connection_id is None:
        logger.warning("Google notification for an unknown channel or with a wrong token")
        return Response(status=404)
    if request.headers.get("X-Goog-Resource-State") != "sync":
        _ask_for_sync(connection_id)
    return Response(status=200)


@bp.post("/outlook")
def outlook():
    """Graph: the validation handshake (echo the token as text/plain), or a batch of change
    notifications, each carrying the clientState we gave its subscription."""
    token = request.args.get("validationToken")
    if token is not None:
        if len(token) > MAX_VALIDATION_TOKEN:
            return Response("validationToken is too long", status=400, mimetype="text/plain")
        return Response(token, status=200, mimetype="text/plain")
    body = request.get_json(silent=True)
    notes = body.get("value") if isinstance(body, dict) else None
    if not isinstance(notes, list):
        return Response("malformed body: expected Graph change notifications "
                        "{\"value\": [...]}",
                        status=400, mimetype="text/plain")
    for note in notes:
        note = note if isinstance(note, dict) else {}
        connection_id = connection_for_channel(
            runtime().store, "outlook", str(note.get("subscriptionId") or ""),
            str(note.get("clientState") or ""))
        if connection_id is None:
            logger.warning("Graph notification with an unknown subscription or clientState")
            continue
        _ask_for_sync(connection_id)
    return Response(status=202)


def _ask_for_sync(connection_id: int) -> None:
    nextstep = runtime()
    if request_sync(connection_id, store=nextstep.store, clock=nextstep.clock):
        nextstep.jobs.kick()
