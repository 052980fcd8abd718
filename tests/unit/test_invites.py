"""The .ics and the invite email, read back with the same libraries a client would use."""

from __future__ import annotations

import os
import re
from dataclasses import replace
from datetime import UTC, datetime
from email import policy
from email.parser import BytesParser
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from scheduler.invites import (
    FileMailer,
    SmtpMailer,
    build_ics,
    invite_message,
    mailer_from_settings,
    x_property_name,
)
from scheduler.providers.base import FOLLOWUP_ID_PROPERTY, PLAN_PROPERTY, Attendee, CalendarEvent
from scheduler.settings import settings_from

GOLDEN = Path(__file__).parents[1] / "data" / "invite_request.ics"
STAMP = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)
TRICKY_NAME = "Zoë O'Brien, CFO; Acme: EU\nLine2 \"the boss\""
DESCRIPTION = ("1. Zoë (Acme) will send the security questionnaire by Fri 27 Nov\n"
               "2. Riley will send the proposal by Mon 30 Nov, with help from Lee; then call\n"
               "\n"
               "Reschedule or cancel: https://nextstep.test/f/abc?x=1,2")
PLAN_JSON = '{"steps": [{"what": "send the proposal, v2; final", "who": "rep"}]}'


def make_event(**overrides) -> CalendarEvent:
    values = dict(
        uid="5f1c0e6a2b3d4e5f8a9b0c1d2e3f4a5b", calendar_id="riley@example.com",
        start=datetime(2026, 11, 24, 15, 0, tzinfo=UTC),
        end=datetime(2026, 11, 24, 15, 30, tzinfo=UTC),
        title="Proposal review: Zoë O'Brien (Acme) and Riley Rivera",
        description=DESCRIPTION,
        organizer=Attendee("riley@example.com", "Riley Rivera", response="accepted"),
        attendees=(Attendee("zoe@acme.example.com", TRICKY_NAME),
                   Attendee("lee@example.com", "Lee Chen", optional=True,
                            response="tentative")),
        properties={FOLLOWUP_ID_PROPERTY: "fu_123", PLAN_PROPERTY: PLAN_JSON},
        sequence=2, timezone="America/New_York")
    values.update(overrides)
    return CalendarEvent(**values)


def parsed(event: CalendarEvent | None = None, method: str = "REQUEST") -> Calendar:
    return Calendar.from_ical(build_ics(event or make_event(), method=method, stamp=STAMP))


def test_a_request_carries_method_uid_sequence_and_status():
    calendar = parsed()
    event = calendar.events[0]
    assert (str(calendar["METHOD"]), str(calendar["PRODID"]), str(calendar["VERSION"])) == (
        "REQUEST", "-//Nextstep//Nextstep//EN", "2.0")
    assert len(calendar.events) == 1
    assert (str(event["UID"]), event["SEQUENCE"], str(event["STATUS"])) == (
        "5f1c0e6a2b3d4e5f8a9b0c1d2e3f4a5b", 2, "CONFIRMED")
    assert event.stamp == STAMP


def test_a_cancel_says_cancelled():
    calendar = parsed(method="CANCEL")
    assert (str(calendar["METHOD"]), str(calendar.events[0]["STATUS"])) == (
        "CANCEL", "CANCELLED")


def test_other_methods_are_refused():
    with pytest.raises(ValueError, match="REQUEST, CANCEL"):
        build_ics(make_event(), method="PUBLISH")


def test_times_are_in_the_organizers_zone_with_its_vtimezone():
    calendar = parsed()
    event = calendar.events[0]
    assert event.start.tzinfo.key == "America/New_York"  # type: ignore[union-attr]
    assert (event.start.hour, event.end.minute) == (10, 30)
    assert (event.start, event.end) == (make_event().start, make_event().end)
    assert event["DTSTART"].params["TZID"] == "America/New_York"
    assert [zone.tz_name for zone in calendar.timezones] == ["America/New_York"]
    assert calendar.get_missing_tzids() == set()


def test_a_utc_organizer_needs_no_vtimezone():
    calendar = parsed(make_event(timezone="UTC"))
    assert calendar.timezones == []
    assert calendar.events[0].start == make_event().start


def test_an_unknown_zone_or_naive_time_is_refused():
    with pytest.raises(ValueError, match="Mars/Olympus"):
        build_ics(make_event(timezone="Mars/Olympus"), method="REQUEST")
    with pytest.raises(ValueError, match="aware"):
        build_ics(make_event(start=datetime(2026, 11, 24, 15)), method="REQUEST")


def test_organizer_and_attendees_keep_names_roles_and_answers():
    event = parsed().events[0]
    organizer = event["ORGANIZER"]
    assert (str(organizer), organizer.params["CN"]) == ("mailto:riley@example.com",
                                                       "Riley Rivera")
    rows = [(str(a), a.params["CN"], a.params["ROLE"], a.params["PARTSTAT"], a.params["RSVP"])
            for a in event.attendees]
    assert rows == [
        ("mailto:zoe@acme.example.com", "Zoë O'Brien, CFO; Acme: EU Line2 \"the boss\"",
         "REQ-PARTICIPANT", "NEEDS-ACTION", "TRUE"),
        ("mailto:lee@example.com", "Lee Chen", "OPT-PARTICIPANT", "TENTATIVE", "TRUE"),
    ]


@pytest.mark.parametrize(("response", "partstat"), [
    ("needsAction", "NEEDS-ACTION"), ("accepted", "ACCEPTED"), ("declined", "DECLINED"),
    ("tentative", "TENTATIVE"), ("something-new", "NEEDS-ACTION")])
def test_responses_map_to_partstat(response, partstat):
    event = parsed(make_event(attendees=(Attendee("a@example.com", "A", response=response),)))
    assert event.events[0].attendees[0].params["PARTSTAT"] == partstat


@pytest.mark.parametrize("name", [
    "O'Brien, Zoë", "Acme; EU", "Acme: EU", 'Dana "DW" Whitfield', "Ünïcødé 名前",
    "Comma, semi; colon: quote\" all"])
def test_awkward_names_survive_the_round_trip(name):
    event = parsed(make_event(organizer=Attendee("riley@example.com", name),
                              attendees=(Attendee("zoe@acme.example.com", name),))).events[0]
    assert event["ORGANIZER"].params["CN"] == name
    assert event.attendees[0].params["CN"] == name


def test_line_breaks_in_names_become_spaces_in_cn_only():
    event = parsed(make_event(title="Zoë\nand Riley")).events[0]
    assert event.attendees[0].params["CN"] == "Zoë O'Brien, CFO; Acme: EU Line2 \"the boss\""
    assert str(event["SUMMARY"]) == "Zoë\nand Riley"


def test_description_keeps_its_line_breaks_and_punctuation():
    event = parsed().events[0]
    assert str(event["DESCRIPTION"]) == DESCRIPTION


def test_event_properties_become_x_properties_that_read_back_intact():
    event = parsed().events[0]
    assert str(event["X-NEXTSTEP-FOLLOWUP-ID"]) == "fu_123"
    assert str(event["X-NEXTSTEP-PLAN"]) == PLAN_JSON


@pytest.mark.parametrize(("key", "name"), [
    ("nextstep_followup_id", "X-NEXTSTEP-FOLLOWUP-ID"), ("nextstep_plan", "X-NEXTSTEP-PLAN"),
    ("x-crm-id", "X-CRM-ID")])
def test_property_keys_become_x_names(key, name):
    assert x_property_name(key) == name


def test_a_property_key_that_cannot_be_a_name_is_refused():
    with pytest.raises(ValueError, match="cannot be"):
        x_property_name("plan: v2")


def normalised(ics: bytes) -> str:
    """LF line ends (so git settings cannot break the comparison) and no DTSTAMP."""
    text = ics.decode("utf-8").replace("\r\n", "\n")
    return re.sub(r"^DTSTAMP:\d{8}T\d{6}Z$", "DTSTAMP:<normalised>", text, flags=re.M)


def test_the_request_matches_the_golden_file():
    """A change in the .ics shows in review as a change to tests/data/invite_request.ics;
    regenerate with NEXTSTEP_UPDATE_GOLDEN=1 when the change is intended."""
    ics = build_ics(make_event(), method="REQUEST")
    current = normalised(ics)
    if os.environ.get("NEXTSTEP_UPDATE_GOLDEN") == "1":
        GOLDEN.write_text(current, encoding="utf-8", newline="\n")
    assert current == normalised(GOLDEN.read_bytes())
    assert ics.count(b"\r\n") == ics.count(b"\n")  # RFC 5545 lines end in CRLF


# The email

def read(message) -> object:
    """As a mail client would receive it."""
    return BytesParser(policy=policy.default).parsebytes(message.as_bytes())


def test_the_invite_mail_has_text_calendar_and_attachment():
    message = read(invite_message(make_event(), method="REQUEST",
                                  to=Attendee("zoe@acme.example.com", TRICKY_NAME),
                                  sender="Nextstep <nextstep@nextstep.test>",
                                  subject="Invitation: Proposal review — Tue 24 Nov",
                                  text="Riley invites you.\nSee you then, Zoë.",
                                  html="<p>Riley invites you.</p>", now=STAMP))

    assert message.get_content_type() == "multipart/mixed"
    alternative, attachment = message.iter_parts()
    assert [p.get_content_type() for p in alternative.iter_parts()] == [
        "text/plain", "text/html", "text/calendar"]
    plain, html, calendar_part = alternative.iter_parts()
    assert plain.get_content() == "Riley invites you.\nSee you then, Zoë.\n"
    assert html.get_content() == "<p>Riley invites you.</p>\n"
    assert calendar_part.get_param("method") == "REQUEST"
    assert calendar_part.get_content_charset() == "utf-8"
    assert (attachment.get_filename(), attachment.get_content_disposition()) == (
        "invite.ics", "attachment")
    inline = Calendar.from_ical(calendar_part.get_content())
    attached = Calendar.from_ical(attachment.get_content())
    assert inline.to_ical() == attached.to_ical()
    assert inline.events[0].attendees[0].params["CN"] == (
        "Zoë O'Brien, CFO; Acme: EU Line2 \"the boss\"")


def test_the_invite_mail_headers_encode_awkward_names():
    message = read(invite_message(make_event(), method="CANCEL",
                                  to=Attendee("zoe@acme.example.com", TRICKY_NAME),
                                  sender="Nextstep Bot <nextstep@nextstep.test>",
                                  subject="Cancelled:\nProposal review", text="Cancelled.",
                                  now=STAMP))

    to = message["To"].addresses[0]
    assert (to.display_name, to.addr_spec) == (
        "Zoë O'Brien, CFO; Acme: EU Line2 \"the boss\"", "zoe@acme.example.com")
    sender = message["From"].addresses[0]
    assert (sender.display_name, sender.addr_spec) == ("Nextstep Bot", "nextstep@nextstep.test")
    assert message["Subject"] == "Cancelled: Proposal review"
    assert message["Date"].datetime == STAMP
    assert message["Message-ID"].endswith("@nextstep.test>")
    parts = list(message.walk())
    assert [p.get_filename() for p in parts if p.get_filename()] == ["cancel.ics"]
    calendar_part = next(p for p in parts if p.get_content_type() == "text/calendar")
    assert calendar_part.get_param("method") == "CANCEL"


def test_a_sender_without_an_address_is_refused():
    with pytest.raises(ValueError, match="mail_from"):
        invite_message(make_event(), method="REQUEST", to=Attendee("a@example.com"),
                       sender="Nextstep", subject="s", text="t")


def test_mailer_follows_the_settings(tmp_path):
    file_settings = settings_from({"outbox_dir": str(tmp_path / "out")})
    smtp_settings = replace_settings(file_settings, smtp_host="127.0.0.1")
    assert isinstance(mailer_from_settings(file_settings), FileMailer)
    assert mailer_from_settings(file_settings).outbox_dir == tmp_path / "out"
    assert isinstance(mailer_from_settings(smtp_settings), SmtpMailer)


def replace_settings(settings, **changes):
    return settings.model_copy(update=changes)


def test_event_start_in_another_zone_is_converted_not_relabelled():
    tokyo = datetime(2026, 11, 25, 0, 0, tzinfo=ZoneInfo("Asia/Tokyo"))
    event = parsed(replace(make_event(), start=tokyo,
                           end=tokyo.replace(minute=30))).events[0]
    assert (event.start, event.start.hour) == (tokyo, 10)
