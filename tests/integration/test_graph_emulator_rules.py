"""The Graph emulator refuses what Microsoft documents Graph as not accepting (graph_rules.py):
each request here is sent over HTTP with a token msal got from the emulator's identity
platform, and a refusal is Graph's 400 with `error.code` and `error.message`."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests

from scheduler.providers.outlook_oauth import GraphTokens
from tests.contract.harness_outlook import EmulatedOutlook, emulated_outlook
from tests.emulators.graph import GRAPH_ENDPOINT
from tests.emulators.graph_rules import NOT_TRACKED, RULES, TOP_NOT_TRACKED

REP = "rep@example.com"
MONDAY = datetime(2030, 1, 7, 9, tzinfo=UTC)
WINDOW = {"startDateTime": "2030-01-01T00:00:00Z", "endDateTime": "2030-02-01T00:00:00Z"}
SCHEDULE = {"schedules": [REP], "startTime": {"dateTime": "2030-01-07T00:00:00",
                                              "timeZone": "UTC"},
            "endTime": {"dateTime": "2030-01-08T00:00:00", "timeZone": "UTC"}}
EVENT = {"subject": "Demo", "start": {"dateTime": "2030-01-07T10:00:00", "timeZone": "UTC"},
         "end": {"dateTime": "2030-01-07T10:30:00", "timeZone": "UTC"}}


@dataclass
class Graph:
    outlook: EmulatedOutlook
    token: str
    event_id: str

    def call(self, method: str, path: str, *, params: dict[str, Any] | None = None,
             headers: dict[str, str] | None = None, **kwargs: Any) -> requests.Response:
        url = path if path.startswith("https://") else GRAPH_ENDPOINT + path
        return self.outlook.session.request(
            method, url, params=params, timeout=10,
            headers={"Authorization": f"Bearer {self.token}", **(headers or {})}, **kwargs)


@pytest.fixture
def graph() -> Iterator[Graph]:
    with emulated_outlook() as outlook:
        connection = outlook.connect()
        tokens = GraphTokens(token_cache=connection["token_cache"],
                             account_id=connection["account_id"], settings=outlook.settings,
                             http_client=outlook.session, on_cache_changed=None, timeout=10)
        for hour in (9, 10, 11):
            event_id = outlook.state.add_event(REP, MONDAY.replace(hour=hour),
                                               MONDAY.replace(hour=hour, minute=45))
        yield Graph(outlook, tokens.access_token(), event_id)


def _refused(response: requests.Response, code: str) -> str:
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == code
    return error["message"]


# --- calendarView/delta ------------------------------------------------------------------------


@pytest.mark.parametrize("option", ["$expand", "$filter", "$orderby", "$search", "$select"])
def test_delta_refuses_the_odata_options_graph_does_not_track(graph, option):
    value = {"$expand": "singleValueExtendedProperties($filter=id eq 'String 0x0037')",
             "$filter": "isOrganizer eq true", "$orderby": "start/dateTime",
             "$search": '"demo"', "$select": "subject,start,end"}[option]

    response = graph.call("GET", "me/calendarView/delta", params={**WINDOW, option: value})

    assert _refused(response, "ErrorInvalidUrlQuery") == NOT_TRACKED


def test_delta_refuses_top_and_points_to_the_page_size_preference(graph):
    response = graph.call("GET", "me/calendarView/delta", params={**WINDOW, "$top": "2"})

    assert _refused(response, "ErrorInvalidUrlQuery") == TOP_NOT_TRACKED


def test_delta_refuses_an_expand_added_to_a_next_link(graph):
    first = graph.call("GET", "me/calendarView/delta", params=WINDOW,
                       headers={"Prefer": "odata.maxpagesize=2"}).json()

    response = graph.call("GET", first["@odata.nextLink"], params={"$expand": "attachments"})

    assert _refused(response, "ErrorInvalidUrlQuery") == NOT_TRACKED


def test_a_documented_delta_round_is_answered_page_by_page(graph):
    """As event-delta's example: lower-case startdatetime, page size through Prefer."""
    url, params, seen = "me/calendarView/delta", {k.lower(): v for k, v in WINDOW.items()}, []
    while True:
        response = graph.call("GET", url, params=params, headers={
            "Prefer": 'odata.maxpagesize=2, outlook.timezone="UTC"'})
        assert response.status_code == 200, response.text
        page = response.json()
        seen += [item["id"] for item in page["value"]]
        if "@odata.deltaLink" in page:
            break
        url, params = page["@odata.nextLink"], None
        assert {k.lower() for k, _ in parse_qsl(urlsplit(url).query)} == {"$skiptoken"}

    assert len(seen) == 3 and graph.event_id in seen


# --- every other endpoint ------------------------------------------------------------------------


def _endpoints(event_id: str) -> dict[str, tuple[str, str, dict[str, Any] | None]]:
    """Every Graph route the emulator serves (its view name) as a well-formed request."""
    event = f"me/events/{event_id}"
    return {"create_event": ("POST", "me/events", EVENT),
            "get_event": ("GET", event, None),
            "update_event": ("PATCH", event, {"subject": "Moved"}),
            "delete_event": ("DELETE", event, None),
            "cancel_event": ("POST", f"{event}/cancel", {"Comment": "Sorry"}),
            "get_schedule": ("POST", "me/calendar/getSchedule", SCHEDULE),
            "list_calendars": ("GET", "me/calendars", None),
            "calendar_view": ("GET", "me/calendarView", None),
            "calendar_view_delta": ("GET", "me/calendarView/delta", None),
            "create_subscription": ("POST", "subscriptions", {"changeType": "created"}),
            "renew_subscription": ("PATCH", "subscriptions/no-such-id", {}),
            "delete_subscription": ("DELETE", "subscriptions/no-such-id", None)}


def test_the_table_has_a_documented_page_for_every_route_and_nothing_else(graph):
    assert set(RULES) == set(_endpoints(graph.event_id))
    assert all(rule.page.startswith("https://learn.microsoft.com/en-us/graph/api/")
               and rule.page.endswith("?view=graph-rest-1.0") for rule in RULES.values())


@pytest.mark.parametrize("view", sorted(RULES))
def test_every_endpoint_refuses_a_query_parameter_its_page_does_not_document(graph, view):
    method, path, body = _endpoints(graph.event_id)[view]
    params = {**(WINDOW if view.startswith("calendar_view") else {}), "sendUpdates": "all"}

    response = graph.call(method, path, params=params, json=body)

    message = _refused(response, RULES[view].code)
    assert "'sendUpdates'" in message and RULES[view].page in message
    assert graph.outlook.state.get_event(graph.event_id) is not None  # nothing happened


def test_subscriptions_refuse_with_graphs_generic_code(graph):
    response = graph.call("DELETE", "subscriptions/no-such-id", params={"$select": "id"})

    assert _refused(response, "BadRequest").startswith("The query parameter '$select'")


def test_get_event_accepts_the_documented_select_and_expand(graph):
    response = graph.call("GET", f"me/events/{graph.event_id}", params={
        "$select": "subject,start", "$expand": "singleValueExtendedProperties"},
        headers={"Prefer": 'outlook.timezone="UTC"'})

    assert response.status_code == 200, response.text
    assert set(response.json()) == {"@odata.etag", "id", "subject", "start"}


def test_calendar_view_accepts_its_documented_paging(graph):
    response = graph.call("GET", "me/calendarView",
                          params={**WINDOW, "$select": "start,end", "$top": "2", "$skip": "1"})

    assert response.status_code == 200, response.text
    assert len(response.json()["value"]) == 2


def test_a_preference_the_page_does_not_list_is_refused(graph):
    refused = graph.call("POST", "me/events", json=EVENT,
                         headers={"Prefer": "odata.maxpagesize=100"})
    accepted = graph.call("POST", "me/events", json=EVENT,
                          headers={"Prefer": 'outlook.timezone="UTC"'})

    assert "Prefer: odata.maxpagesize" in _refused(refused, "BadRequest")
    assert accepted.status_code == 201, accepted.text
    assert len(graph.outlook.state.live_events(REP)) == 4  # only the accepted one was made


def test_a_graph_header_no_calendar_page_documents_is_refused(graph):
    response = graph.call("GET", "me/calendarView", params=WINDOW,
                          headers={"ConsistencyLevel": "eventual"})

    assert "'consistencylevel'" in _refused(response, "BadRequest").lower()


def test_get_schedule_accepts_its_documented_request(graph):
    response = graph.call("POST", "me/calendar/getSchedule", json=SCHEDULE,
                          headers={"Prefer": 'outlook.timezone="UTC"'})

    assert response.status_code == 200, response.text
    assert response.json()["value"][0]["scheduleId"] == REP
    assert len(response.json()["value"][0]["scheduleItems"]) == 3


def test_the_adapters_sync_round_uses_only_what_delta_documents(graph):
    """The whole round, as OutlookCalendar runs it, passes the rules (a 400 would raise)."""
    provider = graph.outlook.provider()
    graph.outlook.state.max_page_size = 2

    result = provider.changes(REP, None)
    graph.outlook.state.move_event(graph.event_id, MONDAY + timedelta(days=1),
                                   MONDAY + timedelta(days=1, hours=1))
    later = provider.changes(REP, result.cursor)

    assert len(result.changes) == 3
    assert [(c.ref.event_id, c.start) for c in later.changes] == [
        (graph.event_id, MONDAY + timedelta(days=1))]
