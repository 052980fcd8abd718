"""Two serving processes on one PostgreSQL database, each with its own busy mirror: a time
booked through one is never proposed by the other afterwards, with no notification to wait
for (each proposal reads its people's busy versions in the query it makes anyway)."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

import pytest
import requests

from tests.commands.conftest import PROSPECT, REP, api, set_up, token_of
from tests.conftest import require_service
from tests.databases import throwaway_database

pytestmark = pytest.mark.postgres
ROUNDS = 6


@pytest.fixture
def database_url():
    """A database of its own: `db upgrade` of the site under test migrates it."""
    require_service("PostgreSQL", "127.0.0.1", 5432)
    with throwaway_database("nextstep_workers") as url:
        yield url


def propose(http: requests.Session, url: str) -> list[str]:
    answer = http.post(url + "/api/v1/proposals", timeout=10,
                       json={"prospect": PROSPECT, "duration_minutes": 30, "count": 3})
    assert answer.status_code == 200, answer.text
    starts = [slot["start"] for slot in answer.json()["proposals"]]
    assert len(starts) == 3, answer.text
    return starts


def book(http: requests.Session, url: str, start: str) -> None:
    due = (datetime.now(UTC) + timedelta(days=10)).date().isoformat()
    answer = http.post(url + "/api/v1/followups", timeout=10, json={
        "prospect": PROSPECT, "start": start, "duration_minutes": 30,
        "idempotency_key": secrets.token_hex(8),
        "plan": {"steps": [{"who": REP[0], "what": "send the proposal",
                            "type": "send_proposal", "due": due}]}})
    assert answer.status_code == 201, answer.text


def test_a_time_booked_through_one_worker_is_never_proposed_by_the_other(site, database_url):
    site.env["DATABASE_URL"] = database_url
    token = token_of(set_up(site))
    one = site.serve(env={"WEB_CONCURRENCY": "1"})
    other = site.serve(env={"WEB_CONCURRENCY": "1"})

    with api(one.url, token) as first, api(other.url, token) as second:
        propose(first, one.url)  # both mirrors warm before the first booking
        propose(second, other.url)
        booked = []
        for round_ in range(ROUNDS):
            booker, booker_url, asker, asker_url = (
                (first, one.url, second, other.url) if round_ % 2 == 0
                else (second, other.url, first, one.url))
            start = propose(booker, booker_url)[0]
            book(booker, booker_url, start)
            booked.append(start)
            assert not set(booked) & set(propose(asker, asker_url)), round_
            assert not set(booked) & set(propose(booker, booker_url)), round_


def test_two_gunicorn_workers_of_one_server_agree_after_every_booking(site, database_url):
    """One `serve` with two workers; each request on a new connection, so both answer."""
    site.env["DATABASE_URL"] = database_url
    token = token_of(set_up(site))
    server = site.serve(env={"WEB_CONCURRENCY": "2"})
    booked: list[str] = []
    for _ in range(ROUNDS):
        with api(server.url, token) as http:
            start = propose(http, server.url)[0]
            book(http, server.url, start)
        booked.append(start)
        for _ in range(6):
            with api(server.url, token) as fresh:  # a new connection: either worker
                assert not set(booked) & set(propose(fresh, server.url))
