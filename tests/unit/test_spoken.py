"""What the rep reads aloud: the prospect's own day and clock, 'today' and 'tomorrow' as
people say them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from scheduler.availability import Interval
from scheduler.spoken import local_label, spoken_offer, spoken_slot

# Monday 23 Nov 2026, 14:00 UTC: already Tuesday 24th 00:30 in Adelaide (UTC+10:30).
NOW = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)


def slot(start: datetime) -> Interval:
    return Interval(start, start + timedelta(minutes=30))


@pytest.mark.parametrize(("start", "zone", "said"), [
    (datetime(2026, 11, 24, 15, tzinfo=UTC), "America/New_York", "tomorrow at 10:00"),
    (datetime(2026, 11, 23, 20, tzinfo=UTC), "America/New_York", "today at 15:00"),
    (datetime(2026, 11, 25, 15, tzinfo=UTC), "America/New_York", "Wednesday the 25th at 10:00"),
    # Same instant, different listeners: Adelaide's "today" is UTC's tomorrow.
    (datetime(2026, 11, 23, 22, 30, tzinfo=UTC), "Australia/Adelaide", "today at 09:00"),
    (datetime(2026, 11, 23, 22, 30, tzinfo=UTC), "America/Los_Angeles", "today at 14:30"),
    (datetime(2026, 12, 1, 9, tzinfo=UTC), "Asia/Tokyo", "Tuesday the 1st at 18:00"),
])
def test_slots_are_said_in_the_listeners_day_and_clock(start, zone, said):
    assert spoken_slot(slot(start), zone, now=NOW) == said


def test_without_a_clock_the_weekday_and_date_are_said():
    assert spoken_slot(slot(datetime(2026, 11, 24, 15, tzinfo=UTC)), "America/New_York") == (
        "Tuesday the 24th at 10:00")


@pytest.mark.parametrize(("day", "suffix"), [(1, "st"), (2, "nd"), (3, "rd"), (4, "th"),
                                             (11, "th"), (12, "th"), (13, "th"), (21, "st"),
                                             (22, "nd"), (23, "rd"), (31, "st")])
def test_ordinals_follow_english(day, suffix):
    start = datetime(2027, 1, day, 15, tzinfo=UTC)
    assert spoken_slot(slot(start), "UTC").endswith(f"the {day}{suffix} at 15:00")


def test_one_sentence_offers_every_slot_with_or_before_the_last():
    starts = [datetime(2026, 11, 24, 15, tzinfo=UTC), datetime(2026, 11, 25, 19, tzinfo=UTC),
              datetime(2026, 11, 27, 14, tzinfo=UTC)]
    sentence = spoken_offer([slot(s) for s in starts], "America/New_York", now=NOW)
    assert sentence == ("Would tomorrow at 10:00, Wednesday the 25th at 14:00 or Friday the "
                        "27th at 09:00 your time work for you?")


def test_no_slot_asks_the_prospect_for_a_time():
    assert "suggest" in spoken_offer([], "UTC")


def test_the_short_label_is_in_the_given_zone():
    assert local_label(datetime(2026, 11, 24, 15, tzinfo=UTC), "Europe/Berlin") == (
        "Tue 24 Nov 16:00")
