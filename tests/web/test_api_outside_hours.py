"""When the rep's hours and the prospect's daytime never meet: `reason`, `outside_hours` and
`allow_outside_hours` on proposals, offers and bookings."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from tests.web.api_support import book, proposal

TOKYO = {"name": "Kenji Sato", "email": "kenji@hikari.example.com", "timezone": "Asia/Tokyo"}
NEW_YORK, TOKYO_ZONE = ZoneInfo("America/New_York"), ZoneInfo("Asia/Tokyo")


def _local(iso: str, zone: ZoneInfo) -> datetime:
    return datetime.fromisoformat(iso).astimezone(zone)


def test_hours_that_meet_have_no_reason_and_no_marks(api, rep):
    answer = api.post("/proposals", json=proposal()).get_json()

    assert answer["reason"] is None
    assert [slot["outside_hours"] for slot in answer["proposals"]] == [None, None, None]


def test_hours_that_never_meet_are_the_reason_and_the_sentence_says_so(api, rep):
    answer = api.post("/proposals", json=proposal(prospect=TOKYO)).get_json()

    assert answer["proposals"] == [] and answer["reason"] == "no_shared_hours"
    assert "free time" not in answer["spoken"]  # the calendar is empty, not full
    assert "don't overlap" in answer["spoken"]


def test_allowing_outside_hours_offers_the_nearest_marked_slots(api, rep):
    answer = api.post("/proposals", json=proposal(prospect=TOKYO,
                                                  allow_outside_hours=True)).get_json()

    assert answer["reason"] == "no_shared_hours"
    slots = answer["proposals"]
    assert len(slots) == 3
    assert len({_local(s["start"], TOKYO_ZONE).date() for s in slots}) == 3
    for slot in slots:
        start, end = (_local(slot[k], NEW_YORK) for k in ("start", "end"))
        tokyo_start, tokyo_end = (_local(slot[k], TOKYO_ZONE) for k in ("start", "end"))
        if slot["outside_hours"] == "rep":  # the rep stays late, Kenji's morning
            assert tokyo_start.hour >= 8 and tokyo_end.hour < 18
            assert start.hour >= 17 and end <= start.replace(hour=20, minute=0)
        else:  # Kenji early or late, inside the rep's day
            assert slot["outside_hours"] == "prospect"
            assert start.hour >= 9 and end.time() <= end.replace(hour=17, minute=0).time()
    # The nearest: New York's 17:00 is Tokyo's 07:00, so the least stretch is 1.5 h either
    # way (16:30 New York for Kenji, or 18:00-18:30 for the rep); on a tie, the sooner.
    assert {(_local(s["start"], NEW_YORK).strftime("%H:%M"),
             _local(s["start"], TOKYO_ZONE).strftime("%H:%M"), s["outside_hours"])
            for s in slots} == {("16:30", "06:30", "prospect")}


def test_an_outside_hours_slot_is_never_over_busy_time(api, runtime, rep):
    from tests.web.api_support import make_busy

    first = api.post("/proposals", json=proposal(prospect=TOKYO,
                                                 allow_outside_hours=True)).get_json()
    taken = datetime.fromisoformat(first["proposals"][0]["start"])
    make_busy(runtime, rep.email, taken - timedelta(hours=4), minutes=8 * 60)

    again = api.post("/proposals", json=proposal(prospect=TOKYO,
                                                 allow_outside_hours=True)).get_json()

    for slot in again["proposals"]:
        start = datetime.fromisoformat(slot["start"])
        assert not (taken - timedelta(hours=4) <= start < taken + timedelta(hours=4))


def test_an_offer_with_allow_outside_hours_holds_the_marked_slots(api, rep):
    answer = api.post("/offers", json={"prospect": TOKYO, "allow_outside_hours": True,
                                       "plan": {"steps": [{"who": "prospect",
                                                           "what": "send questions",
                                                           "due": "2026-11-27"}]}})

    assert answer.status_code == 201, answer.get_json()
    assert len(answer.get_json()["slots"]) == 3


def test_an_offer_without_it_says_there_is_no_time(api, rep):
    answer = api.post("/offers", json={"prospect": TOKYO,
                                       "plan": {"steps": [{"who": "prospect",
                                                           "what": "send questions",
                                                           "due": "2026-11-27"}]}})

    assert answer.status_code == 409 and answer.get_json()["error"]["field"] == "slots"


def test_a_booking_accepts_allow_outside_hours(api, rep):
    answer = api.post("/proposals", json=proposal(prospect=TOKYO,
                                                  allow_outside_hours=True)).get_json()
    slot = datetime.fromisoformat(answer["proposals"][0]["start"])

    followup = book(api, slot, prospect=TOKYO, allow_outside_hours=True)

    assert followup["start"] == answer["proposals"][0]["start"]


def test_allow_outside_hours_must_be_a_boolean(api, rep):
    answer = api.post("/proposals", json=proposal(allow_outside_hours="sometimes"))

    assert answer.status_code == 422
    assert answer.get_json()["error"]["field"] == "allow_outside_hours"
