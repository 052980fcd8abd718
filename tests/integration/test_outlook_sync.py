"""Sync back from Outlook: calendarView/delta rounds against the Graph emulator (paging, the
deltaLink only at the end, replayed pages, expired tokens) and change-notification
subscriptions with Graph's validation handshake against a real local receiver."""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from scheduler.errors import ProviderRejected, ProviderUnavailable
from scheduler.providers.base import FOLLOWUP_ID_PROPERTY, Attendee, CalendarEvent, new_event_uid
from tests.contract.harness_outlook import emulated_outlook
from tests.emulators.graph_state import Fault

MONDAY = datetime(2030, 1, 7, tzinfo=UTC)
REP = "rep@example.com"
DANA = "dana@acme.example"


@pytest.fixture
def outlook():
    with emulated_outlook() as running:
        yield running


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[tuple[str, object]]]]:
    """A notification endpoint like the web app's: /hooks/outlook echoes the validationToken
    as text/plain and takes notifications; /broken answers the handshake with JSON."""
    received: list[tuple[str, object]] = []

    @Request.application
    def app(request: Request) -> Response:
        token = request.args.get("validationToken")
        if token is not None and request.path == "/hooks/outlook":
            received.append(("validation", token))
            return Response(token, content_type="text/plain; charset=utf-8")
        if token is not None:
            return Response(json.dumps({"token": token}), content_type="application/json")
        received.append(("notification", request.get_json()))
        return Response(status=202)

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", received
    server.shutdown()
    server.server_close()
    thread.join()


def _event(start: datetime) -> CalendarEvent:
    return CalendarEvent(uid=new_event_uid(), calendar_id=REP, start=start,
                         end=start + timedelta(minutes=30), title="Demo for Acme",
                         description="1. Riley shows the reporting module",
                         organizer=Attendee(REP), properties={FOLLOWUP_ID_PROPERTY: "fu-9"},
                         attendees=(Attendee(DANA, "Dana"), Attendee("helper1@example.com")))


def _hours(*hours: int) -> list[datetime]:
    return [MONDAY.replace(hour=hour) for hour in hours]


# --- delta rounds -----------------------------------------------------------------------------


def test_a_round_follows_every_page_and_keeps_only_the_final_delta_link(outlook):
    outlook.state.max_page_size = 3
    for start in _hours(8, 9, 10, 11, 12, 13, 14, 15):
        outlook.state.add_event(REP, start, start + timedelta(minutes=45))

    result = outlook.provider().changes(REP, None)

    assert len(result.changes) == 8
    assert "$deltatoken=" in result.cursor and "$skiptoken" not in result.cursor
    assert outlook.state.request_count("calendar_view_delta") == 3
    assert result.full_resync is False


def test_a_round_that_fails_halfway_leaves_the_old_cursor_usable(outlook):
    outlook.state.max_page_size = 2
    provider = outlook.provider(max_attempts=2)
    cursor = provider.changes(REP, None).cursor
    refs = [provider.create_event(_event(start)) for start in _hours(9, 10, 11, 12, 13)]
    outlook.state.inject("calendar_view_delta", None, Fault(503), Fault(503))

    with pytest.raises(ProviderUnavailable):
        provider.changes(REP, cursor)
    later = provider.changes(REP, cursor)

    assert sorted(c.ref.event_id for c in later.changes) == sorted(r.event_id for r in refs)


def test_a_page_served_twice_changes_nothing(outlook):
    outlook.state.max_page_size = 2
    for start in _hours(9, 10, 11, 12, 13):
        outlook.state.add_event(REP, start, start + timedelta(hours=1))
    outlook.state.inject("calendar_view_delta", None, Fault.commit_then(503))

    result = outlook.provider().changes(REP, None)

    assert sorted(c.ref.event_id for c in result.changes) == sorted(
        e.id for e in outlook.state.live_events(REP))
    assert outlook.state.request_count("calendar_view_delta") == 4  # 3 pages, one twice


def test_an_expired_delta_token_brings_one_full_resync_equal_to_the_calendar(outlook):
    outlook.state.max_page_size = 3
    provider = outlook.provider()
    refs = [provider.create_event(_event(start)) for start in _hours(9, 10, 11, 12)]
    outlook.state.add_event(REP, MONDAY.replace(hour=7), MONDAY.replace(hour=8))
    cursor = provider.changes(REP, None).cursor
    provider.cancel_event(refs[0])
    outlook.state.move_event(refs[1].event_id, MONDAY + timedelta(days=2),
                             MONDAY + timedelta(days=2, hours=1))
    provider.create_event(_event(MONDAY.replace(hour=16)))
    outlook.state.expire_delta_tokens()
    rounds_before = outlook.state.request_count("calendar_view_delta")

    result = provider.changes(REP, cursor)

    live = outlook.state.live_events(REP)
    assert result.full_resync is True
    assert {(c.ref.event_id, c.start, c.end) for c in result.changes} == {
        (e.id, e.start, e.end) for e in live}
    assert {c.status for c in result.changes} == {"confirmed"}
    assert outlook.state.request_count("calendar_view_delta") - rounds_before == (
        1 + math.ceil(len(live) / 3))
    assert provider.changes(REP, result.cursor).changes == []


def test_what_the_outside_world_does_comes_back_as_changes(outlook):
    provider = outlook.provider()
    accepted, declined, moved, deleted = (provider.create_event(_event(start))
                                          for start in _hours(9, 10, 11, 12))
    cursor = provider.changes(REP, None).cursor
    outlook.state.respond(accepted.event_id, DANA, "accepted")
    outlook.state.respond(accepted.event_id, "helper1@example.com", "tentativelyAccepted")
    outlook.state.respond(declined.event_id, DANA, "declined")
    new_start = MONDAY + timedelta(days=1, hours=14)
    outlook.state.move_event(moved.event_id, new_start, new_start + timedelta(minutes=30))
    outlook.state.delete_event(deleted.event_id)

    changes = {c.ref.event_id: c for c in provider.changes(REP, cursor).changes}

    assert set(changes) == {accepted.event_id, declined.event_id, moved.event_id,
                            deleted.event_id}
    answers = {a.email: a.response for a in changes[accepted.event_id].attendees}
    assert answers == {DANA: "accepted", "helper1@example.com": "tentative"}
    assert changes[accepted.event_id].followup_id is None  # delta cannot $expand properties
    assert {a.email: a.response for a in changes[declined.event_id].attendees}[DANA] == \
        "declined"
    assert (changes[moved.event_id].start, changes[moved.event_id].end) == (
        new_start, new_start + timedelta(minutes=30))
    assert changes[moved.event_id].status == "confirmed"
    assert changes[deleted.event_id].status == "cancelled"


def test_an_event_moved_beyond_the_sync_window_is_reported_gone(outlook):
    provider = outlook.provider()
    ref = provider.create_event(_event(MONDAY.replace(hour=9)))
    cursor = provider.changes(REP, None).cursor
    far = MONDAY + timedelta(days=3 * 365)
    outlook.state.move_event(ref.event_id, far, far + timedelta(hours=1))

    [change] = provider.changes(REP, cursor).changes

    assert (change.ref.event_id, change.status) == (ref.event_id, "cancelled")


# --- subscriptions ----------------------------------------------------------------------------


def test_subscribing_passes_the_validation_handshake_and_can_be_renewed(outlook, receiver):
    base, received = receiver
    provider = outlook.provider()
    expires = datetime.now(UTC) + timedelta(days=2)

    subscription = provider.subscribe(notification_url=f"{base}/hooks/outlook",
                                      client_state="s3cret", expires_at=expires)
    renewed = provider.renew_subscription(subscription["id"], expires + timedelta(days=1))

    assert received[0][0] == "validation"
    assert abs(subscription["expiration"] - expires) < timedelta(seconds=1)
    assert renewed["id"] == subscription["id"]
    assert abs(renewed["expiration"] - expires - timedelta(days=1)) < timedelta(seconds=1)


def test_notifications_carry_the_client_state_until_unsubscribed(outlook, receiver):
    base, received = receiver
    provider = outlook.provider()
    subscription = provider.subscribe(notification_url=f"{base}/hooks/outlook",
                                      client_state="s3cret",
                                      expires_at=datetime.now(UTC) + timedelta(days=1))
    ref = provider.create_event(_event(MONDAY.replace(hour=9)))

    statuses = outlook.state.notify(ref.event_id, "updated")
    provider.delete_subscription(subscription["id"])
    provider.delete_subscription(subscription["id"])

    [notification] = received[-1][1]["value"]
    assert statuses == [202]
    assert notification["clientState"] == "s3cret"
    assert notification["subscriptionId"] == subscription["id"]
    assert notification["resourceData"]["id"] == ref.event_id
    assert outlook.state.notify(ref.event_id, "updated") == []


def test_a_notification_url_that_does_not_echo_the_token_is_refused(outlook, receiver):
    base, _ = receiver

    with pytest.raises(ProviderRejected, match="validation"):
        outlook.provider().subscribe(notification_url=f"{base}/broken", client_state="s",
                                     expires_at=datetime.now(UTC) + timedelta(days=1))

    assert outlook.state.subscriptions == {}


def test_a_subscription_longer_than_graph_allows_is_refused(outlook, receiver):
    base, _ = receiver

    with pytest.raises(ProviderRejected, match="expiration"):
        outlook.provider().subscribe(notification_url=f"{base}/hooks/outlook",
                                     client_state="s",
                                     expires_at=datetime.now(UTC) + timedelta(days=30))
