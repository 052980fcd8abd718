"""The command tier: the installed `nextstep` console script run as a user runs it, in a
folder of its own, as a subprocess, on a free loopback port. Every process a test starts
is stopped in teardown; every wait is bounded."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests

from tests.ports import free_port

NEXTSTEP = Path(sys.executable).with_name("nextstep")  # the console script pip installed
START_SECONDS = 30  # ~20 s on a quiet box; the 2 cores are shared
# What a user's own shell might set that would change what a command does.
FOREIGN_ENV = ("DATABASE_URL", "REDIS_URL", "WEB_CONCURRENCY", "WEB_THREADS",
               "GUNICORN_CMD_ARGS", "PYTHONPATH")
REP = ("riley@example.com", "Riley Rivera", "America/New_York")
PROSPECT = {"name": "Dana Whitfield", "email": "dana@acme.example.com",
            "timezone": "America/Los_Angeles", "company": "Acme"}


@dataclass
class Process:
    """A long-running command: its process, where it listens, and what it printed."""

    popen: subprocess.Popen
    output_file: Path
    url: str | None = None

    @property
    def output(self) -> str:
        return self.output_file.read_text()


@dataclass
class Site:
    """A folder a user runs `nextstep` in, with its own SQLite file (the default one,
    instance/nextstep.sqlite3 under the folder), outbox and environment."""

    folder: Path
    env: dict[str, str]
    processes: list[Process] = field(default_factory=list)

    @property
    def database_url(self) -> str:
        return f"sqlite:///{self.folder / 'instance' / 'nextstep.sqlite3'}"

    @property
    def outbox(self) -> Path:
        return self.folder / "instance" / "outbox"

    def run(self, *args: str, env: dict[str, str] | None = None,
            check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run([str(NEXTSTEP), *args], cwd=self.folder,
                                env={**self.env, **(env or {})}, capture_output=True,
                                text=True, timeout=60)
        if check:
            assert result.returncode == 0, (args, result.stdout, result.stderr)
        return result

    def start(self, *args: str, env: dict[str, str] | None = None,
              command: Path = NEXTSTEP) -> Process:
        """Start a long-running command in its own process group; stopped in teardown.
        `command` is another install's console script, when not this environment's."""
        output_file = self.folder / f"{args[0]}-{len(self.processes)}.log"
        with output_file.open("w") as sink:
            popen = subprocess.Popen([str(command), *args], cwd=self.folder,
                                     env={**self.env, **(env or {})}, stdout=sink,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        process = Process(popen, output_file)
        self.processes.append(process)
        return process

    def serve(self, *args: str, env: dict[str, str] | None = None) -> Process:
        """`nextstep serve` on a free port, once it answers /api/v1/health."""
        port = free_port()
        process = self.start("serve", "--port", str(port), *args, env=env)
        process.url = f"http://127.0.0.1:{port}"
        wait_for(lambda: _healthy(process), f"nextstep serve answering at {process.url}",
                 process)
        return process

    def stop_all(self) -> None:
        for process in reversed(self.processes):
            stop(process.popen)
        self.processes.clear()


def stop(popen: subprocess.Popen) -> None:
    """SIGTERM (gunicorn's and Celery's graceful stop), then SIGKILL to the whole group,
    so no worker it forked outlives the test."""
    if popen.poll() is None:
        popen.terminate()
        with suppress(subprocess.TimeoutExpired):
            popen.wait(timeout=15)
    with suppress(ProcessLookupError):
        os.killpg(popen.pid, signal.SIGKILL)
    popen.wait(timeout=5)


def wait_for(ready, what: str, process: Process | None = None,
             seconds: float = START_SECONDS):
    """Poll `ready()` until it returns something truthy; fail naming `what` after
    `seconds`, or at once if the process has exited."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process is not None and process.popen.poll() is not None:
            pytest.fail(f"{what}: the command exited ({process.popen.returncode}):\n"
                        f"{process.output}")
        answer = ready()
        if answer:
            return answer
        time.sleep(0.1)
    pytest.fail(f"{what}: not within {seconds} s" +
                (f"\n{process.output}" if process is not None else ""))


def _healthy(process: Process) -> bool:
    try:
        answer = requests.get(process.url + "/api/v1/health", timeout=2)
    except (requests.ConnectionError, requests.Timeout):  # not up yet, or a busy machine
        return False
    return answer.status_code == 200 and answer.json() == {"status": "ok", "database": "ok"}


def make_site(folder: Path, **env: str) -> Site:
    base = {name: value for name, value in os.environ.items()
            if not name.startswith(("NEXTSTEP_", "OAUTHLIB_")) and name not in FOREIGN_ENV}
    return Site(folder, {**base, "NEXTSTEP_SECRET_KEY": secrets.token_urlsafe(32), **env})


@pytest.fixture
def site(tmp_path) -> Iterator[Site]:
    """A fresh folder; nothing set up in it yet."""
    made = make_site(tmp_path)
    yield made
    made.stop_all()


def set_up(site: Site) -> dict[str, subprocess.CompletedProcess]:
    """What a new install does first: migrate, add a rep, create the rep's API token.
    Each command's result by its name; the token is `token create`'s stdout."""
    email, name, zone = REP
    return {"db upgrade": site.run("db", "upgrade"),
            "user add": site.run("user", "add", email.upper(), "--name", name,
                                 "--timezone", zone),
            "token create": site.run("token", "create", email)}


def token_of(setup: dict[str, subprocess.CompletedProcess]) -> str:
    return setup["token create"].stdout.removesuffix("\n")


@contextmanager
def api(base_url: str, token: str) -> Iterator[requests.Session]:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    try:
        yield session
    finally:
        session.close()


def book_first_proposal(http: requests.Session, base_url: str) -> tuple[dict, dict]:
    """Ask for proposals over HTTP and book the first; (the proposal answer, the follow-up)."""
    proposed = http.post(base_url + "/api/v1/proposals", timeout=10,
                         json={"prospect": PROSPECT, "duration_minutes": 30})
    assert proposed.status_code == 200, proposed.text
    slot = proposed.json()["proposals"][0]
    due = (datetime.now(UTC) + timedelta(days=10)).date().isoformat()
    booked = http.post(base_url + "/api/v1/followups", timeout=10, json={
        "prospect": PROSPECT, "start": slot["start"], "duration_minutes": 30, "helpers": [],
        "step_type": "proposal_review", "idempotency_key": secrets.token_hex(8),
        "plan": {"steps": [{"who": "rep", "what": "send the proposal",
                            "type": "send_proposal", "due": due}]}})
    assert booked.status_code == 201, booked.text
    return proposed.json(), booked.json()
