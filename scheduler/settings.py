"""The one settings object: built-in defaults, then the TOML file named by NEXTSTEP_CONFIG,
then NEXTSTEP_* environment variables (plus DATABASE_URL and REDIS_URL).

Every value is converted by its declared type; an unknown key or a bad value stops start-up
with a message naming it. Secrets have no defaults outside demo mode.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from scheduler.availability import canonical_zone
from scheduler.errors import ConfigError, InvalidInput

API_TOKEN_DAYS = 90
ENV_PREFIX = "NEXTSTEP_"
UNPREFIXED_ENV = ("DATABASE_URL", "REDIS_URL")
# Signs sessions and links in demo mode when no secret is set; `nextstep serve` refuses it.
DEMO_SECRET = "demo-only-secret"  # noqa: S105 - public by design, refused outside demo


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    # Where things live
    database_url: str = "sqlite:///instance/nextstep.sqlite3"
    redis_url: str | None = None
    base_url: str = "http://127.0.0.1:5000"
    instance_dir: Path = Path("instance")
    outbox_dir: Path = Path("instance/outbox")

    # Secrets (required unless demo)
    demo: bool = False
    secret_key: str | None = None
    encryption_keys: str | None = Field(
        default=None,
        description="Comma-separated `key_id:fernet_key` pairs; the first encrypts, all decrypt.")

    # Mail
    smtp_host: str | None = None
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_tls: Literal["none", "starttls", "ssl"] = "none"
    smtp_timeout_seconds: float = Field(default=10.0, gt=0)
    mail_from: str = "Nextstep <nextstep@localhost>"

    # Scheduling defaults
    default_timezone: str = "UTC"
    prospect_day_start: str = "08:00"
    prospect_day_end: str = "18:00"
    slot_grid_minutes: int = Field(default=15, ge=5, le=120)
    min_notice_minutes: int = Field(default=30, ge=0)
    buffer_minutes: int = Field(default=0, ge=0, le=240)
    search_days: int = Field(default=21, ge=1, le=90)
    offer_expiry_minutes: int = Field(default=1440, ge=5)

    # The busy mirror (scheduler.mirror): a connected calendar's busy time, as its last sync
    # read it, answers proposals while it is this fresh; older, the provider is asked.
    busy_mirror_max_age_minutes: int = Field(
        default=5, ge=1, le=1440,
        description="How old a mirror of an account without a push channel may be.")
    busy_mirror_push_max_age_minutes: int = Field(
        default=60, ge=1, le=1440,
        description="How old a mirror of an account whose push channel is open may be.")

    # Outbound
    crm_webhook_url: str | None = None
    crm_webhook_secret: str | None = None
    public_rate_limit: str = "30 per minute"

    # Serving (`nextstep serve`; workers and threads are in config/gunicorn.conf.py)
    access_log: bool = False

    # Access
    api_token_days: int = Field(default=API_TOKEN_DAYS, ge=1, le=3650,
                                description="Lifetime of a new API token, in days.")

    # Providers: a provider whose client id is unset is not offered.
    google_client_id: str | None = None
    google_client_secret: str | None = None
    google_auth_uri: str = "https://accounts.google.com/o/oauth2/auth"
    google_token_uri: str = "https://oauth2.googleapis.com/token"  # noqa: S105 - a URL
    google_api_endpoint: str = "https://www.googleapis.com/calendar/v3/"
    ms_client_id: str | None = None
    ms_client_secret: str | None = None
    ms_authority: str = "https://login.microsoftonline.com/common"
    graph_api_endpoint: str = "https://graph.microsoft.com/v1.0/"

    @field_validator("default_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            canonical_zone(value, "default_timezone")
        except InvalidInput as exc:
            raise ValueError(exc.message) from None
        return value

    @field_validator("prospect_day_start", "prospect_day_end")
    @classmethod
    def _clock_time(cls, value: str) -> str:
        hours, _, minutes = value.partition(":")
        if not (hours.isdigit() and minutes.isdigit() and int(hours) < 24 and int(minutes) < 60):
            raise ValueError(f"expected HH:MM, got {value!r}")
        return f"{int(hours):02d}:{int(minutes):02d}"

    @field_validator("database_url")
    @classmethod
    def _database_scheme(cls, value: str) -> str:
        if value.startswith("postgres://"):
            value = "postgresql://" + value.removeprefix("postgres://")
        if value.startswith("postgresql://"):
            value = "postgresql+psycopg://" + value.removeprefix("postgresql://")
        if not value.startswith(("sqlite://", "postgresql+psycopg://")):
            raise ValueError("only sqlite:// and postgresql:// databases are supported")
        return value

    def require_secrets(self) -> None:
        """Outside demo mode a missing or public secret is a start-up error, not a silent
        default."""
        if self.demo:
            return
        if not self.secret_key:
            raise ConfigError("NEXTSTEP_SECRET_KEY must be set (it signs sessions and links)",
                              field="secret_key")
        if self.secret_key == DEMO_SECRET:
            raise ConfigError("NEXTSTEP_SECRET_KEY is the public demo secret; set one of your "
                              "own (it signs sessions and links)", field="secret_key")

    @property
    def signing_key(self) -> str:
        """The key for sessions and links: the secret, or the demo's public one."""
        return self.secret_key or DEMO_SECRET


def load_settings(environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Defaults → TOML file (NEXTSTEP_CONFIG) → environment → keyword overrides."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    config_path = environ.get("NEXTSTEP_CONFIG")
    if config_path:
        values.update(_read_toml(Path(config_path)))
    values.update(_read_environ(environ))
    values.update(overrides)
    return settings_from(values)


def settings_from(values: Mapping[str, Any]) -> Settings:
    try:
        return Settings.model_validate(dict(values))
    except ValidationError as exc:
        error = exc.errors()[0]
        name = ".".join(str(part) for part in error["loc"]) or "settings"
        message = error["msg"]
        if error["type"] == "extra_forbidden":
            message = "unknown setting"
        raise ConfigError(f"setting {name}: {message}", field=name) from None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"NEXTSTEP_CONFIG names {path}, which does not exist",
                          field="NEXTSTEP_CONFIG") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}", field="NEXTSTEP_CONFIG") from None
    return data


def _read_environ(environ: Mapping[str, str]) -> dict[str, str]:
    values = {name.lower(): environ[name] for name in UNPREFIXED_ENV if environ.get(name)}
    for name, value in environ.items():
        if name.startswith(ENV_PREFIX) and name != "NEXTSTEP_CONFIG":
            values[name.removeprefix(ENV_PREFIX).lower()] = value
    return values
