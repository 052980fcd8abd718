"""A provider added through the registry alone works through the whole app: it is offered
on the connections page, connected through its OAuth flow, written to with Nextstep's own
invite (it sends none), notified through /hooks/<its name>, limited by its own limits and
disconnected with its grant revoked. Nothing outside its module names it."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
from sqlalchemy import select

from scheduler.jobs import ManualJobs
from scheduler.runtime import PROVIDERS, Nextstep
from scheduler.store.migrate import upgrade
from scheduler.store.models import Connection
from tests.contract.memory_provider import CONSENT_PAGE, NAME, MemoryBackend, memory_provider
from tests.web.api_support import PROSPECT, book


@pytest.fixture
def backend() -> MemoryBackend:
    return MemoryBackend()


@pytest.fixture
def runtime(settings, clock, backend):
    upgrade(settings.database_url)
    built = Nextstep.build(settings, clock=clock,
                           providers=PROVIDERS.with_provider(memory_provider(backend)))
    yield built.use_jobs(ManualJobs())
    built.store.dispose()


def connect(client, rep) -> Connection:
    start = client.get(f"/connections/{NAME}/connect")
    assert start.status_code == 302 and start.headers["Location"].startswith(CONSENT_PAGE)
    consent = dict(parse_qsl(urlsplit(start.headers["Location"]).query))
    callback = urlsplit(consent["redirect_uri"]).path
    answer = client.get(callback, query_string={"code": consent["code"], "account": rep.email})
    assert answer.status_code == 302, answer.get_data(as_text=True)
    return the_connection(client.application.extensions["nextstep"])


def the_connection(runtime) -> Connection:
    with runtime.store.reading() as session:
        return session.scalars(select(Connection).where(Connection.provider == NAME)).one()


def notify(client, connection: Connection, secret: str | None = None):
    return client.post(f"/hooks/{NAME}", headers={
        "X-Memory-Channel": connection.channel["id"],
        "X-Memory-Secret": secret or connection.channel["token"]})


def test_it_is_offered_and_connects_with_a_push_channel(signed_in, runtime, backend, rep):
    assert "Connect Memory calendar" in signed_in.get("/connections").get_data(as_text=True)
    assert f'id="sign-in-{NAME}"' in signed_in.get("/login").get_data(as_text=True)

    connection = connect(signed_in, rep)

    assert connection.account == rep.email and connection.status == "active"
    assert backend.channels == {connection.channel["id"]: f"http://nextstep.test/hooks/{NAME}"}
    page = signed_in.get("/connections").get_data(as_text=True)
    assert f"Memory calendar · {rep.email}" in page


def test_a_booking_is_written_and_a_notified_decline_comes_back(signed_in, api, runtime,
                                                                backend, rep, settings):
    connection = connect(signed_in, rep)

    followup = api.get(f"/followups/{book(api)['id']}").get_json()

    [event] = followup["events"]
    assert event["provider"] == NAME and event["event_id"] in backend.events
    assert list(Path(settings.outbox_dir).glob("*.eml"))  # it sends no invites: we do
    runtime.calendars.provider(NAME, connection.id).respond(event["event_id"],
                                                            PROSPECT["email"], "declined")
    assert notify(signed_in, connection, secret="forged").status_code == 404
    assert notify(signed_in, connection).status_code == 200
    assert api.get(f"/followups/{followup['id']}").get_json()["status"] == "declined"


def test_its_own_limits_apply_and_disconnecting_revokes_its_grant(signed_in, runtime,
                                                                   backend, rep):
    connection = connect(signed_in, rep)

    refused = signed_in.post(f"/connections/{connection.id}/calendars", data={
        "booking_calendar": rep.email, "busy_calendars": "a@x.example\nb@x.example\nc@x.example"})
    gone = signed_in.post(f"/connections/{connection.id}/disconnect", follow_redirects=True)

    assert refused.status_code == 422 and "at most 3" in refused.get_data(as_text=True)
    assert "access is revoked" in gone.get_data(as_text=True)
    assert backend.revoked == [rep.email] and backend.channels == {}
