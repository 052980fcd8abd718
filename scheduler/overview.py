"""What a rep has to follow through on, for the log page: upcoming follow-ups, plan steps
due or overdue, and calls that ended with no next step. Reading only, every query bounded."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from scheduler.access import Viewer, visible
from scheduler.clock import Clock, iso_utc
from scheduler.events import AnyFollowUp, display_names, plan_of
from scheduler.lifecycle import LIVE, Status
from scheduler.log import LogRecord, about_prospect, prospect_matches
from scheduler.outbox import InviteDelivery, invite_deliveries
from scheduler.plans import due_label, step_sentences
from scheduler.readmodels import FollowUpView
from scheduler.store import Store
from scheduler.store.models import FollowUp, LogEntry, Prospect, Step, User


@dataclass(frozen=True)
class PlanStep:
    """A step as the invite words it, with its place in the plan for "mark done"."""

    index: int
    sentence: str
    done: bool


@dataclass(frozen=True)
class FollowUpSummary:
    """Who and when a log entry is about, in words a person reads (page and CSV)."""

    id: str
    prospect_name: str
    prospect_email: str
    start: datetime
    steps: tuple[PlanStep, ...]


@dataclass(frozen=True)
class UpcomingFollowUp:
    id: str
    title: str
    start: datetime
    prospect_name: str
    prospect_email: str
    prospect_timezone: str
    rep_name: str
    rep_timezone: str
    invite: InviteDelivery | None = None
    steps: tuple[PlanStep, ...] = ()


@dataclass(frozen=True)
class DueStep:
    followup_id: str
    index: int
    what: str
    owner: str  # a name: the rep's, the prospect's or a colleague's (else the email)
    due_date: date
    due_at: datetime | None  # set when the step was given a time, not just a day
    due_label: str  # the day, 'Mon 23 Nov'
    prospect_name: str
    stalled: bool
    sentence: str = ""  # the step as the invite words it


@dataclass(frozen=True)
class CallWithoutNextStep:
    at: datetime
    prospect_email: str
    prospect_name: str | None
    reason: str


@dataclass(frozen=True)
class FollowThrough:
    upcoming: list[UpcomingFollowUp]
    steps_due: list[DueStep]
    calls_without_next_step: list[CallWithoutNextStep]


def follow_through(rep: User, *, store: Store, clock: Clock,
                   prospect: str | None = None) -> FollowThrough:
    """The three lists above the log, for one rep; "today" is the rep's own day."""
    now, viewer = clock.now(), Viewer.rep(rep.id)
    return FollowThrough(
        upcoming=upcoming_followups(store, viewer=viewer, now=now, prospect=prospect),
        steps_due=steps_due(store, viewer=viewer, prospect=prospect,
                            today=now.astimezone(ZoneInfo(rep.timezone)).date()),
        calls_without_next_step=calls_without_next_step(store, viewer=viewer,
                                                        prospect=prospect))


def upcoming_followups(store: Store, *, viewer: Viewer, now: datetime,
                       prospect: str | None = None, limit: int = 20) -> list[UpcomingFollowUp]:
    """The rep's live follow-ups starting from now on, soonest first."""
    query = (select(FollowUp).join(Prospect, FollowUp.prospect_id == Prospect.id)
             .where(visible(FollowUp.rep_id, viewer), FollowUp.start >= now,
                    FollowUp.status.in_(LIVE))
             .order_by(FollowUp.start, FollowUp.id).limit(limit))
    if prospect:
        query = query.where(prospect_matches(prospect))
    with store.reading() as session:
        followups = [FollowUpView.from_row(f) for f in session.scalars(query)]
    invites = invite_deliveries(store, [f.id for f in followups])
    return [UpcomingFollowUp(id=f.id, title=f.title, start=f.start,
                             prospect_name=f.prospect.name, prospect_email=f.prospect.email,
                             prospect_timezone=f.prospect.timezone, rep_name=f.rep.name,
                             rep_timezone=f.rep.timezone, invite=invites.get(f.id),
                             steps=plan_steps(f))
            for f in followups]


def steps_due(store: Store, *, viewer: Viewer, today: date, prospect: str | None = None,
              limit: int = 50) -> list[DueStep]:
    """Steps of the rep's follow-ups not done by `today` (the rep's own day) or earlier,
    oldest first. A cancelled follow-up owes nothing."""
    query = (select(Step, FollowUp).join(FollowUp, Step.followup_id == FollowUp.id)
             .join(Prospect, FollowUp.prospect_id == Prospect.id)
             .where(visible(FollowUp.rep_id, viewer), FollowUp.status != Status.CANCELLED,
                    Step.done_at.is_(None), Step.due_date <= today)
             .order_by(Step.due_date, Step.id).limit(limit))
    if prospect:
        query = query.where(prospect_matches(prospect))
    with store.reading() as session:
        rows = session.execute(query).all()
        emails = {step.who for step, _ in rows if "@" in step.who}
        names = dict(session.execute(select(User.email, User.name)
                                     .where(User.email.in_(emails))).all()) if emails else {}
        sentences = {followup.id: {step.index: step.sentence for step in plan_steps(followup)}
                     for _, followup in rows}
        return [DueStep(followup_id=followup.id, index=step.position, what=step.what,
                        owner=_owner(step.who, followup, names), due_date=step.due_date,
                        due_at=step.due_at, due_label=due_label(step.due_date),
                        prospect_name=followup.prospect.name,
                        stalled=step.stalled_at is not None,
                        sentence=sentences[followup.id][step.position])
                for step, followup in rows]


def calls_without_next_step(store: Store, *, viewer: Viewer, prospect: str | None = None,
                            limit: int = 20) -> list[CallWithoutNextStep]:
    """Calls the rep ended on purpose with no next step, newest first."""
    query = (select(LogEntry, Prospect.name)
             .outerjoin(Prospect, Prospect.email == LogEntry.data["prospect"].as_string())
             .where(visible(LogEntry.rep_id, viewer), LogEntry.kind == "call.no_next_step")
             .order_by(LogEntry.id.desc()).limit(limit))
    if prospect:
        query = query.where(about_prospect(prospect))
    with store.reading() as session:
        return [CallWithoutNextStep(at=entry.at, prospect_email=str(entry.data.get("prospect")),
                                    prospect_name=name, reason=entry.data.get("reason") or "")
                for entry, name in session.execute(query)]


def _owner(who: str, followup: FollowUp, names: dict[str, str]) -> str:
    if who == "rep":
        return followup.rep.name
    if who == "prospect":
        return followup.prospect.name
    return names.get(who, who)


def plan_steps(followup: AnyFollowUp) -> tuple[PlanStep, ...]:
    sentences = step_sentences(plan_of(followup), display_names(followup))
    return tuple(PlanStep(index=row.position, sentence=sentence, done=row.done_at is not None)
                 for row, sentence in zip(followup.steps, sentences, strict=True))


def followup_summaries(store: Store, ids: set[str], *,
                       viewer: Viewer) -> dict[str, FollowUpSummary]:
    """The rep's follow-ups named by log entries, one query for the whole page."""
    if not ids:
        return {}
    with store.reading() as session:
        followups = session.scalars(select(FollowUp).where(FollowUp.id.in_(list(ids)),
                                                           visible(FollowUp.rep_id,
                                                                   viewer))).all()
        return {f.id: FollowUpSummary(id=f.id, prospect_name=f.prospect.name,
                                      prospect_email=f.prospect.email, start=f.start,
                                      steps=plan_steps(f))
                for f in followups}


class ReadableColumns:
    """The CSV's READABLE_COLUMNS for one rep's entries: who the entry is about, when the
    meeting starts (UTC and the rep's zone) and the plan as the invite words it."""

    def __init__(self, store: Store, *, viewer: Viewer, timezone: str) -> None:
        self.store, self.viewer, self.timezone = store, viewer, timezone
        self.summaries: dict[str, FollowUpSummary] = {}
        self.looked_up: set[str] = set()

    def prefetch(self, records: Iterable[LogRecord]) -> None:
        ids = {r.followup_id for r in records if r.followup_id} - self.looked_up
        self.summaries.update(followup_summaries(self.store, ids, viewer=self.viewer))
        self.looked_up |= ids

    def __call__(self, record: LogRecord) -> tuple[str, str, str, str, str]:
        self.prefetch([record])
        summary = self.summaries.get(record.followup_id or "")
        if summary is None:
            named = str(record.data.get("prospect") or "")
            email = named if "@" in named else ""
            return ("" if email else named, email, "", "", "")
        local = summary.start.astimezone(ZoneInfo(self.timezone))
        return (summary.prospect_name, summary.prospect_email, iso_utc(summary.start),
                local.strftime("%Y-%m-%d %H:%M ") + self.timezone,
                "\n".join(f"{n}. {step.sentence}" for n, step in enumerate(summary.steps, 1)))
