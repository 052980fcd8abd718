"""The live-call form as the request models of scheduler.requests. Field names on the page
mirror the models' paths (`prospect-email`, `steps-0-due`), so an error's field finds its input."""

from __future__ import annotations

from typing import Any

from werkzeug.datastructures import MultiDict

from scheduler.requests import BookingRequest, NoNextStep, OfferRequest, ProposalRequest
from web.errors import parse

PLAN_ROWS = 3


def input_name(field: str | None) -> str | None:
    """'plan.steps.0.due' -> 'steps-0-due'; 'prospect.email' -> 'prospect-email'; the
    booking's 'start' is the slot the rep picked."""
    if not field:
        return None
    if field == "start":
        return "slot"
    return field.removeprefix("plan.").replace(".", "-")


def prospect(form: MultiDict) -> dict[str, Any]:
    return {"name": form.get("prospect-name", ""), "email": form.get("prospect-email", ""),
            "timezone": form.get("prospect-timezone", ""),
            "company": form.get("prospect-company") or None}


def meeting(form: MultiDict) -> dict[str, Any]:
    return {"prospect": prospect(form),
            "duration_minutes": form.get("duration_minutes") or 30,
            "helpers": form.getlist("helpers"),
            "step_type": form.get("step_type") or "meeting"}


def plan(form: MultiDict) -> dict[str, Any]:
    """The filled-in rows; a row left blank is no step."""
    steps = []
    for row in range(PLAN_ROWS):
        value = {key: form.get(f"steps-{row}-{key}", "").strip()
                 for key in ("who", "what", "type", "due")}
        if not (value["what"] or value["due"]):
            continue
        helpers = form.get(f"steps-{row}-help_from", "")
        value["help_from"] = [email.strip() for email in helpers.split(",") if email.strip()]
        steps.append(value)
    return {"steps": steps}


def proposal_request(form: MultiDict) -> ProposalRequest:
    return parse(ProposalRequest, meeting(form))


def booking_request(form: MultiDict) -> BookingRequest:
    return parse(BookingRequest, {**meeting(form), "start": form.get("slot") or None,
                                  "plan": plan(form),
                                  "idempotency_key": form.get("idempotency_key") or None})


def offer_request(form: MultiDict) -> OfferRequest:
    return parse(OfferRequest, {**meeting(form), "plan": plan(form),
                                "slots": form.getlist("offered") or None})


def no_next_step(form: MultiDict) -> NoNextStep:
    return parse(NoNextStep, {"prospect": prospect(form), "reason": form.get("reason", "")})


def has_prospect(form: MultiDict) -> bool:
    """Slots need someone to offer them to; until then the panel just says what to type."""
    return bool(form.get("prospect-email", "").strip() and form.get("prospect-name", "").strip())
