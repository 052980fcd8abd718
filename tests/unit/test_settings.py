"""Settings: defaults, then the TOML file, then the environment; bad values stop start-up."""

from __future__ import annotations

from pathlib import Path

import pytest

from scheduler.errors import ConfigError
from scheduler.settings import DEMO_SECRET, Settings, load_settings

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "nextstep.example.toml"


def test_the_example_file_loads_and_documents_every_setting():
    loaded = load_settings({"NEXTSTEP_CONFIG": str(EXAMPLE)})
    text = EXAMPLE.read_text()

    assert loaded.database_url.startswith("sqlite:///")
    missing = [name for name in Settings.model_fields if f"{name} =" not in text]
    assert missing == []


def test_environment_overrides_the_file(tmp_path):
    config = tmp_path / "nextstep.toml"
    config.write_text('smtp_port = 2525\nmail_from = "File <f@example.com>"\n')

    loaded = load_settings({"NEXTSTEP_CONFIG": str(config), "NEXTSTEP_SMTP_PORT": "587",
                            "DATABASE_URL": "postgresql://u@db/nextstep"})

    assert loaded.smtp_port == 587
    assert loaded.mail_from == "File <f@example.com>"
    assert loaded.database_url == "postgresql+psycopg://u@db/nextstep"


@pytest.mark.parametrize(("environ", "field"), [
    ({"NEXTSTEP_SMTP_PORT": "not-a-port"}, "smtp_port"),
    ({"NEXTSTEP_SMTP_TLS": "maybe"}, "smtp_tls"),
    ({"NEXTSTEP_DEFAULT_TIMEZONE": "Mars/Olympus"}, "default_timezone"),
    ({"NEXTSTEP_PROSPECT_DAY_START": "25:00"}, "prospect_day_start"),
    ({"NEXTSTEP_SMTP_PORTT": "25"}, "smtp_portt"),
    ({"DATABASE_URL": "mysql://db/x"}, "database_url"),
])
def test_a_bad_setting_stops_start_up_naming_it(environ, field):
    with pytest.raises(ConfigError) as raised:
        load_settings(environ)

    assert raised.value.field == field
    assert field in raised.value.message


def test_a_missing_config_file_is_named(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings({"NEXTSTEP_CONFIG": str(tmp_path / "nope.toml")})


def test_outside_demo_mode_the_secret_key_is_required():
    with pytest.raises(ConfigError) as raised:
        load_settings({}).require_secrets()
    assert raised.value.field == "secret_key"
    load_settings({"NEXTSTEP_DEMO": "true"}).require_secrets()


def test_outside_demo_mode_the_public_demo_secret_is_refused():
    with pytest.raises(ConfigError, match="demo secret") as raised:
        load_settings({"NEXTSTEP_SECRET_KEY": DEMO_SECRET}).require_secrets()
    assert raised.value.field == "secret_key"
    demo = load_settings({"NEXTSTEP_DEMO": "true"})
    demo.require_secrets()
    assert demo.signing_key == DEMO_SECRET
    assert load_settings({"NEXTSTEP_SECRET_KEY": "own"}).signing_key == "own"
