"""An emulator of the Microsoft Graph calendar endpoints (v1.0) and the Microsoft identity
platform, for driving the Outlook adapter through its real client libraries (msal, requests).

What it keeps from the real service: events with `transactionId` de-duplication,
singleValueExtendedProperties returned only when `$expand`ed, attendee responses,
`Prefer: outlook.timezone`, getSchedule's limits (20 schedules, < 62 days), per-schedule
errors and its refusal for personal accounts, calendarView paging by `$skip`,
calendarView/delta rounds (server-side state tokens, `@removed`, the deltaLink only on the last
page, 410 `syncStateNotFound` once a token is gone), subscriptions with the validation
handshake, and Graph's error JSON. Every Graph request is first checked against what
Microsoft documents for its endpoint (graph_rules.py) and refused with Graph's 400 otherwise,
e.g. `$expand` on calendarView/delta. What it leaves out: recurrence, invitations landing in
attendees' mailboxes, calendars other than the default.

The parts: this module (the app, fault and latency hooks, serving, reaching it),
graph_calendar.py (the v1.0 routes), graph_rules.py (what Microsoft documents for each route),
graph_wire.py (Graph's request and response format), graph_identity.py (the identity platform)
and graph_state.py (the data and the knobs).

Tests reach it as `https://graph.emulator.test` and `https://login.emulator.test` (msal refuses
plain-http authorities) through `emulator_session`, whose adapter forwards to the local port the
way a reverse proxy would.

Standalone: `python -m tests.emulators.graph --port 8765`.
"""

from __future__ import annotations

import argparse
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from flask import Flask, Response, g, request
from requests.adapters import HTTPAdapter
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.serving import WSGIRequestHandler, make_server

from tests.emulators.graph_calendar import bp as calendar_bp
from tests.emulators.graph_identity import bp as identity_bp
from tests.emulators.graph_rules import RULES, check_request
from tests.emulators.graph_state import Fault, GraphState
from tests.emulators.graph_wire import GraphError, error_response, state

LOGIN_HOST, GRAPH_HOST = "login.emulator.test", "graph.emulator.test"
AUTHORITY = f"https://{LOGIN_HOST}/common"
GRAPH_ENDPOINT = f"https://{GRAPH_HOST}/v1.0/"
FAULT_CODES = {429: "TooManyRequests", 500: "InternalServerError", 502: "BadGateway",
               503: "ServiceNotAvailable", 504: "GatewayTimeout"}


def create_app(state: GraphState) -> Flask:
    app = Flask(__name__)
    app.wsgi_app = ProxyFix(app.wsgi_app, x_proto=1, x_host=1)  # type: ignore[method-assign]
    app.extensions["graph_state"] = state
    app.register_blueprint(identity_bp)
    app.register_blueprint(calendar_bp)
    app.before_request(_before)
    app.after_request(_after)
    app.register_error_handler(GraphError, error_response)
    unruled = {rule.endpoint for rule in app.url_map.iter_rules()
               if rule.endpoint.startswith(f"{calendar_bp.name}.")} - {
        f"{calendar_bp.name}.{view}" for view in RULES}
    assert not unruled, f"Graph routes without a row in graph_rules.RULES: {sorted(unruled)}"
    return app


def _before() -> Response | None:
    """Count, wait, refuse what Graph refuses, and fail as the knobs say; a fault after commit
    waits for `_after`."""
    emulated = state()
    route = (request.endpoint or "unknown").rsplit(".", 1)[-1]
    emulated.count(route)
    time.sleep(emulated.latency)
    if request.blueprint == calendar_bp.name:
        check_request(route)
    fault = emulated.next_fault(route)
    if fault is None or fault.after_commit:
        g.fault = fault
        return None
    time.sleep(fault.delay)
    return _fault_response(fault)


def _after(response: Response) -> Response:
    fault: Fault | None = g.pop("fault", None)
    if fault is None:
        return response
    time.sleep(fault.delay)
    return response if fault.status is None else _fault_response(fault)


def _fault_response(fault: Fault) -> Response:
    status = fault.status or 503
    answer = error_response(GraphError(status, FAULT_CODES.get(status, "UnknownError"),
                                        "Injected by the emulator."))
    if fault.retry_after is not None:
        answer.headers["Retry-After"] = f"{fault.retry_after:g}"
    return answer


# --- serving and reaching it -----------------------------------------------------------------


class _QuietHandler(WSGIRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as clients get from the real service

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Tests read the counters; an access log line per request is noise."""


def serve(state: GraphState) -> tuple[str, Callable[[], None]]:
    """Serve the emulator on a free loopback port in a thread: (base URL, shutdown)."""
    server = make_server("127.0.0.1", 0, create_app(state), threaded=True,
                         request_handler=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              name="graph-emulator", daemon=True)
    thread.start()

    def shutdown() -> None:
        server.shutdown()
        server.server_close()
        thread.join()

    return f"http://127.0.0.1:{server.server_port}", shutdown


class HostMapAdapter(HTTPAdapter):
    """Sends `https://<public host>/...` to the emulator's `http://127.0.0.1:<port>/...` and
    tells it the public scheme and host (X-Forwarded-*), as a TLS-terminating proxy would."""

    def __init__(self, target: str) -> None:
        super().__init__()
        self.target = urlsplit(target)

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        public = urlsplit(request.url or "")
        request.headers["X-Forwarded-Proto"] = public.scheme
        request.headers["X-Forwarded-Host"] = public.netloc
        request.url = urlunsplit((self.target.scheme, self.target.netloc, public.path,
                                  public.query, ""))
        kwargs["proxies"] = {}
        return super().send(request, **kwargs)


def emulator_session(base_url: str) -> requests.Session:
    """A requests session that reaches the emulator as login.emulator.test and
    graph.emulator.test; hand it to msal and the adapter as their HTTP client."""
    session = requests.Session()
    session.trust_env = False
    for host in (LOGIN_HOST, GRAPH_HOST):
        session.mount(f"https://{host}/", HostMapAdapter(base_url))
    return session


def demo_state() -> GraphState:
    """A rep who can sign in and two colleagues whose free/busy the rep can read."""
    state = GraphState()
    state.add_account("rep@example.com", name="Riley Rep")
    for helper in ("helper1@example.com", "helper2@example.com"):
        state.add_mailbox(helper)
    return state


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args(argv)
    state = demo_state()
    server = make_server(args.host, args.port, create_app(state), threaded=True,
                         request_handler=_QuietHandler)
    print(f"Graph emulator on http://{args.host}:{server.server_port} "
          f"(client id {state.identity.client_id!r}, secret "
          f"{state.identity.client_secret!r}); map {LOGIN_HOST} and {GRAPH_HOST} onto it",
          flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
