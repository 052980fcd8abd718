"""GoogleCalendar when Google fails: which answers are retried (and how long it waits), which
fail at once, lost answers to writes, and a grant that is gone. Nothing sleeps for real:
the adapter gets a `sleep` that only records."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from scheduler.availability import Interval
from scheduler.errors import NeedsReconnect, ProviderRejected, ProviderUnavailable
from scheduler.providers.base import Attendee, CalendarEvent, new_event_uid
from tests.contract.harness_google import REP, running_emulator
from web.sandbox.google_state import Fault

MONDAY = datetime(2030, 1, 7, tzinfo=UTC)
DAY = Interval(MONDAY, MONDAY + timedelta(days=1))
EXPIRED = "2020-01-01T00:00:00+00:00"


@pytest.fixture
def google():
    with running_emulator() as emulated:
        yield emulated


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def provider(google, sleeps):
    return google.provider(sleep=sleeps.append)


def _event(start: datetime = MONDAY.replace(hour=10)) -> CalendarEvent:
    return CalendarEvent(
        uid=new_event_uid(), calendar_id=REP, start=start, end=start + timedelta(minutes=30),
        title="Demo for Acme", description="", organizer=Attendee(REP),
        attendees=(Attendee("dana@acme.example"),), timezone="America/New_York")


def test_a_hundred_creates_with_lost_answers_make_exactly_a_hundred_events(google, sleeps):
    google.state.inject_rate("events.insert", 0.3, Fault.commit_then(503),
                             Fault.commit_then_timeout(0.25), Fault.commit_then_drop(), seed=7)
    provider = google.provider(sleep=sleeps.append, timeout=0.15, max_attempts=8)
    events = [_event(MONDAY + timedelta(minutes=30 * n)) for n in range(100)]

    refs = [provider.create_event(event) for event in events]

    assert [ref.event_id for ref in refs] == [event.uid for event in events]
    assert len(google.state.live_events(REP)) == 100
    assert google.state.request_count("events.insert") > 120  # the faults did happen
    assert google.state.request_count("events.get") > 0  # 409 duplicate -> read ours back


def test_429_with_retry_after_waits_that_long_then_succeeds(google, provider, sleeps):
    google.state.inject("freebusy.query", Fault.throttled(retry_after=2))

    result = provider.busy([REP], DAY)

    assert result.busy == {REP: []}
    assert sleeps == [2.0]
    assert google.state.request_count("freebusy.query") == 2


def test_429_without_retry_after_backs_off_with_jitter(google, provider, sleeps):
    google.state.inject("freebusy.query", Fault.throttled(), Fault.throttled())

    provider.busy([REP], DAY)

    assert len(sleeps) == 2
    assert 0 <= sleeps[0] <= 0.5 and 0 <= sleeps[1] <= 1.0


@pytest.mark.parametrize("reason", ["rateLimitExceeded", "userRateLimitExceeded"])
def test_403_rate_limits_are_retried(google, provider, sleeps, reason):
    google.state.inject("freebusy.query", Fault.rate_limited(reason), Fault.rate_limited(reason))

    assert provider.busy([REP], DAY).busy == {REP: []}

    assert google.state.request_count("freebusy.query") == 3
    assert len(sleeps) == 2


@pytest.mark.parametrize("fault", [Fault(400), Fault.forbidden(), Fault(404)],
                         ids=["400", "403-forbidden", "404"])
def test_final_refusals_fail_at_once(google, provider, sleeps, fault):
    google.state.inject("freebusy.query", fault)

    with pytest.raises(ProviderRejected):
        provider.busy([REP], DAY)

    assert google.state.request_count("freebusy.query") == 1
    assert sleeps == []


def test_503_five_times_with_three_attempts_gives_up_after_exactly_three(google, sleeps):
    google.state.inject("freebusy.query", *[Fault(503)] * 5)
    provider = google.provider(sleep=sleeps.append, max_attempts=3)

    with pytest.raises(ProviderUnavailable) as raised:
        provider.busy([REP], DAY)

    assert google.state.request_count("freebusy.query") == 3
    assert len(sleeps) == 2
    assert raised.value.retry_after is not None


def test_a_long_retry_after_is_reported_not_slept_through(google, provider, sleeps):
    google.state.inject("freebusy.query", Fault.throttled(retry_after=600))

    with pytest.raises(ProviderUnavailable) as raised:
        provider.busy([REP], DAY)

    assert raised.value.retry_after == 600
    assert sleeps == []


def test_a_dropped_connection_is_retried(google, provider, sleeps):
    google.state.inject("freebusy.query", Fault(None, drop=True), Fault(None, drop=True))

    assert provider.busy([REP], DAY).busy == {REP: []}

    assert google.state.request_count("freebusy.query") == 3  # httplib2 resends once itself
    assert len(sleeps) == 1


def test_a_lost_answer_to_a_delete_is_fine_when_the_retry_finds_it_gone(google, provider):
    ref = provider.create_event(_event())
    google.state.inject("events.delete", Fault.commit_then(503))

    provider.cancel_event(ref)

    assert google.state.live_events(REP) == []
    assert google.state.request_count("events.delete") == 2


def test_a_lost_answer_to_a_patch_rereads_and_applies_once_more(google, provider):
    event = _event()
    ref = provider.create_event(event)
    google.state.inject("events.patch", Fault.commit_then(503))
    later = MONDAY.replace(hour=16)

    provider.update_event(ref, replace(event, start=later, end=later + timedelta(hours=1)))

    assert google.state.get_event(REP, ref.event_id).start == later
    assert google.state.request_count("events.patch") == 3  # lost, 412, applied
    assert google.state.request_count("events.get") == 1


def test_a_revoked_grant_needs_reconnect_and_the_instance_stops_calling(google, sleeps):
    token = google.state.identity.issue()
    provider = google.provider({**token, "expiry": EXPIRED}, sleep=sleeps.append)
    google.state.identity.revoke_refresh_token(token["refresh_token"])

    with pytest.raises(NeedsReconnect):
        provider.busy([REP], DAY)
    seen = google.state.request_counts()
    with pytest.raises(NeedsReconnect):
        provider.create_event(_event())

    assert seen == {"token": 1}
    assert google.state.request_counts() == seen
    assert sleeps == []


def test_a_grant_revoked_while_the_access_token_was_fresh_also_needs_reconnect(google):
    token = google.state.identity.issue()
    provider = google.provider(token)
    google.state.identity.revoke(token["refresh_token"])  # the user removed the app

    with pytest.raises(NeedsReconnect):
        provider.busy([REP], DAY)

    assert google.state.request_counts() == {"freebusy.query": 1, "token": 1}  # 401, refresh
