"""Findings of the hardening review (issue 15) about input: each test failed before its fix.
Redirects after sign-in, inputs that reached a 500, the cost of a wrong sign-in, and the
smaller leaks (another rep's prospect zone, `true` as a count, odd zones, bidi controls, a
step due in year 9999)."""

from __future__ import annotations

import hashlib

import pytest

from scheduler.accounts import add_user, create_api_token
from tests.conftest import PASSWORD
from tests.web.api_support import PROSPECT, assert_error, book, booking, plan, proposal

DEEP_JSON = "[" * 100_000 + "]" * 100_000


# 1. Open redirect after sign-in

@pytest.mark.parametrize("target", [
    "/%09/evil.example", "/%0d%0a/evil.example", "/%5Cevil.example", "/%09%5Cevil.example",
    "//evil.example", "https://evil.example/", "/%09%09//evil.example", "%09//evil.example",
])
def test_sign_in_never_redirects_to_another_site(app, client, rep, target):
    app.config["WTF_CSRF_ENABLED"] = False

    response = client.post(f"/login?next={target}",
                           data={"email": rep.email, "password": PASSWORD})

    assert response.status_code == 302
    assert response.headers["Location"] == "/live"


def test_sign_in_keeps_a_path_on_this_site_once_tabs_are_dropped(app, client, rep):
    app.config["WTF_CSRF_ENABLED"] = False

    response = client.post("/login?next=/%09log%3Fkind=followup.booked",
                           data={"email": rep.email, "password": PASSWORD})

    assert response.headers["Location"] == "/log?kind=followup.booked"


def test_the_form_carries_no_foreign_next_either(client, rep):
    page = client.get("/login?next=/%09/evil.example").get_data(as_text=True)

    assert "evil.example" not in page


# 5. Inputs that reached a 500

@pytest.mark.parametrize("path", ["/log?to=9999-12-31", "/log/export.csv?to=9999-12-31",
                                  "/log?from=0001-01-01"])
def test_a_log_filter_beyond_any_calendar_is_named(signed_in, path):
    response = signed_in.get(path)

    assert response.status_code == 422
    assert ("to" if "to=" in path else "from") in response.get_data(as_text=True)


def test_deeply_nested_json_is_a_malformed_body(api):
    response = api.post("/proposals", data=DEEP_JSON, content_type="application/json")

    error = assert_error(response, 400, "invalid_json", "body")
    assert "malformed body" in error["message"]


def test_deeply_nested_json_to_the_outlook_hook_is_a_400(client):
    response = client.post("/hooks/outlook", data=DEEP_JSON, content_type="application/json")

    assert response.status_code == 400
    assert "malformed body" in response.get_data(as_text=True)


# 6. The cost of a wrong sign-in does not tell which emails exist

def _hashes_for_sign_in(client, monkeypatch, email: str) -> int:
    calls = []
    real_scrypt, real_pbkdf2 = hashlib.scrypt, hashlib.pbkdf2_hmac
    monkeypatch.setattr(hashlib, "scrypt", lambda *a, **k: calls.append(1) or
                        real_scrypt(*a, **k))
    monkeypatch.setattr(hashlib, "pbkdf2_hmac", lambda *a, **k: calls.append(1) or
                        real_pbkdf2(*a, **k))
    response = client.post("/login", data={"email": email, "password": "wrong password!"})
    monkeypatch.setattr(hashlib, "scrypt", real_scrypt)
    monkeypatch.setattr(hashlib, "pbkdf2_hmac", real_pbkdf2)
    assert response.status_code == 401
    return len(calls)


def test_unknown_email_and_wrong_password_cost_one_hash_each(app, client, rep, monkeypatch):
    app.config["WTF_CSRF_ENABLED"] = False

    known = _hashes_for_sign_in(client, monkeypatch, rep.email)
    unknown = _hashes_for_sign_in(client, monkeypatch, "nobody@example.com")

    assert known == unknown == 1


def test_the_stand_in_hash_costs_what_a_real_one_does(rep, runtime):
    from scheduler.accounts import _UNMATCHABLE_HASH, get_user_by_email

    real = get_user_by_email(runtime.store, rep.email).password_hash

    assert real.split("$")[0] == _UNMATCHABLE_HASH.split("$")[0]  # same method and cost


# 8. Smaller leaks and looseness

def test_the_zone_guess_answers_only_from_the_callers_own_follow_ups(api, client, runtime,
                                                                    rep):
    book(api)
    add_user("morgan@example.com", name="Morgan", store=runtime.store, clock=runtime.clock)
    other = create_api_token(runtime.store, "morgan@example.com", clock=runtime.clock)

    response = client.get(f"/api/v1/prospects/timezone?email={PROSPECT['email']}",
                          headers={"Authorization": f"Bearer {other}"})

    assert response.get_json() == {"email": PROSPECT["email"], "timezone": None}


def test_true_is_not_a_count(api, rep):
    assert_error(api.post("/proposals", json=proposal(count=True)), 422, "invalid", "count")


def test_true_is_not_a_step_index(api, rep):
    followup = book(api)

    response = api.patch(f"/followups/{followup['id']}",
                         json={"steps": [{"index": True, "done": True}]})

    assert_error(response, 422, "invalid", "steps.0.index")
    assert api.get(f"/followups/{followup['id']}").get_json()["plan"]["steps"][1]["done"] is False


@pytest.mark.parametrize("zone", ["localtime", "Factory", "EST5EDT", "US/Eastern",
                                  "Etc/GMT+5", "posixrules", "GMT", "America"])
def test_only_canonical_zones_are_taken(api, rep, zone):
    response = api.post("/proposals", json=proposal(prospect=dict(PROSPECT, timezone=zone)))

    assert_error(response, 422, "invalid", "prospect.timezone")


@pytest.mark.parametrize("zone", ["UTC", "America/Argentina/Buenos_Aires", "Asia/Kolkata"])
def test_canonical_zones_and_utc_are_taken(api, rep, zone):
    response = api.post("/proposals", json=proposal(prospect=dict(PROSPECT, timezone=zone)))

    assert response.status_code == 200, response.get_json()


@pytest.mark.parametrize("control", ["\u202e", "\u202a", "\u2066", "\u2069"])
def test_bidi_controls_are_refused_in_names(api, rep, control):
    body = booking(prospect=dict(PROSPECT, name=f"Dana {control}ecioval"))

    assert_error(api.post("/followups", json=body), 422, "invalid", "prospect.name")


def test_bidi_controls_are_refused_in_titles(api, rep):
    body = booking(title="Proposal \u202etxt.exe")

    assert_error(api.post("/followups", json=body), 422, "invalid", "title")


def test_bidi_controls_are_refused_in_plan_text(api, rep):
    steps = plan()["steps"]
    steps[1] = dict(steps[1], what="send the \u2067proposal\u2069")

    response = api.post("/followups", json=booking(plan={"steps": steps}))

    assert_error(response, 422, "invalid_plan", "plan.steps.1.what")


@pytest.mark.parametrize("due", ["9999-12-31", "2028-12-31"])
def test_a_step_due_beyond_two_years_is_refused(api, rep, due):
    response = api.post("/followups", json=booking(plan=plan(due=due)))

    error = assert_error(response, 422, "invalid_plan", "plan.steps.0.due")
    assert "two years" in error["message"]


def test_a_step_due_within_two_years_is_taken(api, rep):
    assert api.post("/followups", json=booking(plan=plan(due="2028-11-01"))).status_code == 201
