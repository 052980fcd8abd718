"""Request builders for the booking services: one realistic default, overrides per test."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from scheduler.requests import BookingRequest, ProposalRequest

PROSPECT = {"name": "Dana Whitfield", "email": "dana@acme.example.com",
            "timezone": "America/Los_Angeles", "company": "Acme"}


def plan(*, due: str = "2026-11-27", steps: int = 2) -> dict[str, Any]:
    rows = [
        {"who": "prospect", "what": "send the security questionnaire", "type": "send_questions",
         "due": due, "help_from": []},
        {"who": "rep", "what": "send the proposal", "type": "send_proposal", "due": due,
         "help_from": ["lee@example.com"]},
        {"who": "rep", "what": "review pricing with finance", "type": "talk_with_colleagues",
         "due": due},
    ]
    return {"steps": rows[:steps]}


def booking(start: datetime, **overrides: Any) -> BookingRequest:
    values: dict[str, Any] = {"prospect": PROSPECT, "start": start.isoformat(),
                              "duration_minutes": 30, "helpers": [], "plan": plan(),
                              "step_type": "proposal_review"}
    values.update(overrides)
    return BookingRequest.model_validate(values)


def proposal(**overrides: Any) -> ProposalRequest:
    values: dict[str, Any] = {"prospect": PROSPECT, "duration_minutes": 30, "helpers": []}
    values.update(overrides)
    return ProposalRequest.model_validate(values)


def at(day: datetime, hour: int, minute: int = 0, days: int = 0) -> datetime:
    return (day + timedelta(days=days)).replace(hour=hour, minute=minute, second=0,
                                                microsecond=0)
