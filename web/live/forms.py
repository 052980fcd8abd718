"""The live-call form as the request models of scheduler.requests. Field names on the page
mirror the models' paths (`prospect-email`, `steps-0-due`), so an error's field finds its input."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from werkzeug.datastructures import MultiDict

from scheduler.errors import InvalidInput
from scheduler.requests import (
    BookingRequest,
    NoNextStep,
    OfferRequest,
    ProposalRequest,
    ProspectIn,
)
from scheduler.store.models import User
from web.errors import parse

PLAN_ROWS = 3
NO_NEXT_STEP_REASONS = {
    "not_a_fit": "Not a fit",
    "call_back_later": "Call back later",
    "no_decision_maker": "No decision maker yet",
    "circumstances_changed": "Circumstances changed",
    "other": "Other",
}
# What choosing a step's kind writes into its What box: words that follow "will".
STEP_PHRASES = {
    "send_value": "send something useful", "meeting": "meet",
    "talk_with_colleagues": "talk with colleagues", "send_questions": "send questions",
    "request_signup": "request sign-up", "send_proposal": "send the proposal",
    "proposal_review": "review the proposal", "send_paperwork": "send the paperwork",
    "other": "",
}
# What the rep reads next to a field, by the field's last part: a person wrote these.
_PLAIN = {
    "prospect.name": "Type the prospect's name.",
    "prospect.email": "Type the prospect's email address, e.g. dana@acme.com.",
    "prospect.timezone": "Pick their time zone from the list, e.g. Europe/Berlin.",
    "prospect.company": "Keep the company name to one line.",
    "start": "Pick one of the times first.",
    "plan.steps": "Add at least one step: who will do what, by when.",
    "reason": "Pick why the call ends without a next step.",
}
_STEP_FIELD = re.compile(r"plan\.steps\.(\d+)\.(\w+)")
_STEP_PLAIN = {"who": "Pick who does this step.",
               "what": "Say what they will do.",
               "type": "Pick the kind of step."}


def input_name(field: str | None) -> str | None:
    """'plan.steps.0.due' -> 'steps-0-due'; 'prospect.email' -> 'prospect-email'; the
    booking's 'start' is the slot the rep picked, a plan with no steps the first step."""
    if not field:
        return None
    if field == "start":
        return "slot"
    if field == "plan.steps":
        return "steps-0-what"
    return field.removeprefix("plan.").replace(".", "-")


def plain_message(field: str | None, message: str, *, validation: bool = True) -> str:
    """The error as a rep reads it mid-call: what to do, not what the validator saw. Some
    domain messages are already words for people ("Lee Chen is busy then"): kept."""
    if not validation and field == "start":
        return f"{message[:1].upper()}{message[1:]} — pick another time."
    if field in _PLAIN and (validation or field in ("plan.steps", "reason")):
        return _PLAIN[field]
    step = _STEP_FIELD.fullmatch(field or "")
    if step and step.group(2) in _STEP_PLAIN and ("required" in message
                                                  or step.group(2) == "type"):
        return _STEP_PLAIN[step.group(2)]
    if step and step.group(2) == "due":
        if "in the past" in message:
            return "That date is in the past; pick today or later."
        return "Give a date by when it happens."
    text = message.removeprefix(f"{field}: ") if field else message
    return text[:1].upper() + text[1:]


def prospect(form: MultiDict) -> dict[str, Any]:
    return {"name": form.get("prospect-name", ""), "email": form.get("prospect-email", ""),
            "timezone": form.get("prospect-timezone", ""),
            "company": form.get("prospect-company") or None}


def meeting(form: MultiDict) -> dict[str, Any]:
    # Left out when not chosen, so the rep's own default length applies.
    duration = {"duration_minutes": form["duration_minutes"]} \
        if form.get("duration_minutes") else {}
    return {"prospect": prospect(form), **duration,
            "helpers": form.getlist("helpers"),
            "step_type": form.get("step_type") or "meeting",
            "allow_outside_hours": form.get("allow_outside_hours") == "true"}


def plan(form: MultiDict) -> dict[str, Any]:
    """The filled-in rows; a row left blank is no step. Helpers come from the meeting's
    helpers ticked in the row and from emails typed there."""
    steps = []
    for row in range(PLAN_ROWS):
        value = {key: form.get(f"steps-{row}-{key}", "").strip()
                 for key in ("who", "what", "type", "due")}
        if not (value["what"] or value["due"]):
            continue
        typed = form.get(f"steps-{row}-help_from", "")
        helpers = [*form.getlist(f"steps-{row}-helper"), *typed.split(",")]
        value["help_from"] = list(dict.fromkeys(e.strip() for e in helpers if e.strip()))
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
    """The reason is picked from the list; 'Other' takes the rep's own words."""
    key = form.get("reason", "")
    if key not in NO_NEXT_STEP_REASONS:
        raise InvalidInput("pick a reason", field="reason")
    other = form.get("reason-other", "").strip()
    if key == "other" and not other:
        raise InvalidInput("say in a few words why", field="reason-other")
    reason = other if key == "other" else NO_NEXT_STEP_REASONS[key]
    return parse(NoNextStep, {"prospect": prospect(form), "reason": reason})


def chosen_slot(form: MultiDict) -> datetime | None:
    """The slot the rep clicked (not merely the one pre-selected), so a refresh keeps it."""
    try:
        chosen = datetime.fromisoformat(form.get("chosen", ""))
    except ValueError:
        return None
    return chosen.astimezone(UTC) if chosen.tzinfo else None


def reason_line(reason: str | None, rep: User, prospect: ProspectIn, *,
                day: tuple[str, str]) -> str | None:
    """One line saying why nothing fits: "Your hours (9-17 New York) and Kenji's daytime
    (8-18 Tokyo) never overlap"."""
    if reason != "no_shared_hours":
        return None
    hours = rep.working_hours or {}
    ranges = next((r for _, r in sorted((hours.get("weekly") or {}).items()) if r), None)
    yours = (f"{_hour(ranges[0][0])}–{_hour(ranges[-1][1])} " if ranges else "")
    first_name = prospect.name.split()[0]
    return (f"Your hours ({yours}{_city(rep.timezone)}) and {first_name}'s daytime "
            f"({_hour(day[0])}–{_hour(day[1])} {_city(prospect.timezone)}) never overlap, "
            "so these times are just outside one side's hours.")


def _hour(clock: str) -> str:
    hours, _, minutes = clock.partition(":")
    return str(int(hours)) if minutes in ("", "00") else f"{int(hours)}:{minutes}"


def _city(zone: str) -> str:
    return zone.rsplit("/", 1)[-1].replace("_", " ")


def has_prospect(form: MultiDict) -> bool:
    """Slots need someone to offer them to; until then the panel just says what to type."""
    return bool(form.get("prospect-email", "").strip() and form.get("prospect-name", "").strip())


def followup_id(form: MultiDict) -> str | None:
    """Set once the call's follow-up is booked: the plan can still be amended."""
    return form.get("followup_id") or None
