"""The live-call screen in headless Chromium: from typing the prospect to a booked follow-up
with its plan, by mouse and by keyboard alone."""

from __future__ import annotations

from playwright.sync_api import expect
from sqlalchemy import select

from scheduler.store.models import FollowUp, LocalEvent, LogEntry

PLAN = [("prospect", "send_questions", "Send the security questionnaire", "2026-11-25"),
        ("rep", "send_proposal", "Send the proposal", "2026-11-26"),
        ("lee@example.com", "proposal_review", "Review the proposal together", "2026-11-27")]


def _type_prospect(page, name="Dana Whitfield", email="dana@acme.example.com",
                   zone="America/Los_Angeles"):
    page.fill("#prospect-name", name)
    page.fill("#prospect-email", email)
    page.fill("#prospect-timezone", zone)
    page.locator("#prospect-timezone").dispatch_event("change")


def _events(runtime, email):
    with runtime.store.reading() as session:
        return session.scalars(select(LocalEvent).where(LocalEvent.calendar_id == email,
                                                        LocalEvent.title != "Busy")).all()


def _kinds(runtime):
    with runtime.store.reading() as session:
        return [entry.kind for entry in session.scalars(select(LogEntry).order_by(LogEntry.id))]


def test_rep_books_a_followup_with_a_three_step_plan(page, sign_in, runtime, rep, helpers,
                                                     settings, screenshot):
    sign_in(page)
    _type_prospect(page)
    page.check("input[name=helpers][value='lee@example.com']")
    slots = page.locator("input[name=slot]")
    slots.first.wait_for()
    assert slots.count() == 3
    sentence = page.locator("#spoken").inner_text()
    assert sentence.startswith("“Would today at 08:00") and "your time work for you?" in sentence
    first_slot = page.locator("label.slot").first.inner_text()
    assert "Mon 23 Nov 08:00" in first_slot and "Mon 23 Nov 11:00" in first_slot  # LA, NY
    for row, (who, kind, what, due) in enumerate(PLAN):
        page.select_option(f"#steps-{row}-who", who)
        page.select_option(f"#steps-{row}-type", kind)
        page.fill(f"#steps-{row}-what", what)
        page.fill(f"#steps-{row}-due", due)
    page.locator("input[name=slot]").nth(1).check()
    screenshot(page, "live-call-before-booking")

    page.click("#book")

    confirmation = page.locator("#booked")
    confirmation.wait_for()
    # The second slot is an afternoon among the mornings (12:00 Los Angeles, 15:00 New York).
    assert "Tue 24 Nov 12:00" in confirmation.inner_text()
    assert "written to your Built-in calendar" in confirmation.inner_text()
    screenshot(page, "live-call-booked")
    with runtime.store.reading() as session:
        [followup] = session.scalars(select(FollowUp)).all()
        assert [s.what for s in followup.steps] == [what for _w, _k, what, _d in PLAN]
        assert [h.email for h in followup.helpers] == ["lee@example.com"]
    [event] = _events(runtime, rep.email)
    assert "will send the security questionnaire by Wed 25 Nov" in event.description
    assert len(_events(runtime, "lee@example.com")) == 1
    assert list(settings.outbox_dir.glob("*.eml"))
    assert "followup.booked" in _kinds(runtime)

    page.click("#book-another")
    page.wait_for_url("**/live")
    assert page.input_value("#prospect-name") == ""


def test_the_whole_flow_works_from_the_keyboard_alone(page, sign_in, runtime, rep):
    sign_in(page)
    keyboard = page.keyboard
    # The name field has focus on arrival.
    keyboard.type("Kenji Sato")
    keyboard.press("Tab")
    keyboard.type("kenji@hikari.example.com")
    keyboard.press("Tab")
    keyboard.press("Tab")  # company: left empty
    keyboard.press("Control+a")
    keyboard.type("America/Chicago")
    keyboard.press("Tab")
    page.locator("input[name=slot]").first.wait_for()
    page.focus("#steps-0-what")
    keyboard.type("Send the data sheet")
    keyboard.press("Tab")
    keyboard.type("11272026")  # Chromium's date field takes the digits in the locale order
    page.focus("#book")
    keyboard.press("Enter")

    page.locator("#booked").wait_for()
    assert page.evaluate("document.activeElement.id") == "book-another"
    with runtime.store.reading() as session:
        [followup] = session.scalars(select(FollowUp)).all()
        assert followup.prospect.timezone == "America/Chicago"
        assert [s.due_date.isoformat() for s in followup.steps] == ["2026-11-27"]


def test_a_known_prospects_zone_is_filled_in(page, sign_in, runtime, rep):
    """Known from this rep's own earlier booking (another rep's would stay private)."""
    from datetime import UTC, datetime

    from scheduler.booking import book_followup
    from tests.services.helpers import booking

    book_followup(booking(datetime(2026, 11, 24, 15, tzinfo=UTC),
                          prospect={"name": "Priya", "email": "priya@lumen.example.com",
                                    "timezone": "Asia/Kolkata"}), rep=rep, **runtime.deps())
    sign_in(page)
    page.fill("#prospect-email", "priya@lumen.example.com")
    page.locator("#prospect-email").dispatch_event("change")

    expect(page.locator("#prospect-timezone")).to_have_value("Asia/Kolkata")


def test_a_bad_plan_is_named_and_nothing_is_booked(page, sign_in, runtime, rep):
    sign_in(page)
    _type_prospect(page)
    page.locator("input[name=slot]").first.wait_for()
    page.fill("#steps-0-what", "Send the proposal")
    page.fill("#steps-0-due", "2026-11-20")  # before today

    page.click("#book")

    problem = page.get_by_role("alert")
    assert "in the past" in problem.inner_text()
    assert page.get_attribute("#steps-0-due", "aria-invalid") == "true"
    with runtime.store.reading() as session:
        assert session.scalars(select(FollowUp)).all() == []


def test_ending_without_a_next_step_is_logged(page, sign_in, runtime, rep):
    sign_in(page)
    _type_prospect(page)

    page.click("#no-next-step")
    page.select_option("#reason", "other")
    page.fill("#reason-other", "budget frozen until March")
    page.click("#end-call")

    page.locator("#ended").wait_for()
    assert _kinds(runtime) == ["call.no_next_step"]
    page.goto(page.url.replace("/live", "/log"))
    assert "budget frozen until March" in page.locator("body").inner_text()


def test_a_prospect_named_like_a_script_is_shown_as_text(page, sign_in, runtime, rep,
                                                         screenshot):
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    sign_in(page)
    _type_prospect(page, name="<script>alert(1)</script>")
    page.locator("input[name=slot]").first.wait_for()
    page.fill("#steps-0-what", "Send the proposal")
    page.fill("#steps-0-due", "2026-11-27")

    page.click("#book")

    page.locator("#booked").wait_for()
    assert "<script>alert(1)</script>" in page.locator("#booked").inner_text()
    assert dialogs == []
    screenshot(page, "live-call-script-name")


def test_the_screen_fits_a_phone(browser, live_server, rep, screenshot):
    from tests.conftest import PASSWORD

    context = browser.new_context(viewport={"width": 390, "height": 844},
                                  timezone_id="America/New_York")
    phone = context.new_page()
    phone.goto(f"{live_server}/login")
    phone.fill("#email", rep.email)
    phone.fill("#password", PASSWORD)
    phone.click("button[type=submit]")
    phone.wait_for_url(f"{live_server}/live")
    _type_prospect(phone)
    phone.locator("input[name=slot]").first.wait_for()

    width = phone.evaluate("document.documentElement.scrollWidth")
    screenshot(phone, "live-call-phone")
    context.close()
    assert width <= 390
