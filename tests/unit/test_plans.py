"""The action plan: what is refused (and which field is named), how it reads in the event,
and that the stored form reads back exactly."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scheduler.errors import InvalidPlan
from scheduler.plans import (
    STEP_TYPES,
    Plan,
    Step,
    describe_plan,
    parse_plan,
    plan_from_dict,
    plan_to_dict,
)

TODAY = date(2026, 11, 23)  # a Monday
CET = timezone(timedelta(hours=1))
NAMES = {"prospect": "Dana (Acme)", "dana@acme.example.com": "Dana (Acme)", "rep": "Riley",
         "lee@example.com": "Lee", "sam@example.com": "Sam", "ola@example.com": "Ola"}


def step(**overrides):
    values = {"who": "prospect", "what": "send the security questionnaire",
              "type": "send_questions", "due": "2026-11-27", "help_from": []}
    values.update(overrides)
    return values


def parse(*steps, **options):
    return parse_plan({"steps": list(steps)}, today=TODAY, **options)


def refusal(data, **options) -> InvalidPlan:
    with pytest.raises(InvalidPlan) as raised:
        parse_plan(data, today=TODAY, **options)
    return raised.value


# Parsing

def test_a_valid_plan_becomes_steps_with_typed_values():
    plan = parse(step(), step(who=" Lee@Example.com ", what="  send the proposal ",
                              type="send_proposal", due="2026-11-27T15:00:00+01:00",
                              help_from=["rep", "Sam@Example.COM"]))

    assert plan == Plan(steps=(
        Step(who="prospect", what="send the security questionnaire", type="send_questions",
             due=date(2026, 11, 27)),
        Step(who="lee@example.com", what="send the proposal", type="send_proposal",
             due=datetime(2026, 11, 27, 15, 0, tzinfo=CET),
             help_from=("rep", "sam@example.com")),
    ))
    assert plan.steps[1].due.utcoffset() == timedelta(hours=1)


def test_the_catalogue_keeps_its_order_and_labels():
    assert list(STEP_TYPES.items()) == [
        ("send_value", "Send value"), ("meeting", "Meeting"),
        ("talk_with_colleagues", "Talk with colleagues"), ("send_questions", "Send questions"),
        ("request_signup", "Request sign-up"), ("send_proposal", "Send proposal"),
        ("proposal_review", "Proposal review"), ("send_paperwork", "Send paperwork"),
        ("other", "Other")]


def test_a_step_without_type_is_other():
    values = step()
    del values["type"]
    assert parse(values).steps[0].type == "other"


def test_due_today_is_accepted_and_a_z_datetime_is_utc():
    plan = parse(step(due="2026-11-23"), step(due="2026-11-23T09:00:00Z"))
    assert plan.steps[0].due == TODAY
    assert plan.steps[1].due.utcoffset() == timedelta(0)


def test_a_due_in_its_own_offset_is_today_there_even_if_yesterday_in_utc():
    # 00:30 on the 23rd in Berlin is still the 22nd in UTC.
    plan = parse(step(due="2026-11-23T00:30:00+01:00"))
    assert plan.steps[0].due.date() == TODAY


def test_python_dates_and_zoned_datetimes_are_accepted_with_a_plain_offset():
    zoned = datetime(2026, 11, 27, 15, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    plan = parse(step(due=date(2026, 11, 27)), step(due=zoned))
    assert plan.steps[0].due == date(2026, 11, 27)
    assert plan.steps[1].due.tzinfo == CET


def test_duplicate_helpers_are_listed_once():
    plan = parse(step(help_from=["lee@example.com", "LEE@example.com", "rep"]))
    assert plan.steps[0].help_from == ("lee@example.com", "rep")


def test_line_breaks_in_what_become_spaces_so_each_step_stays_one_line():
    assert parse(step(what="send the\r\n  questionnaire\n")).steps[0].what == (
        "send the questionnaire")


@pytest.mark.parametrize(("data", "field", "message"), [
    (None, "plan.steps", "add at least one step"),
    ({}, "plan.steps", "add at least one step"),
    ({"steps": []}, "plan.steps", "add at least one step"),
    ({"steps": "send it"}, "plan.steps", "must be a list"),
    ("steps", "plan", "must be an object"),
    ({"steps": [step()] * 6}, "plan.steps", "at most 5 steps"),
    ({"steps": [step(), "x"]}, "plan.steps.1", "must be an object"),
    ({"steps": [step(who=None)]}, "plan.steps.0.who", "who is required"),
    ({"steps": [step(who="  ")]}, "plan.steps.0.who", "who is required"),
    ({"steps": [step(who=7)]}, "plan.steps.0.who", "must be text"),
    ({"steps": [step(who="dana")]}, "plan.steps.0.who", "not an email address"),
    ({"steps": [step(who="dana@acme")]}, "plan.steps.0.who", "not an email address"),
    ({"steps": [step(who="a@b@acme.com")]}, "plan.steps.0.who", "not an email address"),
    ({"steps": [step(who="da na@acme.com")]}, "plan.steps.0.who", "not an email address"),
    ({"steps": [step(), step(what="")]}, "plan.steps.1.what", "what is required"),
    ({"steps": [step(what="x" * 501)]}, "plan.steps.0.what", "keep it to 500"),
    ({"steps": [step(what="send\x00it")]}, "plan.steps.0.what", "control characters"),
    ({"steps": [step(), step(type="lunch")]}, "plan.steps.1.type",
     "use one of send_value, meeting, talk_with_colleagues"),
    ({"steps": [step(type=3)]}, "plan.steps.0.type", "unknown step type"),
    ({"steps": [step(due=None)]}, "plan.steps.0.due", "due is required"),
    ({"steps": [step(due="")]}, "plan.steps.0.due", "due is required"),
    ({"steps": [step(due="2026-11-22")]}, "plan.steps.0.due", "in the past"),
    ({"steps": [step(due="2026-11-22T23:30:00-01:00")]}, "plan.steps.0.due", "in the past"),
    ({"steps": [step(due="2026-11-27T15:00:00")]}, "plan.steps.0.due", "no offset"),
    ({"steps": [step(due=datetime(2026, 11, 27, 15))]}, "plan.steps.0.due", "no offset"),
    ({"steps": [step(due="next friday")]}, "plan.steps.0.due", "is not a date"),
    ({"steps": [step(due="27/11/2026")]}, "plan.steps.0.due", "is not a date"),
    ({"steps": [step(due="2026-02-30")]}, "plan.steps.0.due", "not a real date"),
    ({"steps": [step(due=20261127)]}, "plan.steps.0.due", "due must be a date"),
    ({"steps": [step(help_from="lee@example.com")]}, "plan.steps.0.help_from", "a list"),
    ({"steps": [step(help_from=["rep", "lee"])]}, "plan.steps.0.help_from.1",
     "not an email address"),
    ({"steps": [step(help_from=[None])]}, "plan.steps.0.help_from.0", "each helper"),
    ({"steps": [step(helpers=["lee@example.com"])]}, "plan.steps.0.helpers",
     "unknown step field"),
])
def test_an_invalid_plan_is_refused_naming_the_field(data, field, message):
    error = refusal(data)
    assert error.field == field
    assert message in error.message


def test_the_first_error_in_input_order_wins():
    error = refusal({"steps": [step(due="2020-01-01", type="lunch"), step(who="nobody")]})
    assert (error.field, error.message.startswith("unknown step type")) == (
        "plan.steps.0.type", True)


def test_more_steps_are_allowed_when_the_caller_raises_the_limit():
    assert len(parse(*[step()] * 7, max_steps=7).steps) == 7
    assert refusal({"steps": [step()] * 3}, max_steps=2).field == "plan.steps"


def test_five_steps_are_the_default_limit():
    assert len(parse(*[step()] * 5).steps) == 5


# Describing

def test_one_step_reads_as_a_sentence():
    plan = parse(step(help_from=["lee@example.com"]))
    assert describe_plan(plan, NAMES) == (
        "1. Dana (Acme) will send the security questionnaire by Fri 27 Nov, "
        "with help from Lee")


def test_two_steps_are_numbered_lines_and_two_helpers_join_with_and():
    plan = parse(step(), step(who="rep", what="send the proposal", due="2026-11-30",
                              help_from=["lee@example.com", "sam@example.com"]))
    assert describe_plan(plan, NAMES) == (
        "1. Dana (Acme) will send the security questionnaire by Fri 27 Nov\n"
        "2. Riley will send the proposal by Mon 30 Nov, with help from Lee and Sam")


def test_three_steps_and_three_helpers_use_commas_then_and():
    plan = parse(step(), step(who="rep", what="Send the Proposal", due="2026-11-30"),
                 step(who="lee@example.com", what="review pricing", due="2026-12-01",
                      help_from=["sam@example.com", "ola@example.com", "rep"]))
    assert describe_plan(plan, NAMES).splitlines() == [
        "1. Dana (Acme) will send the security questionnaire by Fri 27 Nov",
        "2. Riley will send the Proposal by Mon 30 Nov",
        "3. Lee will review pricing by Tue 1 Dec, with help from Sam, Ola and Riley",
    ]


def test_a_datetime_due_is_shown_in_its_own_offset():
    plan = parse(step(due="2026-11-27T15:00:00+01:00"), step(due="2026-11-27T09:30:00-05:00"),
                 step(due="2026-11-27T15:00:00Z"), step(due="2026-11-27T15:00:00+05:30"))
    assert [line.split(" by ")[1] for line in describe_plan(plan, NAMES).splitlines()] == [
        "Fri 27 Nov 15:00 UTC+01:00", "Fri 27 Nov 09:30 UTC-05:00", "Fri 27 Nov 15:00 UTC",
        "Fri 27 Nov 15:00 UTC+05:30"]


def test_unknown_people_fall_back_to_their_email_and_roles_to_their_role():
    plan = parse(step(who="kim@acme.example.com", help_from=["rep", "prospect"]))
    assert describe_plan(plan, {}) == (
        "1. kim@acme.example.com will send the security questionnaire by Fri 27 Nov, "
        "with help from Rep and Prospect")


def test_a_done_step_says_so():
    plan = Plan(steps=(Step(who="rep", what="send the proposal", type="send_proposal",
                            due=date(2026, 11, 27),
                            done_at=datetime(2026, 11, 25, 10, tzinfo=UTC)),))
    assert describe_plan(plan, NAMES) == "1. Riley will send the proposal by Fri 27 Nov (done)"


# Structured form

def test_the_stored_form_is_json_ready_and_reads_back_equal():
    plan = Plan(steps=(
        Step(who="prospect", what="send the questionnaire", type="send_questions",
             due=date(2026, 11, 27)),
        Step(who="rep", what="send the proposal", type="send_proposal",
             due=datetime(2026, 11, 27, 15, tzinfo=CET), help_from=("lee@example.com",),
             done_at=datetime(2026, 11, 26, 9, 15, tzinfo=UTC)),
    ))
    stored = plan_to_dict(plan)

    assert stored == {"steps": [
        {"who": "prospect", "what": "send the questionnaire", "type": "send_questions",
         "due": "2026-11-27", "help_from": [], "done_at": None},
        {"who": "rep", "what": "send the proposal", "type": "send_proposal",
         "due": "2026-11-27T15:00:00+01:00", "help_from": ["lee@example.com"],
         "done_at": "2026-11-26T09:15:00+00:00"}]}
    assert plan_from_dict(stored) == plan
    assert plan_from_dict(stored).steps[1].due.utcoffset() == timedelta(hours=1)


def test_a_malformed_stored_plan_names_the_step():
    with pytest.raises(InvalidPlan) as raised:
        plan_from_dict({"steps": [{"who": "rep", "what": "x", "due": "soon"}]})
    assert raised.value.field == "plan.steps.0"


offsets = st.integers(min_value=-14 * 60, max_value=14 * 60).map(
    lambda minutes: timezone(timedelta(minutes=minutes)))
aware = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1),
                     timezones=offsets)
people = st.sampled_from(["rep", "prospect", "lee@example.com", "dana@acme.example.com"])
steps = st.builds(
    Step, who=people, what=st.text(min_size=1, max_size=500), type=st.sampled_from(
        list(STEP_TYPES)),
    due=st.one_of(st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1)), aware),
    help_from=st.lists(people, max_size=3, unique=True).map(tuple),
    done_at=st.none() | aware)


@given(st.lists(steps, min_size=1, max_size=5).map(lambda rows: Plan(steps=tuple(rows))))
def test_any_plan_round_trips_through_its_stored_form(plan):
    stored = plan_to_dict(plan)
    again = plan_from_dict(stored)
    assert again == plan
    assert plan_to_dict(again) == stored  # equal instants are not enough: offsets kept too
