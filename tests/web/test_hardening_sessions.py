"""Sessions and tokens that can be ended (issue 15, findings 2 and 3): a copied session
cookie dies with sign-out, a new password or "sign out everywhere"; an API token revoked on
the settings page or expired gets 401 at once, also from another app on the same database."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from scheduler.accounts import list_api_tokens, set_password
from scheduler.jobs import InlineJobs
from tests.conftest import PASSWORD, build_runtime
from web.app import create_app


def _copy_of_session(app, client):
    """A second browser holding a copy of the signed-in client's session cookie."""
    stolen = app.test_client()
    stolen.set_cookie("session", client.get_cookie("session").value)
    assert stolen.get("/log").status_code == 200  # the copy works before the sign-out
    return stolen


def test_signing_out_ends_every_copy_of_the_session(app, signed_in):
    copy = _copy_of_session(app, signed_in)

    signed_in.post("/logout")

    assert copy.get("/log").status_code == 302
    assert "/login" in copy.get("/log").headers["Location"]


def test_a_new_password_ends_the_old_sessions(app, signed_in, rep, runtime):
    copy = _copy_of_session(app, signed_in)

    set_password(runtime.store, rep.email, "a brand new passphrase")

    assert copy.get("/log").status_code == 302
    assert signed_in.get("/log").status_code == 302


def test_sign_out_everywhere_on_the_settings_page(app, signed_in):
    copy = _copy_of_session(app, signed_in)

    response = signed_in.post("/settings/sign-out-everywhere")

    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert copy.get("/settings").status_code == 302


def test_signing_in_again_after_signing_out_works(app, signed_in, rep):
    signed_in.post("/logout")

    again = signed_in.post("/login", data={"email": rep.email, "password": PASSWORD})

    assert again.status_code == 302 and signed_in.get("/log").status_code == 200


def _created_token(client) -> str:
    page = client.post("/settings/tokens")
    assert page.status_code == 201
    return re.search(r'<code id="new-token">(ns_[^<]+)</code>', page.get_data(as_text=True))[1]


def _api_status(client, token: str) -> int:
    return client.get("/api/v1/log", headers={"Authorization": f"Bearer {token}"}).status_code


def test_a_token_is_shown_once_and_then_listed_without_its_secret(signed_in):
    token = _created_token(signed_in)

    page = signed_in.get("/settings").get_data(as_text=True)

    assert _api_status(signed_in, token) == 200
    assert token not in page and 'data-token="1"' in page and "active" in page
    assert token not in str(signed_in.get_cookie("session").value)


def test_the_settings_page_shows_when_a_token_was_last_used(signed_in, rep, runtime):
    token = _created_token(signed_in)
    assert "never" in signed_in.get("/settings").get_data(as_text=True)

    _api_status(signed_in, token)

    [info] = list_api_tokens(runtime.store, rep.id)
    assert info.last_used_at == runtime.clock.now()


def test_a_token_revoked_on_the_settings_page_is_refused_at_once(signed_in):
    token = _created_token(signed_in)

    response = signed_in.post("/settings/tokens/revoke", data={"token_id": "1"})

    assert response.status_code == 302
    assert _api_status(signed_in, token) == 401
    assert "revoked" in signed_in.get("/settings").get_data(as_text=True)


def test_a_revoked_token_is_refused_by_another_worker_at_once(app, signed_in, runtime,
                                                              settings, clock):
    """A second app on the same database stands for another worker: no cache to outlive
    the revocation."""
    other_runtime = build_runtime(settings, clock)
    other = create_app(runtime=other_runtime.use_jobs(InlineJobs(other_runtime.tick)))
    token = _created_token(signed_in)
    assert _api_status(other.test_client(), token) == 200

    signed_in.post("/settings/tokens/revoke", data={"token_id": "1"})

    assert _api_status(other.test_client(), token) == 401
    other_runtime.store.dispose()


def test_an_expired_token_gets_401(signed_in, runtime):
    token = _created_token(signed_in)
    runtime.clock.advance(timedelta(days=runtime.settings.api_token_days, seconds=1))

    assert _api_status(signed_in, token) == 401


def test_another_reps_token_cannot_be_revoked(signed_in, runtime):
    from scheduler.accounts import add_user, create_api_token

    add_user("morgan@example.com", store=runtime.store, clock=runtime.clock)
    theirs = create_api_token(runtime.store, "morgan@example.com", clock=runtime.clock)

    response = signed_in.post("/settings/tokens/revoke", data={"token_id": "1"})

    assert response.status_code == 404
    assert _api_status(signed_in, theirs) == 200


@pytest.mark.parametrize("path", ["/settings/tokens", "/settings/tokens/revoke",
                                  "/settings/sign-out-everywhere"])
def test_settings_forms_need_their_csrf_token(app, signed_in, path):
    app.config["WTF_CSRF_ENABLED"] = True

    assert signed_in.post(path, data={"token_id": "1"}).status_code == 400
