"""A follow-up as calendars and invites see it: one builder, so the event written to the
calendar, the .ics sent by mail and the .ics downloaded by the prospect all agree."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, datetime

from scheduler.lifecycle import Status, stored_answer
from scheduler.plans import Plan, Step, describe_plan, plan_to_dict
from scheduler.providers.base import FOLLOWUP_ID_PROPERTY, PLAN_PROPERTY, Attendee, CalendarEvent
from scheduler.readmodels import FollowUpView, StepView
from scheduler.store.models import FollowUp
from scheduler.store.models import Step as StepRow

# Inside a transaction the row, everywhere else its read model: both have these attributes.
AnyFollowUp = FollowUp | FollowUpView


def plan_of(followup: AnyFollowUp) -> Plan:
    return Plan(steps=tuple(_step(row) for row in followup.steps))


def _step(row: StepRow | StepView) -> Step:
    due: date | datetime = (datetime.fromisoformat(row.due_text) if "T" in row.due_text
                            else date.fromisoformat(row.due_text))
    return Step(who=row.who, what=row.what, type=row.type, due=due,
                help_from=tuple(row.help_from or ()), done_at=row.done_at)


def display_names(followup: AnyFollowUp) -> dict[str, str]:
    """How the plan names people: the prospect with their company, colleagues by name."""
    prospect = followup.prospect
    prospect_name = f"{prospect.name} ({prospect.company})" if prospect.company else prospect.name
    names = {"rep": followup.rep.name, followup.rep.email: followup.rep.name,
             "prospect": prospect_name, prospect.email: prospect_name}
    names.update({helper.email: helper.name for helper in followup.helpers})
    return names


def video_link(followup: AnyFollowUp) -> str | None:
    """Where the meeting happens: the calendar's own video meeting once it made one, else
    the rep's video link."""
    return followup.video_link or followup.rep.video_link


def followup_event(followup: AnyFollowUp, *, calendar_id: str,
                   manage_url: Callable[[AnyFollowUp], str] | None = None,
                   conference: bool = False) -> CalendarEvent:
    """With `conference`, the calendar is asked for a video meeting of its own and the rep's
    link is kept for when it makes none."""
    plan = plan_of(followup)
    link = followup.video_link if conference else video_link(followup)
    description = f"Join: {link}\n\n" if link else ""
    description += describe_plan(plan, display_names(followup)) if plan.steps else ""
    if manage_url is not None:
        description += f"\n\nReschedule or cancel: {manage_url(followup)}"
    prospect = followup.prospect
    attendees = (Attendee(prospect.email, prospect.name, response=_answer(followup)),
                 *(Attendee(helper.email, helper.name,
                            response=stored_answer(followup, helper.email, prospect=False))
                   for helper in followup.helpers))
    return CalendarEvent(
        uid=followup.event_uid, calendar_id=calendar_id, start=followup.start,
        end=followup.end, title=followup.title, description=description.strip(),
        organizer=Attendee(followup.rep.email, followup.rep.name, response="accepted"),
        attendees=attendees,
        properties={FOLLOWUP_ID_PROPERTY: followup.id,
                    PLAN_PROPERTY: json.dumps(plan_to_dict(plan), sort_keys=True)},
        sequence=followup.sequence, timezone=followup.rep.timezone, location=link,
        conference=conference)


def _answer(followup: AnyFollowUp) -> str:
    """The prospect's answer as the event carries it: what they last said, and declined
    once the meeting is cancelled."""
    if followup.status == Status.CANCELLED:
        return "declined"
    return stored_answer(followup, followup.prospect.email, prospect=True)
