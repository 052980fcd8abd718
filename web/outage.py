"""A database outage answered as one: 503 with Retry-After (the API's error shape, a plain
page elsewhere), a read retried once on a dropped connection, and nothing to restart after:
the pool reconnects (a connection idle a while is pinged first, see scheduler.store.session)
as soon as the database is back."""

from __future__ import annotations

from functools import wraps

from flask import Flask, Response, jsonify, request
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from web.errors import body

RETRY_AFTER_SECONDS = 5
OUTAGE = (OperationalError, InterfaceError, PoolTimeout)
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
# Fixed text, not a template: templates ask who is signed in, and that needs the database.
PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Try again in a moment · Nextstep</title>
<link rel="stylesheet" href="/static/app.css"></head>
<body><main id="main"><h1>Try again in a moment</h1>
<p>Nextstep cannot reach its database right now. Nothing you did was half-saved; reload this
page in a few seconds.</p></main></body></html>
"""


def is_outage(error: BaseException) -> bool:
    """Lost or refused connections, not a query the database refused (those are bugs)."""
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    return isinstance(error, OUTAGE)


def retry_read_once(view):
    """A read whose connection dropped mid-request runs once more on a fresh one (the pool
    drops the dead connection); a write is never repeated, it gets the 503."""
    @wraps(view)
    def wrapper(*args, **kwargs):
        try:
            return view(*args, **kwargs)
        except DBAPIError as error:
            if request.method not in SAFE_METHODS or not error.connection_invalidated:
                raise
        return view(*args, **kwargs)
    return wrapper


def register(app: Flask) -> None:
    """Call after the blueprints are registered: every view gets the one retry."""
    for endpoint, view in list(app.view_functions.items()):
        if endpoint != "static":
            app.view_functions[endpoint] = retry_read_once(view)

    @app.errorhandler(DBAPIError)
    @app.errorhandler(PoolTimeout)
    def database_unavailable(error: Exception):
        if not is_outage(error):
            raise error
        headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
        if request.path.startswith("/api/"):
            return jsonify(body("database_unavailable", "the database cannot be reached "
                                "right now; try again in a moment")), 503, headers
        return Response(PAGE, status=503, headers=headers, mimetype="text/html")
