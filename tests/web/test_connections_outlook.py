"""Outlook end to end through the web app, with msal and the adapter's requests session
against the Graph emulator. The app is also served on a loopback port, because Graph calls
back: the subscription's validation handshake and the change notifications arrive over real
HTTP, as they would from Microsoft. The clock is today's: Graph checks subscription
lifetimes against its own clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
import requests
from sqlalchemy import select

from scheduler.accounts import add_user
from scheduler.clock import FixedClock
from scheduler.jobs import ManualJobs
from scheduler.providers.outlook import FOLLOWUP_ID_PROPERTY_ID
from scheduler.runtime import default_builders
from scheduler.store.models import Connection, FollowUp
from tests.conftest import build_runtime, logged_kinds, make_settings
from tests.contract.harness_outlook import emulated_outlook
from tests.ports import free_port, serving
from tests.web.api_support import PROSPECT, assert_told_to_reconnect, book, plan, proposal

REP = "rep@example.com"


def next_weekday_at(now: datetime, hour: int) -> datetime:
    """The next weekday after tomorrow's start at `hour` UTC (inside New York office hours
    and, from 17:00 UTC, Los Angeles ones)."""
    day = (now + timedelta(days=1)).date()
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime.now(UTC).replace(second=0, microsecond=0))


@pytest.fixture
def outlook():
    with emulated_outlook() as emulated:
        yield emulated


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def settings(tmp_path, outlook, port):
    return make_settings(tmp_path, base_url=f"http://127.0.0.1:{port}", **outlook.pointing)


@pytest.fixture
def runtime(settings, clock, outlook):
    built = build_runtime(settings, clock, builders=default_builders(outlook.session),
                          http=outlook.session)
    yield built
    built.store.dispose()


@pytest.fixture
def served(app, port):
    """The same app on a loopback port, for Graph's calls back."""
    with serving(app, port) as base_url:
        yield base_url


def consent(outlook, start, base_url: str) -> str:
    """The browser's trip to Microsoft and back; the callback's path and query."""
    assert start.status_code == 302, start.get_data(as_text=True)
    back = outlook.session.get(start.headers["Location"], allow_redirects=False, timeout=10)
    assert back.status_code == 302, back.text
    parts = urlsplit(back.headers["Location"])
    assert f"{parts.scheme}://{parts.netloc}" == base_url
    return f"{parts.path}?{parts.query}"


@pytest.fixture
def connect(signed_in, outlook, served):
    def go() -> str:
        callback = consent(outlook, signed_in.get("/connections/outlook/connect"), served)
        answer = signed_in.get(callback)
        assert answer.status_code == 302, answer.get_data(as_text=True)
        return callback
    return go


def the_connection(runtime) -> Connection:
    with runtime.store.reading() as session:
        return session.scalars(select(Connection).where(Connection.provider == "outlook")).one()



def our_event(outlook):
    [event] = [e for e in outlook.state.live_events(REP) if FOLLOWUP_ID_PROPERTY_ID in
               e.properties]
    return event


# --- connecting --------------------------------------------------------------------------------


def test_connecting_stores_msals_cache_encrypted_and_subscribes_after_the_handshake(
        connect, runtime, outlook, served, rep):
    connect()

    connection = the_connection(runtime)
    assert (connection.user_id, connection.account, connection.status) == (rep.id, REP,
                                                                            "active")
    stored = runtime.calendars.cipher.decrypt(connection.key_id, connection.credentials)
    assert stored["token_cache"] and b"RefreshToken" not in connection.credentials
    [subscription] = outlook.state.subscriptions.values()  # Graph validated our URL first
    assert subscription["notificationUrl"] == served + "/hooks/outlook"
    assert subscription["clientState"] == connection.channel["token"]
    assert connection.channel["id"] == subscription["id"]


def test_the_callback_works_once(connect, signed_in, runtime, outlook):
    callback = connect()

    assert signed_in.get(callback).status_code == 400
    assert len(outlook.state.subscriptions) == 1


def test_an_answer_with_another_state_is_refused_before_the_code_is_redeemed(
        signed_in, runtime, outlook, served):
    callback = consent(outlook, signed_in.get("/connections/outlook/connect"), served)
    path, query = callback.split("?", 1)
    tokens_before = outlook.state.request_count("token")

    answer = signed_in.get(f"{path}?{urlencode(dict(parse_qsl(query), state='forged'))}")

    assert answer.status_code == 400
    assert "does not belong to the sign-in" in answer.get_data(as_text=True)
    assert outlook.state.request_count("token") == tokens_before


def test_signing_in_with_microsoft_finds_the_rep_who_connected_that_account(
        connect, app, runtime, outlook, served, rep):
    connect()  # the rep, signed in with a password, connected rep@example.com
    browser = app.test_client()
    assert 'id="sign-in-outlook"' in browser.get("/login").get_data(as_text=True)

    answer = browser.get(consent(outlook, browser.get("/login/outlook"), served))

    assert answer.status_code == 302 and answer.headers["Location"] == "/live"
    assert rep.name in browser.get("/live").get_data(as_text=True)


def test_signing_in_with_a_microsoft_account_nobody_connected_is_refused(client, runtime,
                                                                         outlook, served):
    add_user(REP, name="Riley Rep", store=runtime.store, clock=runtime.clock)

    answer = client.get(consent(outlook, client.get("/login/outlook"), served))

    assert answer.status_code == 403  # preferred_username alone proves no address
    assert "once you have connected" in answer.get_data(as_text=True)
    assert client.get("/live").status_code == 302


# --- Graph calling back ------------------------------------------------------------------------


def test_the_validation_handshake_echoes_the_token_as_plain_text(served):
    token = "Validation: Testing client application reachability 1a2b"
    answer = requests.post(served + "/hooks/outlook", params={"validationToken": token},
                           timeout=5)

    assert (answer.status_code, answer.text) == (200, token)
    assert answer.headers["Content-Type"].startswith("text/plain")


def test_a_booking_lands_in_outlook_and_the_decline_comes_back_after_one_sync(
        connect, api, runtime, outlook, clock):
    connect()
    runtime.use_jobs(jobs := ManualJobs())
    start = next_weekday_at(clock.now(), 17)
    outlook.state.add_event(REP, start - timedelta(hours=2), start - timedelta(hours=1))
    offered = api.post("/proposals", json=proposal(earliest=(start - timedelta(hours=2))
                                                   .isoformat()))
    assert offered.status_code == 200, offered.get_json()
    assert (start - timedelta(hours=2)).isoformat().replace("+00:00", "Z") not in [
        p["start"] for p in offered.get_json()["proposals"]]  # Graph's busy time was read

    followup = book(api, start, plan=plan(due=(start + timedelta(days=2)).date().isoformat()))
    runtime.tick()  # the worker writes the event
    event = our_event(outlook)
    assert event.properties[FOLLOWUP_ID_PROPERTY_ID] == followup["id"]
    assert event.transaction_id
    assert PROSPECT["email"] in [a["emailAddress"]["address"]
                                 for a in event.fields["attendees"]]

    outlook.state.respond(event.id, PROSPECT["email"], "declined")
    assert outlook.state.notify(event.id, "updated") == [202]
    assert jobs.kicks >= 1
    runtime.tick()

    with runtime.store.reading() as session:
        assert session.get(FollowUp, followup["id"]).status == "declined"
    assert "attendee.declined" in logged_kinds(runtime)


def test_fifty_notifications_in_five_seconds_cost_one_sync(connect, api, runtime, outlook,
                                                           clock):
    connect()
    start = next_weekday_at(clock.now(), 17)
    book(api, start, plan=plan(due=(start + timedelta(days=2)).date().isoformat()))
    runtime.tick()
    event = our_event(outlook)
    runtime.use_jobs(jobs := ManualJobs())
    deltas = outlook.state.request_count("calendar_view_delta")

    started = datetime.now(UTC)
    statuses = [s for _ in range(50) for s in outlook.state.notify(event.id, "updated")]
    assert datetime.now(UTC) - started < timedelta(seconds=5)

    assert statuses == [202] * 50
    assert jobs.kicks == 1
    runtime.tick()
    runtime.tick()
    assert outlook.state.request_count("calendar_view_delta") - deltas == 1


def test_a_forged_notification_syncs_nothing(connect, runtime, outlook, served):
    connect()
    runtime.use_jobs(jobs := ManualJobs())
    connection = the_connection(runtime)
    forged = {"value": [{"subscriptionId": connection.channel["id"], "changeType": "updated",
                         "clientState": "a-guess", "resource": "Users/x/Events/y"}]}

    answer = requests.post(served + "/hooks/outlook", json=forged, timeout=5)

    assert answer.status_code == 202  # Graph learns nothing either way
    assert jobs.kicks == 0 and the_connection(runtime).sync_requested_at is None


def test_a_notification_that_is_not_graphs_shape_is_a_400(served):
    answer = requests.post(served + "/hooks/outlook", json={"hello": 1}, timeout=5)
    assert answer.status_code == 400


# --- a grant that ends -------------------------------------------------------------------------


def test_revoked_consent_marks_the_connection_and_the_live_screen_says_so(
        connect, signed_in, api, runtime, outlook):
    connect()
    outlook.state.identity.revoke_consent(REP)
    outlook.state.identity.expire_access_tokens()

    assert_told_to_reconnect(api, signed_in, runtime, outlook.state, REP)


def test_disconnecting_deletes_the_subscription_and_the_tokens(connect, signed_in, runtime,
                                                               outlook):
    connect()
    connection = the_connection(runtime)

    answer = signed_in.post(f"/connections/{connection.id}/disconnect")

    assert answer.status_code == 302
    assert outlook.state.subscriptions == {}
    with runtime.store.reading() as session:
        assert session.scalars(select(Connection).where(Connection.provider == "outlook")
                               ).all() == []
    assert "connection.disconnected" in logged_kinds(runtime)


def test_a_subscription_about_to_lapse_is_renewed_by_the_worker(connect, runtime, outlook,
                                                                clock):
    connect()
    connection = the_connection(runtime)
    with runtime.store.transaction() as session:  # as if two days had passed since
        row = session.get(Connection, connection.id)
        row.channel = dict(row.channel, expires_at=(clock.now() + timedelta(hours=6))
                           .isoformat())

    runtime.tick()

    [subscription] = outlook.state.subscriptions.values()
    renewed = datetime.fromisoformat(subscription["expirationDateTime"].replace("Z", "+00:00"))
    assert renewed > clock.now() + timedelta(days=1)
    assert subscription["id"] == the_connection(runtime).channel["id"] == connection.channel["id"]
    stored = datetime.fromisoformat(the_connection(runtime).channel["expires_at"]
                                    .replace("Z", "+00:00"))
    assert stored > clock.now() + timedelta(days=1)


# --- the calendars Graph lists -------------------------------------------------------------------


def test_the_page_offers_the_calendars_graph_lists_and_saves_the_ticked_ones(
        connect, signed_in, runtime, outlook):
    connect()
    for n in range(11):  # past Graph's default page of 10: the page follows @odata.nextLink
        outlook.state.share_calendar(f"colleague{n}@example.com", REP, name=f"Colleague {n}")

    page = signed_in.get("/connections").get_data(as_text=True)

    for n in range(11):
        assert (f'type="checkbox" name="busy_calendars" value="colleague{n}@example.com"'
                in page)
    assert f'type="radio" name="booking_calendar" value="{REP}" checked' in page
    assert 'type="radio" name="booking_calendar" value="colleague' not in page
    assert outlook.state.request_count("list_calendars") == 2

    saved = signed_in.post(f"/connections/{the_connection(runtime).id}/calendars", data={
        "booking_calendar": REP, "busy_calendars": [REP, "colleague3@example.com"]})

    assert saved.status_code == 302
    assert the_connection(runtime).busy_calendars == [REP, "colleague3@example.com"]
