"""Every route that takes an id walked as its owner and as another rep: the owner gets
2xx/3xx, another rep a 404 (never 200, never 500). A new id-taking route fails the walk
until it is listed here, so no route is left to its own ownership check."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from scheduler.accounts import create_api_token, set_password
from scheduler.store.models import Connection
from tests.conftest import PASSWORD
from tests.web.api_support import book

FOLLOWUP_API = "/api/v1/followups/<followup_id>"
MARK_DONE = "/log/followups/<followup_id>/steps/<int:index>/done"
CALENDARS = "/connections/<int:connection_id>/calendars"
DISCONNECT = "/connections/<int:connection_id>/disconnect"

# (rule, method): what the owner and the other rep send. Disconnect goes last: it deletes.
OWNED = [
    ((FOLLOWUP_API, "GET"), {}),
    ((FOLLOWUP_API, "PATCH"), {"json": {"steps": [{"index": 0, "done": True}]}}),
    ((MARK_DONE, "POST"), {}),
    ((CALENDARS, "POST"), {"data": {"busy_calendars": "primary", "booking_calendar": "primary"}}),
    ((DISCONNECT, "POST"), {}),
]
# Capability links: the token itself is the access (the prospect has no account), so a
# rep's session adds nothing; a forged token must be a 4xx page, never a 500.
TOKEN_LINKS = {"/o/<token>", "/f/<token>", "/f/<token>/reschedule", "/f/<token>/cancel",
               "/f/<token>/invite.ics"}
# Names, not ids: a provider name selects code, never another rep's record.
NOT_RECORDS = {"/hooks/<provider>", "/connections/<provider>/connect", "/login/<provider>",
               "/connections/<provider>/callback", "/static/<path:filename>"}


def id_rules(app) -> set[tuple[str, str]]:
    return {(rule.rule, method) for rule in app.url_map.iter_rules() if rule.arguments
            for method in rule.methods - {"HEAD", "OPTIONS"}}


def test_the_walk_covers_every_route_that_takes_an_id(app):
    walked = {case for case, _ in OWNED}
    unlisted = {(rule, method) for rule, method in id_rules(app) - walked
                if rule not in TOKEN_LINKS | NOT_RECORDS}
    assert not unlisted, f"add these routes to the access walk: {sorted(unlisted)}"


@pytest.fixture
def other(app, runtime, make_rep):
    """A second rep, signed in on a browser of their own and holding an API token."""
    sam = make_rep("sam@example.com", name="Sam Other")
    set_password(runtime.store, sam.email, PASSWORD)
    browser = app.test_client()
    assert browser.post("/login", data={"email": sam.email,
                                        "password": PASSWORD}).status_code == 302
    browser.token = create_api_token(runtime.store, sam.email, clock=runtime.clock)
    return browser


def call(client, rule, method, values, *, token=None, **body):
    path = rule
    for name, value in values.items():
        path = path.replace(f"<{name}>", str(value)).replace(f"<int:{name}>", str(value))
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.open(path, method=method, headers=headers, **body)


def test_each_record_answers_its_owner_and_is_a_404_to_another_rep(api, signed_in, other,
                                                                   token, rep, runtime):
    followup = book(api)
    with runtime.store.reading() as session:
        connection_id = session.scalars(select(Connection.id)
                                        .where(Connection.user_id == rep.id)).first()
    assert connection_id is not None
    values = {"followup_id": followup["id"], "index": 0, "connection_id": connection_id}
    for (rule, method), body in OWNED:
        api_call = rule.startswith("/api/")
        stranger = call(other, rule, method, values,
                        token=other.token if api_call else None, **body)
        assert stranger.status_code == 404, (rule, method, stranger.status_code)
        owner = call(signed_in, rule, method, values, token=token if api_call else None, **body)
        assert 200 <= owner.status_code < 400, (rule, method, owner.status_code, owner.text)


def test_a_forged_link_token_is_a_4xx_page_for_anyone(app, signed_in, other):
    app.config["WTF_CSRF_ENABLED"] = False
    for rule, method in sorted(id_rules(app)):
        if rule not in TOKEN_LINKS:
            continue
        for client in (signed_in, other):
            answer = call(client, rule, method, {"token": "forged.token"})
            assert 400 <= answer.status_code < 500, (rule, method, answer.status_code)
