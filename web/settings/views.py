"""Thin views over accounts and preferences: the rep's availability (a week grid, dates
that differ, buffers, notice, video link, and next week's free time), API tokens (created
and shown once, listed, revoked) and signing out everywhere."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, logout_user

from scheduler.accounts import (
    create_api_token,
    end_sessions,
    get_user,
    list_api_tokens,
    revoke_api_tokens,
)
from scheduler.availability import canonical_zone_names
from scheduler.errors import InvalidInput
from scheduler.preferences import (
    availability_dict,
    preferences_of,
    preview_next_week,
    update_availability,
)
from web.errors import InvalidRequest, validation_body
from web.runtime import deps, runtime
from web.settings import bp
from web.settings.forms import (
    PlainForm,
    RevokeTokenForm,
    availability_fields,
    availability_request,
    submitted_fields,
)


def _page(*, new_token: str | None = None, status: int = 200,
          problem: dict[str, str] | None = None):
    rep = get_user(runtime().store, current_user.user.id)
    fields = (submitted_fields(request.form) if problem else
              availability_fields(availability_dict(preferences_of(rep, runtime().settings))))
    return render_template("settings/index.html", rep=rep, new_token=new_token,
                           tokens=list_api_tokens(runtime().store, rep.id),
                           now=runtime().clock.now(),
                           token_days=runtime().settings.api_token_days,
                           availability=fields, problem=problem, zones=canonical_zone_names(),
                           preview=preview_next_week(rep, **deps("calendars", "clock",
                                                                 "settings"))), status


@bp.app_template_filter("clock")
def clock(instant, timezone: str) -> str:
    """'09:30' in the zone: the preview names the day once, then only times."""
    return instant.astimezone(ZoneInfo(timezone)).strftime("%H:%M")


@bp.errorhandler(InvalidInput)
def invalid_input(error: InvalidInput):
    """The availability form again, what was typed kept, the problem named next to it."""
    return _page(status=422, problem={"field": error.field or "", "message": error.message})


@bp.errorhandler(InvalidRequest)
def invalid_request(error: InvalidRequest):
    problem = validation_body(error.error)["error"]
    return _page(status=422, problem={"field": problem["field"] or "",
                                      "message": problem["message"]})


@bp.get("/settings")
@login_required
def index():
    return _page()


@bp.post("/settings/availability")
@login_required
def change_availability():
    if not PlainForm().validate_on_submit():
        abort(400)
    update_availability(availability_request(request.form), rep_id=current_user.user.id,
                        **deps("store", "settings"))
    flash("Your availability is saved: new proposals use it now.", "success")
    return redirect(url_for("settings.index") + "#availability", 303)


@bp.post("/settings/tokens")
@login_required
def create_token():
    """The secret is in this answer only: not in a flash message (the session cookie is
    signed, not encrypted), not in the database."""
    if not PlainForm().validate_on_submit():
        abort(400)
    token = create_api_token(runtime().store, current_user.user.email, clock=runtime().clock,
                             days=runtime().settings.api_token_days)
    return _page(new_token=token, status=201)


@bp.post("/settings/tokens/revoke")
@login_required
def revoke_token():
    form = RevokeTokenForm()
    if not form.validate_on_submit():
        abort(400)
    revoke_api_tokens(runtime().store, current_user.user.id, token_id=form.token_id.data,
                      clock=runtime().clock)
    flash(f"Token {form.token_id.data} is revoked: it no longer opens the API.", "success")
    return redirect(url_for("settings.index"))


@bp.post("/settings/sign-out-everywhere")
@login_required
def sign_out_everywhere():
    if not PlainForm().validate_on_submit():
        abort(400)
    end_sessions(runtime().store, current_user.user.id)
    logout_user()
    flash("You are signed out on every device.", "success")
    return redirect(url_for("auth.login"))
