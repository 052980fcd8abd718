"""Sync back: read calendar changes and reconcile follow-ups (declined, moved, deleted);
flag plan steps past their "by when" as stalled."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from scheduler.booking import LIVE_STATUSES, release_reservations
from scheduler.calendars import Calendars
from scheduler.clock import Clock, iso_utc
from scheduler.errors import NeedsReconnect
from scheduler.log import append
from scheduler.providers.base import EventChange
from scheduler.store import Store
from scheduler.store.models import (
    CalendarEventRecord,
    Connection,
    FollowUp,
    LogEntry,
    Reservation,
    Step,
)


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
        calendars.mark_needs_reconnect(connection_id, exc.message)
        raise
    applied = 0
    for change in _ours(store, change_set.changes):
        if store.retrying(lambda session, c=change: _reconcile(session, c, now=clock.now())):
            applied += 1
    with store.transaction() as session:
        row = session.get(Connection, connection_id)
        row.sync_cursor, row.last_synced_at = change_set.cursor, clock.now()
    return SyncResult(connection_id, len(change_set.changes), applied, change_set.full_resync)


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
    followup = _followup_for(session, change)
    if followup is None or followup.status not in LIVE_STATUSES:
        return False
    by = f"calendar:{change.ref.provider}"
    if change.status == "cancelled":
        followup.status, followup.updated_at = "cancelled", now
        release_reservations(session, followup.id)
        append(session, "followup.cancelled", at=now, rep_id=followup.rep_id,
               followup_id=followup.id, by=by, reason="deleted in the calendar")
        return True
    responses = {a.email.lower(): a.response for a in change.attendees}
    prospect_response = responses.get(followup.prospect.email)
    if prospect_response == "declined":
        followup.status, followup.updated_at = "declined", now
        release_reservations(session, followup.id)
        append(session, "attendee.declined", at=now, rep_id=followup.rep_id,
               followup_id=followup.id, email=followup.prospect.email, by=by)
        return True
    applied = False
    for helper in followup.helpers:
        if responses.get(helper.email) == "declined" and not _logged(
                session, followup.id, "attendee.declined", helper.email):
            append(session, "attendee.declined", at=now, rep_id=followup.rep_id,
                   followup_id=followup.id, email=helper.email, by=by)
            applied = True
    if prospect_response == "accepted" and not _logged(
            session, followup.id, "attendee.accepted", followup.prospect.email):
        append(session, "attendee.accepted", at=now, rep_id=followup.rep_id,
               followup_id=followup.id, email=followup.prospect.email, by=by)
        applied = True
    if change.start and change.end and (change.start, change.end) != (followup.start,
                                                                      followup.end):
        previous = followup.start
        followup.start, followup.end = change.start, change.end
        followup.status, followup.updated_at = "rescheduled", now
        _move_reservations(session, followup)
        append(session, "followup.rescheduled", at=now, rep_id=followup.rep_id,
               followup_id=followup.id, by=by, previous_start=iso_utc(previous),
               start=iso_utc(change.start), end=iso_utc(change.end))
        applied = True
    return applied


def _move_reservations(session: Session, followup: FollowUp) -> None:
    """Follow the calendar, which is the truth; if the new time clashes with another live
    reservation the old claim is dropped rather than refusing what already happened."""
    values = {"start": followup.start, "end": followup.end}
    where = (Reservation.followup_id == followup.id, Reservation.active)
    try:
        with session.begin_nested():
            session.execute(update(Reservation).where(*where).values(**values)
                            .execution_options(synchronize_session=False))
    except IntegrityError:
        session.execute(update(Reservation).where(*where).values(active=False)
                        .execution_options(synchronize_session=False))


def _followup_for(session: Session, change: EventChange) -> FollowUp | None:
    if change.followup_id:
        return session.get(FollowUp, change.followup_id)
    record = session.scalar(select(CalendarEventRecord).where(
        CalendarEventRecord.provider == change.ref.provider,
        CalendarEventRecord.event_id == change.ref.event_id))
    return None if record is None else session.get(FollowUp, record.followup_id)


def _logged(session: Session, followup_id: str, kind: str, email: str) -> bool:
    entries = session.scalars(select(LogEntry.data).where(LogEntry.followup_id == followup_id,
                                                          LogEntry.kind == kind))
    return any(data.get("email") == email for data in entries)


def flag_stalled_steps(*, store: Store, clock: Clock) -> int:
    """A step past its due date and not done is stalled: flagged once, logged once."""
    now = clock.now()
    with store.transaction() as session:
        steps = session.scalars(select(Step).where(
            Step.done_at.is_(None), Step.stalled_at.is_(None),
            Step.due_date < now.date())).all()
        flagged = 0
        for step in steps:
            followup = session.get(FollowUp, step.followup_id)
            if followup.status == "cancelled" or _not_due_yet(step, now):
                continue
            step.stalled_at = now
            append(session, "step.stalled", at=now, rep_id=followup.rep_id,
                   followup_id=followup.id, index=step.position, who=step.who,
                   what=step.what, due=step.due_text)
            flagged += 1
    return flagged


def _not_due_yet(step: Step, now: datetime) -> bool:
    return step.due_at is not None and step.due_at > now

