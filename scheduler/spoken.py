"""Slots as people say and read them, in their own time zone."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from scheduler.availability import Interval


def ordinal(day: int) -> str:
    suffix = "th" if 11 <= day % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


def local_label(instant: datetime, timezone: str) -> str:
    """Short form for screens and emails: 'Tue 24 Nov 10:00'."""
    local = instant.astimezone(ZoneInfo(timezone))
    return f"{local:%a} {local.day} {local:%b %H:%M}"


def spoken_slot(slot: Interval, timezone: str, *, now: datetime | None = None) -> str:
    """'Tuesday the 24th at 10:00' in the listener's zone; 'today' and 'tomorrow' when `now`
    says so, since that is how people say it on a call."""
    zone = ZoneInfo(timezone)
    local = slot.start.astimezone(zone)
    if now is not None:
        days_ahead = (local.date() - now.astimezone(zone).date()).days
        if days_ahead in (0, 1):
            return f"{'today' if days_ahead == 0 else 'tomorrow'} at {local:%H:%M}"
    return f"{local:%A} the {ordinal(local.day)} at {local:%H:%M}"


def spoken_offer(slots: Sequence[Interval], timezone: str, *, now: datetime | None = None,
                 reason: str | None = None) -> str:
    """One sentence offering every slot, ready to read aloud to the prospect. With none,
    it says why: a calendar that is not full must not be said to be."""
    if not slots and reason == "no_shared_hours":
        return ("My working hours and your day don't overlap; could you do a time early or "
                "late in your day?")
    if not slots:
        return "I don't see a free time in the next few weeks; could you suggest one?"
    phrases = [spoken_slot(slot, timezone, now=now) for slot in slots]
    choice = phrases[0] if len(phrases) == 1 else ", ".join(phrases[:-1]) + " or " + phrases[-1]
    return f"Would {choice} your time work for you?"
