"""Connecting Outlook and keeping it connected: msal's authorization-code flow and silent
refresh against the identity platform emulator, and what a revoked grant does."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from scheduler.availability import Interval
from scheduler.errors import InvalidInput, NeedsReconnect, ProviderRejected
from scheduler.providers.outlook_oauth import (
    CONSUMER_TENANT,
    finish_authorization,
    start_authorization,
)
from tests.contract.harness_outlook import REDIRECT_URI, authorize, emulated_outlook

MONDAY = datetime(2030, 1, 7, tzinfo=UTC)
DAY = Interval(MONDAY, MONDAY + timedelta(days=1))


@pytest.fixture
def outlook():
    with emulated_outlook() as running:
        yield running


def _start(outlook):
    return start_authorization(outlook.settings, REDIRECT_URI, http_client=outlook.session)


def test_connecting_returns_the_account_with_its_token_cache(outlook):
    flow = _start(outlook)
    query = parse_qs(urlsplit(flow["auth_uri"]).query)

    connection = finish_authorization(outlook.settings, flow, authorize(outlook.session, flow),
                                      http_client=outlook.session)

    assert query["code_challenge_method"] == ["S256"]
    assert query["response_mode"] == ["query"]
    assert "Calendars.ReadWrite" in query["scope"][0]
    rep = outlook.state.identity.accounts["rep@example.com"]
    assert connection["account_id"] == f"{rep.oid}.{rep.tid}"
    assert connection["email"] == "rep@example.com"
    assert connection["personal_account"] is False
    assert "RefreshToken" in connection["token_cache"]


def test_a_code_redeemed_without_the_right_verifier_is_refused(outlook):
    flow = _start(outlook)
    answer = authorize(outlook.session, flow)
    flow["code_verifier"] = "x" * 43  # what an attacker holding only the code would send

    with pytest.raises(ProviderRejected, match="AADSTS50148"):
        finish_authorization(outlook.settings, flow, answer, http_client=outlook.session)


def test_an_answer_to_another_sign_in_is_rejected_before_redeeming(outlook):
    flow = _start(outlook)
    answer = authorize(outlook.session, flow) | {"state": "someone-elses-state"}

    with pytest.raises(InvalidInput) as caught:
        finish_authorization(outlook.settings, flow, answer, http_client=outlook.session)

    assert caught.value.field == "state"
    assert outlook.state.request_count("token") == 0


def test_declined_consent_is_reported_as_a_refusal(outlook):
    outlook.state.identity.authorize_error = ("access_denied", "AADSTS65004: User declined "
                                                               "to consent.")
    flow = _start(outlook)

    with pytest.raises(ProviderRejected, match="access_denied"):
        finish_authorization(outlook.settings, flow, authorize(outlook.session, flow),
                             http_client=outlook.session)


def test_a_personal_account_is_recognised_by_its_tenant(outlook):
    outlook.state.add_account("sam@outlook.example", personal=True)
    outlook.state.identity.sign_in_as("sam@outlook.example")

    connection = outlook.connect()

    assert connection["personal_account"] is True
    assert connection["account_id"].endswith(f".{CONSUMER_TENANT}")


def test_a_silent_refresh_hands_the_changed_cache_to_the_caller(outlook):
    outlook.state.identity.token_lifetime = 60  # msal refreshes tokens within 5 min of expiry
    connection = outlook.connect()
    saved: list[str] = []
    provider = outlook.provider(connection, on_cache_changed=saved.append)

    provider.busy(["rep@example.com"], DAY)

    assert outlook.state.request_count("token") == 2  # the code, then one refresh
    assert len(saved) == 1 and saved[0] != connection["token_cache"]
    again = outlook.provider({**connection, "token_cache": saved[0]})
    assert again.busy(["rep@example.com"], DAY).errors == {}


def test_a_token_graph_refuses_is_refreshed_once_and_the_call_goes_through(outlook):
    provider = outlook.provider()
    outlook.state.identity.expire_access_tokens()

    result = provider.busy(["rep@example.com"], DAY)

    assert result.errors == {}
    assert outlook.state.request_count("get_schedule") == 2
    assert outlook.state.request_count("token") == 2


def test_revoked_consent_needs_reconnect_and_the_adapter_then_stays_quiet(outlook):
    outlook.state.identity.token_lifetime = 60
    provider = outlook.provider()
    outlook.state.identity.revoke_consent("rep@example.com")

    with pytest.raises(NeedsReconnect, match="AADSTS65001"):
        provider.busy(["rep@example.com"], DAY)
    seen = outlook.state.request_count()
    with pytest.raises(NeedsReconnect):
        provider.busy(["rep@example.com"], DAY)
    with pytest.raises(NeedsReconnect):
        provider.changes("rep@example.com", None)

    assert outlook.state.request_count() == seen
    assert outlook.state.request_count("get_schedule") == 0


def test_a_cache_without_the_account_needs_reconnect(outlook):
    connection = outlook.connect() | {"account_id": "someone.else"}

    with pytest.raises(NeedsReconnect):
        outlook.provider(connection).busy(["rep@example.com"], DAY)
