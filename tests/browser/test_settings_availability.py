"""Editing working hours on /settings in headless Chromium: the real form, CSRF on."""

from __future__ import annotations

from scheduler.accounts import get_user


def test_rep_edits_the_week_grid_and_sees_next_weeks_free_time_change(page, sign_in,
                                                                     live_server, runtime,
                                                                     rep, screenshot):
    sign_in(page)
    page.goto(f"{live_server}/settings")
    monday = page.locator('#preview li[data-date="2026-11-30"]')
    assert "09:00–17:00" in monday.inner_text()

    page.fill("#day-0", "09:00-12:00, 13:00-16:30")
    page.check("#off-4")  # Fridays off
    page.fill("#overrides", "2026-12-01 off")
    page.fill("#buffer_after_minutes", "10")
    page.fill("#video_link", "https://meet.example.com/riley")
    page.click("#save-availability")

    page.wait_for_url(f"{live_server}/settings#availability")
    assert "Your availability is saved" in page.get_by_role("status").first.inner_text()
    assert "09:00–12:00, 13:00–16:30" in monday.inner_text()
    assert "none" in page.locator('#preview li[data-date="2026-12-01"]').inner_text()
    assert "none" in page.locator('#preview li[data-date="2026-12-04"]').inner_text()
    assert page.input_value("#day-0") == "09:00-12:00, 13:00-16:30"
    assert page.is_checked("#off-4")
    saved = get_user(runtime.store, rep.id)
    assert saved.working_hours["weekly"]["0"] == [["09:00", "12:00"], ["13:00", "16:30"]]
    assert "4" not in saved.working_hours["weekly"]
    assert saved.video_link == "https://meet.example.com/riley"
    page.locator("#availability").scroll_into_view_if_needed()
    screenshot(page, "settings-availability")


def test_a_bad_range_is_named_next_to_its_day(page, sign_in, live_server, runtime, rep):
    sign_in(page)
    page.goto(f"{live_server}/settings")

    page.fill("#day-2", "17:00-09:00")
    page.click("#save-availability")

    problem = page.locator("#problem-working_hours-weekly-2")
    assert "must start before it ends" in problem.inner_text()
    assert page.get_attribute("#day-2", "aria-invalid") == "true"
    assert page.input_value("#day-2") == "17:00-09:00"
    assert get_user(runtime.store, rep.id).working_hours["weekly"]["2"] == [["09:00", "17:00"]]
