"""Google end to end through the web app: the OAuth redirect dance on /connections, sign-in
with Google, proposing and booking against the emulator's calendars, the prospect's answer
coming back through a push notification and one sync, a revoked grant, disconnecting.
google-api-python-client and google-auth-oauthlib do the talking; only the browser's trip
to the consent page is played by `requests`."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
import requests
from sqlalchemy import select

from scheduler.accounts import add_user
from scheduler.jobs import ManualJobs
from scheduler.providers.base import FOLLOWUP_ID_PROPERTY
from scheduler.store.models import Connection, FollowUp
from tests import google_app
from tests.conftest import PASSWORD, logged_kinds
from tests.contract.harness_google import REP
from tests.web.api_support import PROSPECT, TUESDAY_3PM, assert_told_to_reconnect, book, proposal
from web.sandbox.google_state import Fault

BASE_URL = "https://nextstep.test"  # Google only pushes to HTTPS addresses


google, runtime = google_app.google, google_app.runtime  # the fixtures, by their names


@pytest.fixture
def settings(tmp_path, google):
    return google_app.google_settings(tmp_path, google, base_url=BASE_URL)


@pytest.fixture
def app(app):
    app.config.update(SESSION_COOKIE_SECURE=False)  # the test client speaks http
    return app


def consent(start) -> str:
    """The browser's trip: our redirect to Google, Google's redirect back to our callback.
    Returns the callback's path and query, for the test client."""
    assert start.status_code == 302, start.get_data(as_text=True)
    back = requests.get(start.headers["Location"], allow_redirects=False, timeout=5)
    assert back.status_code == 302, back.text
    parts = urlsplit(back.headers["Location"])
    assert f"{parts.scheme}://{parts.netloc}" == BASE_URL
    return f"{parts.path}?{parts.query}"


def connect(client) -> str:
    callback = consent(client.get("/connections/google/connect"))
    answer = client.get(callback)
    assert answer.status_code == 302, answer.get_data(as_text=True)
    assert answer.headers["Location"] == "/connections"
    return callback


def the_connection(runtime) -> Connection:
    with runtime.store.reading() as session:
        return session.scalars(select(Connection).where(Connection.provider == "google")).one()



def notify(client, google, calendar_id: str = REP, **changes):
    """Deliver what Google would POST to our hook after a change in the calendar."""
    [(address, headers)] = google.state.notifications(calendar_id)
    assert address == BASE_URL + "/hooks/google"
    return client.post("/hooks/google", headers={**headers, **changes})


# --- connecting --------------------------------------------------------------------------------


def test_connecting_stores_the_tokens_encrypted_and_opens_a_push_channel(signed_in, runtime,
                                                                         google, rep):
    connect(signed_in)

    connection = the_connection(runtime)
    assert (connection.user_id, connection.provider, connection.account) == (rep.id, "google",
                                                                             REP)
    assert connection.status == "active" and connection.key_id
    stored = runtime.calendars.cipher.decrypt(connection.key_id, connection.credentials)
    assert stored["refresh_token"].encode() not in connection.credentials
    assert (connection.booking_calendar, connection.busy_calendars) == (REP, [REP])
    [channel] = google.state.channels.values()
    assert channel["address"] == BASE_URL + "/hooks/google"
    assert channel["token"] == connection.channel["token"] and len(channel["token"]) >= 32
    assert "connection.connected" in logged_kinds(runtime)
    page = signed_in.get("/connections").get_data(as_text=True)
    assert f"Google Calendar · {REP}" in page and "Connected" in page


def test_the_callback_works_once(signed_in, runtime, google):
    callback = connect(signed_in)

    replayed = signed_in.get(callback)

    assert replayed.status_code == 400
    assert "already used" in replayed.get_data(as_text=True)
    assert len(google.state.channels) == 1  # nothing was connected a second time


def test_an_answer_with_another_state_is_refused_before_the_code_is_redeemed(signed_in,
                                                                              runtime, google):
    callback = consent(signed_in.get("/connections/google/connect"))
    path, query = callback.split("?", 1)
    forged = dict(parse_qsl(query), state="the-state-of-some-other-sign-in")

    answer = signed_in.get(f"{path}?{urlencode(forged)}")

    assert answer.status_code == 400
    assert "does not belong to the sign-in" in answer.get_data(as_text=True)
    assert google.state.request_count("token") == 0
    assert signed_in.get(callback).status_code == 400  # and the real answer is spent too
    with runtime.store.reading() as session:
        assert session.scalars(select(Connection).where(Connection.provider == "google")
                               ).all() == []


def test_an_answer_reaching_another_browser_is_refused(signed_in, app, rep, google):
    callback = consent(signed_in.get("/connections/google/connect"))
    other = app.test_client()
    other.post("/login", data={"email": rep.email, "password": PASSWORD})

    answer = other.get(callback)

    assert answer.status_code == 400
    assert google.state.request_count("token") == 0


def test_cancelling_on_the_consent_page_is_a_clear_page(signed_in, google):
    google.state.identity.deny_consent = True
    answer = signed_in.get(consent(signed_in.get("/connections/google/connect")))

    assert answer.status_code == 400
    assert "access_denied" in answer.get_data(as_text=True)


def test_after_connecting_only_relative_next_addresses_are_followed(signed_in):
    start = signed_in.get("/connections/google/connect?next=https://evil.example/")
    answer = signed_in.get(consent(start))

    assert answer.headers["Location"] == "/live"


def test_signing_in_with_google_signs_in_the_rep_with_that_address(client, runtime, google):
    add_user(REP, name="Riley Rep", timezone="America/Los_Angeles", store=runtime.store,
             clock=runtime.clock)
    assert client.get("/login").get_data(as_text=True).count('id="sign-in-google"') == 1

    answer = client.get(consent(client.get("/login/google?next=/log")))

    assert answer.status_code == 302 and answer.headers["Location"] == "/log"
    assert client.get("/log").status_code == 200
    assert the_connection(runtime).account == REP


def test_signing_in_with_an_unknown_google_account_is_refused(client, runtime, google):
    answer = client.get(consent(client.get("/login/google")))

    assert answer.status_code == 403
    assert f"No Nextstep account uses {REP}" in answer.get_data(as_text=True)
    assert client.get("/live").status_code == 302  # still signed out


def test_an_address_google_has_not_verified_signs_nobody_in(client, runtime, google):
    add_user(REP, name="Riley Rep", store=runtime.store, clock=runtime.clock)
    google.state.identity.unverified_email = True

    answer = client.get(consent(client.get("/login/google")))

    assert answer.status_code == 403
    assert "an address Google has verified" in answer.get_data(as_text=True)
    assert client.get("/live").status_code == 302


def test_a_provider_without_a_client_id_is_not_offered(signed_in, runtime):
    assert runtime.settings.ms_client_id is None
    assert signed_in.get("/connections/outlook/connect").status_code == 404
    assert 'id="connect-outlook"' not in signed_in.get("/connections").get_data(as_text=True)


# --- choosing calendars ------------------------------------------------------------------------


def test_the_calendars_chosen_are_the_ones_read_as_busy(signed_in, api, runtime, google):
    connect(signed_in)
    team = "team@group.calendar.google.com"
    google.state.add_calendar(team)
    google.state.add_busy(team, TUESDAY_3PM - timedelta(hours=6), TUESDAY_3PM + timedelta(
        hours=10))
    connection = the_connection(runtime)

    saved = signed_in.post(f"/connections/{connection.id}/calendars",
                           data={"booking_calendar": REP, "busy_calendars": team})
    assert saved.status_code == 302
    assert the_connection(runtime).busy_calendars == [REP, team]

    answer = api.post("/proposals", json=proposal(earliest="2026-11-24T14:00:00Z",
                                                  latest="2026-11-25T04:00:00Z"))
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["proposals"] == []  # the team calendar fills that whole day


def test_choosing_no_booking_calendar_names_the_field(signed_in, runtime, google):
    connect(signed_in)
    answer = signed_in.post(f"/connections/{the_connection(runtime).id}/calendars",
                            data={"booking_calendar": " ", "busy_calendars": ""})

    assert answer.status_code == 422
    assert "booking" in answer.get_data(as_text=True)


# --- booking and syncing back ------------------------------------------------------------------


def test_a_booking_lands_in_google_and_the_prospects_decline_comes_back(signed_in, api,
                                                                        runtime, google):
    connect(signed_in)
    google.state.add_busy(REP, TUESDAY_3PM, TUESDAY_3PM + timedelta(hours=1))
    offered = api.post("/proposals", json=proposal(helpers=[], earliest="2026-11-24T14:00:00Z"))
    assert offered.status_code == 200
    starts = [p["start"] for p in offered.get_json()["proposals"]]
    assert starts and "2026-11-24T15:00:00Z" not in starts  # Google's busy time was read

    followup = book(api, TUESDAY_3PM + timedelta(hours=2))
    [event] = [e for e in google.state.live_events(REP) if "extendedProperties" in e.fields]
    assert event.fields["extendedProperties"]["private"][FOLLOWUP_ID_PROPERTY] == followup["id"]
    assert PROSPECT["email"] in [a["email"] for a in event.fields["attendees"]]
    assert "send the proposal" in event.fields["description"]

    google.state.respond(REP, event.id, PROSPECT["email"], "declined")
    assert notify(signed_in, google).status_code == 200  # the worker ran inline: one sync

    with runtime.store.reading() as session:
        assert session.get(FollowUp, followup["id"]).status == "declined"
    assert "attendee.declined" in logged_kinds(runtime)


def test_a_burst_of_notifications_costs_one_sync(signed_in, runtime, google):
    connect(signed_in)
    runtime.use_jobs(jobs := ManualJobs())
    before = google.state.request_count("events.list")

    for _ in range(50):
        assert notify(signed_in, google).status_code == 200

    assert jobs.kicks == 1
    runtime.tick()
    runtime.tick()
    assert google.state.request_count("events.list") == before + 1


def test_the_first_message_of_a_channel_syncs_nothing(signed_in, runtime, google):
    connect(signed_in)
    runtime.use_jobs(jobs := ManualJobs())

    assert notify(signed_in, google, **{"X-Goog-Resource-State": "sync"}).status_code == 200

    assert jobs.kicks == 0


@pytest.mark.parametrize("forged", [{"X-Goog-Channel-Token": "guessed"},
                                    {"X-Goog-Channel-ID": "someone-elses-channel"}])
def test_a_notification_with_a_wrong_token_or_channel_syncs_nothing(signed_in, runtime,
                                                                    google, forged):
    connect(signed_in)
    runtime.use_jobs(jobs := ManualJobs())
    before = google.state.request_count("events.list")

    assert notify(signed_in, google, **forged).status_code == 404

    runtime.tick()
    assert jobs.kicks == 0
    assert google.state.request_count("events.list") == before
    assert the_connection(runtime).sync_requested_at is None


# --- a grant that ends -------------------------------------------------------------------------


def test_a_revoked_grant_marks_the_connection_and_the_live_screen_says_so(signed_in, api,
                                                                          runtime, google):
    connect(signed_in)
    connection = the_connection(runtime)
    stored = runtime.calendars.cipher.decrypt(connection.key_id, connection.credentials)
    google.state.identity.revoke_refresh_token(stored["refresh_token"])
    google.state.identity.expire_access_tokens()

    assert_told_to_reconnect(api, signed_in, runtime, google.state, REP)


def test_disconnecting_revokes_the_grant_and_deletes_the_tokens(signed_in, runtime, google):
    connect(signed_in)
    connection = the_connection(runtime)
    stored = runtime.calendars.cipher.decrypt(connection.key_id, connection.credentials)

    answer = signed_in.post(f"/connections/{connection.id}/disconnect")

    assert answer.status_code == 302
    with runtime.store.reading() as session:
        assert session.scalars(select(Connection).where(Connection.provider == "google")
                               ).all() == []
    assert google.state.channels == {}
    with pytest.raises(Exception, match="revoked"):
        google.state.identity.revoke(stored["refresh_token"])  # already revoked by us
    assert "connection.disconnected" in logged_kinds(runtime)


def test_another_reps_connection_cannot_be_changed(signed_in, runtime, google, make_rep):
    connect(signed_in)
    other = make_rep("sam@example.com")
    with runtime.store.transaction() as session:
        session.scalars(select(Connection).where(Connection.provider == "google")
                        ).one().user_id = other.id

    connection = the_connection(runtime)
    assert signed_in.post(f"/connections/{connection.id}/disconnect").status_code == 404
    assert the_connection(runtime).id == connection.id


def test_a_channel_about_to_lapse_is_replaced_by_the_worker(signed_in, runtime, google,
                                                            clock):
    connect(signed_in)
    old = the_connection(runtime).channel
    with runtime.store.transaction() as session:  # as if a week had passed since
        row = session.get(Connection, the_connection(runtime).id)
        row.channel = dict(row.channel, expires_at=(clock.now() + timedelta(hours=1))
                           .isoformat())

    runtime.tick()

    new = the_connection(runtime).channel
    assert new["id"] != old["id"] and new["token"] != old["token"]
    assert list(google.state.channels) == [new["id"]]  # the old one was stopped
    old_headers = {"X-Goog-Channel-ID": old["id"], "X-Goog-Channel-Token": old["token"],
                   "X-Goog-Resource-State": "exists"}
    assert signed_in.post("/hooks/google", headers=old_headers).status_code == 404
    assert notify(signed_in, google).status_code == 200


def test_a_sync_google_puts_off_is_asked_for_again_and_runs_on_the_next_round(signed_in,
                                                                               runtime, google):
    connect(signed_in)
    runtime.use_jobs(ManualJobs())
    notify(signed_in, google)
    google.state.inject("events.list", Fault.throttled(retry_after=600))  # not slept through

    runtime.tick()

    assert the_connection(runtime).sync_requested_at is not None
    before = google.state.request_count("events.list")
    runtime.tick()
    assert google.state.request_count("events.list") == before + 1
    assert the_connection(runtime).sync_requested_at is None
    assert the_connection(runtime).last_synced_at is not None


def test_connecting_the_same_account_again_replaces_its_channel(signed_in, runtime, google):
    connect(signed_in)
    first = the_connection(runtime).channel

    connect(signed_in)

    assert list(google.state.channels) == [the_connection(runtime).channel["id"]]
    assert the_connection(runtime).channel["id"] != first["id"]


@pytest.mark.parametrize(("path", "kwargs", "status"), [
    ("/hooks/google", {}, 404),
    ("/hooks/outlook", {"data": "not json", "content_type": "application/json"}, 400),
    ("/hooks/outlook", {"json": {"value": "not a list"}}, 400),
    ("/hooks/outlook", {"json": {"value": [1, None, {"clientState": 7}]}}, 202),
    ("/hooks/outlook?validationToken=" + "x" * 2000, {}, 400),
])
def test_odd_notifications_get_a_4xx_or_are_ignored_never_a_500(client, runtime, path,
                                                                 kwargs, status):
    runtime.use_jobs(jobs := ManualJobs())

    assert client.post(path, **kwargs).status_code == status
    assert jobs.kicks == 0


@pytest.mark.parametrize(("form", "field"), [
    ({"booking_calendar": "x" * 321, "busy_calendars": ""}, "320 characters"),
    ({"booking_calendar": "a@example.com",
      "busy_calendars": "\n".join(f"c{n}@example.com" for n in range(60))}, "at most 50"),
])
def test_bad_calendar_choices_get_a_422_naming_the_problem(signed_in, runtime, google, form,
                                                           field):
    connect(signed_in)
    before = the_connection(runtime).busy_calendars

    answer = signed_in.post(f"/connections/{the_connection(runtime).id}/calendars", data=form)

    assert answer.status_code == 422 and field in answer.get_data(as_text=True)
    assert the_connection(runtime).busy_calendars == before


# --- the calendars Google lists, and the connection's status -----------------------------------


def test_the_page_offers_the_calendars_google_lists_and_saves_the_ticked_ones(signed_in,
                                                                               runtime, google):
    connect(signed_in)
    team, holidays = "team@group.calendar.google.com", "holidays@group.calendar.google.com"
    google.state.share(team, REP, role="writer", summary="Team")
    google.state.share(holidays, REP, role="reader", summary="Holidays")

    page = signed_in.get("/connections").get_data(as_text=True)

    assert f'type="checkbox" name="busy_calendars" value="{team}"' in page
    assert f'type="checkbox" name="busy_calendars" value="{holidays}"' in page
    assert f'type="radio" name="booking_calendar" value="{team}"' in page
    assert f'type="radio" name="booking_calendar" value="{holidays}"' not in page  # read-only
    assert f'type="radio" name="booking_calendar" value="{REP}" checked' in page
    assert google.state.request_count("calendarList.list") == 1

    connection_id = the_connection(runtime).id
    saved = signed_in.post(f"/connections/{connection_id}/calendars",
                           data={"booking_calendar": team, "busy_calendars": [REP, holidays]})

    assert saved.status_code == 302
    chosen = the_connection(runtime)
    assert (chosen.booking_calendar, chosen.busy_calendars) == (team, [team, REP, holidays])
    page = signed_in.get("/connections").get_data(as_text=True)
    assert f'value="{holidays}" checked' in page and f'value="{team}" checked' in page


def test_reconnecting_the_account_keeps_one_connection(signed_in, runtime, google):
    connect(signed_in)
    connect(signed_in)

    with runtime.store.reading() as session:
        assert session.scalars(select(Connection.account).where(
            Connection.provider == "google")).all() == [REP]
    assert "Connect another Google" in signed_in.get("/connections").get_data(as_text=True)


def test_a_failed_sync_shows_its_error_until_a_sync_succeeds(signed_in, runtime, google):
    connect(signed_in)
    runtime.use_jobs(ManualJobs())
    notify(signed_in, google)
    google.state.inject("events.list", Fault.throttled(retry_after=600))

    runtime.tick()

    failed = the_connection(runtime)
    assert failed.last_error and failed.last_error_at is not None
    page = signed_in.get("/connections").get_data(as_text=True)
    assert f'id="last-error-{failed.id}"' in page and "not synced yet" in page

    runtime.tick()

    synced = the_connection(runtime)
    assert (synced.last_error, synced.last_error_at) == (None, None)
    assert synced.last_synced_at is not None
    page = signed_in.get("/connections").get_data(as_text=True)
    assert f'id="last-error-{failed.id}"' not in page and "last synced" in page
