"""Offer links: held slots, one booking per link, clear answers for every bad link."""

from __future__ import annotations

import email
import threading
from datetime import timedelta
from email import policy

import pytest
from sqlalchemy import func, select

from scheduler.accounts import add_user
from scheduler.booking import propose_slots
from scheduler.errors import BadToken, InvalidInput, OfferExpired, OfferUsed
from scheduler.offers import accept_offer, create_offer, expire_offers, withdraw_offer
from scheduler.requests import OfferRequest
from scheduler.store.models import FollowUp, Reservation
from tests.conftest import logged_kinds
from tests.services.helpers import PROSPECT, plan, proposal


def offer_request(**overrides) -> OfferRequest:
    values = {"prospect": PROSPECT, "duration_minutes": 30, "plan": plan(), "count": 3}
    values.update(overrides)
    return OfferRequest.model_validate(values)


def _token(url: str) -> str:
    return url.rsplit("/o/", 1)[1]



@pytest.fixture
def rep(runtime):
    return add_user("riley@example.com", name="Riley Rivera", timezone="America/New_York",
                    store=runtime.store, clock=runtime.clock)


@pytest.fixture
def sent(runtime, rep):
    return create_offer(offer_request(), rep=rep, **runtime.deps())


def _deps_without_jobs(runtime):
    deps = runtime.deps()
    deps.pop("jobs")
    return deps


def test_an_offer_holds_its_slots_against_every_other_proposal(runtime, rep, sent):
    held = [(h.start, h.end) for h in sent.offer.holds]

    other = propose_slots(proposal(count=5), rep=rep, **_deps_without_jobs(runtime)).slots

    assert len(held) == 3
    assert not any(slot.start < end and start < slot.end
                   for slot in other for start, end in held)
    assert logged_kinds(runtime) == ["offer.sent"]


def test_the_prospect_gets_an_email_with_the_link_and_the_times_in_their_zone(runtime, sent):
    runtime.tick()

    [path] = sorted(runtime.settings.outbox_dir.glob("*.eml"))
    message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert message["To"].addresses[0].addr_spec == "dana@acme.example.com"
    assert sent.url in text and sent.url in html
    assert "America/Los_Angeles" in text


def test_accepting_books_releases_the_other_holds_and_logs(runtime, sent):
    chosen = sent.offer.holds[1]

    followup = accept_offer(_token(sent.url), chosen.start, **runtime.deps())

    assert (followup.start, followup.offer_id) == (chosen.start, sent.offer.id)
    with runtime.store.reading() as session:
        active = session.scalars(select(Reservation).where(Reservation.active)).all()
    assert [r.followup_id for r in active] == [followup.id]
    assert logged_kinds(runtime) == ["offer.sent", "followup.booked", "offer.accepted"]


def test_a_used_link_cannot_book_again(runtime, sent):
    accept_offer(_token(sent.url), sent.offer.holds[0].start, **runtime.deps())

    with pytest.raises(OfferUsed):
        accept_offer(_token(sent.url), sent.offer.holds[1].start, **runtime.deps())


def test_a_tampered_link_is_refused(runtime, sent):
    token = _token(sent.url)
    with pytest.raises(BadToken):
        accept_offer(token[:-2] + ("AA" if token[-2:] != "AA" else "BB"),
                     sent.offer.holds[0].start, **runtime.deps())


def test_a_link_past_its_expiry_by_one_second_is_expired(runtime, rep):
    sent = create_offer(offer_request(expires_in_minutes=60), rep=rep, **runtime.deps())
    runtime.clock.advance(timedelta(minutes=60, seconds=1))

    with pytest.raises(OfferExpired):
        accept_offer(_token(sent.url), sent.offer.holds[0].start, **runtime.deps())


def test_a_withdrawn_offer_frees_its_slots(runtime, rep, sent):
    withdraw_offer(sent.offer.id, rep_id=rep.id, store=runtime.store, clock=runtime.clock)

    with pytest.raises(OfferExpired, match="withdrew"):
        accept_offer(_token(sent.url), sent.offer.holds[0].start, **runtime.deps())
    with runtime.store.reading() as session:
        assert session.scalar(select(func.count()).select_from(Reservation)
                              .where(Reservation.active)) == 0


def test_a_time_that_was_not_offered_is_refused(runtime, sent):
    with pytest.raises(InvalidInput) as raised:
        accept_offer(_token(sent.url), sent.offer.holds[0].start + timedelta(minutes=5),
                     **runtime.deps())
    assert raised.value.field == "start"


def test_expiry_releases_holds_and_is_logged(runtime, sent):
    runtime.clock.advance(timedelta(days=1, seconds=1))

    assert expire_offers(store=runtime.store, clock=runtime.clock) == 1
    assert logged_kinds(runtime)[-1] == "offer.expired"


def _storm(runtime, sent, clicks: int):
    barrier = threading.Barrier(clicks)
    booked, used, other = [], [], []

    def click(index: int) -> None:
        hold = sent.offer.holds[index % len(sent.offer.holds)]
        barrier.wait()
        try:
            booked.append(accept_offer(_token(sent.url), hold.start, **runtime.deps()))
        except OfferUsed:
            used.append(index)
        except Exception as exc:
            other.append(exc)

    threads = [threading.Thread(target=click, args=(i,)) for i in range(clicks)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with runtime.store.reading() as session:
        followups = session.scalar(select(func.count()).select_from(FollowUp))
    return booked, used, other, followups


def test_fifty_concurrent_clicks_on_one_link_book_once_on_sqlite(runtime, sent):
    booked, used, other, followups = _storm(runtime, sent, 50)

    assert (len(booked), len(used), other, followups) == (1, 49, [], 1)


@pytest.mark.postgres
def test_fifty_concurrent_clicks_on_one_link_book_once_on_postgresql(pg_runtime):
    rep = add_user("riley@example.com", name="Riley", timezone="America/New_York",
                   store=pg_runtime.store, clock=pg_runtime.clock)
    sent = create_offer(offer_request(), rep=rep, **pg_runtime.deps())

    booked, used, other, followups = _storm(pg_runtime, sent, 50)

    assert (len(booked), len(used), other, followups) == (1, 49, [], 1)
