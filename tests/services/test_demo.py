"""`nextstep demo`: one command from nothing to a served app with demo data, safe to repeat."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from scheduler.demo import seed_demo
from scheduler.store.models import LocalEvent, Prospect, User
from tests.ports import free_port


def _count(runtime, model) -> int:
    with runtime.store.reading() as session:
        return session.query(model).count()


def test_seeding_twice_keeps_one_copy_of_everything(runtime):
    first = seed_demo(runtime)
    counts = [_count(runtime, model) for model in (User, Prospect, LocalEvent)]

    second = seed_demo(runtime)

    assert [_count(runtime, model) for model in (User, Prospect, LocalEvent)] == counts
    assert counts[0] == 3 and counts[1] == 4 and counts[2] == first.busy_events > 0
    assert second.password == first.password and second.token != first.token


def _serve_demo(cwd: Path, port: int) -> tuple[subprocess.Popen, str]:
    """Start `nextstep demo`, wait for its health answer, return the process and its output."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("NEXTSTEP_") and k != "DATABASE_URL"}
    process = subprocess.Popen(
        [sys.executable, "-c", "from web.cli import main; main()", "demo", "--port", str(port)],
        cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"nextstep demo exited: {process.stdout.read()}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/health",
                                        timeout=2) as answer:
                health = json.loads(answer.read())
            break
        except OSError:
            time.sleep(0.2)
    else:
        process.kill()
        pytest.fail("nextstep demo did not answer /api/v1/health within 60 s")
    process.terminate()
    output, _ = process.communicate(timeout=15)
    assert health == {"status": "ok", "database": "ok"}
    return process, output


def test_demo_serves_health_prints_the_sign_in_and_runs_again(tmp_path):
    _, first = _serve_demo(tmp_path, free_port())
    _, again = _serve_demo(tmp_path, free_port())

    assert (tmp_path / "instance" / "nextstep.sqlite3").exists()
    for output in (first, again):
        assert re.search(r"sign in:\s+riley@example\.com / \S+", output), output
        assert re.search(r"API token:\s+\S{20,}", output), output
