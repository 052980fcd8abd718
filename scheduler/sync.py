"""Sync back: read calendar changes and reconcile follow-ups (declined, moved, deleted);
flag plan steps past their "by when" as stalled."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from scheduler import outbox
from scheduler.availability import Interval
from scheduler.busy_versions import busy_changed, connection_key
from scheduler.calendars import Calendars
from scheduler.clock import Clock, iso_utc
from scheduler.errors import NeedsReconnect, ProviderRejected, ProviderUnavailable, SchedulerError
from scheduler.lifecycle import FINAL, LIVE, Change, Status, enter, stored_answer, transition
from scheduler.log import append
from scheduler.mirror import ACCOUNT_HORIZON
from scheduler.providers.base import CalendarProvider, EventChange
from scheduler.reservations import release_reservations, update_reservations
from scheduler.store import Store
from scheduler.store.models import (
    CalendarEventRecord,
    Connection,
    FollowUp,
    LogEntry,
    MirroredBusy,
    Reservation,
    Step,
    User,
)

logger = logging.getLogger(__name__)

# The prospect's answers that move the follow-up; tentative and needsAction are only kept.
PROSPECT_ANSWERS = {"declined": Change.DECLINE, "accepted": Change.ACCEPT}


@dataclass(frozen=True)
class SyncResult:
    connection_id: int
    changes: int
    applied: int
    full_resync: bool


def sync_connection(connection_id: int, *, store: Store, calendars: Calendars,
                    clock: Clock) -> SyncResult:
    """Pull changes since the stored cursor and apply those that concern our follow-ups."""
    with store.reading() as session:
        connection = session.get(Connection, connection_id)
    calendar_id = connection.booking_calendar or connection.account
    try:
        provider = calendars.provider(connection.provider, connection.id)
        change_set = provider.changes(calendar_id, connection.sync_cursor)
    except NeedsReconnect as exc:
        _failed(store, connection_id, exc, now=clock.now())
        calendars.mark_needs_reconnect(connection_id, exc.message)
        raise
    except (ProviderUnavailable, ProviderRejected) as exc:
        _failed(store, connection_id, exc, now=clock.now())
        raise
    applied = sum(apply_change(change, store=store, clock=clock)
                  for change in _ours(store, change_set.changes))
    with store.transaction() as session:
        row = session.get(Connection, connection_id)
        row.sync_cursor, row.last_synced_at = change_set.cursor, clock.now()
        row.last_error = row.last_error_at = None
    if provider is not calendars.local:
        mirror_account(connection, provider, store=store, clock=clock)
    return SyncResult(connection_id, len(change_set.changes), applied, change_set.full_resync)


def mirror_account(connection: Connection, provider: CalendarProvider, *, store: Store,
                   clock: Clock) -> bool:
    """Read the account's busy time over the mirror's horizon into mirrored_busy, so
    proposals are answered without asking the provider. When it cannot answer for every
    calendar the old copy is kept, to age out (then proposals ask the provider again)."""
    now = clock.now()
    window = Interval(now, now + ACCOUNT_HORIZON)
    calendar_ids = list(connection.busy_calendars or ()) or [
        connection.booking_calendar or connection.account]
    try:
        result = provider.busy(calendar_ids, window)
    except (ProviderUnavailable, ProviderRejected, NeedsReconnect) as exc:
        logger.warning("busy time of connection %s: %s", connection.id, exc.message)
        return False
    if result.errors:
        logger.warning("busy time of connection %s: %s", connection.id,
                       "; ".join(result.errors.values()))
        return False
    rows = [{"connection_id": connection.id, "start": span.start, "end": span.end}
            for calendar_id in calendar_ids for span in result.busy.get(calendar_id, ())]
    with store.transaction() as session:
        row = session.get(Connection, connection.id, with_for_update=True)
        if row is None or (row.busy_calendars, row.booking_calendar) != (
                connection.busy_calendars, connection.booking_calendar):
            return False  # disconnected, or other calendars chosen meanwhile: not theirs
        session.execute(delete(MirroredBusy).where(MirroredBusy.connection_id == connection.id))
        if rows:
            session.execute(insert(MirroredBusy), rows)
        row.busy_mirrored_at, row.busy_mirrored_until = now, window.end
        busy_changed(session, [connection_key(connection.id)])
    return True


def apply_change(change: EventChange, *, store: Store, clock: Clock) -> bool:
    """One change seen in a calendar, applied to its follow-up in its own transaction;
    True when it changed something (a change seen twice changes nothing)."""
    return store.retrying(lambda session: _reconcile(session, change, now=clock.now()))


def _failed(store: Store, connection_id: int, error: SchedulerError, *, now: datetime) -> None:
    """Keep why the sync failed, for the connection's status on /connections."""
    with store.transaction() as session:
        row = session.get(Connection, connection_id)
        row.last_error, row.last_error_at = error.message[:2000], now


def sync_all(*, store: Store, calendars: Calendars, clock: Clock) -> list[SyncResult]:
    """Every active connection; one account failing does not stop the others."""
    with store.reading() as session:
        ids = session.scalars(select(Connection.id).where(Connection.status == "active")
                              .order_by(Connection.id)).all()
    results = []
    for connection_id in ids:
        try:
            results.append(sync_connection(connection_id, store=store, calendars=calendars,
                                           clock=clock))
        except NeedsReconnect:
            continue
    return results


def _ours(store: Store, changes: list[EventChange]) -> list[EventChange]:
    """The changes to events Nextstep booked, in order, found with one query per thousand,
    so a busy calendar's thousands of other changes cost no write transaction each."""
    unmarked = [change.ref.event_id for change in changes if not change.followup_id]
    known: set[tuple[str, str]] = set()
    with store.reading() as session:
        for offset in range(0, len(unmarked), 1000):
            known.update(session.execute(
                select(CalendarEventRecord.provider, CalendarEventRecord.event_id).where(
                    CalendarEventRecord.event_id.in_(unmarked[offset:offset + 1000]))).all())
    return [change for change in changes
            if change.followup_id or (change.ref.provider, change.ref.event_id) in known]


def _reconcile(session: Session, change: EventChange, *, now: datetime) -> bool:
    """Bring the follow-up in line with its event as the calendar shows it now. Compares the
    stored state with the change, so the same change seen twice writes nothing the second
    time. Moves and deletions are the organizer's side (attendees cannot change the
    organizer's copy in any of our calendars), answers are the attendee's own."""
    followup = _followup_for(session, change)
    if followup is None:
        return False
    via = f"calendar:{change.ref.provider}"
    if change.status == "cancelled":
        return _enter(session, followup, Change.DELETE, now=now, by="rep", via=via,
                      reason="deleted in the calendar")
    if followup.status in FINAL:
        return False  # cancelled (its event is on its way out) or done: an end
    applied = False
    if change.ref.video_link and change.ref.video_link != followup.video_link:
        followup.video_link = change.ref.video_link  # a Meet made after the booking
        applied = True
    if change.start and change.end and (change.start, change.end) != (followup.start,
                                                                      followup.end):
        previous = followup.start
        followup.start, followup.end = change.start, change.end
        applied = _enter(session, followup, Change.MOVE, now=now, by="rep", via=via,
                         previous_start=iso_utc(previous), start=iso_utc(change.start),
                         end=iso_utc(change.end))
    return _answers(session, followup, change, now=now, via=via) or applied


def _answers(session: Session, followup: FollowUp, change: EventChange, *, now: datetime,
             via: str) -> bool:
    """Log each attendee's answer once per change of answer; the prospect's declines and
    acceptances also move the follow-up's status."""
    prospect = followup.prospect.email
    helpers = {helper.email for helper in followup.helpers}
    answers = dict(followup.responses or {})
    applied = False
    for attendee in change.attendees:
        email = attendee.email.lower()
        if email != prospect and email not in helpers:
            continue
        if attendee.response == stored_answer(followup, email, prospect=email == prospect):
            continue
        answers[email] = attendee.response
        if email == prospect and attendee.response in PROSPECT_ANSWERS:
            _enter(session, followup, PROSPECT_ANSWERS[attendee.response], now=now,
                   by="prospect", via=via, email=email)
            if attendee.response == "declined":
                outbox.enqueue_rep_notice(session, followup, what="declined", now=now)
        elif email in helpers and attendee.response == "declined":
            append(session, "attendee.declined", at=now, rep_id=followup.rep_id,
                   followup_id=followup.id, email=email, by="helper", via=via)
        applied = True
    if applied:
        followup.responses = answers  # a new dict: the JSON column sees the change
    return applied


def _enter(session: Session, followup: FollowUp, change: Change, *, now: datetime,
           **data: str) -> bool:
    """Take one step of the follow-up's life: status, reservations, one log entry."""
    was_live = followup.status in LIVE
    moved = change is Change.ACCEPT and _logged_kind(session, followup.id,
                                                    "followup.rescheduled")
    step = transition(followup.status, change, moved=moved)
    if step.log_kind is None:
        return False
    enter(followup, step, now=now)
    if not step.claims_time:
        release_reservations(session, followup.id)
    elif change is Change.MOVE or not was_live:
        _claim_time(session, followup)
    append(session, step.log_kind, at=now, rep_id=followup.rep_id, followup_id=followup.id,
           **data)
    return True


def _claim_time(session: Session, followup: FollowUp) -> None:
    """The follow-up's reservations at its time again. The calendar is the truth: if that
    clashes with another live reservation the claim is dropped rather than refusing what
    already happened."""
    where = (Reservation.followup_id == followup.id,)
    try:
        with session.begin_nested():
            update_reservations(session, *where, start=followup.start, end=followup.end,
                                active=True)
    except IntegrityError:
        update_reservations(session, *where, active=False)


def _followup_for(session: Session, change: EventChange) -> FollowUp | None:
    if change.followup_id:
        return session.get(FollowUp, change.followup_id)
    record = session.scalar(select(CalendarEventRecord).where(
        CalendarEventRecord.provider == change.ref.provider,
        CalendarEventRecord.event_id == change.ref.event_id))
    return None if record is None else session.get(FollowUp, record.followup_id)


def _logged_kind(session: Session, followup_id: str, kind: str) -> bool:
    return session.scalar(select(LogEntry.id).where(LogEntry.followup_id == followup_id,
                                                    LogEntry.kind == kind).limit(1)) is not None


def flag_stalled_steps(*, store: Store, clock: Clock) -> int:
    """A step past its due date and not done is stalled: flagged once, logged once. A date
    is "by the end of that day" in the rep's zone: Friday's step stalls at the rep's
    midnight, not at UTC's (hours early in New York, hours late in Tokyo)."""
    now = clock.now()
    # The first day to end anywhere ends at 10:00 UTC (UTC+14); the rep's zone decides.
    ended_somewhere = (now + timedelta(hours=14)).date()
    with store.transaction() as session:
        steps = session.scalars(select(Step).where(
            Step.done_at.is_(None), Step.stalled_at.is_(None),
            Step.due_date < ended_somewhere)).all()
        flagged = 0
        for step in steps:
            followup = session.get(FollowUp, step.followup_id)
            if followup.status == Status.CANCELLED or _not_due_yet(step, followup.rep, now):
                continue
            step.stalled_at = now
            append(session, "step.stalled", at=now, rep_id=followup.rep_id,
                   followup_id=followup.id, index=step.position, who=step.who,
                   what=step.what, due=step.due_text)
            flagged += 1
    return flagged


def _not_due_yet(step: Step, rep: User, now: datetime) -> bool:
    if step.due_at is not None:
        return step.due_at > now
    return step.due_date >= now.astimezone(ZoneInfo(rep.timezone)).date()

