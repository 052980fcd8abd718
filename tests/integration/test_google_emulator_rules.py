"""The Google emulator refuses what Calendar v3's discovery document does not allow, over real
HTTP and with Google's 400 shape, before any view writes anything; and every call the adapter
makes is one the document allows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from scheduler.availability import Interval
from scheduler.providers.base import (
    FOLLOWUP_ID_PROPERTY,
    PLAN_PROPERTY,
    Attendee,
    CalendarEvent,
    new_event_uid,
)
from tests.contract.harness_google import REP, running_emulator
from web.sandbox.google_state import Fault

MONDAY = datetime(2030, 1, 7, tzinfo=UTC)
EVENTS = f"/calendars/{REP}/events"


@pytest.fixture
def google():
    with running_emulator() as emulated:
        yield emulated


def _call(google, method: str, path: str, *, params: dict[str, str] | None = None,
          body: dict[str, Any] | None = None) -> requests.Response:
    token = google.state.identity.issue()["access_token"]
    return requests.request(method, f"{google.base_url}/calendar/v3{path}", params=params,
                            json=body, headers={"Authorization": f"Bearer {token}"}, timeout=5)


def _event_body(**extra: Any) -> dict[str, Any]:
    return {"summary": "Proposal review",
            "start": {"dateTime": "2030-01-07T10:00:00Z"},
            "end": {"dateTime": "2030-01-07T10:30:00Z"},
            "attendees": [{"email": "dana@acme.example", "displayName": "Dana"}], **extra}


def _refusal(answer: requests.Response, status: int = 400) -> dict[str, Any]:
    """The one error Google names, after checking the envelope around it."""
    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    assert error["code"] == status
    assert error["status"] == {400: "INVALID_ARGUMENT", 404: "NOT_FOUND"}[status]
    [detail] = error["errors"]
    assert detail["domain"] == "global"
    assert detail["message"] == error["message"]
    return detail


# --- query parameters --------------------------------------------------------------------------


def test_an_unknown_query_parameter_on_events_list_is_refused(google):
    params = {"showDeleted": "true", "singleEvents": "true"}
    assert _call(google, "GET", EVENTS, params=params).status_code == 200

    detail = _refusal(_call(google, "GET", EVENTS,
                            params={**params, "updatedAfter": "2030-01-01T00:00:00Z"}))

    assert detail["reason"] == "invalidParameter"
    assert (detail["location"], detail["locationType"]) == ("updatedAfter", "parameter")
    assert '"updatedAfter"' in detail["message"]


def test_a_parameter_of_another_method_is_unknown_here(google):
    """sendUpdates belongs to the writes; a read does not take it."""
    detail = _refusal(_call(google, "GET", EVENTS, params={"sendUpdates": "all"}))

    assert (detail["reason"], detail["location"]) == ("invalidParameter", "sendUpdates")


def test_the_apis_global_parameters_are_accepted_on_any_method(google):
    answer = _call(google, "GET", EVENTS, params={
        "alt": "json", "prettyPrint": "false", "quotaUser": "rep-1", "fields": "items(id)"})

    assert answer.status_code == 200, answer.text


def test_an_enum_value_outside_the_document_is_refused_and_nothing_is_written(google):
    detail = _refusal(_call(google, "POST", EVENTS, params={"sendUpdates": "everyone"},
                            body=_event_body()))

    assert (detail["reason"], detail["location"]) == ("invalidParameter", "sendUpdates")
    assert "'everyone'" in detail["message"]
    assert google.state.live_events(REP) == []


@pytest.mark.parametrize(("name", "value"), [
    ("maxResults", "ten"),  # integer
    ("maxResults", "0"),  # below the document's minimum of 1
    ("showDeleted", "yes"),  # boolean
    ("timeMin", "2030-01-07T10:00:00"),  # date-time needs its offset
    ("orderBy", "start"),  # enum: startTime or updated
])
def test_a_typed_parameter_that_does_not_parse_is_refused(google, name, value):
    detail = _refusal(_call(google, "GET", EVENTS, params={name: value}))

    assert (detail["reason"], detail["location"]) == ("invalidParameter", name)
    assert value in detail["message"]


def test_a_missing_required_parameter_is_refused(google):
    """events.move names its destination calendar in the query, and must."""
    event = _call(google, "POST", EVENTS, body=_event_body()).json()

    detail = _refusal(_call(google, "POST", f"{EVENTS}/{event['id']}/move"))

    assert (detail["reason"], detail["location"]) == ("required", "destination")


# --- request bodies ----------------------------------------------------------------------------


@pytest.mark.parametrize(("body", "named"), [
    (_event_body(plan={"steps": []}), '"plan"'),
    (_event_body(attendees=[{"email": "dana@acme.example", "role": "champion"}]),
     "'resource.attendees[0]'"),
    (_event_body(start={"dateTime": "2030-01-07T10:00:00Z", "zone": "UTC"}),
     "'resource.start'"),
], ids=["top-level", "in-an-attendee", "in-a-start-time"])
def test_a_body_field_outside_the_event_schema_is_refused_and_nothing_is_written(google, body,
                                                                               named):
    detail = _refusal(_call(google, "POST", EVENTS, body=body))

    assert detail["reason"] == "badRequest"
    assert "Unknown name" in detail["message"] and named in detail["message"]
    assert google.state.live_events(REP) == []


@pytest.mark.parametrize(("body", "where"), [
    (_event_body(extendedProperties={"private": {FOLLOWUP_ID_PROPERTY: {"id": 1}}}),
     f'resource.extendedProperties.private["{FOLLOWUP_ID_PROPERTY}"]'),
    (_event_body(attendees={"email": "dana@acme.example"}), "resource.attendees"),
    (_event_body(attendees=[{"email": "dana@acme.example", "optional": "yes"}]),
     "resource.attendees[0].optional"),
], ids=["property-value-not-a-string", "attendees-not-a-list", "optional-not-a-boolean"])
def test_a_body_value_of_the_wrong_type_is_refused(google, body, where):
    detail = _refusal(_call(google, "POST", EVENTS, body=body))

    assert detail["reason"] == "badRequest"
    assert f"'{where}'" in detail["message"]
    assert google.state.live_events(REP) == []


def test_a_field_the_document_requires_for_insert_is_refused_when_missing(google):
    body = _event_body()
    del body["end"]

    detail = _refusal(_call(google, "POST", EVENTS, body=body))

    assert detail["reason"] == "required"
    assert "resource.end" in detail["message"]


def test_a_freebusy_body_outside_its_schema_is_refused(google):
    detail = _refusal(_call(google, "POST", "/freeBusy", body={
        "timeMin": "2030-01-07T00:00:00Z", "timeMax": "2030-01-08T00:00:00Z",
        "items": [{"id": REP, "busy": True}]}))

    assert "'resource.items[0]'" in detail["message"]


# --- methods -------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path"), [
    ("PUT", "/freeBusy"),
    ("GET", f"{EVENTS}/abcdef123/attachments"),
    ("POST", "/batch"),
    ("GET", "/calendars//events"),  # a path parameter is never empty
])
def test_a_method_the_document_does_not_have_is_not_found(google, method, path):
    detail = _refusal(_call(google, method, path, body={}), status=404)

    assert detail["reason"] == "notFound"


def test_a_refused_request_meets_no_injected_fault_and_is_not_counted(google):
    google.state.inject("events.insert", Fault(503))

    _refusal(_call(google, "POST", EVENTS, body=_event_body(plan="x")))

    assert google.state.request_counts() == {}
    assert _call(google, "POST", EVENTS, body=_event_body()).status_code == 503


# --- the adapter ---------------------------------------------------------------------------


def test_every_call_the_adapter_makes_is_one_the_document_allows(google):
    """Each adapter operation once (a repeated insert reads the event back): any request the
    document refuses would surface as ProviderRejected."""
    provider = google.provider()
    start = MONDAY.replace(hour=10)
    event = CalendarEvent(
        uid=new_event_uid(), calendar_id=REP, start=start, end=start + timedelta(minutes=30),
        title="Proposal review", description="Next steps", organizer=Attendee(REP, "Riley"),
        attendees=(Attendee("dana@acme.example", "Dana"),
                   Attendee("helper1@example.com", "", optional=True)),
        properties={FOLLOWUP_ID_PROPERTY: "fu-1", PLAN_PROPERTY: "p" * 2500},
        timezone="Europe/Berlin")

    provider.busy([REP, "helper1@example.com"], Interval(MONDAY, MONDAY + timedelta(days=1)))
    ref = provider.create_event(event)
    provider.create_event(event)
    ref = provider.update_event(ref, event)
    cursor = provider.changes(REP, None).cursor
    provider.changes(REP, cursor)
    channel = provider.watch(REP, address="https://nextstep.example/hooks/google",
                             channel_token="t", channel_id="channel-1", ttl_seconds=3600)
    provider.stop_watch(channel["id"], channel["resource_id"])
    provider.cancel_event(ref)

    assert set(google.state.request_counts()) == {
        "freebusy.query", "events.insert", "events.get", "events.patch", "events.list",
        "events.watch", "channels.stop", "events.delete"}
