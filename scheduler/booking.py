"""Services: propose, book, reschedule, cancel. Each change is one short transaction; the
calendar write and the invite follow through the outbox, after the commit."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from scheduler import outbox
from scheduler.access import SYSTEM, Viewer
from scheduler.availability import (
    Interval,
    Person,
    SlotRules,
    WorkingHours,
    free_slots,
    rank_slots,
)
from scheduler.calendars import Calendars
from scheduler.clock import Clock, iso_utc
from scheduler.errors import Conflict, InvalidInput, NotFound, ProviderUnavailable, SlotTaken
from scheduler.lifecycle import LIVE, Change, enter, transition
from scheduler.log import append
from scheduler.outside_hours import hours_meet, outside_hours_slots
from scheduler.plans import STEP_TYPES, Plan, parse_plan
from scheduler.preferences import (
    blocked_window,
    meeting_duration,
    padded,
    preferences_of,
    prospect_daytime,
    shared_rules,
)
from scheduler.requests import BookingRequest, NoNextStep, ProposalRequest, ProspectIn
from scheduler.settings import Settings
from scheduler.store import Store
from scheduler.store.models import FollowUp, FollowUpHelper, Hold, Prospect, Reservation, Step, User

# The longest window one proposal searches: providers answer at most ~60-90 days per query,
# and an unbounded `latest` would make the engine walk years of days.
MAX_SEARCH_DAYS = 90


class Jobs(Protocol):
    def kick(self) -> None:
        """Wake the worker: there is outbox work to do."""


@dataclass(frozen=True)
class Proposal:
    slots: list[Interval]
    prospect_timezone: str
    rep_timezone: str
    warnings: list[str] = field(default_factory=list)
    made_at: datetime | None = None  # 'today' and 'tomorrow' in what is said are from here
    reason: str | None = None  # "no_shared_hours" when the hours never meet in the window
    outside_hours: tuple[str | None, ...] = ()  # per slot: whose hours it stretches, if any


@dataclass(frozen=True)
class Booked:
    followup: FollowUp
    created: bool  # False when an idempotent retry returned the first booking


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


# Proposing

def propose_slots(request: ProposalRequest, *, rep: User, store: Store, calendars: Calendars,
                  clock: Clock, settings: Settings) -> Proposal:
    """The best open slots for rep, helpers and the prospect's daytime, holds excluded."""
    now = clock.now()
    helpers = resolve_helpers(store, request.helpers, rep=rep)
    people = [rep, *helpers]
    start = max(now, request.earliest or now)
    end = min(request.latest or now + timedelta(days=settings.search_days),
              start + timedelta(days=MAX_SEARCH_DAYS))
    if end <= start:
        raise InvalidInput("latest must be in the future", field="latest")
    window = Interval(start, end)

    report = calendars.busy(people, window)
    with store.reading() as session:
        reserved = reserved_intervals(session, [p.id for p in people], window, now=now)
    own = [preferences_of(p, settings) for p in people]
    rules = shared_rules(own, duration_minutes=meeting_duration(request, own[0]),
                         grid_minutes=settings.slot_grid_minutes)
    persons = [Person(key=p.email, hours=mine.working_hours,
                      busy=padded([*report.busy.get(p.email, []), *reserved.get(p.id, [])],
                                  mine, rules))
               for p, mine in zip(people, own, strict=True)]
    daytime = prospect_daytime(own[0], request.prospect.timezone)
    slots = rank_slots(
        free_slots(persons, window=window, rules=rules, now=now, prospect_hours=daytime),
        count=request.count, timezone=request.prospect.timezone)
    warnings = [f"Could not read the calendar of {email}: {message}"
                for email, message in sorted(report.errors.items())]
    proposal = Proposal(slots=slots, prospect_timezone=request.prospect.timezone,
                        rep_timezone=rep.timezone, warnings=warnings, made_at=now,
                        outside_hours=(None,) * len(slots))
    if slots:
        return proposal
    return _outside_hours_proposal(proposal, request, persons, window=window, rules=rules,
                                   now=now, daytime=daytime)


def _outside_hours_proposal(proposal: Proposal, request: ProposalRequest,
                            persons: Sequence[Person], *, window: Interval, rules: SlotRules,
                            now: datetime, daytime: WorkingHours) -> Proposal:
    """Nothing fits both: say whether the hours never meet, and when asked, offer the
    nearest slots just outside one side's hours."""
    meet = hours_meet(persons, window=window, rules=rules, now=now, prospect_hours=daytime)
    reason = None if meet else "no_shared_hours"
    if not request.allow_outside_hours:
        return replace(proposal, reason=reason)
    options = outside_hours_slots(persons, window=window, rules=rules, now=now,
                                  prospect_hours=daytime, count=request.count)
    return replace(proposal, reason=reason, slots=[option.slot for option in options],
                   outside_hours=tuple(option.side for option in options))


def reserved_intervals(session: Session, user_ids: Sequence[int], window: Interval, *,
                       now: datetime, ignore_followup: str | None = None,
                       ignore_offer: str | None = None) -> dict[int, list[Interval]]:
    """Live follow-ups and unexpired holds of these people: busy whatever calendars say."""
    rows = session.execute(_clash_query(user_ids, window, now=now,
                                        ignore_followup=ignore_followup,
                                        ignore_offer=ignore_offer))
    reserved: dict[int, list[Interval]] = {}
    for user_id, start, end in rows:
        reserved.setdefault(user_id, []).append(Interval(start, end))
    return reserved


def _clash_query(user_ids: Sequence[int], window: Interval, *, now: datetime,
                 ignore_followup: str | None, ignore_offer: str | None):
    query = (select(Reservation.user_id, Reservation.start, Reservation.end)
             .outerjoin(Hold, Reservation.hold_id == Hold.id)
             .where(Reservation.user_id.in_(list(user_ids)), Reservation.active,
                    Reservation.start < window.end, Reservation.end > window.start,
                    or_(Reservation.hold_id.is_(None),
                        and_(Hold.expires_at > now, Hold.released_at.is_(None)))))
    if ignore_followup:
        query = query.where(or_(Reservation.followup_id.is_(None),
                                Reservation.followup_id != ignore_followup))
    if ignore_offer:
        query = query.where(or_(Hold.offer_id.is_(None), Hold.offer_id != ignore_offer))
    return query


# Booking

def book_followup(request: BookingRequest, *, rep: User, store: Store, calendars: Calendars,
                  clock: Clock, settings: Settings, jobs: Jobs, via: str = "api") -> Booked:
    """Book atomically and idempotently; the calendar write follows through the outbox.
    `via` says in the log where the rep booked it ("api", "live screen")."""
    if request.idempotency_key:
        existing = get_followup_by_key(store, rep.id, request.idempotency_key)
        if existing is not None:
            return Booked(existing, created=False)
    meeting = prepare_meeting(request, rep=rep, store=store, clock=clock, settings=settings)
    ensure_free(meeting, calendars=calendars, settings=settings)
    invite = not calendars.sends_own_invites(rep)
    try:
        followup = store.retrying(lambda session: insert_followup(
            session, meeting, settings=settings, now=clock.now(), via=via, invite=invite))
    except IntegrityError:
        # A racing retry with the same key won: answer with its booking. Otherwise the
        # exclusion constraint (or a racing insert) said no: someone got there first.
        if request.idempotency_key:
            existing = get_followup_by_key(store, rep.id, request.idempotency_key)
            if existing is not None:
                return Booked(existing, created=False)
        raise _slot_just_taken() from None
    jobs.kick()
    return Booked(followup, created=True)


def prepare_meeting(request: BookingRequest, *, rep: User, store: Store,
                    clock: Clock, settings: Settings) -> Meeting:
    now = clock.now()
    start = request.start.astimezone(ZoneInfo("UTC"))
    if start < now:
        raise InvalidInput("start is in the past", field="start")
    today = now.astimezone(ZoneInfo(rep.timezone)).date()
    plan = parse_plan(request.plan, today=today)
    helpers = resolve_helpers(store, request.helpers, rep=rep)
    if request.prospect.email in {person.email for person in (rep, *helpers)}:
        # One person twice among the attendees breaks calendars (the built-in one refuses it).
        raise InvalidInput("the prospect is already in the meeting as rep or helper",
                           field="prospect.email")
    title = request.title or default_title(request.step_type, rep, request.prospect)
    minutes = meeting_duration(request, preferences_of(rep, settings))
    return Meeting(rep=rep, helpers=helpers, prospect=request.prospect, start=start,
                   end=start + timedelta(minutes=minutes), title=title,
                   step_type=request.step_type, plan=plan,
                   idempotency_key=request.idempotency_key)


def default_title(step_type: str, rep: User, prospect: ProspectIn) -> str:
    company = f" ({prospect.company})" if prospect.company else ""
    return f"{STEP_TYPES[step_type]}: {prospect.name}{company} and {rep.name}"[:300]


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
    for user_id in ids:
        session.add(Reservation(user_id=user_id, start=meeting.start, end=meeting.end,
                                followup_id=followup.id, active=True))
    outbox.enqueue_followup_change(session, followup, method="REQUEST", now=now, invite=invite)
    append(session, book.log_kind, at=now, rep_id=meeting.rep.id, followup_id=followup.id,
           via=via, prospect=meeting.prospect.email, start=iso_utc(meeting.start),
           end=iso_utc(meeting.end), helpers=[h.email for h in meeting.helpers],
           steps=len(meeting.plan.steps), title=meeting.title)
    session.flush()
    session.refresh(followup)
    return followup


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


def release_expired_holds(session: Session, user_ids: Iterable[int], *, now: datetime) -> None:
    """Expired holds stop counting at once; on PostgreSQL the exclusion constraint must
    not see them either."""
    expired = select(Hold.id).where(or_(Hold.expires_at <= now, Hold.released_at.is_not(None)))
    session.execute(update(Reservation)
                    .where(Reservation.user_id.in_(list(user_ids)), Reservation.active,
                           Reservation.hold_id.in_(expired))
                    .values(active=False)
                    .execution_options(synchronize_session=False))


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


# Changing a booking

def reschedule_followup(followup_id: str, start: datetime, *, actor: str,
                        viewer: Viewer, store: Store, calendars: Calendars, clock: Clock,
                        settings: Settings, jobs: Jobs) -> FollowUp:
    """Move a live follow-up to a new free time; attendees get an updated invite."""
    now = clock.now()
    current = get_followup_or_raise(store, followup_id, viewer=viewer)
    transition(current.status, Change.RESCHEDULE)  # refused unless live
    start = start.astimezone(ZoneInfo("UTC"))
    if start < now:
        raise InvalidInput("start is in the past", field="start")
    meeting = Meeting(rep=current.rep, helpers=list(current.helpers),
                      prospect=ProspectIn(name=current.prospect.name,
                                          email=current.prospect.email,
                                          timezone=current.prospect.timezone),
                      start=start, end=start + (current.end - current.start),
                      title=current.title, step_type=current.step_type, plan=Plan(steps=()))
    ensure_free(meeting, calendars=calendars, settings=settings,
                own=Interval(current.start, current.end))
    invite = not calendars.sends_own_invites(current.rep)

    def move(session: Session) -> FollowUp:
        followup = session.get(FollowUp, followup_id, with_for_update={"of": FollowUp})
        if followup is None or followup.status not in LIVE:
            raise Conflict("the follow-up changed meanwhile", field="status")
        check_no_clash(session, meeting, settings=settings, now=now,
                       ignore_followup=followup_id)
        previous = followup.start
        followup.start, followup.end = meeting.start, meeting.end
        step = transition(followup.status, Change.RESCHEDULE)
        enter(followup, step, now=now)
        session.execute(update(Reservation)
                        .where(Reservation.followup_id == followup_id, Reservation.active)
                        .values(start=meeting.start, end=meeting.end)
                        .execution_options(synchronize_session=False))
        outbox.enqueue_followup_change(session, followup, method="REQUEST", now=now,
                                       invite=invite)
        if actor == "prospect":
            outbox.enqueue_rep_notice(session, followup, what="moved", now=now,
                                      previous_start=previous)
        append(session, step.log_kind, at=now, rep_id=followup.rep_id,
               followup_id=followup_id, by=actor, previous_start=iso_utc(previous),
               start=iso_utc(meeting.start), end=iso_utc(meeting.end))
        session.flush()
        session.refresh(followup)
        return followup

    try:
        followup = store.retrying(move)
    except IntegrityError:
        raise _slot_just_taken() from None
    jobs.kick()
    return followup


def cancel_followup(followup_id: str, *, actor: str, viewer: Viewer, store: Store,
                    calendars: Calendars, clock: Clock, jobs: Jobs,
                    reason: str = "") -> FollowUp:
    """Cancel, free everyone's time, and send the cancellation. Cancelling twice is a no-op."""
    now = clock.now()
    invite = not calendars.sends_own_invites(
        get_followup_or_raise(store, followup_id, viewer=viewer).rep)

    def cancel(session: Session) -> FollowUp:
        followup = _owned(session, followup_id, viewer)
        step = transition(followup.status, Change.CANCEL)
        if step.log_kind is None:  # cancelled already
            return followup
        enter(followup, step, now=now)
        release_reservations(session, followup_id)
        outbox.enqueue_followup_change(session, followup, method="CANCEL", now=now,
                                       invite=invite, by=actor)
        if actor == "prospect":
            outbox.enqueue_rep_notice(session, followup, what="cancelled", now=now,
                                      reason=reason)
        append(session, step.log_kind, at=now, rep_id=followup.rep_id,
               followup_id=followup_id, by=actor, reason=reason)
        return followup

    followup = store.retrying(cancel)
    jobs.kick()
    return get_followup_or_raise(store, followup.id)


def mark_steps_done(followup_id: str, changes: Sequence[tuple[int, bool]], *, viewer: Viewer,
                    store: Store, clock: Clock) -> FollowUp:
    now = clock.now()

    def mark(session: Session) -> None:
        followup = _owned(session, followup_id, viewer)
        steps = {step.position: step for step in followup.steps}
        for number, (index, done) in enumerate(changes):
            step = steps.get(index)
            if step is None:
                raise InvalidInput(f"the plan has no step {index}", field=f"steps.{number}.index")
            if done and step.done_at is None:
                step.done_at = now
                append(session, "step.done", at=now, rep_id=followup.rep_id,
                       followup_id=followup_id, index=index, what=step.what)
            elif not done:
                step.done_at = None

    store.retrying(mark)
    return get_followup_or_raise(store, followup_id)


def end_call_without_next_step(request: NoNextStep, *, rep: User, store: Store,
                               clock: Clock) -> None:
    """The rep ends the call on purpose with no next step: recorded, so managers see it."""
    now = clock.now()
    with store.transaction() as session:
        upsert_prospect(session, request.prospect, now=now)
        append(session, "call.no_next_step", at=now, rep_id=rep.id,
               prospect=request.prospect.email, reason=request.reason)


def release_reservations(session: Session, followup_id: str) -> None:
    session.execute(update(Reservation).where(Reservation.followup_id == followup_id)
                    .values(active=False).execution_options(synchronize_session=False))


# Reading

def get_followup(store: Store, followup_id: str, *,
                 viewer: Viewer = SYSTEM) -> FollowUp | None:
    with store.reading() as session:
        followup = session.get(FollowUp, followup_id)
        if followup is None or not viewer.may_see(followup.rep_id):
            return None
        return followup


def get_followup_or_raise(store: Store, followup_id: str, *,
                          viewer: Viewer = SYSTEM) -> FollowUp:
    followup = get_followup(store, followup_id, viewer=viewer)
    if followup is None:
        raise NotFound("no such follow-up", field="id")
    return followup


def get_followup_by_key(store: Store, rep_id: int, key: str) -> FollowUp | None:
    with store.reading() as session:
        return session.scalar(select(FollowUp).where(FollowUp.rep_id == rep_id,
                                                     FollowUp.idempotency_key == key))


def resolve_helpers(store: Store, emails: Sequence[str], *, rep: User) -> list[User]:
    """Helpers are Nextstep users; name the first unknown one."""
    if not emails:
        return []
    with store.reading() as session:
        users = {u.email: u for u in session.scalars(select(User).where(User.email.in_(emails)))}
    helpers: list[User] = []
    for index, email in enumerate(emails):
        if email == rep.email:
            raise InvalidInput("the rep is already in the meeting", field=f"helpers.{index}")
        if email not in users:
            raise InvalidInput(f"{email} is not a Nextstep user", field=f"helpers.{index}")
        if users[email] not in helpers:
            helpers.append(users[email])
    return helpers


def guess_prospect_timezone(store: Store, email: str, *, rep_id: int) -> str | None:
    """The zone at this prospect's last booking with this rep, so the rep need not ask
    again. Only the rep's own follow-ups answer: another rep's prospects stay private."""
    with store.reading() as session:
        return session.scalar(
            select(Prospect.timezone).join(FollowUp, FollowUp.prospect_id == Prospect.id)
            .where(Prospect.email == email.strip().lower(), FollowUp.rep_id == rep_id)
            .limit(1))


def _owned(session: Session, followup_id: str, viewer: Viewer) -> FollowUp:
    followup = session.get(FollowUp, followup_id)
    if followup is None or not viewer.may_see(followup.rep_id):
        raise NotFound("no such follow-up", field="id")
    return followup


def _slot_just_taken() -> SlotTaken:
    return SlotTaken("that time was just taken", field="start")


