"""The API's doors: who may call what, and the one error shape for everything refused."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from tests.web.api_support import assert_error, booking, proposal
from web.api.openapi import PREFIX, ROUTES

PROTECTED = [(route.method, route.path.replace("{id}", "0123abcd"))
             for route in ROUTES if route.auth]


def call(client, method: str, path: str, **kwargs):
    return client.open(PREFIX + path, method=method.upper(), **kwargs)


def test_health_answers_without_a_token(client):
    response = client.get("/api/v1/health")

    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


def test_openapi_document_is_served_without_a_token(client):
    response = client.get("/api/v1/openapi.json")

    assert response.status_code == 200
    assert response.get_json()["openapi"].startswith("3.1")


@pytest.mark.parametrize(("method", "path"), PROTECTED)
def test_every_protected_endpoint_refuses_a_missing_token(client, method, path):
    response = call(client, method, path, json={})

    assert_error(response, 401, "unauthorized", "Authorization")
    assert response.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize(("method", "path"), PROTECTED)
def test_every_protected_endpoint_refuses_a_bad_token(client, rep, method, path):
    for header in ["Bearer ns_not-a-real-token", "Bearer ", "Basic abc", "ns_not-a-real-token"]:
        response = call(client, method, path, json={}, headers={"Authorization": header})

        assert_error(response, 401, "unauthorized", "Authorization")


def test_a_valid_token_under_another_scheme_is_refused(client, token):
    response = client.post("/api/v1/proposals", json=proposal(),
                           headers={"Authorization": f"Token {token}"})

    assert_error(response, 401, "unauthorized", "Authorization")


def test_a_body_that_is_not_json_is_a_400(api):
    response = api.post("/proposals", data="prospect=Dana",
                        content_type="application/x-www-form-urlencoded")

    assert_error(response, 400, "invalid_json", "body")


def test_malformed_json_is_a_400(api):
    response = api.post("/followups", data='{"prospect": ', content_type="application/json")

    assert_error(response, 400, "invalid_json", "body")


@pytest.mark.parametrize("body", [[], ["prospect"], "text", 42, None])
def test_json_that_is_not_an_object_is_a_400(api, body):
    response = api.post("/followups", json=body)

    assert_error(response, 400, "invalid_json", "body")


def test_a_missing_body_is_a_400(api):
    response = api.patch("/followups/0123abcd")

    assert_error(response, 400, "invalid_json", "body")


def test_an_unknown_field_is_refused_by_name(api):
    response = api.post("/proposals", json=proposal(colour="blue"))

    error = assert_error(response, 422, "invalid", "colour")
    assert "not a known field" in error["message"]


def test_an_unknown_api_path_is_a_json_404(api):
    response = api.get("/nothing-here")

    assert_error(response, 404, "not_found", None)


def test_a_wrong_method_is_a_json_405_that_names_the_allowed_ones(api):
    response = api.get("/proposals")

    assert_error(response, 405, "method_not_allowed", None)
    assert "POST" in response.headers["Allow"]


def test_a_body_over_the_size_limit_is_a_json_413(api):
    huge = booking(title="x" * (300 * 1024))

    response = api.post("/followups", json=huge)

    assert_error(response, 413, "request_entity_too_large", None)


def test_an_answer_that_does_not_fit_its_model_is_a_server_error_not_a_422(api, monkeypatch):
    monkeypatch.setattr("web.api.views.guess_prospect_timezone", lambda store, email, viewer: 5)

    with pytest.raises(ValidationError):
        api.get("/prospects/timezone?email=dana@acme.example.com")
