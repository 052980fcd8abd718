"""A database outage (issue 15, finding 4), through a real PostgreSQL behind a proxy the test
cuts: 503 with Retry-After and the error shape on the API, a plain page on pages, health
"degraded"; a read whose connection drops is retried once; recovery needs no restart."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from scheduler.accounts import add_user, create_api_token, set_password
from scheduler.jobs import InlineJobs
from scheduler.store.models import Base, LogEntry
from tests.conftest import PASSWORD, build_runtime, make_settings
from tests.tcp_proxy import CuttableProxy
from tests.web.api_support import PROSPECT, assert_error, proposal
from web.app import create_app


@pytest.fixture
def proxy():
    running = CuttableProxy(("127.0.0.1", 5432))
    yield running
    running.close()


@pytest.fixture
def outage_app(postgres_url, proxy, tmp_path, clock):
    """The app on PostgreSQL, reached only through the proxy."""
    url = make_url(postgres_url).set(port=proxy.port).render_as_string(hide_password=False)
    runtime = build_runtime(make_settings(tmp_path, database_url=url), clock)
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with runtime.store.engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    add_user("riley@example.com", name="Riley", timezone="America/New_York",
             store=runtime.store, clock=runtime.clock)
    set_password(runtime.store, "riley@example.com", PASSWORD)
    app = create_app(runtime=runtime.use_jobs(InlineJobs(runtime.tick)))
    app.config.update(TESTING=True, WTF_CSRF_ENABLED=False)
    app.token = create_api_token(runtime.store, "riley@example.com", clock=runtime.clock)
    yield app
    runtime.store.dispose()


@pytest.fixture
def browser(outage_app):
    client = outage_app.test_client()
    signed = client.post("/login", data={"email": "riley@example.com", "password": PASSWORD})
    assert signed.status_code == 302
    return client


def _api(app, method: str, path: str, **kwargs):
    return getattr(app.test_client(), method)(
        "/api/v1" + path, headers={"Authorization": f"Bearer {app.token}"}, **kwargs)


def test_health_is_degraded_while_the_database_is_unreachable(outage_app, proxy):
    proxy.cut()

    response = outage_app.test_client().get("/api/v1/health")

    assert response.status_code == 503
    assert response.get_json() == {"status": "degraded", "database": "unreachable"}
    assert response.headers["Retry-After"].isdigit()


def test_the_api_answers_503_database_unavailable_with_retry_after(outage_app, proxy):
    proxy.cut()

    for response in (_api(outage_app, "post", "/proposals", json=proposal()),
                     _api(outage_app, "get", "/log")):
        assert_error(response, 503, "database_unavailable", None)
        assert response.headers["Retry-After"].isdigit()


def test_pages_and_sign_in_answer_a_plain_try_again_page(outage_app, browser, proxy):
    proxy.cut()

    pages = [browser.get("/log"), browser.get("/live"),
             outage_app.test_client().post("/login", data={"email": "riley@example.com",
                                                           "password": PASSWORD})]

    for page in pages:
        assert page.status_code == 503
        assert page.mimetype == "text/html"
        assert "Try again in a moment" in page.get_data(as_text=True)
        assert "Traceback" not in page.get_data(as_text=True)


def test_everything_works_again_without_a_restart(outage_app, browser, proxy):
    proxy.cut()
    assert outage_app.test_client().get("/api/v1/health").status_code == 503

    proxy.restore()

    assert outage_app.test_client().get("/api/v1/health").get_json()["status"] == "ok"
    assert _api(outage_app, "post", "/proposals", json=proposal()).status_code == 200
    assert browser.get("/log").status_code == 200


def test_a_read_whose_connection_drops_is_retried_once(outage_app, proxy):
    _api(outage_app, "get", "/log")  # the pool holds a live connection
    proxy.drop_next(b"log_entries")

    response = _api(outage_app, "get", "/log")

    assert proxy.dropped == 1
    assert response.status_code == 200, response.get_json()


def test_a_write_whose_connection_drops_is_not_repeated_and_leaves_nothing(outage_app, proxy):
    _api(outage_app, "get", "/log")
    proxy.drop_next(b"INSERT INTO log_entries")

    response = _api(outage_app, "post", "/calls/no-next-step", json={"prospect": PROSPECT})

    assert proxy.dropped == 1
    assert_error(response, 503, "database_unavailable", None)
    runtime = outage_app.extensions["nextstep"]
    with runtime.store.reading() as session:
        assert session.scalars(select(LogEntry)).all() == []


def test_an_idle_connection_that_died_is_replaced_before_a_request_uses_it(
        postgres_url, proxy, monkeypatch):
    """No pre-ping on every checkout: a connection idle a while is pinged first, so one the
    database (or a proxy) closed meanwhile is replaced without the request seeing an error."""
    from sqlalchemy import text

    from scheduler.store import Store
    from scheduler.store import session as store_session

    monkeypatch.setattr(store_session, "PING_AFTER_IDLE_SECONDS", 0.0)
    url = make_url(postgres_url).set(port=proxy.port).render_as_string(hide_password=False)
    store = Store(url, pool_size=1)
    try:
        with store.reading() as session:
            assert session.execute(text("SELECT 1")).scalar() == 1
        proxy.cut()  # the pooled connection is closed under the pool
        proxy.restore()
        with store.reading() as session:
            assert session.execute(text("SELECT 2")).scalar() == 2
    finally:
        store.dispose()


def test_a_busy_pool_does_not_ping_on_every_checkout(postgres_url, monkeypatch):
    from sqlalchemy import event, text

    from scheduler.store import Store

    store = Store(postgres_url, pool_size=1)
    statements: list[str] = []
    event.listen(store.engine, "before_cursor_execute",
                 lambda _c, _cur, sql, *_a: statements.append(sql))
    pings = []
    monkeypatch.setattr(store.engine.dialect, "do_ping",
                        lambda connection: pings.append(connection) or True)
    try:
        for _ in range(20):
            with store.reading() as session:
                session.execute(text("SELECT 1"))
    finally:
        store.dispose()
    assert pings == [] and len(statements) == 20
