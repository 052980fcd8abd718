"""The prospect's pages. No account: the signed link is the key. GET only shows; picking,
rescheduling and cancelling are POSTs with CSRF. Link problems get their own page and 4xx."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlencode

from flask import Response, redirect, render_template, request, url_for

from scheduler.access import PROSPECT
from scheduler.availability import Interval
from scheduler.booking import cancel_followup, get_followup_or_raise
from scheduler.errors import InvalidInput, OfferUsed, SchedulerError
from scheduler.events import followup_event, video_link
from scheduler.invites import build_ics
from scheduler.lifecycle import LIVE, OfferStatus, Status
from scheduler.log import moved_from
from scheduler.offers import (
    accept_offer,
    get_offer_followup,
    offered_slots,
    open_offer_or_raise,
    read_followup_token,
    read_offer_token,
    rebook_token,
    reschedule_by_prospect,
    reschedule_choices,
    short_followup_token,
)
from scheduler.plans import describe_plan, plan_from_dict
from scheduler.readmodels import FollowUpView
from scheduler.short_links import expand
from web.errors import status_for
from web.extensions import limiter
from web.offers import bp
from web.runtime import deps, runtime

# One link is opened by one prospect, maybe a colleague or two: generous, but it stops a
# script hammering one token from many addresses.
LINK_LIMIT = "100 per minute"
TITLES = {400: "This link is not valid", 409: "Already booked", 410: "This link has expired"}


def _public_limit() -> str:
    return runtime().settings.public_rate_limit


def _token_key() -> str:
    return f"token:{request.view_args.get('token', '')}" if request.view_args else "token:"


public = limiter.shared_limit(_public_limit, scope="public")
per_link = limiter.shared_limit(LINK_LIMIT, scope="link", key_func=_token_key)


@bp.errorhandler(SchedulerError)
def link_problem(error: SchedulerError):
    status = status_for(error)
    return render_template("offers/problem.html", title=TITLES.get(status, "Sorry"),
                           message=error.message, field=error.field), status


@bp.get("/o/<token>")
@public
@per_link
def offer(token: str):
    signed = _signed(token, "offer")
    try:
        offer = open_offer_or_raise(signed, **deps("store", "settings", "clock"))
    except OfferUsed:
        # Picked already: the booked follow-up is what the prospect came back for.
        booked = get_offer_followup(runtime().store,
                                read_offer_token(signed, **deps("settings", "clock")))
        if booked is None:
            raise
        return redirect(url_for("offers.followup", token=_manage_token(booked.id)), 303)
    plan = describe_plan(plan_from_dict(offer.plan), {"rep": offer.rep.name,
                                                      "prospect": offer.prospect.name})
    slots = offered_slots(offer, **deps("store", "calendars", "clock", "settings"))
    return render_template("offers/offer.html", offer=offer, slots=slots,
                           plan=plan, token=token, again=offer.status == OfferStatus.ACCEPTED,
                           video=runtime().calendars.video_meeting_label(offer.rep))


@bp.post("/o/<token>")
@public
@per_link
def pick(token: str):
    followup = accept_offer(token, _chosen_start(), **deps())
    return redirect(url_for("offers.followup", token=_manage_token(followup.id)), 303)


@bp.get("/f/<token>")
@public
def followup(token: str):
    followup = _followup(token)
    choices: list[Interval] = []
    if followup.status in LIVE:
        choices = reschedule_choices(followup, **deps("store", "calendars", "clock",
                                                      "settings"))
    rebook = rebook_token(followup, **deps("store", "settings", "clock"))
    return render_template("offers/followup.html", followup=followup, token=token,
                           cancelled=followup.status == Status.CANCELLED, choices=choices,
                           links=_calendar_links(followup), video_link=video_link(followup),
                           moved_from=moved_from(runtime().store, followup.id), rebook=rebook)


@bp.post("/f/<token>/reschedule")
@public
def reschedule(token: str):
    followup = _followup(token)
    reschedule_by_prospect(followup.id, _chosen_start(), **deps())
    return redirect(url_for("offers.followup", token=token), 303)


@bp.post("/f/<token>/cancel")
@public
def cancel(token: str):
    followup = _followup(token)
    reason = request.form.get("reason", "").strip()[:500]
    cancel_followup(followup.id, actor="prospect", viewer=PROSPECT,
                    **deps("store", "calendars", "clock", "jobs"), reason=reason)
    return redirect(url_for("offers.followup", token=token), 303)


@bp.get("/f/<token>/invite.ics")
@public
def invite(token: str):
    followup = _followup(token)
    method = "CANCEL" if followup.status == Status.CANCELLED else "REQUEST"
    body = build_ics(followup_event(followup, calendar_id=followup.rep.email), method=method,
                     stamp=runtime().clock.now())
    return Response(body, mimetype="text/calendar",
                    headers={"Content-Disposition": 'attachment; filename="invite.ics"'})


def _followup(token: str) -> FollowUpView:
    followup_id = read_followup_token(_signed(token, "followup"), **deps("settings", "clock"))
    return get_followup_or_raise(runtime().store, followup_id, viewer=PROSPECT)


def _manage_token(followup_id: str) -> str:
    return short_followup_token(followup_id, **deps("store", "settings", "clock"))


def _signed(token: str, kind: str) -> str:
    """The signed token behind a short link (a long link is its own)."""
    return expand(runtime().store, token, kind=kind, now=runtime().clock.now())


def _chosen_start() -> datetime:
    try:
        return datetime.fromisoformat(request.form.get("start", "").replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput("pick one of the times", field="start") from None


def _calendar_links(followup: FollowUpView) -> dict[str, str]:
    """'Add to Google / Outlook' for people whose mail does not read the .ics."""
    start, end = followup.start, followup.end
    where = video_link(followup) or ""
    google = "https://calendar.google.com/calendar/render?" + urlencode({
        "action": "TEMPLATE", "text": followup.title,
        "dates": f"{start:%Y%m%dT%H%M%SZ}/{end:%Y%m%dT%H%M%SZ}",
        **({"location": where} if where else {})})
    outlook = "https://outlook.office.com/calendar/0/deeplink/compose?" + urlencode({
        "subject": followup.title, "startdt": start.isoformat(), "enddt": end.isoformat(),
        **({"location": where} if where else {})})
    return {"google": google, "outlook": outlook}
