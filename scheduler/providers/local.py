"""The built-in calendar: events in Nextstep's own database, one copy per calendar (the
organizer's and each attendee who is a Nextstep user), much as a shared server keeps them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime
from typing import ClassVar

from sqlalchemy import Select, func, select, update
from sqlalchemy.orm import Session

from scheduler.availability import Interval
from scheduler.busy_versions import busy_changed, local_key
from scheduler.providers.base import (
    FOLLOWUP_ID_PROPERTY,
    Attendee,
    BusyResult,
    CalendarEvent,
    CalendarInfo,
    ChangeSet,
    EventChange,
    EventRef,
    ProviderDescription,
    new_event_uid,
)
from scheduler.store import Store
from scheduler.store.models import LocalEvent, User


class LocalCalendar:
    name: ClassVar[str] = "local"

    def __init__(self, store: Store) -> None:
        self.store = store

    def busy(self, calendar_ids: Sequence[str], window: Interval) -> BusyResult:
        ids = [calendar_id.lower() for calendar_id in calendar_ids]
        busy: dict[str, list[Interval]] = {calendar_id: [] for calendar_id in calendar_ids}
        by_lower = {calendar_id.lower(): calendar_id for calendar_id in calendar_ids}
        with self.store.reading() as session:
            # Core rows, not ORM ones: a proposal reads thousands of these, and the ORM's
            # per-row bookkeeping was most of the time it took.
            rows = session.connection().execute(
                busy_rows(ids, window).order_by(LocalEvent.start)).all()
        low, high = window.start, window.end
        for calendar_id, start, end in rows:
            busy[by_lower[calendar_id]].append(
                Interval(start if start > low else low, end if end < high else high))
        return BusyResult(busy=busy)

    def create_event(self, event: CalendarEvent) -> EventRef:
        calendar_id = event.calendar_id.lower()
        with self.store.transaction() as session:
            holders = [calendar_id, *_local_attendees(session, event)]
            seq = _next_change(session)
            existing = set(session.scalars(
                select(LocalEvent.calendar_id).where(LocalEvent.uid == event.uid)))
            for holder in holders:
                if holder not in existing:
                    session.add(_row(holder, event, seq))
            busy_changed(session, map(local_key, holders))
        return EventRef(provider=self.name, calendar_id=calendar_id, event_id=event.uid)

    def update_event(self, ref: EventRef, event: CalendarEvent) -> EventRef:
        with self.store.transaction() as session:
            seq = _next_change(session)
            rows = session.scalars(select(LocalEvent).where(LocalEvent.uid == ref.event_id))
            for row in rows:
                _apply(row, event, seq)
            holders = set(session.scalars(
                select(LocalEvent.calendar_id).where(LocalEvent.uid == ref.event_id)))
            for holder in _local_attendees(session, event):
                if holder not in holders:
                    session.add(_row(holder, event, seq))
                    holders.add(holder)
            busy_changed(session, map(local_key, holders))
        return ref

    def cancel_event(self, ref: EventRef) -> None:
        with self.store.transaction() as session:
            holders = session.scalars(update(LocalEvent)
                                      .where(LocalEvent.uid == ref.event_id,
                                             LocalEvent.status != "cancelled")
                                      .values(status="cancelled",
                                              change_seq=_next_change(session))
                                      .returning(LocalEvent.calendar_id)).all()
            busy_changed(session, map(local_key, holders))

    def changes(self, calendar_id: str, cursor: str | None) -> ChangeSet:
        since = int(cursor) if cursor and cursor.isdigit() else 0
        with self.store.reading() as session:
            latest = session.scalar(select(func.max(LocalEvent.change_seq))) or 0
            rows = session.scalars(
                select(LocalEvent)
                .where(LocalEvent.calendar_id == calendar_id.lower(),
                       LocalEvent.change_seq > since, LocalEvent.change_seq <= latest)
                .order_by(LocalEvent.change_seq)).all()
        return ChangeSet(changes=[_change(row) for row in rows], cursor=str(latest))

    # The calendar's owner and attendees acting on it (the demo, the prospect's pages, tests).

    def list_calendars(self) -> list[CalendarInfo]:
        """The built-in calendar has no account to list: each rep's one calendar is named by
        their address, which the caller knows (the connection's account)."""
        return []

    def add_busy(self, calendar_id: str, start: datetime, end: datetime,
                 title: str = "Busy", uid: str | None = None) -> str:
        """An event of the owner's own; with a given `uid`, adding it again changes nothing."""
        uid = uid or new_event_uid()
        with self.store.transaction() as session:
            if session.get(LocalEvent, (calendar_id.lower(), uid)) is None:
                session.add(LocalEvent(calendar_id=calendar_id.lower(), uid=uid, start=start,
                                       end=end, title=title, change_seq=_next_change(session)))
                busy_changed(session, [local_key(calendar_id)])
        return uid

    def respond(self, uid: str, email: str, response: str) -> None:
        """An attendee answers the invitation; every copy of the event sees it."""
        with self.store.transaction() as session:
            seq = _next_change(session)
            for row in session.scalars(select(LocalEvent).where(LocalEvent.uid == uid)):
                row.attendees = [dict(a, response=response) if a["email"] == email.lower()
                                 else a for a in row.attendees]
                row.change_seq = seq

    def move(self, uid: str, start: datetime, end: datetime) -> None:
        """The organizer drags the event to another time: as in Google and Exchange, a new
        time asks every attendee again."""
        with self.store.transaction() as session:
            seq = _next_change(session)
            holders = []
            for row in session.scalars(select(LocalEvent).where(LocalEvent.uid == uid)):
                row.start, row.end, row.change_seq = start, end, seq
                row.attendees = [dict(a, response="needsAction") for a in row.attendees or ()]
                holders.append(row.calendar_id)
            busy_changed(session, map(local_key, holders))


def busy_rows(calendar_ids: Sequence[str], window: Interval) -> Select:
    """(calendar id, start, end) of what is busy in these built-in calendars (lower-case
    ids) in `window`: every event not cancelled. Read by `busy` and the busy mirror."""
    return (select(LocalEvent.calendar_id, LocalEvent.start, LocalEvent.end)
            .where(LocalEvent.calendar_id.in_(list(calendar_ids)),
                   LocalEvent.status != "cancelled",
                   LocalEvent.start < window.end, LocalEvent.end > window.start))


# The built-in calendar is where people without a connection live: it has no accounts, and
# each person's busy time is read from their own calendar rows.
DESCRIPTION = ProviderDescription(name=LocalCalendar.name, label="Built-in calendar",
                                  sends_own_invites=False, reads_colleagues=False)


def _local_attendees(session: Session, event: CalendarEvent) -> list[str]:
    emails = [attendee.email.lower() for attendee in event.attendees]
    if not emails:
        return []
    users = set(session.scalars(select(User.email).where(User.email.in_(emails))))
    return [email for email in emails
            if email in users and email != event.calendar_id.lower()]


def _next_change(session: Session) -> int:
    return (session.scalar(select(func.max(LocalEvent.change_seq))) or 0) + 1


def _row(calendar_id: str, event: CalendarEvent, seq: int) -> LocalEvent:
    row = LocalEvent(calendar_id=calendar_id, uid=event.uid)
    _apply(row, event, seq)
    return row


def _apply(row: LocalEvent, event: CalendarEvent, seq: int) -> None:
    row.start, row.end = event.start, event.end
    row.title, row.description = event.title, event.description
    row.organizer = asdict(event.organizer)
    row.attendees = [dict(asdict(a), email=a.email.lower()) for a in event.attendees]
    row.properties = dict(event.properties)
    row.status = "confirmed"
    row.sequence = event.sequence
    row.change_seq = seq


def _change(row: LocalEvent) -> EventChange:
    return EventChange(
        ref=EventRef(provider=LocalCalendar.name, calendar_id=row.calendar_id,
                     event_id=row.uid),
        status=row.status,
        followup_id=(row.properties or {}).get(FOLLOWUP_ID_PROPERTY),
        start=row.start, end=row.end,
        attendees=tuple(Attendee(**a) for a in row.attendees or ()))
