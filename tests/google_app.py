"""The app wired to the Google emulator, for the web and browser tests: import the fixtures
(`google`, `runtime`) into a test module and define `settings` with `google_settings`."""

from __future__ import annotations

import pytest

from scheduler.runtime import default_builders
from scheduler.settings import Settings
from tests.conftest import build_runtime, make_settings
from tests.contract.harness_google import EmulatedGoogle, running_emulator


@pytest.fixture
def google(monkeypatch):
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # the emulator speaks plain http
    with running_emulator() as emulated:
        yield emulated


@pytest.fixture
def runtime(settings, clock):
    """Nextstep with the real adapters (they reach the emulator through `settings`)."""
    built = build_runtime(settings, clock, builders=default_builders())
    yield built
    built.store.dispose()


def google_settings(tmp_path, google: EmulatedGoogle, *, base_url: str) -> Settings:
    """Test settings with Google offered and pointed at the emulator."""
    return make_settings(tmp_path, base_url=base_url, **google.pointing)
