"""Demo data: a rep, two helpers, prospects and two weeks of realistic busy time from today,
and a fortnight of history (follow-ups held, declined, moved; steps done, due, overdue and
stalled; a call that ended with no next step) so every list on /log has something on the
first run. Safe to run again: people are created once, busy events have stable ids, and
the history is written only while the rep has no follow-ups."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from scheduler.access import Viewer
from scheduler.accounts import add_user, create_api_token, get_user_by_email, set_password
from scheduler.booking import (
    book_followup,
    end_call_without_next_step,
    mark_steps_done,
    reschedule_followup,
    upsert_prospect,
)
from scheduler.clock import FixedClock
from scheduler.errors import Conflict, InvalidInput
from scheduler.jobs import ManualJobs
from scheduler.providers.base import Attendee, EventChange, EventRef
from scheduler.providers.local import LocalCalendar
from scheduler.requests import BookingRequest, NoNextStep, ProspectIn
from scheduler.runtime import Nextstep
from scheduler.store.models import FollowUp
from scheduler.sync import apply_change, flag_stalled_steps

DEMO_PASSWORD = "nextstep-demo"  # noqa: S105 - printed by `nextstep demo`, demo only
REP = ("riley@example.com", "Riley Rivera", "America/New_York")
HELPERS = (("lee@example.com", "Lee Chen", "America/Chicago"),
           ("sam@example.com", "Sam Okafor", "Europe/London"))
PROSPECTS = (
    ("Dana Whitfield", "dana@acme.example.com", "Acme", "America/Los_Angeles"),
    ("Kenji Sato", "kenji@hikari.example.com", "Hikari", "Asia/Tokyo"),
    ("Priya Nair", "priya@lumen.example.com", "Lumen", "Asia/Kolkata"),
    ("Marta Kowalski", "marta@vistula.example.com", "Vistula", "Europe/Warsaw"),
)
MEETINGS = ("Pipeline review", "Customer call", "1:1", "Team sync", "Deal desk",
            "Onboarding", "Demo prep", "QBR")


@dataclass(frozen=True)
class DemoInfo:
    email: str
    password: str
    token: str
    busy_events: int


def seed_demo(runtime: Nextstep, *, days: int = 14) -> DemoInfo:
    store, clock = runtime.store, runtime.clock
    for email, name, zone in (REP, *HELPERS):
        if get_user_by_email(store, email) is None:
            add_user(email, name=name, timezone=zone, store=store, clock=clock)
    set_password(store, REP[0], DEMO_PASSWORD)
    with store.transaction() as session:
        for name, email, company, zone in PROSPECTS:
            upsert_prospect(session, ProspectIn(name=name, email=email, company=company,
                                                timezone=zone), now=clock.now())
    calendar = LocalCalendar(store)
    today = clock.now().date()
    count = 0
    for email, _name, zone in (REP, *HELPERS):
        for start, end, title in busy_days(email, zone, today, days):
            uid = uuid.uuid5(uuid.NAMESPACE_URL, f"{email}/{start.isoformat()}").hex
            calendar.add_busy(email, start, end, title=title, uid=uid)
            count += 1
    seed_history(runtime)
    token = create_api_token(store, REP[0], clock=clock)
    return DemoInfo(email=REP[0], password=DEMO_PASSWORD, token=token, busy_events=count)


NO_NEXT_STEP = (("Tomás Herrera", "tomas@andes.example.com", "America/Bogota"),
                "Budget frozen until Q2; asked us to check back in April")


def seed_history(runtime: Nextstep) -> None:
    """What a rep's last fortnight looks like, booked through the real services with the
    clock set back, so every entry is one the app itself would have written."""
    store, now = runtime.store, runtime.clock.now()
    rep = get_user_by_email(store, REP[0])
    with store.reading() as session:
        if session.scalar(select(FollowUp.id).where(FollowUp.rep_id == rep.id).limit(1)):
            return
    dana, kenji, priya, marta = (ProspectIn(name=name, email=email, company=company,
                                            timezone=zone)
                                 for name, email, company, zone in PROSPECTS)
    day = timedelta(days=1)

    def at(when: datetime) -> dict:
        # The worker delivers what the history queued once the app runs (jobs come later).
        return {"store": store, "calendars": runtime.calendars, "settings": runtime.settings,
                "jobs": ManualJobs(), "clock": FixedClock(when)}

    def book(prospect: ProspectIn, booked_at: datetime, meeting_day: datetime, title: str,
             steps: list[tuple[str, str, datetime]]) -> FollowUp:
        request = {"prospect": prospect.model_dump(), "title": title, "duration_minutes": 30,
                   "step_type": "proposal_review",
                   "plan": {"steps": [{"who": who, "what": what, "due": _rep_day(due)}
                                      for who, what, due in steps]}}
        for start in _working_slots(meeting_day, REP[2]):
            try:
                return book_followup(BookingRequest.model_validate(
                    {**request, "start": start.isoformat()}), rep=rep, via="demo",
                    **at(booked_at)).followup
            except (Conflict, InvalidInput):
                continue  # that half hour is busy in the demo calendars: try the next
        raise RuntimeError(f"no free demo slot on {meeting_day.date()}")

    # Held a week ago; the prospect did their part, the rep's proposal is overdue (stalled).
    held = book(dana, now - 12 * day, now - 7 * day, "Security review with Acme",
                [("prospect", "send the security questionnaire", now - 5 * day),
                 ("rep", "send the proposal", now - 3 * day)])
    mark_steps_done(held.id, [(0, True)], viewer=Viewer.rep(rep.id), store=store,
                    clock=FixedClock(now - 5 * day))
    # Moved once, and a step due today.
    moved = book(kenji, now - 11 * day, now - 6 * day, "Pricing walkthrough with Hikari",
                 [("rep", "share the pricing sheet", now)])
    for start in _working_slots(now - 4 * day, REP[2]):
        try:
            reschedule_followup(moved.id, start, actor="rep", viewer=Viewer.rep(rep.id),
                                **at(now - 8 * day))
            break
        except (Conflict, InvalidInput):
            continue
    # Declined by the prospect in their calendar.
    declined = book(priya, now - 10 * day, now - 2 * day, "Rollout plan with Lumen",
                    [("prospect", "confirm the rollout date", now - day)])
    apply_change(EventChange(
        ref=EventRef(provider="demo", calendar_id=REP[0], event_id=declined.event_uid),
        status="confirmed", followup_id=declined.id,
        attendees=(Attendee(priya.email, priya.name, response="declined"),)),
        store=store, clock=FixedClock(now - 9 * day))
    # Coming up, with a step for tomorrow.
    book(marta, now - day, now + 3 * day, "Contract review with Vistula",
         [("prospect", "send the redlines", now + day),
          ("rep", "book the legal review", now + 2 * day)])
    (name, email, zone), reason = NO_NEXT_STEP
    end_call_without_next_step(NoNextStep(prospect=ProspectIn(name=name, email=email,
                                                              timezone=zone), reason=reason),
                               rep=rep, store=store, clock=FixedClock(now - 4 * day))
    flag_stalled_steps(store=store, clock=runtime.clock)


def _rep_day(instant: datetime) -> str:
    return instant.astimezone(ZoneInfo(REP[2])).date().isoformat()


def _working_slots(day: datetime, zone: str) -> list[datetime]:
    """The half hours of a working day (moved to the Monday after a weekend), 10:00-16:30."""
    local = day.astimezone(ZoneInfo(zone)).date()
    while local.weekday() >= 5:
        local += timedelta(days=1)
    return [datetime.combine(local, time(hour, minute), ZoneInfo(zone))
            for hour in range(10, 17) for minute in (0, 30)]


def busy_days(email: str, zone: str, today: date,
              days: int = 14) -> list[tuple[datetime, datetime, str]]:
    """The person's busy time from yesterday to `days` ahead (the demo's calendars)."""
    return [busy for offset in range(-1, days + 1)
            for busy in busy_day(email, today + timedelta(days=offset), zone)]


def busy_day(email: str, day: date, zone: str) -> list[tuple[datetime, datetime, str]]:
    """A plausible working day: a stand-up, lunch most days, and a few meetings; the same
    for the same person and date every time."""
    if day.weekday() >= 5:
        return []
    rng = random.Random(f"{email}/{day.isoformat()}")
    tz = ZoneInfo(zone)

    def at(hour: int, minute: int = 0) -> datetime:
        return datetime.combine(day, time(hour, minute), tz)

    events = {at(9, 30): (at(9, 45), "Stand-up")}
    if rng.random() < 0.7:
        events[at(12)] = (at(13), "Lunch")
    for _ in range(rng.randint(1, 4)):
        start = at(rng.randint(10, 16), rng.choice((0, 30)))
        # One event per start: the event id derives from it.
        events.setdefault(start, (start + timedelta(minutes=rng.choice((30, 30, 60))),
                                  rng.choice(MEETINGS)))
    return sorted((start, end, title) for start, (end, title) in events.items())
