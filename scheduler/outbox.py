"""Work that must happen after a commit, exactly once in effect: the calendar write, the
invite, retried with backoff until done. No transaction is held across the call."""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from scheduler.access import Viewer, visible
from scheduler.calendars import Calendars
from scheduler.clock import Clock, iso_utc
from scheduler.errors import NeedsReconnect, ProviderRejected, ProviderUnavailable
from scheduler.events import followup_event
from scheduler.invites import Mailer, invite_message, notice_message, offer_message
from scheduler.lifecycle import OfferStatus, Status
from scheduler.log import append
from scheduler.plans import describe_plan, plan_from_dict
from scheduler.providers.base import Attendee, EventRef
from scheduler.readmodels import CalendarEventView, FollowUpView, OfferView
from scheduler.settings import Settings
from scheduler.spoken import local_label
from scheduler.store import Store
from scheduler.store.models import CalendarEventRecord, FollowUp, Offer, OutboxMessage

logger = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)
MAX_ATTEMPTS = 12
MAX_BACKOFF = timedelta(hours=1)


def enqueue(session: Session, kind: str, *, now: datetime, followup_id: str | None = None,
            **payload: Any) -> None:
    """Queue work for after the commit, in the caller's transaction: it happens if and only
    if the change that asked for it commits."""
    if kind not in HANDLERS:
        raise ValueError(f"unknown outbox kind {kind!r}")
    session.add(OutboxMessage(kind=kind, followup_id=followup_id, payload=payload,
                              next_attempt_at=now, created_at=now))


def enqueue_followup_change(session: Session, followup: FollowUp, *, method: str,
                            now: datetime, invite: bool, by: str = "rep") -> None:
    """Queue the calendar write (and our own invite when the calendar sends none) in the
    same transaction as the change, so neither can be lost or happen without it."""
    enqueue(session, "calendar.sync", now=now, followup_id=followup.id)
    if invite:
        enqueue(session, "invite.send", now=now, followup_id=followup.id, method=method,
                sequence=followup.sequence, sent=[], by=by)


# What the prospect did, as the rep's notice says it.
REP_NOTICE_VERBS = {"picked": "booked", "moved": "moved", "cancelled": "cancelled",
                    "declined": "declined"}


def enqueue_rep_notice(session: Session, followup: FollowUp, *, what: str, now: datetime,
                       previous_start: datetime | None = None, reason: str = "") -> None:
    """Queue the email telling the rep what the prospect did on their page or in their
    calendar, in the same transaction as the change, so the rep hears of every one."""
    if what not in REP_NOTICE_VERBS:
        raise ValueError(f"unknown rep notice {what!r}")
    enqueue(session, "rep.notify", now=now, followup_id=followup.id, what=what,
            start=iso_utc(followup.start),
            previous_start=iso_utc(previous_start) if previous_start else None, reason=reason)


@dataclass
class OutboxContext:
    store: Store
    calendars: Calendars
    mailer: Mailer
    settings: Settings
    clock: Clock
    manage_url: Callable[[FollowUpView], str] | None = None


def process_outbox(context: OutboxContext, *, limit: int = 50) -> int:
    """Run due messages; returns how many finished. Safe to run from several workers:
    each message is leased before it runs."""
    finished = 0
    for message_id in _lease_due(context, limit):
        if _run(context, message_id):
            finished += 1
    return finished


def pending_count(store: Store) -> int:
    with store.reading() as session:
        return len(session.scalars(select(OutboxMessage.id).where(
            OutboxMessage.done_at.is_(None), OutboxMessage.failed_at.is_(None))).all())


@dataclass(frozen=True)
class InviteDelivery:
    """How our invite email to the prospect is doing, so the rep hears of a mail outage
    while it is being retried, not only once it has failed for good."""

    status: str  # "pending", "retrying", "sent" or "failed"
    attempts: int
    last_error: str | None

    @property
    def note(self) -> str | None:
        if self.status == "retrying":
            return f"invite not delivered yet (retrying, attempt {self.attempts})"
        if self.status == "failed":
            return f"invite could not be delivered after {self.attempts} attempts"
        return None


def invite_deliveries(store: Store, followup_ids: list[str]) -> dict[str, InviteDelivery]:
    """The latest invite of each follow-up that has one (a calendar that sends its own
    invites leaves none here)."""
    if not followup_ids:
        return {}
    with store.reading() as session:
        rows = session.scalars(select(OutboxMessage).where(
            OutboxMessage.kind == "invite.send", OutboxMessage.followup_id.in_(followup_ids))
            .order_by(OutboxMessage.id)).all()
        return {row.followup_id: InviteDelivery(_invite_status(row), row.attempts,
                                                row.last_error) for row in rows}


def _invite_status(message: OutboxMessage) -> str:
    if message.done_at is not None:
        return "sent"
    if message.failed_at is not None:
        return "failed"
    return "retrying" if message.last_error else "pending"


@dataclass(frozen=True)
class RepNotice:
    """One thing a prospect did, as the live screen lists it on its next load."""

    at: datetime
    what: str  # picked | moved | cancelled | declined
    prospect_name: str
    title: str
    start: datetime
    previous_start: datetime | None
    reason: str

    @property
    def verb(self) -> str:
        return REP_NOTICE_VERBS[self.what]


def rep_notices(store: Store, viewer: Viewer, *, limit: int = 5) -> list[RepNotice]:
    """The latest notices the viewer sees, newest first: the records the emails are sent
    from."""
    with store.reading() as session:
        rows = session.execute(
            select(OutboxMessage, FollowUp).join(FollowUp, OutboxMessage.followup_id == FollowUp.id)
            .where(OutboxMessage.kind == "rep.notify", visible(FollowUp.rep_id, viewer))
            .order_by(OutboxMessage.id.desc()).limit(limit)).all()
        return [RepNotice(at=message.created_at, what=message.payload["what"],
                          prospect_name=followup.prospect.name, title=followup.title,
                          start=datetime.fromisoformat(message.payload["start"]),
                          previous_start=(datetime.fromisoformat(message.payload["previous_start"])
                                          if message.payload.get("previous_start") else None),
                          reason=message.payload.get("reason", ""))
                for message, followup in rows]


def _lease_due(context: OutboxContext, limit: int) -> list[int]:
    now = context.clock.now()
    with context.store.transaction() as session:
        query = (select(OutboxMessage)
                 .where(OutboxMessage.done_at.is_(None), OutboxMessage.failed_at.is_(None),
                        OutboxMessage.next_attempt_at <= now)
                 .order_by(OutboxMessage.id).limit(limit))
        if context.store.dialect == "postgresql":
            query = query.with_for_update(skip_locked=True)
        messages = session.scalars(query).all()
        for message in messages:
            message.next_attempt_at = now + LEASE
            message.attempts += 1
        return [message.id for message in messages]


HANDLERS: dict[str, Callable[[OutboxContext, OutboxMessage], dict | None]] = {}


def _run(context: OutboxContext, message_id: int) -> bool:
    with context.store.reading() as session:
        message = session.get(OutboxMessage, message_id)
    try:
        payload = HANDLERS[message.kind](context, message)
    except ProviderUnavailable as exc:
        _retry(context, message, exc.message, exc.retry_after)
        return False
    except NeedsReconnect as exc:
        _retry(context, message, exc.message, None)
        return False
    except ProviderRejected as exc:
        _fail(context, message, exc.message)
        return False
    except Exception as exc:  # a bug must not stop the queue; it is recorded and retried
        logger.exception("outbox message %s (%s) failed", message.id, message.kind)
        _retry(context, message, f"{type(exc).__name__}: {exc}", None)
        return False
    with context.store.transaction() as session:
        row = session.get(OutboxMessage, message_id)
        row.done_at = context.clock.now()
        row.last_error = None
        if payload is not None:
            row.payload = payload
    return True


def _retry(context: OutboxContext, message: OutboxMessage, error: str,
           retry_after: float | None) -> None:
    if message.attempts >= MAX_ATTEMPTS:
        _fail(context, message, error)
        return
    ceiling = min(MAX_BACKOFF, timedelta(seconds=5 * 2 ** message.attempts))
    delay = timedelta(seconds=random.uniform(0, ceiling.total_seconds()))
    if retry_after:
        delay = max(delay, timedelta(seconds=retry_after))
    with context.store.transaction() as session:
        row = session.get(OutboxMessage, message.id)
        row.next_attempt_at = context.clock.now() + delay
        row.last_error = error[:2000]


def _fail(context: OutboxContext, message: OutboxMessage, error: str) -> None:
    """Give up for good, and say so in the log where managers will see it."""
    now = context.clock.now()
    with context.store.transaction() as session:
        row = session.get(OutboxMessage, message.id)
        row.failed_at, row.last_error = now, error[:2000]
        followup = session.get(FollowUp, message.followup_id) if message.followup_id else None
        append(session, "calendar.write_failed", at=now,
               rep_id=followup.rep_id if followup else None, followup_id=message.followup_id,
               work=message.kind, error=error[:500])


def _load_followup(context: OutboxContext, followup_id: str) -> FollowUpView:
    """The follow-up as it is now, copied: the handlers call calendars and mail servers
    with no session open."""
    with context.store.reading() as session:
        return FollowUpView.from_row(session.get(FollowUp, followup_id))


def write_calendar(context: OutboxContext, message: OutboxMessage) -> None:
    """Bring the rep's calendar event in line with the follow-up as it is now; state-based,
    so a retry or a duplicate message converges on the same single event."""
    followup = _load_followup(context, message.followup_id)
    source = context.calendars.sources([followup.rep])[followup.rep.email]
    record = next((r for r in followup.events
                   if (r.provider, r.calendar_id) == (source.provider, source.calendar_id)), None)
    conference = context.calendars.makes_video_meetings(source)
    try:
        provider = context.calendars.provider(source.provider, source.connection_id)
        event = followup_event(followup, calendar_id=source.calendar_id,
                               manage_url=context.manage_url, conference=conference)
        if followup.status == Status.CANCELLED:
            if record is not None:
                provider.cancel_event(_ref(record))
            return None
        if record is None:
            ref = provider.create_event(event)
            if (conference and not ref.video_link and not ref.video_pending
                    and followup.rep.video_link):
                # The account allows no Meet or Teams here: the rep's own link, then.
                ref = provider.update_event(ref, followup_event(
                    followup, calendar_id=source.calendar_id, manage_url=context.manage_url))
        elif record.sequence == followup.sequence and followup.status != Status.RESCHEDULED:
            return None
        else:
            ref = provider.update_event(_ref(record), event)
    except NeedsReconnect as exc:
        if source.connection_id is not None:
            context.calendars.mark_needs_reconnect(source.connection_id, exc.message)
        raise
    with context.store.transaction() as session:
        row = session.scalar(select(CalendarEventRecord).where(
            CalendarEventRecord.followup_id == followup.id,
            CalendarEventRecord.provider == source.provider,
            CalendarEventRecord.calendar_id == source.calendar_id))
        if row is None:
            row = CalendarEventRecord(followup_id=followup.id, provider=source.provider,
                                      calendar_id=source.calendar_id,
                                      connection_id=source.connection_id, event_id=ref.event_id)
            session.add(row)
        row.event_id, row.etag, row.sequence = ref.event_id, ref.etag, followup.sequence
        link = ref.video_link or event.location or (
            None if ref.video_pending else followup.rep.video_link)  # a pending Meet: sync
        if link and followup.video_link != link:
            session.get(FollowUp, followup.id).video_link = link
    return None


def send_invite(context: OutboxContext, message: OutboxMessage) -> dict:
    """Email the .ics to the prospect and each helper; remembers who already got it, so a
    retry after a partial failure does not send twice."""
    followup = _load_followup(context, message.followup_id)
    method = message.payload["method"]
    sent = list(message.payload.get("sent", []))
    event = followup_event(followup, calendar_id=followup.rep.email,
                           manage_url=context.manage_url)
    event = replace(event, sequence=message.payload.get("sequence", event.sequence))
    recipients = [(followup.prospect.email, followup.prospect.name, followup.prospect.timezone)]
    recipients += [(h.email, h.name, h.timezone) for h in followup.helpers]
    for email, name, timezone in recipients:
        if email in sent:
            continue
        when = f"{local_label(followup.start, timezone)} ({timezone})"
        verb = "Cancelled" if method == "CANCEL" else (
            "Updated invitation" if event.sequence else "Invitation")
        text = _invite_text(followup, event.description, when, method,
                            by=message.payload.get("by", "rep"))
        mail = invite_message(event, method=method, to=Attendee(email, name),
                              sender=context.settings.mail_from,
                              reply_to=Attendee(followup.rep.email, followup.rep.name),
                              subject=f"{verb}: {followup.title} — {when}", text=text,
                              now=context.clock.now())
        context.mailer.send(mail)
        sent.append(email)
        with context.store.transaction() as session:
            session.get(OutboxMessage, message.id).payload = dict(message.payload, sent=sent)
    return dict(message.payload, sent=sent)


def send_offer(context: OutboxContext, message: OutboxMessage) -> None:
    """Email the prospect the offer link with the held times in their own zone."""
    with context.store.reading() as session:
        offer = OfferView.from_row(session.get(Offer, message.payload["offer_id"]))
    if offer.status != OfferStatus.OPEN:
        return None  # withdrawn or taken before the mail went out: nothing to offer
    zone = offer.prospect.timezone
    plan = plan_from_dict(offer.plan)
    names = {"rep": offer.rep.name, "prospect": offer.prospect.name}
    mail = offer_message(
        to=Attendee(offer.prospect.email, offer.prospect.name),
        sender=context.settings.mail_from, rep_name=offer.rep.name, title=offer.title,
        reply_to=Attendee(offer.rep.email, offer.rep.name),
        url=message.payload["url"], timezone=zone,
        slot_labels=[local_label(h.start, zone) for h in offer.holds if h.released_at is None],
        expires_label=f"{local_label(offer.expires_at, zone)} ({zone})",
        plan_text=describe_plan(plan, names) if plan.steps else "", now=context.clock.now())
    context.mailer.send(mail)
    return None


def notify_rep(context: OutboxContext, message: OutboxMessage) -> None:
    """Email the rep what the prospect did: who, what, from when to when in the rep's own
    zone, and the reason when one was given."""
    followup = _load_followup(context, message.followup_id)
    rep, prospect = followup.rep, followup.prospect
    what = message.payload["what"]
    zone = rep.timezone
    start = datetime.fromisoformat(message.payload["start"])
    when = f"{local_label(start, zone)} ({zone})"
    previous = message.payload.get("previous_start")
    who = f"{prospect.name} <{prospect.email}>"
    verb = REP_NOTICE_VERBS[what]
    lines = [f"{who} {verb} “{followup.title}”."]
    if what == "moved" and previous:
        before = local_label(datetime.fromisoformat(previous), zone)
        lines.append(f"Moved from {before} to {when}.")
    else:
        lines.append(f"When: {when}.")
    if message.payload.get("reason"):
        lines.append(f"Reason given: {message.payload['reason']}")
    mail = notice_message(to=Attendee(rep.email, rep.name), sender=context.settings.mail_from,
                          reply_to=Attendee(prospect.email, prospect.name),
                          subject=f"{prospect.name} {verb} “{followup.title}” — {when}",
                          text="\n".join(lines) + "\n", now=context.clock.now())
    context.mailer.send(mail)
    return None


def _invite_text(followup: FollowUpView, description: str, when: str, method: str,
                 by: str = "rep") -> str:
    if method == "CANCEL":
        who = followup.prospect.name if by == "prospect" else followup.rep.name
        return f"{who} cancelled “{followup.title}” on {when}.\n"
    return (f"{followup.rep.name} invites you to “{followup.title}” on {when}.\n\n"
            f"{description}\n")


def _ref(record: CalendarEventView) -> EventRef:
    return EventRef(provider=record.provider, calendar_id=record.calendar_id,
                    event_id=record.event_id, etag=record.etag)


HANDLERS.update({"calendar.sync": write_calendar, "invite.send": send_invite,
                 "offer.send": send_offer, "rep.notify": notify_rep})
