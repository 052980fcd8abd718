"""An offer's life, every (status, change, follow-up cancelled) triple: open goes to one end
per change, logged once; an accepted offer whose follow-up was cancelled may be accepted
again or withdrawn; from every other end nothing happens. Written out by hand: this is the
specification."""

from __future__ import annotations

from itertools import product

import pytest

from scheduler.lifecycle import OfferChange, OfferStatus, offer_transition

OPEN, A, W, E = (OfferStatus.OPEN, OfferStatus.ACCEPTED, OfferStatus.WITHDRAWN,
              OfferStatus.EXPIRED)
ALLOWED = {
    (OPEN, OfferChange.ACCEPT, False): (A, "offer.accepted"),
    (OPEN, OfferChange.WITHDRAW, False): (W, "offer.withdrawn"),
    (OPEN, OfferChange.EXPIRE, False): (E, "offer.expired"),
    # Its follow-up cancelled: booked again from the same link, logged as the first pick.
    (A, OfferChange.ACCEPT, True): (A, "offer.accepted"),
    (A, OfferChange.WITHDRAW, True): (W, "offer.withdrawn"),
}
EVERY_TRIPLE = list(product(OfferStatus, OfferChange, (False, True)))


@pytest.mark.parametrize(("status", "change", "cancelled"), EVERY_TRIPLE,
                         ids=[f"{s}-{c}-{'cancelled' if x else 'standing'}"
                              for s, c, x in EVERY_TRIPLE])
def test_every_change_from_every_offer_status_is_as_specified(status, change, cancelled):
    step = offer_transition(status, change, followup_cancelled=cancelled)

    if (status, change, cancelled) not in ALLOWED:
        assert step is None
        return
    assert (step.target, step.log_kind) == ALLOWED[(status, change, cancelled)]


def test_an_accepted_offer_whose_follow_up_stands_books_nothing_more():
    assert offer_transition("accepted", OfferChange.ACCEPT) is None


def test_offer_statuses_are_the_strings_stored_today():
    assert [s.value for s in OfferStatus] == ["open", "accepted", "withdrawn", "expired"]
    with pytest.raises(ValueError):
        offer_transition("used", OfferChange.ACCEPT)
