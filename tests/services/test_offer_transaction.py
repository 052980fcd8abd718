"""Sending an offer is one transaction: the holds, the `offer.sent` entry and the email's
outbox row commit together or not at all, and a retried request sends one offer."""

from __future__ import annotations

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from scheduler.accounts import add_user
from scheduler.offers import create_offer
from scheduler.requests import OfferRequest
from scheduler.store.models import Hold, LogEntry, Offer, OutboxMessage, Reservation
from tests.services.helpers import PROSPECT, plan


def offer_request(**overrides) -> OfferRequest:
    values = {"prospect": PROSPECT, "duration_minutes": 30, "plan": plan(), "count": 3}
    values.update(overrides)
    return OfferRequest.model_validate(values)


@pytest.fixture
def rep(runtime):
    return add_user("riley@example.com", name="Riley Rivera", timezone="America/New_York",
                    store=runtime.store, clock=runtime.clock)


class DiskFull(Exception):
    """What the database says when the commit cannot be written."""


@pytest.fixture
def failing_offer_email_commit():
    """Every commit that would queue an offer's email fails, as a full disk would."""

    def note(session: Session, _context) -> None:
        if any(isinstance(row, OutboxMessage) and row.kind == "offer.send"
               for row in session.new):
            session.info["offer_email"] = True

    def refuse(session: Session) -> None:
        if session.info.pop("offer_email", False) and state["failing"]:
            raise DiskFull("could not extend file")

    state = {"failing": True}

    event.listen(Session, "after_flush", note)
    event.listen(Session, "before_commit", refuse)
    yield state
    event.remove(Session, "before_commit", refuse)
    event.remove(Session, "after_flush", note)


def _count(runtime, model, *where) -> int:
    with runtime.store.reading() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


def test_a_failed_commit_leaves_no_held_slot_no_log_and_no_email(runtime, rep,
                                                                 failing_offer_email_commit):
    with pytest.raises(DiskFull):
        create_offer(offer_request(), rep=rep, **runtime.deps())

    assert _count(runtime, Offer) == 0
    assert _count(runtime, Hold) == 0
    assert _count(runtime, Reservation, Reservation.active) == 0
    assert _count(runtime, LogEntry) == 0
    assert _count(runtime, OutboxMessage) == 0


def test_after_a_failed_commit_the_same_slots_can_be_offered(runtime, rep,
                                                            failing_offer_email_commit):
    with pytest.raises(DiskFull):
        create_offer(offer_request(), rep=rep, **runtime.deps())
    failing_offer_email_commit["failing"] = False

    sent = create_offer(offer_request(), rep=rep, **runtime.deps())

    assert len(sent.offer.holds) == 3
    assert _count(runtime, OutboxMessage, OutboxMessage.kind == "offer.send") == 1


def test_the_same_idempotency_key_returns_the_first_offer(runtime, rep):
    first = create_offer(offer_request(idempotency_key="call-42"), rep=rep, **runtime.deps())

    again = create_offer(offer_request(idempotency_key="call-42"), rep=rep, **runtime.deps())

    assert (first.created, again.created) == (True, False)
    assert again.offer.id == first.offer.id
    assert _count(runtime, Offer) == 1
    assert _count(runtime, Hold) == 3
    assert _count(runtime, LogEntry, LogEntry.kind == "offer.sent") == 1
    assert _count(runtime, OutboxMessage, OutboxMessage.kind == "offer.send") == 1


def test_the_email_row_carries_the_link_the_rep_is_shown(runtime, rep):
    sent = create_offer(offer_request(), rep=rep, **runtime.deps())

    with runtime.store.reading() as session:
        [row] = session.scalars(select(OutboxMessage)).all()
    assert row.payload == {"offer_id": sent.offer.id, "url": sent.url}
