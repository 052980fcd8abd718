"""The pieces every booking-like transaction is built from, shared by booking.py and
offers.py: a meeting resolved and checked against the calendars before any transaction
opens, then inside one transaction the clash check, the prospect row, the follow-up or the
holds with everyone's reservations. Nothing here opens a transaction or calls a calendar
inside one; the verbs that compose these pieces do that."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from scheduler import outbox
from scheduler.availability import Interval
from scheduler.busy_versions import busy_changed, reserved_key
from scheduler.calendars import Calendars
from scheduler.clock import iso_utc
from scheduler.errors import InvalidInput, ProviderUnavailable, SlotTaken
from scheduler.lifecycle import Change, transition
from scheduler.log import append
from scheduler.plans import STEP_TYPES, Plan
from scheduler.preferences import blocked_window, preferences_of
from scheduler.readmodels import ProspectView
from scheduler.requests import ProspectIn
from scheduler.reserved import reserved_time
from scheduler.settings import Settings
from scheduler.store import Store
from scheduler.store.models import (
    FollowUp,
    FollowUpHelper,
    Hold,
    Offer,
    Prospect,
    Reservation,
    Step,
    User,
)


class Jobs(Protocol):
    def kick(self) -> None:
        """Wake the worker: there is outbox work to do."""


@dataclass(frozen=True)
class Meeting:
    """Everything a booking needs, resolved and validated before any transaction opens."""

    rep: User
    helpers: list[User]
    prospect: ProspectIn
    start: datetime
    end: datetime
    title: str
    step_type: str
    plan: Plan
    idempotency_key: str | None = None

    @property
    def people(self) -> list[User]:
        return [self.rep, *self.helpers]


def prospect_of(row: Prospect | ProspectView) -> ProspectIn:
    """A stored prospect as the services take it, company included."""
    return ProspectIn(name=row.name, email=row.email, timezone=row.timezone,
                      company=row.company)


def meeting_of(followup: FollowUp, *, start: datetime | None = None) -> Meeting:
    """A stored follow-up back as a meeting, at `start` when it is about to move (its length
    kept). The plan is left out: nothing that re-checks a time needs it."""
    start = followup.start if start is None else start
    return Meeting(rep=followup.rep, helpers=list(followup.helpers),
                   prospect=prospect_of(followup.prospect), start=start,
                   end=start + (followup.end - followup.start), title=followup.title,
                   step_type=followup.step_type, plan=Plan(steps=()))


def resolve_helpers(store: Store, emails: Sequence[str], *, rep: User) -> list[User]:
    """Helpers are Nextstep users; name the first unknown one."""
    if not emails:
        return []
    with store.reading() as session:
        users = {u.email: u for u in session.scalars(select(User).where(User.email.in_(emails)))}
    return pick_helpers(emails, users, rep=rep)


def pick_helpers(emails: Sequence[str], users: Mapping[str, User], *, rep: User) -> list[User]:
    """The helpers asked for, from the users found by address; the first one who is the rep
    or unknown is named."""
    helpers: list[User] = []
    for index, email in enumerate(emails):
        if email == rep.email:
            raise InvalidInput("the rep is already in the meeting", field=f"helpers.{index}")
        if email not in users:
            raise InvalidInput(f"{email} is not a Nextstep user", field=f"helpers.{index}")
        if users[email] not in helpers:
            helpers.append(users[email])
    return helpers


def default_title(step_type: str, rep: User, prospect: ProspectIn) -> str:
    company = f" ({prospect.company})" if prospect.company else ""
    return f"{STEP_TYPES[step_type]}: {prospect.name}{company} and {rep.name}"[:300]


# Before the transaction

def ensure_free(meeting: Meeting, *, calendars: Calendars, settings: Settings,
                own: Interval | None = None) -> None:
    """Refuse the slot when anyone's calendar shows them busy (their own buffers included).
    `own` is the follow-up's current time, which a reschedule may overlap."""
    windows = blocked_windows(meeting, settings)
    report = calendars.busy(meeting.people, _spanning(windows.values()))
    if report.errors:
        email, message = sorted(report.errors.items())[0]
        raise ProviderUnavailable(f"cannot read the calendar of {email}: {message}",
                                  field="helpers" if email != meeting.rep.email else None)
    for person in meeting.people:
        for busy in report.busy.get(person.email, []):
            if own is not None and own.start <= busy.start and busy.end <= own.end:
                continue
            if busy.overlaps(windows[person.id]):
                raise SlotTaken(f"{person.name} is busy then", field="start")


def blocked_windows(meeting: Meeting, settings: Settings) -> dict[int, Interval]:
    """Per person, the time their busy must stay out of: the meeting and their buffers."""
    return {person.id: blocked_window(meeting.start, meeting.end,
                                      preferences_of(person, settings))
            for person in meeting.people}


def _spanning(windows: Iterable[Interval]) -> Interval:
    windows = list(windows)
    return Interval(min(w.start for w in windows), max(w.end for w in windows))


# Inside the transaction

def reserved_intervals(session: Session, user_ids: Sequence[int], window: Interval, *,
                       now: datetime, ignore_followup: str | None = None,
                       ignore_offer: str | None = None) -> dict[int, list[Interval]]:
    """Live follow-ups and unexpired holds of these people: busy whatever calendars say."""
    rows = session.execute(_clash_query(user_ids, window, now=now,
                                        ignore_followup=ignore_followup,
                                        ignore_offer=ignore_offer))
    reserved: dict[int, list[Interval]] = {}
    for user_id, start, end, _expires in rows:
        reserved.setdefault(user_id, []).append(Interval(start, end))
    return reserved


def _clash_query(user_ids: Sequence[int], window: Interval, *, now: datetime,
                 ignore_followup: str | None, ignore_offer: str | None):
    query = reserved_time(user_ids, window, now=now)
    if ignore_followup:
        query = query.where(or_(Reservation.followup_id.is_(None),
                                Reservation.followup_id != ignore_followup))
    if ignore_offer:
        query = query.where(or_(Hold.offer_id.is_(None), Hold.offer_id != ignore_offer))
    return query


def check_no_clash(session: Session, meeting: Meeting, *, settings: Settings, now: datetime,
                   ignore_followup: str | None = None, ignore_offer: str | None = None) -> None:
    windows = blocked_windows(meeting, settings)
    clashes = reserved_intervals(session, [p.id for p in meeting.people],
                                 _spanning(windows.values()), now=now,
                                 ignore_followup=ignore_followup, ignore_offer=ignore_offer)
    for person in meeting.people:
        if any(c.overlaps(windows[person.id]) for c in clashes.get(person.id, ())):
            raise SlotTaken(f"{person.name} is already booked or holding that time",
                            field="start")


def add_reservations(session: Session, user_ids: Sequence[int], *, start: datetime,
                     end: datetime, followup_id: str | None = None,
                     hold_id: int | None = None) -> None:
    for user_id in user_ids:
        session.add(Reservation(user_id=user_id, start=start, end=end, followup_id=followup_id,
                                hold_id=hold_id, active=True))
    busy_changed(session, map(reserved_key, user_ids))


def update_reservations(session: Session, *where, **values) -> None:
    """Every change to existing reservations goes through here, so the people whose time it
    touched have their busy version bumped in the same transaction (scheduler.mirror)."""
    touched = session.execute(update(Reservation).where(*where).values(**values)
                              .returning(Reservation.user_id)
                              .execution_options(synchronize_session=False)).scalars().all()
    busy_changed(session, map(reserved_key, touched))


def release_expired_holds(session: Session, user_ids: Iterable[int], *, now: datetime) -> None:
    """Expired holds stop counting at once; on PostgreSQL the exclusion constraint must
    not see them either."""
    expired = select(Hold.id).where(or_(Hold.expires_at <= now, Hold.released_at.is_not(None)))
    update_reservations(session, Reservation.user_id.in_(list(user_ids)), Reservation.active,
                        Reservation.hold_id.in_(expired), active=False)


def release_reservations(session: Session, followup_id: str) -> None:
    update_reservations(session, Reservation.followup_id == followup_id, Reservation.active,
                        active=False)


def release_holds(session: Session, offer_id: str, *, now: datetime) -> None:
    hold_ids = select(Hold.id).where(Hold.offer_id == offer_id)
    session.execute(update(Hold).where(Hold.offer_id == offer_id, Hold.released_at.is_(None))
                    .values(released_at=now).execution_options(synchronize_session=False))
    update_reservations(session, Reservation.hold_id.in_(hold_ids), Reservation.active,
                        active=False)


def upsert_prospect(session: Session, prospect: ProspectIn, *, now: datetime) -> Prospect:
    row = session.scalar(select(Prospect).where(Prospect.email == prospect.email))
    if row is None:
        row = Prospect(email=prospect.email, created_at=now, name=prospect.name,
                       timezone=prospect.timezone, company=prospect.company)
        session.add(row)
        session.flush()
    else:
        row.name, row.timezone = prospect.name, prospect.timezone
        row.company = prospect.company or row.company
    return row


def step_row(followup_id: str, position: int, step) -> Step:
    due = step.due
    due_at = due if isinstance(due, datetime) else None
    due_date = due.date() if isinstance(due, datetime) else due
    return Step(followup_id=followup_id, position=position, who=step.who, what=step.what,
                type=step.type, due_date=due_date, due_at=due_at,
                due_text=due.isoformat(), help_from=list(step.help_from))


def insert_followup(session: Session, meeting: Meeting, *, settings: Settings, now: datetime,
                    via: str, invite: bool, offer_id: str | None = None) -> FollowUp:
    """The booking transaction: clash check, follow-up, plan, reservations, outbox, log.
    It touches only `session`: a second connection here could starve the pool under load."""
    ids = [p.id for p in meeting.people]
    release_expired_holds(session, ids, now=now)
    check_no_clash(session, meeting, settings=settings, now=now, ignore_offer=offer_id)
    prospect = upsert_prospect(session, meeting.prospect, now=now)
    book = transition(None, Change.BOOK)
    followup = FollowUp(rep_id=meeting.rep.id, prospect_id=prospect.id, offer_id=offer_id,
                        title=meeting.title, step_type=meeting.step_type, start=meeting.start,
                        end=meeting.end, status=book.target, sequence=0, responses={},
                        idempotency_key=meeting.idempotency_key, created_at=now,
                        updated_at=now)
    session.add(followup)
    session.flush()
    for helper in meeting.helpers:
        session.add(FollowUpHelper(followup_id=followup.id, user_id=helper.id))
    for position, step in enumerate(meeting.plan.steps):
        session.add(step_row(followup.id, position, step))
    add_reservations(session, ids, start=meeting.start, end=meeting.end,
                     followup_id=followup.id)
    outbox.enqueue_followup_change(session, followup, method="REQUEST", now=now, invite=invite)
    append(session, book.log_kind, at=now, rep_id=meeting.rep.id, followup_id=followup.id,
           via=via, prospect=meeting.prospect.email, start=iso_utc(meeting.start),
           end=iso_utc(meeting.end), helpers=[h.email for h in meeting.helpers],
           steps=len(meeting.plan.steps), title=meeting.title)
    session.flush()
    session.refresh(followup)
    return followup


def hold_slots(session: Session, offer: Offer, meetings: Sequence[Meeting], *,
               settings: Settings, now: datetime) -> None:
    """The offer's holds, each with a reservation for everyone who meets, so the time is
    busy for every other proposal and booking. A clash names the slot at fault."""
    ids = [p.id for p in meetings[0].people]
    release_expired_holds(session, ids, now=now)
    for index, meeting in enumerate(meetings):
        try:
            check_no_clash(session, meeting, settings=settings, now=now)
        except SlotTaken as exc:
            raise SlotTaken(exc.message, field=f"slots.{index}") from None
        row = Hold(offer_id=offer.id, start=meeting.start, end=meeting.end,
                   expires_at=offer.expires_at)
        session.add(row)
        session.flush()
        add_reservations(session, ids, start=meeting.start, end=meeting.end, hold_id=row.id)
    session.flush()
