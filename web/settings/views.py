"""Thin views over accounts: API tokens (created and shown once, listed, revoked) and
signing out everywhere."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user, login_required, logout_user

from scheduler.accounts import create_api_token, end_sessions, list_api_tokens, revoke_api_tokens
from web.runtime import runtime
from web.settings import bp
from web.settings.forms import PlainForm, RevokeTokenForm


def _page(*, new_token: str | None = None, status: int = 200):
    rep = current_user.user
    return render_template("settings/index.html", rep=rep, new_token=new_token,
                           tokens=list_api_tokens(runtime().store, rep.id),
                           now=runtime().clock.now(),
                           token_days=runtime().settings.api_token_days), status


@bp.get("/settings")
@login_required
def index():
    return _page()


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
