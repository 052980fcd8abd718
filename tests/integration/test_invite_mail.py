"""Invites over real SMTP (aiosmtpd on loopback) and into .eml files, read back as a mail
client and a calendar would read them."""

from __future__ import annotations

from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

import pytest
from icalendar import Calendar

from scheduler.errors import ProviderRejected, ProviderUnavailable
from scheduler.invites import FileMailer, SmtpMailer, invite_message
from scheduler.providers.base import Attendee, CalendarEvent
from scheduler.settings import settings_from
from tests.ports import free_port

PROSPECT = Attendee("zoe@acme.example.com", "Zoë O'Brien, CFO; Acme: EU\nLine2")
HELPER = Attendee("lee@example.com", "Lee Chen", optional=True)
DESCRIPTION = ("1. Zoë (Acme) will send the security questionnaire by Fri 27 Nov\n"
               "2. Riley will send the proposal by Mon 30 Nov, with help from Lee")


def event(**overrides) -> CalendarEvent:
    values = dict(
        uid="0a1b2c3d4e5f60718293a4b5c6d7e8f9", calendar_id="riley@example.com",
        start=datetime(2026, 11, 24, 15, 0, tzinfo=UTC),
        end=datetime(2026, 11, 24, 15, 30, tzinfo=UTC), title="Proposal review",
        description=DESCRIPTION, organizer=Attendee("riley@example.com", "Riley Rivera"),
        attendees=(PROSPECT, HELPER), properties={"nextstep_followup_id": "fu_1"},
        timezone="Europe/Berlin")
    values.update(overrides)
    return CalendarEvent(**values)


def mail(method: str = "REQUEST", **overrides) -> EmailMessage:
    return invite_message(event(**overrides), method=method, to=PROSPECT,
                          sender="Nextstep <nextstep@nextstep.test>",
                          subject=f"{method.title()}: Proposal review", text="Hello Zoë.")


def smtp_mailer(tmp_path, port: int, **overrides) -> SmtpMailer:
    values = {"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_tls": "none",
              "smtp_timeout_seconds": 5, "outbox_dir": str(tmp_path / "outbox")}
    values.update(overrides)
    return SmtpMailer(settings_from(values))


def calendar_of(message: EmailMessage) -> Calendar:
    part = next(p for p in message.walk() if p.get_content_type() == "text/calendar")
    return Calendar.from_ical(part.get_content())


def test_an_invite_sent_over_smtp_arrives_with_its_calendar_intact(smtp_server, tmp_path):
    smtp_mailer(tmp_path, smtp_server.port).send(mail())

    assert smtp_server.envelopes == [("nextstep@nextstep.test", ["zoe@acme.example.com"])]
    received = smtp_server.messages[0]
    assert received["To"].addresses[0].display_name == "Zoë O'Brien, CFO; Acme: EU Line2"
    calendar = calendar_of(received)
    vevent = calendar.events[0]
    assert str(calendar["METHOD"]) == "REQUEST"
    assert str(vevent["DESCRIPTION"]) == DESCRIPTION
    assert [(str(a), a.params["CN"], a.params["ROLE"]) for a in vevent.attendees] == [
        ("mailto:zoe@acme.example.com", "Zoë O'Brien, CFO; Acme: EU Line2", "REQ-PARTICIPANT"),
        ("mailto:lee@example.com", "Lee Chen", "OPT-PARTICIPANT")]
    assert vevent.start == event().start
    assert [z.tz_name for z in calendar.timezones] == ["Europe/Berlin"]
    assert str(vevent["X-NEXTSTEP-FOLLOWUP-ID"]) == "fu_1"


def test_a_cancellation_sent_over_smtp_says_cancel(smtp_server, tmp_path):
    smtp_mailer(tmp_path, smtp_server.port).send(mail("CANCEL", sequence=1))

    received = smtp_server.messages[0]
    calendar = calendar_of(received)
    part = next(p for p in received.walk() if p.get_content_type() == "text/calendar")
    assert part.get_param("method") == "CANCEL"
    assert (str(calendar["METHOD"]), str(calendar.events[0]["STATUS"])) == (
        "CANCEL", "CANCELLED")
    assert calendar.events[0]["SEQUENCE"] == 1
    assert [a.params["CN"] for a in calendar.events[0].attendees] == [
        "Zoë O'Brien, CFO; Acme: EU Line2", "Lee Chen"]
    assert [p.get_filename() for p in received.walk() if p.get_filename()] == ["cancel.ics"]


def test_nothing_listening_is_unavailable_so_the_outbox_retries(tmp_path):
    with pytest.raises(ProviderUnavailable, match=r"127\.0\.0\.1"):
        smtp_mailer(tmp_path, free_port()).send(mail())


def test_a_recipient_refused_for_good_is_rejected(smtp_server, tmp_path):
    smtp_server.rcpt_reply = "550 5.1.1 no such user"
    with pytest.raises(ProviderRejected, match=r"zoe@acme\.example\.com: 550"):
        smtp_mailer(tmp_path, smtp_server.port).send(mail())
    assert smtp_server.messages == []


def test_a_recipient_deferred_is_unavailable(smtp_server, tmp_path):
    smtp_server.rcpt_reply = "451 4.7.1 greylisted, try later"
    with pytest.raises(ProviderUnavailable, match="451"):
        smtp_mailer(tmp_path, smtp_server.port).send(mail())


def test_login_without_server_support_is_unavailable(smtp_server, tmp_path):
    mailer = smtp_mailer(tmp_path, smtp_server.port, smtp_user="riley", smtp_password="pw")
    with pytest.raises(ProviderUnavailable, match="AUTH"):
        mailer.send(mail())


def test_the_file_mailer_writes_a_parseable_eml_per_message(tmp_path):
    mailer = FileMailer(tmp_path / "outbox" / "nested")
    mailer.send(mail())
    first = mailer.last_path
    mailer.send(mail("CANCEL"))

    files = sorted((tmp_path / "outbox" / "nested").iterdir())
    assert files == [first, mailer.last_path]  # names sort by time; no partial files left
    assert all(path.suffix == ".eml" for path in files)
    message = BytesParser(policy=policy.default).parsebytes(files[0].read_bytes())
    assert message["To"].addresses[0].addr_spec == "zoe@acme.example.com"
    assert str(calendar_of(message).events[0]["DESCRIPTION"]) == DESCRIPTION
    assert b"\r\n" in files[0].read_bytes()
