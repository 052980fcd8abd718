"""The follow-up's life in one table: its statuses, the changes that move it from one to
another, and for each change the log entry it writes and whether the event's iCalendar
SEQUENCE goes up. Pure: booking, offers and sync ask it, then do the I/O themselves.

Choices worth knowing:
- The calendar is the truth for as long as the event exists: a decline ends nothing. The
  event moved afterwards is rescheduled (every attendee asked again); the prospect accepting
  afterwards makes it live again, as it was before the decline.
- SEQUENCE (RFC 5545 3.8.7.4) goes up when the organizer's side changes the event (a new
  time, a cancellation), whoever pressed the button, and never for an attendee's answer.
- `cancelled` is the end: nothing revives it. Cancelling again, or the calendar deleting an
  event Nextstep already cancelled, is a transition to itself that logs nothing.
- `done` is the rep's word, never a calendar's: no calendar says a meeting took place. The
  rep marks a live follow-up done once its time is over (the services check the time, this
  table only the status); like `cancelled` it is an end, and the calendar deleting its
  event afterwards changes nothing. Steps have their own `step.done`.
- An offer has a shorter life of its own (`OfferStatus`): open until accepted, withdrawn or
  expired. Accepted is an end while its follow-up stands; once that follow-up is cancelled
  the link may book again (the times still free) or be withdrawn. Whether it is cancelled
  is read from the follow-up, not stored on the offer, so no way of cancelling (page, rep,
  calendar) has to remember to reopen the offer.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from scheduler.errors import Conflict


class Status(StrEnum):
    """What a follow-up is now; the values are what the database stores."""

    BOOKED = "booked"
    RESCHEDULED = "rescheduled"
    DECLINED = "declined"
    CANCELLED = "cancelled"
    DONE = "done"


# Live: the time is taken (reservations hold it) and Nextstep may move or cancel it.
LIVE = (Status.BOOKED, Status.RESCHEDULED)
# Ends: nothing moves a follow-up out of these, and sync leaves them alone.
FINAL = (Status.CANCELLED, Status.DONE)


class OfferStatus(StrEnum):
    """Where an offer link stands; only an open one can book."""

    OPEN = "open"
    ACCEPTED = "accepted"
    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"


class OfferChange(StrEnum):
    ACCEPT = "accept"      # the prospect picks a slot (the follow-up is booked with it)
    WITHDRAW = "withdraw"  # the rep takes the link back
    EXPIRE = "expire"      # its time ran out


@dataclass(frozen=True)
class OfferTransition:
    change: OfferChange
    target: OfferStatus
    log_kind: str


# Keyed by (change, status, whether the follow-up it booked is cancelled). Every change
# leaves `open` for an end; an accepted offer whose follow-up was cancelled may be accepted
# again (a new follow-up, logged as the first pick was) or withdrawn; it does not expire
# by a job, its expiry is checked when it is used. From every other end nothing happens.
OFFER_TRANSITIONS: dict[tuple[OfferChange, OfferStatus, bool], OfferTransition] = {
    (change, source, cancelled): OfferTransition(change, target, kind)
    for change, source, cancelled, target, kind in (
        (OfferChange.ACCEPT, OfferStatus.OPEN, False, OfferStatus.ACCEPTED, "offer.accepted"),
        (OfferChange.WITHDRAW, OfferStatus.OPEN, False, OfferStatus.WITHDRAWN,
         "offer.withdrawn"),
        (OfferChange.EXPIRE, OfferStatus.OPEN, False, OfferStatus.EXPIRED, "offer.expired"),
        (OfferChange.ACCEPT, OfferStatus.ACCEPTED, True, OfferStatus.ACCEPTED,
         "offer.accepted"),
        (OfferChange.WITHDRAW, OfferStatus.ACCEPTED, True, OfferStatus.WITHDRAWN,
         "offer.withdrawn"))}


def offer_transition(status: str, change: OfferChange, *,
                     followup_cancelled: bool = False) -> OfferTransition | None:
    """What `change` does to an offer in `status` (`followup_cancelled`: the follow-up it
    booked last is cancelled): None when nothing may happen (the services tell the
    prospect why, with their own errors)."""
    return OFFER_TRANSITIONS.get((change, OfferStatus(status), followup_cancelled))


class Change(StrEnum):
    """What happens to a follow-up: Nextstep's verbs, and what sync sees in the calendar."""

    BOOK = "book"              # booked on a call or through an offer link
    RESCHEDULE = "reschedule"  # the rep or the prospect moves it through Nextstep
    CANCEL = "cancel"          # the rep or the prospect cancels it through Nextstep
    MOVE = "move"              # the calendar shows the event at another time
    DELETE = "delete"          # the event is gone from the calendar
    DECLINE = "decline"        # the prospect declines the invitation
    ACCEPT = "accept"          # the prospect accepts it
    COMPLETE = "complete"      # the rep marks it done after its time


@dataclass(frozen=True)
class Transition:
    change: Change
    source: Status | None      # None: the follow-up does not exist yet
    target: Status
    log_kind: str | None       # None: already there, nothing happened
    bumps_sequence: bool = False
    resets_answers: bool = False  # a new time: every attendee's answer is asked again

    @property
    def claims_time(self) -> bool:
        """Whether the follow-up's reservations hold its time afterwards."""
        return self.target in LIVE


_NOT_CANCELLED = (Status.BOOKED, Status.RESCHEDULED, Status.DECLINED)
_Row = tuple[Change, Status | None, Status, str | None, bool, bool]


def _rows() -> list[_Row]:
    """(change, source, target, log kind, bumps SEQUENCE, resets answers)."""
    rows: list[_Row] = [
        (Change.BOOK, None, Status.BOOKED, "followup.booked", False, False),
        (Change.CANCEL, Status.CANCELLED, Status.CANCELLED, None, False, False),
        (Change.DELETE, Status.CANCELLED, Status.CANCELLED, None, False, False),
        (Change.COMPLETE, Status.DONE, Status.DONE, None, False, False),
        (Change.DELETE, Status.DONE, Status.DONE, None, False, False),
    ]
    for live in (Status.BOOKED, Status.RESCHEDULED):
        rows += [
            (Change.COMPLETE, live, Status.DONE, "followup.done", False, False),
            (Change.RESCHEDULE, live, Status.RESCHEDULED, "followup.rescheduled", True, True),
            (Change.CANCEL, live, Status.CANCELLED, "followup.cancelled", True, False),
            (Change.ACCEPT, live, live, "attendee.accepted", False, False),
        ]
    for source in _NOT_CANCELLED:
        rows += [
            (Change.MOVE, source, Status.RESCHEDULED, "followup.rescheduled", True, True),
            (Change.DELETE, source, Status.CANCELLED, "followup.cancelled", True, False),
            (Change.DECLINE, source, Status.DECLINED, "attendee.declined", False, False),
        ]
    # Live again as it was: booked, or rescheduled when it had been moved (see `transition`).
    rows.append((Change.ACCEPT, Status.DECLINED, Status.BOOKED, "attendee.accepted", False,
                 False))
    return rows


TRANSITIONS: dict[tuple[Change, Status | None], Transition] = {
    (row[0], row[1]): Transition(*row) for row in _rows()}


def transition(status: str | None, change: Change, *, moved: bool = False) -> Transition:
    """What `change` does to a follow-up in `status`; Conflict when its life allows no such
    change. `moved` (it was rescheduled once) decides where ACCEPT after a decline lands."""
    source = None if status is None else Status(status)
    found = TRANSITIONS.get((change, source))
    if found is None:
        raise Conflict(f"the follow-up is {status}" if status else "no such follow-up",
                       field="status")
    if (change, source) == (Change.ACCEPT, Status.DECLINED) and moved:
        return replace(found, target=Status.RESCHEDULED)
    return found


class _Stored(Protocol):
    status: str
    sequence: int
    responses: dict[str, str] | None
    updated_at: datetime


def enter(followup: _Stored, step: Transition, *, now: datetime) -> None:
    """Put a stored follow-up where `step` leads: status, SEQUENCE, attendees' answers."""
    followup.status, followup.updated_at = step.target, now
    if step.bumps_sequence:
        followup.sequence += 1
    if step.resets_answers:
        followup.responses = {}


def stored_answer(followup: _Stored, email: str, *, prospect: bool) -> str:
    """An attendee's last answer as Nextstep knows it. Rows older than the answers column
    know the prospect's decline from their status only."""
    answers = followup.responses or {}
    if email in answers:
        return answers[email]
    return "declined" if prospect and followup.status == Status.DECLINED else "needsAction"
