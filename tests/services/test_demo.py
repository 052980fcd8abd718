"""`nextstep demo`: one command from nothing to a served app with demo data, safe to repeat."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from scheduler.access import Viewer
from scheduler.demo import DEMO_PASSWORD, seed_demo
from scheduler.store.models import LocalEvent, Prospect, User
from tests.ports import free_port

CHECKOUT = Path(__file__).resolve().parents[2]


def _count(runtime, model) -> int:
    with runtime.store.reading() as session:
        return session.query(model).count()


def test_seeding_twice_keeps_one_copy_of_everything(runtime):
    first = seed_demo(runtime)
    counts = [_count(runtime, model) for model in (User, Prospect, LocalEvent)]

    second = seed_demo(runtime)

    assert [_count(runtime, model) for model in (User, Prospect, LocalEvent)] == counts
    assert counts[0] == 3 and counts[1] == 5 and counts[2] == first.busy_events > 0
    assert second.password == first.password and second.token != first.token


@contextmanager
def running_demo(cwd: Path, port: int, *args: str) -> Iterator[subprocess.Popen]:
    """`nextstep demo` started from a checkout-less folder, answering /api/v1/health; the
    checkout's root is on PYTHONPATH, as `make demo` puts it, for --google-sandbox. What it
    printed is in `.output` once it has stopped."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("NEXTSTEP_", "OAUTHLIB_")) and k != "DATABASE_URL"}
    env["PYTHONPATH"] = str(CHECKOUT)
    process = subprocess.Popen(
        [sys.executable, "-c", "from web.cli import main; main()", "demo", "--port", str(port),
         *args], cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if process.poll() is not None:
                process.output, _ = process.communicate()
                pytest.fail(f"nextstep demo exited: {process.output}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/health",
                                            timeout=2) as answer:
                    assert json.loads(answer.read()) == {"status": "ok", "database": "ok"}
                break
            except OSError:
                time.sleep(0.2)
        else:
            pytest.fail("nextstep demo did not answer /api/v1/health within 60 s")
        yield process
    finally:
        if not process.stdout.closed:
            process.terminate()
            try:
                process.output, _ = process.communicate(timeout=15)  # closes the pipe too
            except subprocess.TimeoutExpired:
                process.kill()
                process.output, _ = process.communicate()


def _serve_demo(cwd: Path, port: int) -> tuple[subprocess.Popen, str]:
    """Start `nextstep demo`, wait for its health answer, stop it; the process and output."""
    with running_demo(cwd, port) as process:
        pass
    return process, process.output


def test_the_demo_offers_a_google_sandbox_to_connect(tmp_path):
    port = free_port()
    with running_demo(tmp_path, port, "--google-sandbox") as process:
        base = f"http://127.0.0.1:{port}"
        browser = requests.Session()
        form = browser.get(base + "/login", timeout=5).text
        csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form).group(1)
        signed_in = browser.post(base + "/login", timeout=5, data={
            "email": "riley@example.com", "password": DEMO_PASSWORD, "csrf_token": csrf})
        assert signed_in.url == base + "/live"

        page = browser.get(base + "/connections/google/connect", timeout=10)

        assert page.status_code == 200 and page.url == base + "/connections"
        assert "Google Calendar · riley@example.com" in page.text
        assert "is connected" in page.text
        slots = browser.get(base + "/live", timeout=5)
        assert 'data-problem="connection"' not in slots.text
    assert "Google Calendar: sandbox at http://127.0.0.1:" in process.output


def test_demo_serves_health_prints_the_sign_in_and_runs_again(tmp_path):
    _, first = _serve_demo(tmp_path, free_port())
    _, again = _serve_demo(tmp_path, free_port())

    assert (tmp_path / "instance" / "nextstep.sqlite3").exists()
    for output in (first, again):
        assert re.search(r"sign in:\s+riley@example\.com / \S+", output), output
        assert re.search(r"API token:\s+\S{20,}", output), output


def test_a_seeded_demo_has_something_in_every_list_on_the_log(runtime):
    from scheduler.log import read_entries
    from scheduler.overview import follow_through

    seed_demo(runtime)
    seed_demo(runtime)  # the history is written once
    with runtime.store.reading() as session:
        rep = session.query(User).filter_by(email="riley@example.com").one()
    lists = follow_through(rep, store=runtime.store, clock=runtime.clock)
    entries = list(read_entries(runtime.store, viewer=Viewer.rep(rep.id), newest_first=True,
                                limit=1000))
    kinds = [record.kind for record in entries]

    assert len(lists.upcoming) == 1
    assert any(step.stalled for step in lists.steps_due)
    assert any(not step.stalled for step in lists.steps_due)  # due today, not yet stalled
    assert [call.reason for call in lists.calls_without_next_step] == [
        "Budget frozen until Q2; asked us to check back in April"]
    for kind in ("followup.booked", "followup.rescheduled", "attendee.declined",
                 "step.done", "step.stalled", "call.no_next_step"):
        assert kind in kinds, kind
    assert kinds.count("followup.booked") == 4
