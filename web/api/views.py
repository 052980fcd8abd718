"""Thin views: parse with the request models, call one service, render with schemas.py."""

from __future__ import annotations

from typing import Any, TypeVar

from flask import g, request
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from scheduler.access import Viewer
from scheduler.amendments import amend_plan
from scheduler.booking import (
    book_followup,
    cancel_followup,
    complete_followup,
    end_call_without_next_step,
    get_followup_or_raise,
    guess_prospect_timezone,
    mark_steps_done,
    propose_slots,
    reschedule_followup,
)
from scheduler.lifecycle import Status
from scheduler.log import LogRecord, read_entries
from scheduler.offers import create_offer
from scheduler.outbox import invite_deliveries
from scheduler.preferences import get_preferences_or_raise, update_availability
from scheduler.readmodels import FollowUpView
from scheduler.requests import (
    AvailabilityRequest,
    BookingRequest,
    FollowUpPatch,
    NoNextStep,
    OfferRequest,
    ProposalRequest,
)
from web.api import bp
from web.api.openapi import openapi_document
from web.api.schemas import (
    AvailabilityOut,
    FollowUpOut,
    HealthOut,
    LogPageOut,
    LogPosition,
    LogQuery,
    NoNextStepOut,
    OfferOut,
    ProposalOut,
    TimezoneGuessOut,
    TimezoneQuery,
)
from web.auth.session import current_viewer, token_required
from web.errors import NotJSON, parse
from web.exports import csv_download
from web.outage import RETRY_AFTER_SECONDS, is_outage
from web.runtime import deps, runtime

M = TypeVar("M", bound=BaseModel)


def json_body(model: type[M]) -> M:
    """The body as `model`: 400 when it is not a JSON object, 422 naming the bad field."""
    data = request.get_json(silent=True)
    if data is None and request.get_data():
        raise NotJSON("malformed body: not JSON, or nested too deeply", field="body")
    if not isinstance(data, dict):
        raise NotJSON("the body must be a JSON object (Content-Type: application/json)",
                      field="body")
    return parse(model, data)


def query_args(model: type[M]) -> M:
    return parse(model, request.args.to_dict())


def render(followup: FollowUpView) -> dict[str, Any]:
    manage_url = runtime().manage_url
    invite = invite_deliveries(runtime().store, [followup.id]).get(followup.id)
    out = FollowUpOut.from_domain(followup, invite=invite,
                                  manage_url=manage_url(followup) if manage_url else None)
    return out.model_dump(mode="json")


@bp.get("/health")
def health():
    """503 "degraded" while the database is unreachable, so a load balancer can tell."""
    try:
        with runtime().store.reading() as session:
            session.execute(text("SELECT 1"))
    except DBAPIError as error:
        if not is_outage(error):
            raise
        return (HealthOut(status="degraded", database="unreachable").model_dump(mode="json"),
                503, {"Retry-After": str(RETRY_AFTER_SECONDS)})
    return HealthOut(status="ok", database="ok").model_dump(mode="json")


@bp.get("/openapi.json")
def openapi():
    return openapi_document()


@bp.post("/proposals")
@token_required
def create_proposal():
    proposal = propose_slots(json_body(ProposalRequest), rep=g.rep,
                             **deps("store", "calendars", "clock", "settings"))
    return ProposalOut.from_domain(proposal).model_dump(mode="json")


@bp.post("/followups")
@token_required
def create_followup():
    booked = book_followup(json_body(BookingRequest), rep=g.rep, **deps())
    return render(booked.followup), 201 if booked.created else 200


@bp.get("/followups/<followup_id>")
@token_required
def show_followup(followup_id: str):
    return render(get_followup_or_raise(runtime().store, followup_id, viewer=current_viewer()))


@bp.patch("/followups/<followup_id>")
@token_required
def change_followup(followup_id: str):
    patch = json_body(FollowUpPatch)
    viewer = current_viewer()
    if patch.start is not None:
        followup = reschedule_followup(followup_id, patch.start, actor="rep", viewer=viewer,
                                       **deps())
    elif patch.plan is not None:
        followup = amend_plan(followup_id, patch.plan, actor="rep", viewer=viewer,
                              **deps("store", "calendars", "clock", "jobs"))
    elif patch.status == Status.CANCELLED:
        followup = cancel_followup(followup_id, actor="rep", viewer=viewer,
                                   **deps("store", "calendars", "clock", "jobs"))
    elif patch.status == Status.DONE:
        followup = complete_followup(followup_id, viewer=viewer, **deps("store", "clock"))
    else:
        followup = mark_steps_done(followup_id, [(s.index, s.done) for s in patch.steps or ()],
                                   viewer=viewer, **deps("store", "clock"))
    return render(followup)


@bp.post("/offers")
@token_required
def create_offer_link():
    sent = create_offer(json_body(OfferRequest), rep=g.rep, **deps())
    return OfferOut.from_domain(sent, rep_timezone=g.rep.timezone,
                                now=runtime().clock.now()).model_dump(mode="json"), \
        201 if sent.created else 200


@bp.post("/calls/no-next-step")
@token_required
def no_next_step():
    ended = json_body(NoNextStep)
    end_call_without_next_step(ended, rep=g.rep, **deps("store", "clock"))
    return NoNextStepOut.from_request(ended).model_dump(mode="json"), 201


@bp.get("/prospects/timezone")
@token_required
def prospect_timezone():
    query = query_args(TimezoneQuery)
    guess = guess_prospect_timezone(runtime().store, query.email, viewer=current_viewer())
    return TimezoneGuessOut(email=query.email, timezone=guess).model_dump(mode="json")


@bp.get("/me/availability")
@token_required
def my_availability():
    preferences = get_preferences_or_raise(runtime().store, g.rep.id, runtime().settings)
    return AvailabilityOut.from_domain(preferences).model_dump(mode="json")


@bp.put("/me/availability")
@token_required
def change_my_availability():
    preferences = update_availability(json_body(AvailabilityRequest), rep_id=g.rep.id,
                                      **deps("store", "settings"))
    return AvailabilityOut.from_domain(preferences).model_dump(mode="json")


@bp.get("/log")
@token_required
def log_page():
    query = query_args(LogQuery)
    position = query.position
    records = rep_entries(current_viewer(), position, limit=query.limit)
    following = (LogPosition(records[-1].id, position.since).cursor()
                 if len(records) == query.limit else None)
    return LogPageOut.from_domain(records, following).model_dump(mode="json")


@bp.get("/log.csv")
@token_required
def log_csv():
    position = query_args(LogQuery).position
    return csv_download(read_entries(runtime().store, viewer=current_viewer(),
                                     since=position.since, after_id=position.after_id))


def rep_entries(viewer: Viewer, position: LogPosition, *, limit: int) -> list[LogRecord]:
    """One page of the entries the viewer sees, oldest first: the id orders them stably."""
    return list(read_entries(runtime().store, viewer=viewer, since=position.since,
                             after_id=position.after_id, limit=limit))
