"""An offer's life, every (status, change) pair: open goes to one end per change, logged
once; from an end nothing happens. Written out by hand: this is the specification."""

from __future__ import annotations

from itertools import product

import pytest

from scheduler.lifecycle import OfferChange, OfferStatus, offer_transition

OPEN, A, W, E = (OfferStatus.OPEN, OfferStatus.ACCEPTED, OfferStatus.WITHDRAWN,
              OfferStatus.EXPIRED)
ALLOWED = {
    (OPEN, OfferChange.ACCEPT): (A, "offer.accepted"),
    (OPEN, OfferChange.WITHDRAW): (W, "offer.withdrawn"),
    (OPEN, OfferChange.EXPIRE): (E, "offer.expired"),
}
EVERY_PAIR = list(product(OfferStatus, OfferChange))


@pytest.mark.parametrize(("status", "change"), EVERY_PAIR,
                         ids=[f"{s}-{c}" for s, c in EVERY_PAIR])
def test_every_change_from_every_offer_status_is_as_specified(status, change):
    step = offer_transition(status, change)

    if (status, change) not in ALLOWED:
        assert step is None
        return
    assert (step.target, step.log_kind) == ALLOWED[(status, change)]


def test_offer_statuses_are_the_strings_stored_today():
    assert [s.value for s in OfferStatus] == ["open", "accepted", "withdrawn", "expired"]
    with pytest.raises(ValueError):
        offer_transition("used", OfferChange.ACCEPT)
