"""The live-call screen. Each action is one service call rendered as an htmx partial; an
error renders in place with its 4xx, naming the input to fix."""

from __future__ import annotations

import uuid
from zoneinfo import available_timezones

from flask import render_template, request
from flask_login import current_user, login_required

from scheduler.accounts import list_colleagues
from scheduler.booking import (
    book_followup,
    end_call_without_next_step,
    get_followup_or_raise,
    guess_prospect_timezone,
    propose_slots,
)
from scheduler.connections import connection_problems
from scheduler.errors import SchedulerError
from scheduler.offers import create_offer
from scheduler.outbox import invite_deliveries
from scheduler.plans import STEP_TYPES
from scheduler.spoken import local_label
from web.api.schemas import FollowUpOut, ProposalOut
from web.errors import InvalidRequest, status_for, validation_body
from web.live import bp, forms
from web.runtime import deps, runtime

ZONES = sorted(available_timezones() - {"Factory", "localtime"})
DURATIONS = (15, 30, 45, 60, 90)


@bp.errorhandler(SchedulerError)
def scheduler_error(error: SchedulerError):
    return _problem(error.message, error.field, status_for(error))


@bp.errorhandler(InvalidRequest)
def invalid_request(error: InvalidRequest):
    problem = validation_body(error.error)["error"]
    return _problem(problem["message"], problem["field"], 422)


@bp.app_template_filter("local")
def local(instant, timezone: str) -> str:
    """'Tue 24 Nov 10:00' in the given zone."""
    return local_label(instant, timezone)


def _problem(message: str, field: str | None, status: int):
    return render_template("live/_problem.html", message=message,
                           input_name=forms.input_name(field)), status


@bp.get("/live")
@login_required
def screen():
    rep = current_user.user
    return render_template("live/screen.html", rep=rep, zones=ZONES, durations=DURATIONS,
                           step_types=STEP_TYPES, rows=range(forms.PLAN_ROWS),
                           colleagues=list_colleagues(runtime().store, rep),
                           problems=connection_problems(rep.id, **deps("store", "calendars")),
                           idempotency_key=uuid.uuid4().hex)


@bp.post("/live/slots")
@login_required
def slots():
    if not forms.has_prospect(request.form):
        return render_template("live/_slots.html", proposal=None)
    proposal = propose_slots(forms.proposal_request(request.form), rep=current_user.user,
                             **deps("store", "calendars", "clock", "settings"))
    return render_template("live/_slots.html", proposal=ProposalOut.from_domain(proposal))


@bp.get("/live/prospect-zone")
@login_required
def prospect_zone():
    email = request.args.get("email", "").strip()
    return {"timezone": guess_prospect_timezone(runtime().store, email,
                                                rep_id=current_user.user.id) if email else None}


@bp.post("/live/book")
@login_required
def book():
    booked = book_followup(forms.booking_request(request.form), rep=current_user.user,
                           **deps())
    # Read again: with in-process jobs the calendar write may already have happened.
    followup = get_followup_or_raise(runtime().store, booked.followup.id)
    manage_url = runtime().manage_url
    invite = invite_deliveries(runtime().store, [followup.id]).get(followup.id)
    return render_template("live/_booked.html", rep=current_user.user, created=booked.created,
                           followup=FollowUpOut.from_domain(
                               followup, manage_url=manage_url(followup) if manage_url else None,
                               invite=invite),
                           invites_by_provider=runtime().calendars.sends_own_invites(
                               current_user.user))


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
    return render_template("live/_ended.html", prospect=ended.prospect)

