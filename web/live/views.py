"""The live-call screen. Each action is one service call rendered as an htmx partial; an
error renders in place with its 4xx, in plain words, naming the input to fix."""

from __future__ import annotations

import uuid

from flask import render_template, request
from flask_login import current_user, login_required

from scheduler.accounts import list_colleagues
from scheduler.amendments import amend_plan
from scheduler.availability import canonical_zone_names
from scheduler.booking import (
    book_followup,
    end_call_without_next_step,
    get_followup_or_raise,
    guess_prospect_timezone,
    propose_slots,
)
from scheduler.connections import connection_problems
from scheduler.errors import SchedulerError
from scheduler.events import display_names, plan_of
from scheduler.offers import create_offer
from scheduler.outbox import invite_deliveries, rep_notices
from scheduler.plans import STEP_TYPES, describe_plan
from scheduler.readmodels import FollowUpView
from web.api.schemas import ProposalOut
from web.auth.session import current_viewer
from web.errors import InvalidRequest, status_for, validation_body
from web.live import bp, forms
from web.runtime import deps, runtime

DURATIONS = (15, 30, 45, 60, 90)


@bp.errorhandler(SchedulerError)
def scheduler_error(error: SchedulerError):
    return _problem(forms.plain_message(error.field, error.message, validation=False),
                    error.field, status_for(error))


@bp.errorhandler(InvalidRequest)
def invalid_request(error: InvalidRequest):
    problem = validation_body(error.error)["error"]
    return _problem(forms.plain_message(problem["field"], problem["message"]),
                    problem["field"], 422)


def _problem(message: str, field: str | None, status: int):
    return render_template("live/_problem.html", message=message,
                           input_name=forms.input_name(field)), status


@bp.get("/live")
@login_required
def screen():
    rep = current_user.user
    return render_template("live/screen.html", rep=rep, zones=canonical_zone_names(),
                           durations=DURATIONS,
                           step_types=STEP_TYPES, phrases=forms.STEP_PHRASES,
                           rows=range(forms.PLAN_ROWS), reasons=forms.NO_NEXT_STEP_REASONS,
                           colleagues=list_colleagues(runtime().store, rep),
                           problems=connection_problems(rep.id, **deps("store", "calendars")),
                           notices=rep_notices(runtime().store, current_viewer()),
                           idempotency_key=uuid.uuid4().hex)


@bp.post("/live/slots")
@login_required
def slots():
    if not forms.has_prospect(request.form):
        return render_template("live/_slots.html", proposal=None)
    rep = current_user.user
    proposal_request = forms.proposal_request(request.form)
    proposal = propose_slots(proposal_request, rep=rep,
                             **deps("store", "calendars", "clock", "settings"))
    settings = runtime().settings
    return render_template(
        "live/_slots.html", proposal=ProposalOut.from_domain(proposal),
        chosen=forms.chosen_slot(request.form), prospect=proposal_request.prospect,
        reason_line=forms.reason_line(proposal.reason, rep, proposal_request.prospect,
                                      day=(settings.prospect_day_start,
                                           settings.prospect_day_end)))


@bp.get("/live/prospect-zone")
@login_required
def prospect_zone():
    email = request.args.get("email", "").strip()
    return {"timezone": guess_prospect_timezone(runtime().store, email,
                                                viewer=current_viewer()) if email else None}


@bp.post("/live/book")
@login_required
def book():
    """Books the call's follow-up; once booked, the same button saves the amended plan."""
    followup_id = forms.followup_id(request.form)
    if followup_id:
        followup = amend_plan(followup_id, forms.plan(request.form), actor="rep",
                              viewer=current_viewer(),
                              **deps("store", "calendars", "clock", "jobs"))
        return _booked(followup, created=True, amended=True)
    booked = book_followup(forms.booking_request(request.form), rep=current_user.user,
                           via="live screen", **deps())
    # Read again: with in-process jobs the calendar write may already have happened.
    return _booked(get_followup_or_raise(runtime().store, booked.followup.id),
                   created=booked.created, amended=False)


def _booked(followup: FollowUpView, *, created: bool, amended: bool):
    rep = current_user.user
    names = display_names(followup)
    plan = plan_of(followup)
    steps = [line.split(". ", 1)[1] for line in describe_plan(plan, names).splitlines()]
    providers = runtime().calendars.providers
    calendars = sorted({providers.label(event.provider) for event in followup.events})
    invite = invite_deliveries(runtime().store, [followup.id]).get(followup.id)
    return render_template("live/_booked.html", rep=rep, created=created, amended=amended,
                           followup=followup, steps=steps, calendars=calendars, invite=invite,
                           invites_by_provider=runtime().calendars.sends_own_invites(rep),
                           manage_url=runtime().manage_url(followup)
                           if runtime().manage_url else None)


@bp.post("/live/offer")
@login_required
def offer():
    sent = create_offer(forms.offer_request(request.form), rep=current_user.user, **deps())
    return render_template("live/_offered.html", sent=sent, rep=current_user.user)


@bp.post("/live/no-next-step")
@login_required
def no_next_step():
    ended = forms.no_next_step(request.form)
    end_call_without_next_step(ended, rep=current_user.user, **deps("store", "clock"))
    return render_template("live/_ended.html", prospect=ended.prospect, reason=ended.reason)
