"""PATCH /api/v1/followups/{id} with {"plan": ...}: the plan is amended after booking, and the
calendar event and the prospect's invite follow through the outbox."""

from __future__ import annotations

from email import message_from_bytes

from sqlalchemy import select

from scheduler.store.models import LocalEvent
from tests.conftest import logged_kinds
from tests.web.api_support import assert_error, book, plan

AMENDED = {"steps": [
    {"who": "prospect", "what": "Send questions", "type": "send_questions", "due": "2026-11-27"},
    {"who": "rep", "what": "send the SOC 2 report", "type": "send_value", "due": "2026-11-28"},
    {"who": "lee@example.com", "what": "run the demo", "type": "meeting", "due": "2026-11-30"},
]}


def _event(runtime, email):
    with runtime.store.reading() as session:
        return session.scalars(select(LocalEvent).where(LocalEvent.calendar_id == email,
                                                        LocalEvent.title != "Busy")).one()


def _invites(settings):
    return [message_from_bytes(path.read_bytes()) for path in
            sorted(settings.outbox_dir.glob("*.eml"))]


def _ics(message) -> str:
    return next(part.get_payload(decode=True).decode() for part in message.walk()
                if part.get_content_type() == "text/calendar")


def test_an_amended_plan_reaches_the_event_and_the_prospects_invite(api, runtime, rep,
                                                                    helpers, settings):
    followup = book(api)
    runtime.tick()
    sent_before = len(_invites(settings))

    response = api.patch(f"/followups/{followup['id']}", json={"plan": AMENDED})
    runtime.tick()

    assert response.status_code == 200, response.get_json()
    amended = response.get_json()
    assert [s["what"] for s in amended["plan"]["steps"]] == [
        "Send questions", "send the SOC 2 report", "run the demo"]
    assert amended["sequence"] == followup["sequence"] + 1
    description = _event(runtime, rep.email).description
    assert "will send questions by Fri 27 Nov" in description
    assert "lee@example.com will run the demo by Mon 30 Nov" in description
    invites = _invites(settings)
    assert len(invites) == sent_before + 1
    assert "will send the SOC 2 report by Sat 28 Nov" in _ics(invites[-1]).replace("\r\n ", "")
    assert "plan.amended" in logged_kinds(runtime)


def test_a_step_that_stays_keeps_its_done_mark(api, rep, helpers):
    followup = book(api)
    api.patch(f"/followups/{followup['id']}", json={"steps": [{"index": 0, "done": True}]})
    kept = plan()["steps"][0]

    response = api.patch(f"/followups/{followup['id']}",
                         json={"plan": {"steps": [AMENDED["steps"][1], kept]}})

    steps = response.get_json()["plan"]["steps"]
    assert [(s["what"], s["done"]) for s in steps] == [("send the SOC 2 report", False),
                                                       ("send the security questionnaire", True)]


def test_a_bad_amendment_names_the_step_and_changes_nothing(api, rep, helpers):
    followup = book(api)
    bad = {"steps": [AMENDED["steps"][0], {"who": "rep", "what": "", "due": "2026-11-27"}]}

    response = api.patch(f"/followups/{followup['id']}", json={"plan": bad})

    assert_error(response, 422, "invalid_plan", "plan.steps.1.what")
    shown = api.get(f"/followups/{followup['id']}").get_json()
    assert len(shown["plan"]["steps"]) == 2 and shown["sequence"] == followup["sequence"]


def test_a_cancelled_followups_plan_cannot_be_amended(api, rep, helpers):
    followup = book(api)
    api.patch(f"/followups/{followup['id']}", json={"status": "cancelled"})

    response = api.patch(f"/followups/{followup['id']}", json={"plan": AMENDED})

    assert response.status_code == 409


def test_plan_and_another_change_at_once_is_refused(api, rep, helpers):
    followup = book(api)

    response = api.patch(f"/followups/{followup['id']}",
                         json={"plan": AMENDED, "status": "cancelled"})

    assert response.status_code == 422
