"""Request bodies for the JSON API tests: one realistic default, overrides per test."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from scheduler.providers.local import LocalCalendar
from scheduler.store.models import Connection
from tests.conftest import logged_kinds

# Tuesday 24 Nov 2026 15:00 UTC: 10:00 for the rep in New York, inside everyone's hours.
TUESDAY_3PM = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)

PROSPECT = {"name": "Dana Whitfield", "email": "dana@acme.example.com",
            "timezone": "America/Los_Angeles", "company": "Acme"}


def iso(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat().replace("+00:00", "Z")


def plan(*, due: str = "2026-11-27") -> dict[str, Any]:
    return {"steps": [
        {"who": "prospect", "what": "send the security questionnaire",
         "type": "send_questions", "due": due},
        {"who": "rep", "what": "send the proposal", "type": "send_proposal", "due": due,
         "help_from": ["lee@example.com"]},
    ]}


def booking(at: datetime = TUESDAY_3PM, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"prospect": dict(PROSPECT), "start": iso(at),
                            "duration_minutes": 30, "helpers": [], "plan": plan(),
                            "step_type": "proposal_review"}
    body.update(overrides)
    return body


def proposal(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"prospect": dict(PROSPECT), "duration_minutes": 30}
    body.update(overrides)
    return body


def book(api, at: datetime = TUESDAY_3PM, **overrides: Any) -> dict[str, Any]:
    """Book through the API and return the follow-up, failing loudly if it was refused."""
    response = api.post("/followups", json=booking(at, **overrides))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def make_busy(runtime, email: str, start: datetime, minutes: int = 60) -> None:
    """An event of the person's own in the built-in calendar."""
    LocalCalendar(runtime.store).add_busy(email, start, start + timedelta(minutes=minutes))


def assert_error(response, status: int, code: str, field: str | None) -> dict[str, Any]:
    """The one error shape of API.md, with the status, code and field expected."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    error = response.get_json()["error"]
    assert set(error) == {"code", "message", "field"}
    assert (error["code"], error["field"]) == (code, field), error
    assert error["message"]
    return error


def assert_told_to_reconnect(api, signed_in, runtime, emulated, account: str) -> None:
    """After the provider ended the grant: a proposal still answers but warns, the connection
    is marked and logged, the live screen says so, and the account is not called again."""
    answer = api.post("/proposals", json=proposal())
    assert answer.status_code == 200
    [warning] = answer.get_json()["warnings"]
    assert "needs to be connected again" in warning
    with runtime.store.reading() as session:
        assert session.scalars(select(Connection.status).where(
            Connection.account == account, Connection.provider != "local")).one() \
            == "needs_reconnect"
    assert "connection.needs_reconnect" in logged_kinds(runtime)
    screen = signed_in.get("/live").get_data(as_text=True)
    assert 'data-problem="connection"' in screen and account in screen
    calls = emulated.request_count()
    api.post("/proposals", json=proposal())
    assert emulated.request_count() == calls  # no further calls for that account

