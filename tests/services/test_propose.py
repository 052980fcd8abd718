"""Proposals: three good slots that fit everyone, holds and bookings excluded."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from scheduler.booking import book_followup, propose_slots
from scheduler.providers.local import LocalCalendar
from scheduler.reservations import add_reservations
from scheduler.store.models import Hold, Offer, Prospect
from tests.services.helpers import booking, proposal


@pytest.fixture
def rep(make_rep):
    return make_rep("riley@example.com", name="Riley Rivera", timezone="America/New_York")


def _deps(runtime):
    deps = runtime.deps()
    deps.pop("jobs")
    return deps


def test_three_slots_on_different_days_inside_everyones_hours(runtime, rep, make_rep):
    make_rep("sam@example.com", name="Sam", timezone="Europe/London")

    result = propose_slots(proposal(helpers=["sam@example.com"]), rep=rep, **_deps(runtime))

    assert len(result.slots) == 3
    days = {slot.start.astimezone(ZoneInfo("America/Los_Angeles")).date()
            for slot in result.slots}
    assert len(days) == 3
    for slot in result.slots:
        new_york = slot.start.astimezone(ZoneInfo("America/New_York"))
        london_end = slot.end.astimezone(ZoneInfo("Europe/London"))
        los_angeles = slot.start.astimezone(ZoneInfo("America/Los_Angeles"))
        assert new_york.hour >= 9 and london_end.hour * 60 + london_end.minute <= 17 * 60
        assert los_angeles.hour >= 8
        assert slot.start >= runtime.clock.now() + timedelta(minutes=30)


def test_busy_time_and_booked_followups_are_never_proposed(runtime, rep):
    first = propose_slots(proposal(count=1), rep=rep, **_deps(runtime)).slots[0]
    LocalCalendar(runtime.store).add_busy(rep.email, first.start, first.end)

    second = propose_slots(proposal(count=1), rep=rep, **_deps(runtime)).slots[0]
    book_followup(booking(second.start), rep=rep, **runtime.deps())
    third = propose_slots(proposal(count=1), rep=rep, **_deps(runtime)).slots[0]

    assert first.start < second.start < third.start
    assert not second.overlaps(first) and not third.overlaps(second)


def test_a_held_slot_is_not_proposed_to_others(runtime, rep):
    first = propose_slots(proposal(count=1), rep=rep, **_deps(runtime)).slots[0]
    now = runtime.clock.now()
    with runtime.store.transaction() as session:
        prospect = Prospect(email="x@example.com", name="X", timezone="UTC", created_at=now)
        session.add(prospect)
        session.flush()
        offer = Offer(rep_id=rep.id, prospect_id=prospect.id, title="t", step_type="meeting",
                      duration_minutes=30, plan={}, expires_at=now + timedelta(hours=1),
                      created_at=now)
        session.add(offer)
        session.flush()
        hold = Hold(offer_id=offer.id, start=first.start, end=first.end,
                    expires_at=offer.expires_at)
        session.add(hold)
        session.flush()
        add_reservations(session, [rep.id], start=first.start, end=first.end, hold_id=hold.id)

    held = propose_slots(proposal(count=1), rep=rep, **_deps(runtime)).slots[0]
    runtime.clock.advance(timedelta(hours=1, minutes=1))  # the hold has expired
    after_expiry = propose_slots(proposal(count=1), rep=rep, **_deps(runtime)).slots[0]

    assert not held.overlaps(first)
    assert after_expiry == first


def test_an_unreadable_calendar_is_reported_not_hidden(runtime, rep):
    from scheduler.store.models import Connection

    key_id, token = runtime.calendars.cipher.encrypt({"token": "x"})
    with runtime.store.transaction() as session:
        session.add(Connection(user_id=rep.id, provider="google", account=rep.email,
                               status="active", credentials=token, key_id=key_id,
                               busy_calendars=[], created_at=runtime.clock.now()))

    result = propose_slots(proposal(), rep=rep, **_deps(runtime))

    assert result.warnings and "riley@example.com" in result.warnings[0]
