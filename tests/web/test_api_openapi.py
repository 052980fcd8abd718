"""The OpenAPI document: valid, complete, and generated from the models the views use."""

from __future__ import annotations

import re

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate

from scheduler.plans import STEP_KEYS, STEP_TYPES
from tests.web.api_support import book, proposal
from web.api.openapi import PREFIX, ROUTES, StepIn, openapi_document


def placeholders(path: str) -> str:
    """`/followups/<followup_id>` and `/followups/{id}` both become `/followups/{}`."""
    return re.sub(r"<[^>]+>|\{[^}]+\}", "{}", path)


def test_the_served_document_is_valid_openapi_3_1(client):
    document = client.get("/api/v1/openapi.json").get_json()

    validate(document)
    assert document["openapi"] == "3.1.0"
    assert document == openapi_document()


def test_every_api_route_of_the_app_is_documented_and_nothing_else(app):
    served = {(placeholders(rule.rule), method.lower())
              for rule in app.url_map.iter_rules() if rule.rule.startswith(PREFIX + "/")
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    documented = {(placeholders(path), method)
                  for path, operations in openapi_document()["paths"].items()
                  for method in operations}

    assert served == documented


def test_protected_operations_ask_for_the_bearer_token_and_document_401():
    document = openapi_document()

    assert document["components"]["securitySchemes"]["bearer"] == {
        "type": "http", "scheme": "bearer",
        "description": document["components"]["securitySchemes"]["bearer"]["description"]}
    for route in ROUTES:
        operation = document["paths"][PREFIX + route.path][route.method]
        if route.auth:
            assert operation["security"] == [{"bearer": []}]
            assert "401" in operation["responses"]
        else:
            assert operation["security"] == []


def test_every_error_answer_uses_the_error_schema():
    """Except health's 503, which is its own degraded answer for load balancers."""
    document = openapi_document()
    error = {"$ref": "#/components/schemas/ErrorOut"}

    for path, operations in document["paths"].items():
        for operation in operations.values():
            for status, answer in operation["responses"].items():
                if status.startswith(("4", "5")) and (path, status) != ("/api/v1/health", "503"):
                    assert answer["content"]["application/json"]["schema"] == error
    detail = document["components"]["schemas"]["ErrorDetail"]
    assert set(detail["required"]) == {"code", "message", "field"}


def test_request_and_answer_schemas_come_from_the_pydantic_models():
    schemas = openapi_document()["components"]["schemas"]

    assert schemas["BookingRequest"]["additionalProperties"] is False
    assert schemas["BookingRequest"]["properties"]["plan"] == {
        "$ref": "#/components/schemas/PlanIn"}
    assert set(schemas["FollowUpOut"]["required"]) >= {
        "id", "status", "start", "end", "prospect", "helpers", "plan", "events"}
    assert set(schemas["SlotOut"]["properties"]) == {
        "start", "end", "prospect_local", "rep_local", "spoken", "outside_hours"}
    assert "reason" in schemas["ProposalOut"]["properties"]
    for request in ("ProposalRequest", "BookingRequest", "OfferRequest"):
        assert schemas[request]["properties"]["allow_outside_hours"]["type"] == "boolean"
    assert "plan" in schemas["FollowUpPatch"]["properties"]


def test_the_documented_plan_step_matches_what_the_plan_parser_reads():
    assert tuple(StepIn.model_fields) == STEP_KEYS
    step = openapi_document()["components"]["schemas"]["StepIn"]
    assert step["properties"]["type"]["enum"] == list(STEP_TYPES)


def test_the_log_query_is_documented_as_parameters():
    operation = openapi_document()["paths"][PREFIX + "/log"]["get"]

    assert {p["name"]: p["required"] for p in operation["parameters"]} == {
        "since": False, "limit": False, "cursor": False}
    assert operation["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/LogPageOut"}
    csv_answer = openapi_document()["paths"][PREFIX + "/log.csv"]["get"]["responses"]["200"]
    assert list(csv_answer["content"]) == ["text/csv"]


def assert_documented(response, path: str, method: str) -> None:
    """The answer fits the schema the document gives for its status (formats included)."""
    document = openapi_document()
    answer = document["paths"][PREFIX + path][method]["responses"][str(response.status_code)]
    schema = answer["content"]["application/json"]["schema"]
    validator = Draft202012Validator({**schema, "components": document["components"]},
                                     format_checker=Draft202012Validator.FORMAT_CHECKER)
    validator.validate(response.get_json())


def test_real_answers_of_every_json_endpoint_fit_the_document(api, client, rep, helpers):
    followup = book(api, helpers=["lee@example.com"])
    path = f"/followups/{followup['id']}"

    assert_documented(client.get("/api/v1/health"), "/health", "get")
    assert_documented(api.post("/proposals", json=proposal(helpers=["sam@example.com"])),
                      "/proposals", "post")
    assert_documented(api.get(path), "/followups/{id}", "get")
    for change in ({"steps": [{"index": 0}]}, {"start": "2026-11-25T16:00:00Z"},
                   {"status": "cancelled"}, {"start": "2026-11-26T16:00:00Z"}):
        assert_documented(api.patch(path, json=change), "/followups/{id}", "patch")
    assert_documented(api.post("/calls/no-next-step", json={"prospect": followup["prospect"]}),
                      "/calls/no-next-step", "post")
    assert_documented(api.get("/prospects/timezone?email=dana@acme.example.com"),
                      "/prospects/timezone", "get")
    assert_documented(api.get("/log?limit=2"), "/log", "get")
    assert_documented(api.get("/log?limit=nine"), "/log", "get")
    assert_documented(api.get("/followups/nope"), "/followups/{id}", "get")


@pytest.mark.parametrize("route", [r for r in ROUTES if r.examples], ids=lambda r: r.path)
def test_the_documented_request_examples_are_valid_requests(route):
    for _name, example in route.examples:
        route.body.model_validate(example)
