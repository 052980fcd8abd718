"""The connections page, and the OAuth redirects that connect a calendar or sign a rep in.
Problems with an answer from the provider get a page and a 4xx that say what to do next."""

from __future__ import annotations

import logging

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user

from scheduler.connections import (
    calendar_choices,
    choose_calendars,
    connect_account,
    connection_problems,
    connections_of,
    disconnect,
    get_connection_or_raise,
    offered_providers,
    open_push_channel,
    rep_for_sign_in,
)
from scheduler.errors import SchedulerError
from scheduler.providers.base import ProviderDescription
from web.auth.session import SignedIn
from web.auth.views import safe_next
from web.connections import bp, flows
from web.errors import status_for
from web.runtime import deps, runtime

logger = logging.getLogger(__name__)


@bp.errorhandler(SchedulerError)
def connection_problem(error: SchedulerError):
    """An answer that cannot be used is the request's fault (400); an unreachable provider
    is not (503); the rest keep their usual status."""
    status = 400 if error.field in ("state", "authorization", "scopes", "account") \
        else status_for(error)
    return render_template("connections/problem.html", message=error.message,
                           status=status), status


@bp.get("/connections")
@login_required
def index():
    rep = current_user.user
    connections = connections_of(runtime().store, rep.id)
    labels = _labels()
    choices = {c.id: calendar_choices(c, **deps("calendars"))
               for c in connections if c.provider in labels}
    return render_template("connections/index.html", labels=labels,  # read again: listing
                           connections=connections_of(runtime().store, rep.id),  # may have
                           # found an account that needs connecting again
                           choices=choices,
                           offered=offered_providers(**deps("calendars")),
                           problems=connection_problems(rep.id, **deps("store", "calendars")))


@bp.get("/connections/<provider>/connect")
@login_required
def connect(provider: str):
    _offered_or_404(provider)
    return redirect(flows.start(provider, purpose="connect", user_id=current_user.user.id,
                                next_url=safe_next(request.args.get("next")
                                                   or url_for("connections.index"))))


@bp.get("/login/<provider>")
def sign_in(provider: str):
    """Sign in with Google or Microsoft: the same consent also connects the calendar."""
    _offered_or_404(provider)
    return redirect(flows.start(provider, purpose="sign_in",
                                next_url=safe_next(request.args.get("next"))))


@bp.get("/connections/<provider>/callback")
def callback(provider: str):
    _offered_or_404(provider)
    finished = flows.finish(provider)
    email = finished.credentials.get("email", "")
    if finished.purpose == "sign_in":
        user = rep_for_sign_in(provider, finished.credentials, **deps("store", "calendars"))
        if user is None:
            refused = _description(provider).oauth.sign_in_refused
            return render_template("connections/problem.html", status=403,
                                   message=refused.format(email=email)), 403
        login_user(SignedIn(user))
    elif not current_user.is_authenticated or current_user.user.id != finished.user_id:
        return render_template("connections/problem.html", status=400, message=(
            "You were signed out while connecting. Sign in and connect again.")), 400
    rep = current_user.user
    connection = connect_account(user_id=rep.id, provider=provider,
                                 credentials=finished.credentials,
                                 **deps("store", "calendars", "clock"))
    try:
        open_push_channel(connection.id, **deps("store", "calendars", "clock", "settings"))
    except SchedulerError as exc:  # polling still keeps the calendar current
        logger.warning("push channel for connection %s: %s", connection.id, exc.message)
    flash(f"{_description(provider).label} {connection.account} is connected.", "success")
    return redirect(finished.next_url)


@bp.post("/connections/<int:connection_id>/calendars")
@login_required
def calendars(connection_id: int):
    busy = [calendar for value in request.form.getlist("busy_calendars")  # checkboxes, or
            for calendar in value.replace(",", "\n").splitlines()]  # one text field
    connection = choose_calendars(connection_id, user_id=current_user.user.id, busy=busy,
                                  booking=request.form.get("booking_calendar", ""),
                                  **deps("store", "calendars"))
    flash(f"Saved: {len(connection.busy_calendars)} calendar(s) count as busy; bookings go "
          f"to {connection.booking_calendar}.", "success")
    return redirect(url_for("connections.index"))


@bp.post("/connections/<int:connection_id>/disconnect")
@login_required
def remove(connection_id: int):
    rep = current_user.user
    connection = get_connection_or_raise(runtime().store, connection_id, user_id=rep.id)
    revoked = disconnect(connection_id, user_id=rep.id,
                         **deps("store", "calendars", "settings", "clock"))
    description = _description(connection.provider)
    after = "access is revoked." if revoked or description.oauth is None \
        else description.oauth.unrevoked
    flash(f"{description.label} {connection.account} is disconnected and its "
          f"tokens are deleted; {after}", "success")
    return redirect(url_for("connections.index"))


def _offered_or_404(provider: str) -> None:
    if provider not in offered_providers(**deps("calendars")):
        abort(404)


def _description(provider: str) -> ProviderDescription:
    return runtime().calendars.providers.get_or_raise(provider)


def _labels() -> dict[str, str]:
    """Labels of the providers whose accounts the page lists (not the built-in calendar)."""
    return {d.name: d.label for d in runtime().calendars.providers.with_accounts()}
