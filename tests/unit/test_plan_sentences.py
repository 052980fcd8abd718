"""The plan reads as sentences after "will": a copied label or a typed capital is not shouted,
a name or an acronym the rep typed keeps its capitals."""

from __future__ import annotations

from datetime import date

import pytest

from scheduler.plans import Plan, Step, as_predicate, describe_plan


@pytest.mark.parametrize(("typed", "read"), [
    ("Send questions", "send questions"),
    ("Review the draft with legal", "review the draft with legal"),
    ("Send", "send"),
    ("send the proposal", "send the proposal"),
    ("SOC 2 report to security", "SOC 2 report to security"),
    ("Acme signs the order form", "Acme signs the order form"),
    ("iPhone demo", "iPhone demo"),
])
def test_the_first_word_is_lower_cased_unless_it_is_a_name(typed, read):
    assert as_predicate(typed) == read


def test_a_send_questions_step_reads_will_send_questions():
    plan = Plan(steps=(Step(who="prospect", what="Send questions", type="send_questions",
                            due=date(2026, 12, 7)),))

    text = describe_plan(plan, {"prospect": "Priya Nair (Northwind)"})

    assert text == "1. Priya Nair (Northwind) will send questions by Mon 7 Dec"
