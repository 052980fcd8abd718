"""Services: propose, book, reschedule, cancel. Each change is one short transaction; the
calendar write and the invite follow through the outbox, after the commit."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from scheduler import outbox
from scheduler.access import SYSTEM, Viewer, visible
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
from scheduler.errors import Conflict, InvalidInput, NotFound, SlotTaken
from scheduler.lifecycle import LIVE, Change, enter, transition
from scheduler.log import append
from scheduler.outside_hours import hours_meet, outside_hours_slots
from scheduler.plans import parse_plan
from scheduler.preferences import (
    extra_buffers,
    meeting_duration,
    preferences_of,
    prospect_daytime,
    shared_rules,
)
from scheduler.readmodels import FollowUpView
from scheduler.requests import BookingRequest, NoNextStep, ProposalRequest
from scheduler.reservations import (
    Jobs,
    Meeting,
    check_no_clash,
    default_title,
    ensure_free,
    insert_followup,
    meeting_of,
    pick_helpers,
    release_reservations,
    resolve_helpers,
    update_reservations,
    upsert_prospect,
)
from scheduler.settings import Settings
from scheduler.store import Store
from scheduler.store.models import FollowUp, Prospect, Reservation, User

# The longest window one proposal searches: providers answer at most ~60-90 days per query,
# and an unbounded `latest` would make the engine walk years of days.
MAX_SEARCH_DAYS = 90


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
    followup: FollowUpView
    created: bool  # False when an idempotent retry returned the first booking



# Proposing

def propose_slots(request: ProposalRequest, *, rep: User, store: Store, calendars: Calendars,
                  clock: Clock, settings: Settings) -> Proposal:
    """The best open slots for rep, helpers and the prospect's daytime, holds excluded."""
    now = clock.now()
    roster = calendars.roster(rep, request.helpers)
    helpers = pick_helpers(request.helpers, roster.users, rep=rep)
    people = [rep, *helpers]
    start = max(now, request.earliest or now)
    end = min(request.latest or now + timedelta(days=settings.search_days),
              start + timedelta(days=MAX_SEARCH_DAYS))
    if end <= start:
        raise InvalidInput("latest must be in the future", field="latest")
    window = Interval(start, end)

    report = calendars.mirrored_busy(roster, people, window, now)
    own = [preferences_of(p, settings) for p in people]
    rules = shared_rules(own, duration_minutes=meeting_duration(request, own[0]),
                         grid_minutes=settings.slot_grid_minutes)
    persons = [Person(key=p.email, hours=mine.working_hours,
                      packed=tuple(part.grown(*extra_buffers(mine, rules))
                                   for part in report.packed[p.email]))
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
        followup = store.retrying(lambda session: FollowUpView.from_row(insert_followup(
            session, meeting, settings=settings, now=clock.now(), via=via, invite=invite)))
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


# Changing a booking

def reschedule_followup(followup_id: str, start: datetime, *, actor: str,
                        viewer: Viewer, store: Store, calendars: Calendars, clock: Clock,
                        settings: Settings, jobs: Jobs) -> FollowUpView:
    """Move a live follow-up to a new free time; attendees get an updated invite."""
    now = clock.now()
    with store.reading() as session:
        current = _owned(session, followup_id, viewer)
        transition(current.status, Change.RESCHEDULE)  # refused unless live
        start = start.astimezone(ZoneInfo("UTC"))
        if start < now:
            raise InvalidInput("start is in the past", field="start")
        meeting = meeting_of(current, start=start)
        own = Interval(current.start, current.end)
    ensure_free(meeting, calendars=calendars, settings=settings, own=own)
    invite = not calendars.sends_own_invites(meeting.rep)

    def move(session: Session) -> FollowUpView:
        followup = session.get(FollowUp, followup_id, with_for_update={"of": FollowUp})
        if followup is None or followup.status not in LIVE:
            raise Conflict("the follow-up changed meanwhile", field="status")
        check_no_clash(session, meeting, settings=settings, now=now,
                       ignore_followup=followup_id)
        previous = followup.start
        followup.start, followup.end = meeting.start, meeting.end
        step = transition(followup.status, Change.RESCHEDULE)
        enter(followup, step, now=now)
        update_reservations(session, Reservation.followup_id == followup_id,
                            Reservation.active, start=meeting.start, end=meeting.end)
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
        return FollowUpView.from_row(followup)

    try:
        followup = store.retrying(move)
    except IntegrityError:
        raise _slot_just_taken() from None
    jobs.kick()
    return followup


def cancel_followup(followup_id: str, *, actor: str, viewer: Viewer, store: Store,
                    calendars: Calendars, clock: Clock, jobs: Jobs,
                    reason: str = "") -> FollowUpView:
    """Cancel, free everyone's time, and send the cancellation. Cancelling twice is a no-op."""
    now = clock.now()
    invite = not calendars.sends_own_invites(
        get_followup_or_raise(store, followup_id, viewer=viewer).rep)

    def cancel(session: Session) -> None:
        followup = _owned(session, followup_id, viewer)
        step = transition(followup.status, Change.CANCEL)
        if step.log_kind is None:  # cancelled already
            return
        enter(followup, step, now=now)
        release_reservations(session, followup_id)
        outbox.enqueue_followup_change(session, followup, method="CANCEL", now=now,
                                       invite=invite, by=actor)
        if actor == "prospect":
            outbox.enqueue_rep_notice(session, followup, what="cancelled", now=now,
                                      reason=reason)
        append(session, step.log_kind, at=now, rep_id=followup.rep_id,
               followup_id=followup_id, by=actor, reason=reason)

    store.retrying(cancel)
    jobs.kick()
    return get_followup_or_raise(store, followup_id)


def complete_followup(followup_id: str, *, viewer: Viewer, store: Store,
                      clock: Clock) -> FollowUpView:
    """The rep says the meeting took place, which only they know: allowed once it has
    ended (before, 422 naming `status`), logged once. The calendar event stays as it is,
    so nothing goes to the outbox."""
    now = clock.now()

    def complete(session: Session) -> None:
        followup = _owned(session, followup_id, viewer)
        step = transition(followup.status, Change.COMPLETE)
        if step.log_kind is None:  # done already
            return
        if now < followup.end:
            raise InvalidInput("a meeting is done only once it has ended", field="status")
        enter(followup, step, now=now)
        release_reservations(session, followup_id)
        append(session, step.log_kind, at=now, rep_id=followup.rep_id,
               followup_id=followup_id, by="rep")

    store.retrying(complete)
    return get_followup_or_raise(store, followup_id)


def mark_steps_done(followup_id: str, changes: Sequence[tuple[int, bool]], *, viewer: Viewer,
                    store: Store, clock: Clock) -> FollowUpView:
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


# Reading

def get_followup(store: Store, followup_id: str, *,
                 viewer: Viewer = SYSTEM) -> FollowUpView | None:
    with store.reading() as session:
        followup = session.get(FollowUp, followup_id)
        if followup is None or not viewer.may_see(followup.rep_id):
            return None
        return FollowUpView.from_row(followup)


def get_followup_or_raise(store: Store, followup_id: str, *,
                          viewer: Viewer = SYSTEM) -> FollowUpView:
    followup = get_followup(store, followup_id, viewer=viewer)
    if followup is None:
        raise NotFound("no such follow-up", field="id")
    return followup


def get_followup_by_key(store: Store, rep_id: int, key: str) -> FollowUpView | None:
    with store.reading() as session:
        followup = session.scalar(select(FollowUp).where(FollowUp.rep_id == rep_id,
                                                         FollowUp.idempotency_key == key))
        return None if followup is None else FollowUpView.from_row(followup)


def guess_prospect_timezone(store: Store, email: str, *, viewer: Viewer) -> str | None:
    """The zone at this prospect's last booking with this rep, so the rep need not ask
    again. Only follow-ups the viewer may see answer: another rep's prospects stay private."""
    with store.reading() as session:
        return session.scalar(
            select(Prospect.timezone).join(FollowUp, FollowUp.prospect_id == Prospect.id)
            .where(Prospect.email == email.strip().lower(), visible(FollowUp.rep_id, viewer))
            .limit(1))


def _owned(session: Session, followup_id: str, viewer: Viewer) -> FollowUp:
    followup = session.get(FollowUp, followup_id)
    if followup is None or not viewer.may_see(followup.rep_id):
        raise NotFound("no such follow-up", field="id")
    return followup


def _slot_just_taken() -> SlotTaken:
    return SlotTaken("that time was just taken", field="start")


