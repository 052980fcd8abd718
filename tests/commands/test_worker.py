"""The deployment at scale: `nextstep worker` with REDIS_URL, a real Celery worker process,
picks up the kick a booking through `nextstep serve` sends and does the outbox's work (the
calendar event and the invite, written as an .eml file); serve runs with its access log."""

from __future__ import annotations

import email
import re
import uuid

import pytest
import redis
from sqlalchemy import select

from scheduler.store import Store
from scheduler.store.models import OutboxMessage
from tests.commands.conftest import (
    PROSPECT,
    api,
    book_first_proposal,
    set_up,
    token_of,
    wait_for,
)
from tests.conftest import require_service

pytestmark = pytest.mark.redis


@pytest.fixture
def redis_url():
    require_service("Redis", "127.0.0.1", 6379)
    database = 1 + uuid.uuid4().int % 14  # keep clear of other users of database 0
    yield f"redis://127.0.0.1:6379/{database}"
    client = redis.Redis(host="127.0.0.1", port=6379, db=database)
    client.flushdb()
    client.close()


def _outbox_rows(site) -> list[OutboxMessage]:
    store = Store(site.database_url)
    try:
        with store.reading() as session:
            return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
    finally:
        store.dispose()


def test_a_booking_through_serve_is_carried_out_by_the_celery_worker(site, redis_url):
    site.env["REDIS_URL"] = redis_url
    token = token_of(set_up(site))
    worker = site.start("worker")
    server = site.serve("--access-log")
    wait_for(lambda: "ready." in worker.output, "the Celery worker ready", worker)

    with api(server.url, token) as http:
        _proposals, followup = book_first_proposal(http, server.url)
    invites = wait_for(lambda: list(site.outbox.glob("*.eml")), "an invite in the outbox",
                       worker)

    [invite] = invites
    message = email.message_from_bytes(invite.read_bytes())
    assert PROSPECT["email"] in message["To"]
    rows = wait_for(lambda: (rows := _outbox_rows(site)) and all(r.done_at for r in rows)
                    and rows, "every outbox row done", worker)
    assert {row.followup_id for row in rows} == {followup["id"]}
    assert all(row.failed_at is None and row.last_error is None for row in rows)
    # The worker, not serve, did it (serve only kicks when REDIS_URL is set); it logs the
    # task once the task has returned, just after the rows were committed.
    wait_for(lambda: re.search(r"Task nextstep\.tick\[[^]]+\] succeeded", worker.output),
             "the worker logging the tick it ran", worker)
    assert '"POST /api/v1/followups HTTP/1.1" 201' in server.output  # --access-log
