"""Demo data: a rep, two helpers, prospects and two weeks of realistic busy time from today.
Safe to run again: people are created once, busy events have stable ids."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from scheduler.accounts import add_user, create_api_token, get_user_by_email, set_password
from scheduler.providers.local import LocalCalendar
from scheduler.requests import ProspectIn
from scheduler.reservations import upsert_prospect
from scheduler.runtime import Nextstep

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
    token = create_api_token(store, REP[0], clock=clock)
    return DemoInfo(email=REP[0], password=DEMO_PASSWORD, token=token, busy_events=count)


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
