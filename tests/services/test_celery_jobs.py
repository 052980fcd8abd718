"""At scale the outbox runs on Celery workers through the real Redis broker."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime

import pytest

from scheduler.booking import book_followup
from scheduler.jobs import CeleryJobs
from scheduler.outbox import pending_count
from tests.conftest import require_service
from tests.services.helpers import booking


@pytest.mark.redis
def test_a_kick_reaches_a_celery_worker_that_writes_the_calendar(runtime, make_rep):
    require_service("Redis", "127.0.0.1", 6379)
    from celery.contrib.testing.worker import start_worker

    database = 1 + uuid.uuid4().int % 14  # keep clear of other users of database 0
    jobs = CeleryJobs(f"redis://127.0.0.1:6379/{database}")
    jobs.app.conf.update(task_default_queue=f"nextstep-test-{uuid.uuid4().hex[:8]}")
    jobs.register(runtime.tick)
    runtime.use_jobs(jobs)
    rep = make_rep()

    with start_worker(jobs.app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        book_followup(booking(datetime(2026, 11, 24, 15, tzinfo=UTC)), rep=rep,
                      **runtime.deps())
        deadline = time.monotonic() + 20
        while pending_count(runtime.store) and time.monotonic() < deadline:
            time.sleep(0.05)

    assert pending_count(runtime.store) == 0
