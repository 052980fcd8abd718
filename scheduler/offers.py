"""Offer links: the rep sends held slots, the prospect picks one. Tokens are signed with
their own salt and expiry; a link books at most once, consumed in the booking transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from itsdangerous import BadData, SignatureExpired, TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from scheduler import outbox
from scheduler.access import PROSPECT, Viewer
from scheduler.accounts import get_user
from scheduler.availability import Interval
from scheduler.booking import get_followup_or_raise, propose_slots, reschedule_followup
from scheduler.calendars import Calendars
from scheduler.clock import Clock, iso_utc
from scheduler.errors import (
    BadToken,
    InvalidInput,
    NotFound,
    OfferExpired,
    OfferUsed,
    SlotTaken,
)
from scheduler.lifecycle import LIVE, OfferChange, OfferStatus, Status, offer_transition
from scheduler.log import append
from scheduler.plans import parse_plan, plan_from_dict, plan_to_dict
from scheduler.preferences import meeting_duration, preferences_of
from scheduler.readmodels import FollowUpView, HoldView, OfferView
from scheduler.requests import OfferRequest, ProposalRequest
from scheduler.reservations import (
    Jobs,
    Meeting,
    check_no_clash,
    default_title,
    ensure_free,
    hold_slots,
    insert_followup,
    prospect_of,
    release_holds,
    resolve_helpers,
    upsert_prospect,
)
from scheduler.settings import Settings
from scheduler.short_links import expand, shorten, shorten_in
from scheduler.store import Store
from scheduler.store.models import FollowUp, Offer, User

OFFER_SALT = "nextstep.offer.v1"
FOLLOWUP_SALT = "nextstep.followup.v1"
RESCHEDULE_CHECKED = 9  # the page shows 5; a pick is valid among the best 9 at POST time
# A follow-up link outlives its meeting by a while (the prospect looks the time up again),
# but not for ever: a leaked old link should stop working.
FOLLOWUP_LINK_DAYS = 400


class _ClockSigner(TimestampSigner):
    """itsdangerous reads the wall clock; ours is injected so expiry is testable."""

    def __init__(self, *args, clock: Clock, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.clock = clock

    def get_timestamp(self) -> int:
        return int(self.clock.now().timestamp())


def _serializer(settings: Settings, clock: Clock, salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.signing_key, salt=salt,
                                  signer=_ClockSigner, signer_kwargs={"clock": clock})


def offer_token(offer: Offer | OfferView, *, settings: Settings, clock: Clock) -> str:
    ttl = int((offer.expires_at - clock.now()).total_seconds())
    return _serializer(settings, clock, OFFER_SALT).dumps({"offer": offer.id, "ttl": ttl})


def read_offer_token(token: str, *, settings: Settings, clock: Clock) -> str:
    """The offer id, or BadToken (tampered) / OfferExpired (past its own expiry)."""
    try:
        payload, signed_at = _serializer(settings, clock, OFFER_SALT).loads(
            token, return_timestamp=True)
    except BadData:
        raise BadToken("this link is not valid; ask for a new one", field="token") from None
    if not isinstance(payload, dict) or "offer" not in payload:
        raise BadToken("this link is not valid; ask for a new one", field="token")
    if clock.now() > signed_at + timedelta(seconds=int(payload.get("ttl", 0))):
        raise OfferExpired("this link has expired; ask for a new one", field="token")
    return str(payload["offer"])


def followup_token(followup_id: str, *, settings: Settings, clock: Clock) -> str:
    return _serializer(settings, clock, FOLLOWUP_SALT).dumps(followup_id)


def short_followup_token(followup_id: str, *, store: Store, settings: Settings,
                         clock: Clock) -> str:
    """The follow-up link's short id (see scheduler.short_links), valid as long as the
    signed token it stands for."""
    now = clock.now()
    return shorten(store, kind="followup", target_id=followup_id, now=now,
                   token=followup_token(followup_id, settings=settings, clock=clock),
                   expires_at=now + timedelta(days=FOLLOWUP_LINK_DAYS))


def read_followup_token(token: str, *, settings: Settings, clock: Clock) -> str:
    try:
        return str(_serializer(settings, clock, FOLLOWUP_SALT).loads(
            token, max_age=int(timedelta(days=FOLLOWUP_LINK_DAYS).total_seconds())))
    except SignatureExpired:
        raise OfferExpired("this link has expired", field="token") from None
    except BadData:
        raise BadToken("this link is not valid", field="token") from None


@dataclass(frozen=True)
class SentOffer:
    offer: OfferView
    url: str
    created: bool = True  # False when an idempotent retry returned the first offer


@dataclass(frozen=True)
class _Offered:
    """An offer resolved and checked against the calendars, before its transaction."""

    meetings: list[Meeting]
    title: str
    expires_at: datetime
    minutes: int  # the request's length, else the rep's usual one


def create_offer(request: OfferRequest, *, rep: User, store: Store, calendars: Calendars,
                 clock: Clock, settings: Settings, jobs: Jobs) -> SentOffer:
    """Hold the slots (busy for every other proposal and booking) and queue the email with
    the link, atomically and idempotently, as `book_followup` books."""
    if request.idempotency_key:
        existing = _offer_by_key(store, rep.id, request.idempotency_key)
        if existing is not None:
            return _sent(existing, store=store, settings=settings, clock=clock, created=False)
    offered = _prepare_offer(request, rep=rep, store=store, calendars=calendars, clock=clock,
                             settings=settings)
    try:
        offer_id = store.retrying(lambda session: _insert_offer(
            session, request, offered, rep=rep, settings=settings, clock=clock).id)
    except IntegrityError:
        if request.idempotency_key:
            existing = _offer_by_key(store, rep.id, request.idempotency_key)
            if existing is not None:
                return _sent(existing, store=store, settings=settings, clock=clock, created=False)
        raise SlotTaken("one of those times was just taken", field="slots") from None
    jobs.kick()
    return _sent(get_offer_or_raise(store, offer_id), store=store, settings=settings,
                 clock=clock, created=True)


def _prepare_offer(request: OfferRequest, *, rep: User, store: Store, calendars: Calendars,
                   clock: Clock, settings: Settings) -> _Offered:
    """The slots (chosen, or the best proposed), each free in everyone's calendar."""
    now = clock.now()
    helpers = resolve_helpers(store, request.helpers, rep=rep)
    plan = parse_plan(request.plan, today=now.astimezone(ZoneInfo(rep.timezone)).date())
    minutes = meeting_duration(request, preferences_of(rep, settings))
    duration = timedelta(minutes=minutes)
    starts = request.slots or [slot.start for slot in propose_slots(
        ProposalRequest(prospect=request.prospect, duration_minutes=minutes,
                        helpers=request.helpers, step_type=request.step_type,
                        count=request.count, allow_outside_hours=request.allow_outside_hours),
        rep=rep, store=store, calendars=calendars, clock=clock, settings=settings).slots]
    if not starts:
        raise SlotTaken("no free time to offer in the search window", field="slots")
    for index, start in enumerate(starts):
        if start < now:
            raise InvalidInput("this slot is in the past", field=f"slots.{index}")
    _ensure_apart(starts, duration)
    meetings = []
    for index, start in enumerate(starts):
        meeting = Meeting(rep=rep, helpers=helpers, prospect=request.prospect, start=start,
                          end=start + duration, title="", step_type=request.step_type,
                          plan=plan)
        try:
            ensure_free(meeting, calendars=calendars, settings=settings)
        except SlotTaken as exc:
            raise SlotTaken(exc.message, field=f"slots.{index}") from None
        meetings.append(meeting)
    expires_at = now + timedelta(minutes=request.expires_in_minutes
                                 or settings.offer_expiry_minutes)
    title = request.title or default_title(request.step_type, rep, request.prospect)
    return _Offered(meetings=meetings, title=title, expires_at=expires_at, minutes=minutes)


def _insert_offer(session: Session, request: OfferRequest, offered: _Offered, *, rep: User,
                  settings: Settings, clock: Clock) -> Offer:
    """The offer transaction: the offer, its holds, the `offer.sent` entry and the email's
    outbox row commit together or not at all."""
    now = clock.now()
    first = offered.meetings[0]
    prospect = upsert_prospect(session, request.prospect, now=now)
    offer = Offer(rep_id=rep.id, prospect_id=prospect.id, title=offered.title,
                  step_type=request.step_type, duration_minutes=offered.minutes,
                  helper_emails=[h.email for h in first.helpers],
                  plan=plan_to_dict(first.plan), status=OfferStatus.OPEN,
                  expires_at=offered.expires_at, idempotency_key=request.idempotency_key,
                  created_at=now)
    session.add(offer)
    session.flush()
    hold_slots(session, offer, offered.meetings, settings=settings, now=now)
    append(session, "offer.sent", at=now, rep_id=rep.id, offer_id=offer.id,
           prospect=request.prospect.email,
           slots=[iso_utc(m.start) for m in offered.meetings],
           expires_at=iso_utc(offered.expires_at))
    outbox.enqueue(session, "offer.send", now=now, offer_id=offer.id,
                   url=offer_url(session, offer, settings=settings, clock=clock))
    session.flush()
    session.refresh(offer)
    return offer


def offer_url(session: Session, offer: Offer | OfferView, *, settings: Settings,
              clock: Clock) -> str:
    """The link a person can paste (a short id standing for the signed token)."""
    short = shorten_in(session, kind="offer", target_id=offer.id, now=clock.now(),
                       token=offer_token(offer, settings=settings, clock=clock),
                       expires_at=offer.expires_at)
    return f"{settings.base_url.rstrip('/')}/o/{short}"


def _sent(offer: OfferView, *, store: Store, settings: Settings, clock: Clock,
          created: bool) -> SentOffer:
    with store.transaction() as session:
        url = offer_url(session, offer, settings=settings, clock=clock)
    return SentOffer(offer=offer, url=url, created=created)


def _offer_by_key(store: Store, rep_id: int, key: str) -> OfferView | None:
    with store.reading() as session:
        offer = session.scalar(select(Offer).where(Offer.rep_id == rep_id,
                                                   Offer.idempotency_key == key))
        return None if offer is None else OfferView.from_row(offer)


def accept_offer(token: str, start: datetime, *, store: Store, calendars: Calendars,
                 clock: Clock, settings: Settings, jobs: Jobs) -> FollowUpView:
    """The prospect picks a held slot: the link is consumed, the other holds released and
    the follow-up booked, all in one transaction. Once the follow-up it booked is cancelled
    the link books again, among its times still free: nothing holds them any more, so the
    pick is checked afresh (the calendars here, the reservations in the transaction)."""
    now = clock.now()
    token = expand(store, token, kind="offer", now=now)
    offer = _bookable_offer(store, read_offer_token(token, settings=settings, clock=clock), now)
    again = offer.status == OfferStatus.ACCEPTED
    chosen = next((h for h in offer.holds
                   if h.start == start and (again or h.released_at is None)), None)
    if chosen is None:
        # Its hold may have been released by a racing pick of this link: say that instead.
        _bookable_offer(store, offer.id, now)
        raise InvalidInput("that time is not one of the offered slots", field="start")
    meeting = _meeting(offer, chosen, *_people(store, offer))
    if again and _too_soon(meeting, settings=settings, now=now):
        raise InvalidInput("that time is too soon now; pick another", field="start")
    try:
        ensure_free(meeting, calendars=calendars, settings=settings)
    except SlotTaken:
        # A racing click may have booked this very link a moment ago: say that instead.
        _bookable_offer(store, offer.id, now)
        raise
    invite = not calendars.sends_own_invites(meeting.rep)

    def consume(session: Session) -> FollowUpView:
        locked = session.get(Offer, offer.id, with_for_update={"of": Offer})
        cancelled = _followup_cancelled(session, locked)
        _ensure_open(locked, now, followup_cancelled=cancelled)
        step = offer_transition(locked.status, OfferChange.ACCEPT,
                                followup_cancelled=cancelled)
        locked.status = step.target
        release_holds(session, offer.id, now=now)
        followup = insert_followup(session, meeting, settings=settings, now=now, via="offer",
                                   invite=invite, offer_id=offer.id)
        append(session, step.log_kind, at=now, rep_id=offer.rep_id, followup_id=followup.id,
               offer_id=offer.id, start=iso_utc(chosen.start))
        outbox.enqueue_rep_notice(session, followup, what="picked", now=now)
        return FollowUpView.from_row(followup)

    try:
        followup = store.retrying(consume)
    except IntegrityError:
        raise SlotTaken("that time was just taken", field="start") from None
    jobs.kick()
    return followup


def reschedule_choices(followup: FollowUpView, *, store: Store, calendars: Calendars, clock: Clock,
                       settings: Settings, count: int = 5) -> list[Interval]:
    """The times a prospect may move their follow-up to: what a proposal for the same people
    and length offers now (the rep's hours, the prospect's daytime), its own time excepted."""
    minutes = int((followup.end - followup.start) / timedelta(minutes=1))
    proposal = propose_slots(
        ProposalRequest(prospect=prospect_of(followup.prospect), step_type=followup.step_type,
                        duration_minutes=minutes, helpers=[h.email for h in followup.helpers],
                        count=count + 1),
        rep=_rep(store, followup.rep_id), store=store, calendars=calendars, clock=clock,
        settings=settings)
    return [slot for slot in proposal.slots if slot.start != followup.start][:count]


def reschedule_by_prospect(followup_id: str, start: datetime, *, store: Store,
                           calendars: Calendars, clock: Clock, settings: Settings,
                           jobs: Jobs) -> FollowUpView:
    """The prospect moves their follow-up, but only to a time Nextstep would propose: the
    page has no account behind it, so it must not book the rep at 3 a.m. or on a Sunday.
    Checked against a wider list than the page shows, so a slot taken meanwhile elsewhere
    does not push the prospect's pick out of the list."""
    current = get_followup_or_raise(store, followup_id)
    if current.status in LIVE:
        allowed = reschedule_choices(current, store=store, calendars=calendars, clock=clock,
                                     settings=settings, count=RESCHEDULE_CHECKED)
        if all(slot.start != start for slot in allowed):
            raise InvalidInput("that time is no longer offered; pick another", field="start")
    return reschedule_followup(followup_id, start, actor="prospect", viewer=PROSPECT, store=store,
                               calendars=calendars, clock=clock, settings=settings, jobs=jobs)


def withdraw_offer(offer_id: str, *, rep_id: int, store: Store, clock: Clock) -> OfferView:
    now = clock.now()
    with store.transaction() as session:
        offer = session.get(Offer, offer_id, with_for_update={"of": Offer})
        if offer is None or not Viewer.rep(rep_id).may_see(offer.rep_id):
            raise NotFound("no such offer", field="id")
        step = offer_transition(offer.status, OfferChange.WITHDRAW,
                                followup_cancelled=_followup_cancelled(session, offer))
        if step is not None:  # withdrawing an offer that ended already changes nothing
            offer.status = step.target
            release_holds(session, offer_id, now=now)
            append(session, step.log_kind, at=now, rep_id=rep_id, offer_id=offer_id)
    return get_offer_or_raise(store, offer_id)


def expire_offers(*, store: Store, clock: Clock) -> int:
    """Open offers past their expiry: marked expired, their holds released, logged."""
    now = clock.now()
    with store.transaction() as session:
        offers = session.scalars(select(Offer).where(Offer.status == OfferStatus.OPEN,
                                                     Offer.expires_at <= now)).all()
        for offer in offers:
            step = offer_transition(offer.status, OfferChange.EXPIRE)
            offer.status = step.target
            release_holds(session, offer.id, now=now)
            append(session, step.log_kind, at=now, rep_id=offer.rep_id, offer_id=offer.id)
    return len(offers)


def open_offer_or_raise(token: str, *, store: Store, settings: Settings,
                        clock: Clock) -> OfferView:
    """The offer a link shows: BadToken, OfferExpired or OfferUsed when it cannot book (an
    accepted one can again once its follow-up is cancelled)."""
    token = expand(store, token, kind="offer", now=clock.now())
    return _bookable_offer(store, read_offer_token(token, settings=settings, clock=clock),
                           clock.now())


def offered_slots(offer: OfferView, *, store: Store, calendars: Calendars, clock: Clock,
                  settings: Settings) -> list[Interval]:
    """The times a bookable offer's page shows: its holds while it is open; once the
    follow-up it booked is cancelled (the holds released with the pick), those of its
    times still free, each checked against the calendars and the reservations as a pick
    would be, and far enough ahead for everyone's notice."""
    if offer.status == OfferStatus.OPEN:
        return open_slots(offer)
    now = clock.now()
    rep, helpers = _people(store, offer)
    free = []
    for hold in offer.holds:
        meeting = _meeting(offer, hold, rep, helpers)
        if _too_soon(meeting, settings=settings, now=now):
            continue
        try:
            with store.reading() as session:
                check_no_clash(session, meeting, settings=settings, now=now,
                               ignore_offer=offer.id)
            ensure_free(meeting, calendars=calendars, settings=settings)
        except SlotTaken:
            continue
        free.append(Interval(hold.start, hold.end))
    return free


def rebook_token(followup: FollowUpView, *, store: Store, settings: Settings,
                 clock: Clock) -> str | None:
    """The short id of the offer link a cancelled follow-up was booked through, while that
    link may book again, so the cancelled page leads back to the times still free."""
    if followup.offer_id is None or followup.status != Status.CANCELLED:
        return None
    try:
        offer = _bookable_offer(store, followup.offer_id, clock.now())
    except (OfferUsed, OfferExpired):
        return None
    with store.transaction() as session:
        return shorten_in(session, kind="offer", target_id=offer.id, now=clock.now(),
                          token=offer_token(offer, settings=settings, clock=clock),
                          expires_at=offer.expires_at)


def get_offer_followup(store: Store, offer_id: str) -> FollowUpView | None:
    """The follow-up booked from this offer, so a re-opened link lands on it: the one that
    stands, else the last cancelled."""
    with store.reading() as session:
        followup = session.scalar(select(FollowUp).where(FollowUp.offer_id == offer_id)
                                  .order_by(FollowUp.status == Status.CANCELLED,
                                            FollowUp.created_at.desc()).limit(1))
        return None if followup is None else FollowUpView.from_row(followup)


def get_offer_or_raise(store: Store, offer_id: str) -> OfferView:
    with store.reading() as session:
        offer = session.get(Offer, offer_id)
        if offer is None:
            raise NotFound("no such offer", field="token")
        return OfferView.from_row(offer)


def open_slots(offer: OfferView) -> list[Interval]:
    return [Interval(h.start, h.end) for h in offer.holds if h.released_at is None]


def _ensure_apart(starts: list[datetime], duration: timedelta) -> None:
    """Offered slots are alternatives: two that overlap would hold the same time twice."""
    order = sorted(range(len(starts)), key=lambda i: starts[i])
    for before, after in pairwise(order):
        if starts[after] < starts[before] + duration:
            raise InvalidInput("this slot overlaps another offered slot",
                               field=f"slots.{after}")


def _rep(store: Store, rep_id: int) -> User:
    """The rep as the services take one (working hours and preferences included)."""
    rep = get_user(store, rep_id)
    if rep is None:
        raise NotFound("no such rep", field="rep")
    return rep


def _people(store: Store, offer: OfferView) -> tuple[User, list[User]]:
    """The offer's rep and helpers, for the meeting a pick would book."""
    rep = _rep(store, offer.rep_id)
    return rep, resolve_helpers(store, offer.helper_emails, rep=rep)


def _meeting(offer: OfferView, hold: HoldView, rep: User, helpers: list[User]) -> Meeting:
    return Meeting(rep=rep, helpers=helpers, prospect=prospect_of(offer.prospect),
                   start=hold.start, end=hold.end, title=offer.title,
                   step_type=offer.step_type, plan=plan_from_dict(offer.plan))


def _too_soon(meeting: Meeting, *, settings: Settings, now: datetime) -> bool:
    notice = max(preferences_of(p, settings).min_notice for p in meeting.people)
    return meeting.start < now + notice


def _followup_cancelled(session: Session, offer: Offer) -> bool:
    """Whether the offer was accepted and every follow-up it booked is cancelled (an open
    one booked none: no query)."""
    if offer.status != OfferStatus.ACCEPTED:
        return False
    statuses = set(session.scalars(select(FollowUp.status)
                                   .where(FollowUp.offer_id == offer.id)))
    return statuses == {Status.CANCELLED}


def _bookable_offer(store: Store, offer_id: str, now: datetime) -> OfferView:
    with store.reading() as session:
        row = session.get(Offer, offer_id)
        if row is None:
            raise NotFound("no such offer", field="token")
        cancelled = _followup_cancelled(session, row)
        offer = OfferView.from_row(row)
    _ensure_open(offer, now, followup_cancelled=cancelled)
    return offer


def _ensure_open(offer: Offer | OfferView, now: datetime, *,
                 followup_cancelled: bool = False) -> None:
    """Refuse, with the reason the prospect should read, an offer that cannot book now."""
    if offer_transition(offer.status, OfferChange.ACCEPT,
                        followup_cancelled=followup_cancelled) is None:
        if offer.status == OfferStatus.ACCEPTED:
            raise OfferUsed("this link has already booked a meeting", field="token")
        if offer.status == OfferStatus.WITHDRAWN:
            raise OfferExpired("the rep withdrew this offer", field="token")
    if offer.status == OfferStatus.EXPIRED or offer.expires_at <= now:
        raise OfferExpired("this offer has expired; ask for a new one", field="token")
