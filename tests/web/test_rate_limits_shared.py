"""Sign-in limits hold across workers when REDIS_URL is set (issue 15, finding 7): two app
processes on one Redis database share one count. The memory store counts per process."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import redis
import requests

from scheduler.store.migrate import upgrade
from tests.conftest import require_service
from tests.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
LOGIN_LIMIT = 10  # per minute, web/auth/views.py


def _start_worker(env: dict[str, str]) -> tuple[subprocess.Popen, str]:
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "tests.serve_worker", str(port)],
                               cwd=ROOT, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True)
    assert process.stdout.readline().strip() == "ready"
    return process, f"http://127.0.0.1:{port}"


@pytest.fixture
def workers(tmp_path, request):
    """Two app processes on one SQLite file; with Redis when the test's param says so."""
    database_url = f"sqlite:///{tmp_path / 'shared.sqlite3'}"
    upgrade(database_url)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("NEXTSTEP_") and k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(DATABASE_URL=database_url, NEXTSTEP_SECRET_KEY="workers-test",
               NEXTSTEP_OUTBOX_DIR=str(tmp_path / "outbox"), PYTHONPATH=str(ROOT))
    if request.param:
        require_service("Redis", "127.0.0.1", 6379)
        database = 1 + uuid.uuid4().int % 14  # keep clear of other users of database 0
        env["REDIS_URL"] = f"redis://127.0.0.1:6379/{database}"
        client = redis.Redis.from_url(env["REDIS_URL"])
        for key in client.scan_iter("LIMITER*"):
            client.delete(key)
        client.close()
    started = [_start_worker(env) for _ in range(2)]
    yield [url for _, url in started]
    for process, _ in started:
        process.terminate()
        process.wait(timeout=10)
        process.stdout.close()


def _sign_in_attempts(url: str, count: int) -> list[int]:
    """Wrong passwords, each a complete form (with its CSRF token) as a browser sends it."""
    with requests.Session() as session:
        form = session.get(f"{url}/login", timeout=10).text
        csrf = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', form)[1]
        return [session.post(f"{url}/login", data={"email": "riley@example.com",
                                                    "password": "guess guess",
                                                    "csrf_token": csrf},
                             timeout=10).status_code for _ in range(count)]


@pytest.mark.redis
@pytest.mark.parametrize("workers", [True], indirect=True)
def test_the_sign_in_limit_holds_across_two_workers_on_redis(workers):
    first, second = workers

    statuses = _sign_in_attempts(first, 6) + _sign_in_attempts(second, 6)

    assert statuses.count(429) == 12 - LOGIN_LIMIT
    assert statuses[-1] == 429


@pytest.mark.parametrize("workers", [False], indirect=True)
def test_without_redis_each_worker_counts_alone(workers):
    """Why README says the memory store is per process: 12 attempts, none refused."""
    first, second = workers

    statuses = _sign_in_attempts(first, 6) + _sign_in_attempts(second, 6)

    assert 429 not in statuses
