"""Change notifications. The provider's push channel reads its own format and checks each
notification against its channel's secret (in constant time); a notification only asks for a
sync: the answer goes back at once, the worker does the reading, and a burst of
notifications for one calendar costs one sync."""

from __future__ import annotations

from flask import Response

from scheduler.connections import receive_notification
from web.hooks import bp
from web.plain import plain_request
from web.runtime import deps, runtime


@bp.post("/<provider>")
def notification(provider: str):
    reply, wake = receive_notification(provider, plain_request(),
                                       **deps("store", "calendars", "clock"))
    if wake:
        runtime().jobs.kick()
    return Response(reply.text, status=reply.status, mimetype="text/plain")
