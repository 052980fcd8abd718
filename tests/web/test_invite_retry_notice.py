"""With the mail server down, the rep is told the invite is being retried (issue 15,
finding 9): on the booked panel of /live, on /log's upcoming follow-ups and in the API's
follow-up answer, with the attempt number."""

from __future__ import annotations

from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller

from tests.conftest import make_settings
from tests.ports import free_port
from tests.smtp import SmtpServer
from tests.web.api_support import TUESDAY_3PM, book
from tests.web.test_live_screen import call, plan_rows


@pytest.fixture
def settings(tmp_path):
    """A mail server that is down: nothing listens on its port."""
    return make_settings(tmp_path, smtp_host="127.0.0.1", smtp_port=free_port())


def _retry_round(runtime) -> None:
    runtime.clock.advance(timedelta(hours=2))  # past any backoff
    runtime.tick()


def test_the_api_answer_says_the_invite_is_being_retried(api, runtime):
    followup = book(api)

    assert followup["invite"]["status"] == "retrying"
    assert followup["invite"]["attempts"] == 1
    assert followup["invite"]["last_error"]
    assert followup["invite"]["message"] == "invite not delivered yet (retrying, attempt 1)"
    _retry_round(runtime)
    again = api.get(f"/followups/{followup['id']}").get_json()
    assert (again["invite"]["status"], again["invite"]["attempts"]) == ("retrying", 2)


def test_the_booked_panel_on_live_says_so(signed_in):
    panel = signed_in.post("/live/book", data=call(slot=TUESDAY_3PM.isoformat(),
                                                   **plan_rows("Send proposal")))

    assert panel.status_code == 200
    assert "invite not delivered yet (retrying, attempt 1)" in panel.text


def test_the_log_page_says_so_until_the_invite_goes_out(api, signed_in, runtime):
    book(api)
    _retry_round(runtime)

    page = signed_in.get("/log").get_data(as_text=True)

    assert "invite not delivered yet (retrying, attempt 2)" in page


def test_once_the_mail_server_is_back_the_invite_is_sent_and_the_notice_goes(
        api, signed_in, runtime):
    followup = book(api)
    server = SmtpServer(host="127.0.0.1", port=runtime.settings.smtp_port)
    controller = Controller(server, hostname=server.host, port=server.port)
    controller.start()
    try:
        _retry_round(runtime)
    finally:
        controller.stop()

    invite = api.get(f"/followups/{followup['id']}").get_json()["invite"]
    assert (invite["status"], invite["message"]) == ("sent", None)
    assert server.messages and "not delivered yet" not in signed_in.get("/log").text
