"""The app from create_app(test settings): a client, a signed-in rep, an API token."""

from __future__ import annotations

import pytest

from scheduler.jobs import InlineJobs
from tests.conftest import PASSWORD
from web.app import create_app


@pytest.fixture
def app(runtime):
    """The app on the test runtime; background work runs inline after each commit so a
    response already reflects the calendar write and the invite."""
    runtime.use_jobs(InlineJobs(runtime.tick))
    flask_app = create_app(runtime=runtime)
    flask_app.config.update(TESTING=True)
    return flask_app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def api(client, token):
    """Calls the JSON API as the rep: api.post("/proposals", json=...)."""
    class Api:
        headers = {"Authorization": f"Bearer {token}"}

        def get(self, path, **kw):
            return client.get("/api/v1" + path, headers=self.headers, **kw)

        def post(self, path, **kw):
            return client.post("/api/v1" + path, headers=self.headers, **kw)

        def patch(self, path, **kw):
            return client.patch("/api/v1" + path, headers=self.headers, **kw)

        def put(self, path, **kw):
            return client.put("/api/v1" + path, headers=self.headers, **kw)
    return Api()


@pytest.fixture
def signed_in(app, client, rep):
    """A client with the rep's session (CSRF off here; the browser tests keep it on)."""
    app.config["WTF_CSRF_ENABLED"] = False
    response = client.post("/login", data={"email": rep.email, "password": PASSWORD})
    assert response.status_code == 302, response.text
    return client
