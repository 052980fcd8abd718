"""Calendar invites for prospects and helpers: the .ics (icalendar) and the email around it
(email.message), and the mailer seam that sends it (SMTP, or .eml files when none is set).

Everything is built by libraries, never by joining strings: names with commas, quotes or
non-ASCII letters must reach every calendar intact, and no user text may inject a header.
"""

from __future__ import annotations

import os
import re
import smtplib
import ssl
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import make_msgid, parseaddr
from html import escape
from pathlib import Path
from typing import Protocol, runtime_checkable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from icalendar import Calendar, Event, vCalAddress, vText

from scheduler.errors import ProviderRejected, ProviderUnavailable
from scheduler.providers.base import Attendee, CalendarEvent
from scheduler.settings import Settings

PRODID = "-//Nextstep//Nextstep//EN"
METHODS = ("REQUEST", "CANCEL")
PARTSTATS = {"needsAction": "NEEDS-ACTION", "accepted": "ACCEPTED", "declined": "DECLINED",
             "tentative": "TENTATIVE"}
ATTACHMENT_NAMES = {"REQUEST": "invite.ics", "CANCEL": "cancel.ics"}
# The VTIMEZONE only needs the rules around the event; a year either side keeps it short.
TIMEZONE_MARGIN = timedelta(days=366)
# 7-bit safe bodies (quoted-printable/base64 for non-ASCII), so no relay needs 8BITMIME.
MAIL_POLICY = policy.default.clone(cte_type="7bit")

_LINE_BREAKS = re.compile(r"\r\n|\r|\n")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_X_NAME = re.compile(r"X-[A-Z0-9-]+")


# The .ics

def build_ics(event: CalendarEvent, *, method: str, stamp: datetime | None = None) -> bytes:
    """An iTIP message (RFC 5546) for one event, times in the organizer's zone with its
    VTIMEZONE, so every client shows the same instant. `stamp` (DTSTAMP) defaults to now."""
    method = _checked_method(method)
    zone = _zone(event.timezone)
    vevent = Event.new(
        uid=event.uid, sequence=event.sequence, stamp=(stamp or datetime.now(UTC)),
        start=_aware(event.start, "start").astimezone(zone),
        end=_aware(event.end, "end").astimezone(zone),
        summary=event.title, description=event.description or None,
        location=event.location or None,
        organizer=_address(event.organizer),
        attendees=[_address(attendee, participant=True) for attendee in event.attendees],
        status="CANCELLED" if method == "CANCEL" else "CONFIRMED")
    for name, value in _x_properties(event.properties):
        # VALUE=TEXT makes parsers (icalendar among them) unescape commas and line breaks.
        vevent.add(name, vText(value), parameters={"VALUE": "TEXT"})
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", method)
    calendar.add_component(vevent)
    calendar.add_missing_timezones(first_date=event.start.date() - TIMEZONE_MARGIN,
                                   last_date=event.end.date() + TIMEZONE_MARGIN)
    missing = calendar.get_missing_tzids()
    if missing:
        raise ValueError(f"no VTIMEZONE available for {', '.join(sorted(missing))}")
    return calendar.to_ical()


def x_property_name(key: str) -> str:
    """"nextstep_followup_id" -> "X-NEXTSTEP-FOLLOWUP-ID"."""
    name = key.strip().upper().replace("_", "-")
    name = name if name.startswith("X-") else f"X-{name}"
    if not _X_NAME.fullmatch(name):
        raise ValueError(f"event property {key!r} cannot be an iCalendar X- property name")
    return name


def _x_properties(properties: Mapping[str, str]) -> list[tuple[str, str]]:
    return sorted((x_property_name(key), str(value)) for key, value in properties.items())


def _checked_method(method: str) -> str:
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, not {method!r}")
    return method


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown IANA time zone {name!r}") from None


def _aware(value: datetime, what: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"event {what} must be an aware datetime")
    return value


def _address(person: Attendee, *, participant: bool = False) -> vCalAddress:
    """CN is a parameter: it may not hold line breaks, so they become spaces; icalendar
    quotes , ; : and encodes double quotes (RFC 6868) itself."""
    name = display_name(person.name) or None
    if not participant:
        return vCalAddress.new(person.email, cn=name)
    return vCalAddress.new(person.email, cn=name,
                           role="OPT-PARTICIPANT" if person.optional else "REQ-PARTICIPANT",
                           partstat=PARTSTATS.get(person.response, "NEEDS-ACTION"),
                           rsvp=True)


def display_name(name: str) -> str:
    """A name fit for a header or a parameter: one line, no control characters."""
    return _CONTROL.sub("", _LINE_BREAKS.sub(" ", name)).strip()


# The email

def invite_message(event: CalendarEvent, *, method: str, to: Attendee, sender: str,
                   subject: str, text: str, html: str | None = None,
                   now: datetime | None = None,
                   reply_to: Attendee | None = None) -> EmailMessage:
    """The shape calendar clients recognise (RFC 6047 as Google and Outlook send it):
    multipart/mixed [alternative [text/plain, text/html?, text/calendar; method=...],
    the same .ics as an attachment for clients that only offer a download]."""
    method = _checked_method(method)
    now = now or datetime.now(UTC)
    ics = build_ics(event, method=method, stamp=now)
    message = _addressed(to=to, sender=sender, subject=subject, reply_to=reply_to, now=now)
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
    message.add_alternative(ics.decode("utf-8"), subtype="calendar", charset="utf-8",
                            params={"method": method})
    message.add_attachment(ics, maintype="application", subtype="ics",
                           filename=ATTACHMENT_NAMES[method])
    return message


def sender_address(sender: str) -> Address:
    """Settings give "Name <address>"; the header registry then encodes the name."""
    name, addr_spec = parseaddr(sender)
    if "@" not in addr_spec:
        raise ValueError(f"mail_from {sender!r} has no email address")
    return Address(display_name=display_name(name), addr_spec=addr_spec)


# Sending

@runtime_checkable
class Mailer(Protocol):
    def send(self, message: EmailMessage) -> None:
        """Deliver the message or raise ProviderUnavailable (retry) / ProviderRejected."""


class SmtpMailer:
    """Sends through the configured SMTP server. Failures worth retrying raise
    ProviderUnavailable so the outbox tries again; a recipient or message the server refuses
    for good (5xx) raises ProviderRejected."""

    def __init__(self, settings: Settings) -> None:
        if not settings.smtp_host:
            raise ValueError("SmtpMailer needs smtp_host")
        self.settings = settings

    def send(self, message: EmailMessage) -> None:
        where = f"{self.settings.smtp_host}:{self.settings.smtp_port}"
        try:
            with self._connect() as smtp:
                if self.settings.smtp_tls == "starttls":
                    smtp.starttls(context=ssl.create_default_context())
                if self.settings.smtp_user:
                    smtp.login(self.settings.smtp_user, self.settings.smtp_password or "")
                refused = smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            raise _refusal(where, exc.recipients) from exc
        except (smtplib.SMTPDataError, smtplib.SMTPSenderRefused) as exc:
            raise _response_error(where, exc) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise ProviderUnavailable(f"mail server {where} failed: {exc}") from exc
        if refused:
            raise _refusal(where, refused)

    def _connect(self) -> smtplib.SMTP:
        settings = self.settings
        if settings.smtp_tls == "ssl":
            return smtplib.SMTP_SSL(settings.smtp_host or "", settings.smtp_port,
                                    timeout=settings.smtp_timeout_seconds,
                                    context=ssl.create_default_context())
        return smtplib.SMTP(settings.smtp_host or "", settings.smtp_port,
                            timeout=settings.smtp_timeout_seconds)


def _refusal(where: str, refused: Mapping[str, tuple[int, bytes]]
             ) -> ProviderRejected | ProviderUnavailable:
    """Permanent only when every refusal is a 5xx; a 4xx anywhere is worth another try."""
    details = "; ".join(f"{address}: {code} {_text(reply)}"
                        for address, (code, reply) in sorted(refused.items()))
    if all(500 <= code < 600 for code, _ in refused.values()):
        return ProviderRejected(f"mail server {where} refused {details}")
    return ProviderUnavailable(f"mail server {where} deferred {details}")


def _response_error(where: str, exc: smtplib.SMTPResponseException
                    ) -> ProviderRejected | ProviderUnavailable:
    message = f"mail server {where} answered {exc.smtp_code} {_text(exc.smtp_error)}"
    if isinstance(exc, smtplib.SMTPDataError) and 500 <= exc.smtp_code < 600:
        return ProviderRejected(message)
    # A refused sender is our configuration (mail_from): retry while someone fixes it.
    return ProviderUnavailable(message)


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply


class FileMailer:
    """Writes each message as an .eml file (the default with no SMTP host): demos and tests
    see exactly what would have been sent. Names sort by time."""

    def __init__(self, outbox_dir: Path | str) -> None:
        self.outbox_dir = Path(outbox_dir)
        self.last_path: Path | None = None

    def send(self, message: EmailMessage) -> None:
        name = f"{datetime.now(UTC):%Y%m%dT%H%M%S%fZ}-{uuid.uuid4().hex[:8]}.eml"
        path = self.outbox_dir / name
        partial = path.with_suffix(".partial")
        try:
            self.outbox_dir.mkdir(parents=True, exist_ok=True)
            partial.write_bytes(message.as_bytes(policy=message.policy.clone(linesep="\r\n")))
            os.replace(partial, path)  # readers never see half a message
        except OSError as exc:
            raise ProviderUnavailable(f"cannot write {path}: {exc}") from exc
        self.last_path = path


def mailer_from_settings(settings: Settings) -> Mailer:
    """SMTP when a host is configured, otherwise the outbox folder."""
    if settings.smtp_host:
        return SmtpMailer(settings)
    return FileMailer(settings.outbox_dir)


def offer_message(*, to: Attendee, sender: str, rep_name: str, title: str, url: str,
                  slot_labels: list[str], timezone: str, expires_label: str,
                  plan_text: str, now: datetime | None = None,
                  reply_to: Attendee | None = None) -> EmailMessage:
    """The self-scheduling email: the offered times in the prospect's zone and the link,
    as plain text and as HTML (every value escaped)."""
    message = _addressed(to=to, sender=sender, reply_to=reply_to, now=now or datetime.now(UTC),
                         subject=f"{rep_name}: pick a time for “{title}”")
    lines = [f"Hello {to.name},", "",
             f"{rep_name} is holding these times for “{title}” ({timezone}):", ""]
    lines += [f"  • {label}" for label in slot_labels]
    lines += ["", f"Pick the one that suits you: {url}", f"The times are held until "
              f"{expires_label}."]
    if plan_text:
        lines += ["", "What we agreed:", plan_text]
    message.set_content("\n".join(lines) + "\n")
    items = "".join(f"<li>{escape(label)}</li>" for label in slot_labels)
    plan_html = (f"<p>What we agreed:</p><pre>{escape(plan_text)}</pre>" if plan_text else "")
    message.add_alternative(
        f"<p>Hello {escape(to.name)},</p>"
        f"<p>{escape(rep_name)} is holding these times for “{escape(title)}” "
        f"({escape(timezone)}):</p><ul>{items}</ul>"
        f'<p><a href="{escape(url, quote=True)}">Pick the one that suits you</a></p>'
        f"<p>The times are held until {escape(expires_label)}.</p>{plan_html}",
        subtype="html")
    return message


def notice_message(*, to: Attendee, sender: str, subject: str, text: str,
                   reply_to: Attendee | None = None,
                   now: datetime | None = None) -> EmailMessage:
    """A plain-text notice (e.g. telling the rep what the prospect did)."""
    message = _addressed(to=to, sender=sender, subject=subject, reply_to=reply_to,
                         now=now or datetime.now(UTC))
    message.set_content(text)
    return message


def _addressed(*, to: Attendee, sender: str, subject: str, reply_to: Attendee | None,
               now: datetime) -> EmailMessage:
    """The headers every email of ours carries, so none can forget Reply-To or the date."""
    from_address = sender_address(sender)
    message = EmailMessage(policy=MAIL_POLICY)
    message["Subject"] = display_name(subject)
    message["From"] = from_address
    message["To"] = Address(display_name=display_name(to.name), addr_spec=to.email)
    _set_reply_to(message, reply_to)
    message["Date"] = now
    message["Message-ID"] = make_msgid(domain=from_address.domain or "localhost")
    return message


def _set_reply_to(message: EmailMessage, reply_to: Attendee | None) -> None:
    """Replies reach a person (the rep, for a prospect), not the sending address."""
    if reply_to is not None:
        message["Reply-To"] = Address(display_name=display_name(reply_to.name),
                                      addr_spec=reply_to.email)
