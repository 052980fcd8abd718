"""Amending a booked follow-up's action plan: steps added, edited or removed after the call
was booked. One transaction; the calendar event and the prospect's invite follow through
the outbox, as for every other change."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from scheduler import outbox
from scheduler.access import Viewer
from scheduler.booking import _owned, get_followup_or_raise
from scheduler.calendars import Calendars
from scheduler.clock import Clock
from scheduler.errors import Conflict
from scheduler.lifecycle import LIVE
from scheduler.log import append
from scheduler.plans import parse_plan
from scheduler.readmodels import FollowUpView
from scheduler.reservations import Jobs, step_row
from scheduler.store import Store
from scheduler.store.models import Step


def amend_plan(followup_id: str, plan: Mapping[str, Any], *, actor: str, viewer: Viewer,
               store: Store, calendars: Calendars, clock: Clock, jobs: Jobs) -> FollowUpView:
    """Replace the plan of a live follow-up. A step that stays as it was (who, what, kind,
    by when) keeps its done mark; attendees get the updated event."""
    now = clock.now()
    current = get_followup_or_raise(store, followup_id, viewer=viewer)
    today = now.astimezone(ZoneInfo(current.rep.timezone)).date()
    parsed = parse_plan(plan, today=today)
    invite = not calendars.sends_own_invites(current.rep)

    def amend(session: Session) -> None:
        followup = _owned(session, followup_id, viewer)
        if followup.status not in LIVE:
            raise Conflict(f"the follow-up is {followup.status}", field="status")
        done = {_key(step): step.done_at for step in followup.steps if step.done_at}
        before = len(followup.steps)
        followup.steps.clear()
        session.flush()
        for position, step in enumerate(parsed.steps):
            row = step_row(followup.id, position, step)
            row.done_at = done.get(_key(row))
            followup.steps.append(row)
        followup.sequence += 1
        followup.updated_at = now
        outbox.enqueue_followup_change(session, followup, method="REQUEST", now=now,
                                       invite=invite)
        append(session, "plan.amended", at=now, rep_id=followup.rep_id,
               followup_id=followup_id, by=actor, previous_steps=before,
               steps=len(parsed.steps))

    store.retrying(amend)
    jobs.kick()
    return get_followup_or_raise(store, followup_id)


def _key(step: Step) -> tuple[str, str, str, str]:
    return step.who, step.what, step.type, step.due_text
