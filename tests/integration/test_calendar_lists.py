"""The calendars a connected account can choose from on /connections, read through the real
client libraries: Google's calendarList.list (google-api-python-client, nextPageToken) and
Graph's GET /me/calendars (msal's token, @odata.nextLink), every page of each."""

from __future__ import annotations

import pytest
from googleapiclient.errors import HttpError

from scheduler.errors import ProviderRejected
from scheduler.providers.base import CalendarInfo
from tests.contract.harness_google import REP, running_emulator
from tests.contract.harness_outlook import emulated_outlook
from web.sandbox.google_identity import CALENDAR_SCOPES


@pytest.fixture
def google():
    with running_emulator() as emulated:
        yield emulated


@pytest.fixture
def outlook():
    with emulated_outlook() as running:
        yield running


def test_google_lists_every_page_of_the_calendar_list_primary_first(google):
    google.state.share("team@example.com", REP, role="writer", summary="Team")
    google.state.share("holidays@example.com", REP, role="reader", summary="Holidays")

    listed = google.provider(page_size=2).list_calendars()

    assert listed == [CalendarInfo(REP, REP, primary=True, can_write=True),
                      CalendarInfo("team@example.com", "Team", can_write=True),
                      CalendarInfo("holidays@example.com", "Holidays")]
    assert google.state.request_count("calendarList.list") == 2  # two pages of two


def test_google_refuses_the_list_without_the_calendarlist_scope(google):
    token = google.state.identity.issue(scopes=tuple(
        s for s in CALENDAR_SCOPES if not s.endswith("calendarlist.readonly")))

    with pytest.raises(ProviderRejected):
        google.provider(token=token).list_calendars()


def test_a_page_token_of_another_account_is_refused(google):
    google.state.share("a@example.com", "other@example.com")
    service = google.provider()._service  # the client library, as the adapter holds it
    with pytest.raises(HttpError) as refused:
        service.calendarList().list(pageToken="other@example.com:1").execute()
    assert refused.value.resp.status == 400


def test_outlook_lists_every_page_of_me_calendars_by_owner_address(outlook):
    provider = outlook.provider()
    me = provider._tokens.username().lower()
    for n in range(11):  # more than the emulator's default page of 10
        outlook.state.share_calendar(f"colleague{n}@example.com", me, name=f"Colleague {n}")

    listed = provider.list_calendars()

    assert listed[0] == CalendarInfo(me, "Calendar", primary=True, can_write=True)
    assert [c.id for c in listed[1:]] == [f"colleague{n}@example.com" for n in range(11)]
    assert not any(c.can_write for c in listed[1:])  # bookings go to the default calendar
    assert outlook.state.request_count("list_calendars") == 2
