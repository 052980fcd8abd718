"""The follow-up's state machine, every (status, change) pair: what is allowed, where it
leads, what it logs and whether the event's SEQUENCE goes up; everything else refused."""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import product
from types import SimpleNamespace

import pytest

from scheduler.errors import Conflict
from scheduler.lifecycle import TRANSITIONS, Change, Status, enter, stored_answer, transition

B, R, D, C = Status.BOOKED, Status.RESCHEDULED, Status.DECLINED, Status.CANCELLED
DONE = Status.DONE
NOW = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)

# (status before, change) -> (status after, log kind, SEQUENCE bumps, answers reset).
# Written out by hand, not derived from the module: this is the specification.
ALLOWED = {
    (None, Change.BOOK): (B, "followup.booked", False, False),
    (B, Change.RESCHEDULE): (R, "followup.rescheduled", True, True),
    (R, Change.RESCHEDULE): (R, "followup.rescheduled", True, True),
    (B, Change.CANCEL): (C, "followup.cancelled", True, False),
    (R, Change.CANCEL): (C, "followup.cancelled", True, False),
    (C, Change.CANCEL): (C, None, False, False),
    (B, Change.MOVE): (R, "followup.rescheduled", True, True),
    (R, Change.MOVE): (R, "followup.rescheduled", True, True),
    (D, Change.MOVE): (R, "followup.rescheduled", True, True),
    (B, Change.DELETE): (C, "followup.cancelled", True, False),
    (R, Change.DELETE): (C, "followup.cancelled", True, False),
    (D, Change.DELETE): (C, "followup.cancelled", True, False),
    (C, Change.DELETE): (C, None, False, False),
    (B, Change.DECLINE): (D, "attendee.declined", False, False),
    (R, Change.DECLINE): (D, "attendee.declined", False, False),
    (D, Change.DECLINE): (D, "attendee.declined", False, False),
    (B, Change.ACCEPT): (B, "attendee.accepted", False, False),
    (R, Change.ACCEPT): (R, "attendee.accepted", False, False),
    (D, Change.ACCEPT): (B, "attendee.accepted", False, False),  # never moved: booked again
    (B, Change.COMPLETE): (DONE, "followup.done", False, False),
    (R, Change.COMPLETE): (DONE, "followup.done", False, False),
    (DONE, Change.COMPLETE): (DONE, None, False, False),
    (DONE, Change.DELETE): (DONE, None, False, False),  # the rep tidied the calendar after
}
EVERY_PAIR = list(product([None, *Status], Change))


@pytest.mark.parametrize(("status", "change"), EVERY_PAIR,
                         ids=[f"{s}-{c}" for s, c in EVERY_PAIR])
def test_every_change_from_every_status_is_allowed_or_refused_as_specified(status, change):
    if (status, change) not in ALLOWED:
        with pytest.raises(Conflict) as refused:
            transition(status, change)
        assert refused.value.field == "status"
        return
    step = transition(status, change)

    assert (step.target, step.log_kind, step.bumps_sequence, step.resets_answers) == \
        ALLOWED[(status, change)]
    assert step.claims_time == (step.target in (B, R))


def test_the_module_allows_nothing_the_specification_does_not():
    assert {(source, change) for change, source in TRANSITIONS} == set(ALLOWED)


def test_accepted_after_a_decline_is_live_again_as_it_was():
    assert transition(D, Change.ACCEPT, moved=False).target is B
    assert transition(D, Change.ACCEPT, moved=True).target is R
    assert transition(B, Change.ACCEPT, moved=True).target is B  # not a move by itself


def test_statuses_are_the_strings_stored_today_and_done_is_back():
    assert [s.value for s in Status] == ["booked", "rescheduled", "declined", "cancelled",
                                         "done"]
    assert transition("declined", Change.MOVE).target == "rescheduled"
    with pytest.raises(Conflict):
        transition("done", Change.CANCEL)
    with pytest.raises(ValueError):
        transition("finished", Change.CANCEL)


def _row(status: Status, *, sequence: int = 2, responses=None) -> SimpleNamespace:
    return SimpleNamespace(status=status, sequence=sequence, updated_at=None,
                           responses={"dana@acme.example": "accepted"}
                           if responses is None else responses)


def test_entering_a_move_bumps_the_sequence_and_forgets_every_answer():
    row = _row(D)

    enter(row, transition(row.status, Change.MOVE), now=NOW)

    assert (row.status, row.sequence, row.responses, row.updated_at) == (R, 3, {}, NOW)


def test_entering_an_answer_keeps_the_sequence():
    row = _row(B)

    enter(row, transition(row.status, Change.DECLINE), now=NOW)

    assert (row.status, row.sequence, row.responses) == (D, 2, {"dana@acme.example":
                                                                "accepted"})


def test_a_row_from_before_answers_were_stored_knows_the_prospects_decline_by_its_status():
    declined, booked = _row(D, responses={}), _row(B, responses={})
    declined.responses = None

    assert stored_answer(declined, "dana@acme.example", prospect=True) == "declined"
    assert stored_answer(declined, "lee@example.com", prospect=False) == "needsAction"
    assert stored_answer(booked, "dana@acme.example", prospect=True) == "needsAction"
    assert stored_answer(_row(D), "dana@acme.example", prospect=True) == "accepted"
