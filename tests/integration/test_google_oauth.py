"""Connecting a Google account (google_oauth.py) against the emulator's consent page and token
endpoint, and the adapter's tokens afterwards: refreshes handed to the caller, revocation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import requests

from scheduler.availability import Interval
from scheduler.errors import InvalidInput, NeedsReconnect, ProviderRejected
from scheduler.providers import google_oauth
from tests.contract.harness_google import REP, running_emulator

REDIRECT = "https://nextstep.test/connections/google/callback"
DAY = Interval(datetime(2030, 1, 7, tzinfo=UTC), datetime(2030, 1, 8, tzinfo=UTC))
EXPIRED = "2020-01-01T00:00:00+00:00"


@pytest.fixture
def google(monkeypatch):
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # the emulator speaks plain http
    with running_emulator() as emulated:
        yield emulated


def _consent(url: str) -> str:
    """The browser's trip to Google: the emulator consents at once and redirects back."""
    answer = requests.get(url, allow_redirects=False, timeout=5)
    assert answer.status_code == 302
    return answer.headers["Location"]


def _connect(google, **changes) -> dict:
    url, state, verifier = google_oauth.start_authorization(google.settings, REDIRECT)
    leg = {"authorization_response_url": _consent(url), "state": state,
           "code_verifier": verifier, **changes}
    return google_oauth.finish_authorization(google.settings, REDIRECT, **leg)


# --- the web flow ----------------------------------------------------------------------------


def test_connecting_returns_working_tokens_and_the_accounts_email(google):
    url, _, _ = google_oauth.start_authorization(google.settings, REDIRECT)
    assert "code_challenge_method=S256" in url and "access_type=offline" in url

    token = _connect(google)

    assert token["email"] == REP
    assert token["refresh_token"]
    assert datetime.fromisoformat(token["expiry"]) > datetime.now(UTC) + timedelta(minutes=50)
    assert google.provider(token).busy([REP], DAY).busy == {REP: []}


def test_an_answer_carrying_another_state_is_refused_before_any_code_is_redeemed(google):
    with pytest.raises(InvalidInput) as raised:
        _connect(google, state="the-state-of-some-other-sign-in")

    assert raised.value.field == "state"
    assert google.state.request_count("token") == 0


def test_google_refuses_a_code_redeemed_with_another_verifier(google):
    _, _, other_verifier = google_oauth.start_authorization(google.settings, REDIRECT)

    with pytest.raises(ProviderRejected, match="invalid_grant"):
        _connect(google, code_verifier=other_verifier)


def test_a_code_works_once(google):
    url, state, verifier = google_oauth.start_authorization(google.settings, REDIRECT)
    back = _consent(url)
    google_oauth.finish_authorization(google.settings, REDIRECT, authorization_response_url=back,
                                      state=state, code_verifier=verifier)

    with pytest.raises(ProviderRejected, match="invalid_grant"):
        google_oauth.finish_authorization(google.settings, REDIRECT, state=state,
                                          authorization_response_url=back,
                                          code_verifier=verifier)


def test_unticking_calendar_access_on_the_consent_page_is_reported_by_name(google):
    google.state.identity.withheld_scopes = {"https://www.googleapis.com/auth/calendar.events"}

    with pytest.raises(ProviderRejected, match=r"auth/calendar\.events\)") as raised:
        _connect(google)

    assert raised.value.field == "scopes"


def test_cancelling_on_the_consent_page_is_reported(google):
    google.state.identity.deny_consent = True

    with pytest.raises(ProviderRejected, match="access_denied"):
        _connect(google)


# --- tokens in use -----------------------------------------------------------------------------


def test_an_expired_access_token_is_refreshed_and_handed_to_the_caller(google):
    saved: list[dict] = []
    token = {**google.state.identity.issue(), "expiry": EXPIRED, "key_id": "k1"}

    google.provider(token, on_token_refreshed=saved.append).busy([REP], DAY)

    [fresh] = saved
    assert fresh["access_token"] != token["access_token"]
    assert (fresh["refresh_token"], fresh["key_id"]) == (token["refresh_token"], "k1")
    assert datetime.fromisoformat(fresh["expiry"]) > datetime.now(UTC)
    google.provider(fresh).busy([REP], DAY)  # the saved token works as it is
    assert google.state.request_count("token") == 1


def test_an_access_token_google_stopped_accepting_is_refreshed_once(google):
    saved: list[dict] = []
    provider = google.provider(on_token_refreshed=saved.append)
    google.state.identity.expire_access_tokens()

    assert provider.busy([REP], DAY).busy == {REP: []}

    assert len(saved) == 1
    assert google.state.request_counts() == {"freebusy.query": 2, "token": 1}


def test_disconnecting_revokes_the_grant_and_repeating_it_is_harmless(google):
    token = _connect(google)

    google_oauth.revoke(google.settings, token)
    google_oauth.revoke(google.settings, token)

    with pytest.raises(NeedsReconnect):
        google.provider(token).busy([REP], DAY)


def test_the_revocation_endpoint_sits_next_to_the_token_endpoint(google):
    assert google_oauth.revoke_uri(google.settings) == f"{google.base_url}/revoke"
