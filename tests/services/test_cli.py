"""The `nextstep` command: clear messages naming the field, nothing half-done."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner

from scheduler.accounts import authenticate_token
from scheduler.booking import book_followup
from scheduler.clock import SystemClock
from tests.services.helpers import booking
from web.cli import main


@pytest.fixture
def cli(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.sqlite3'}")
    monkeypatch.setenv("NEXTSTEP_SECRET_KEY", "cli-test")
    runner = CliRunner()

    def run(*args: str):
        return runner.invoke(main, list(args), catch_exceptions=False)
    return run


def test_user_add_then_token_create_prints_only_the_token(cli, tmp_path):
    added = cli("user", "add", "Riley@Example.com", "--name", "Riley Rivera",
                "--timezone", "Europe/Berlin")
    created = cli("token", "create", "riley@example.com")

    assert added.exit_code == 0, added.output
    assert "riley@example.com" in added.output
    token = created.output.strip()
    assert created.exit_code == 0 and "\n" not in token and token.startswith("ns_")
    from scheduler.store import Store

    store = Store(f"sqlite:///{tmp_path / 'cli.sqlite3'}")
    assert authenticate_token(store, token, clock=SystemClock()).email == "riley@example.com"
    store.dispose()


@pytest.mark.parametrize(("args", "words"), [
    (["user", "add", "not-an-email"], "email"),
    (["user", "add", "a@example.com", "--timezone", "Mars/Base"], "timezone"),
    (["user", "add", "a@example.com", "--password", "short"], "password"),
    (["token", "create", "ghost@example.com"], "no user"),
    (["log", "export", "--since", "yesterday"], "--since"),
])
def test_bad_arguments_get_a_clear_message_and_exit_code(cli, args, words):
    result = cli(*args)

    assert result.exit_code == 2
    assert words in result.output
    assert "Traceback" not in result.output


def test_adding_the_same_user_twice_is_refused(cli):
    cli("user", "add", "a@example.com")
    again = cli("user", "add", "a@example.com")
    assert again.exit_code == 2 and "already exists" in again.output


def test_a_bad_setting_stops_the_command_naming_it(cli, monkeypatch):
    monkeypatch.setenv("NEXTSTEP_SMTP_TLS", "sometimes")
    result = cli("db", "upgrade")
    assert result.exit_code == 2 and "smtp_tls" in result.output


def test_log_export_writes_csv_and_jsonl_with_stable_columns(runtime, make_rep, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", runtime.settings.database_url)
    monkeypatch.setenv("NEXTSTEP_SECRET_KEY", "cli-test")
    rep = make_rep()
    book_followup(booking(datetime(2026, 11, 24, 15, tzinfo=UTC)), rep=rep, **runtime.deps())
    runner = CliRunner()

    as_csv = runner.invoke(main, ["log", "export", "--format", "csv"])
    as_jsonl = runner.invoke(main, ["log", "export", "--format", "jsonl",
                                    "--since", "2026-11-01T00:00Z"])
    none_since = runner.invoke(main, ["log", "export", "--since", "2027-01-01T00:00:00+00:00"])

    rows = list(csv.DictReader(io.StringIO(as_csv.output)))
    assert list(rows[0]) == ["id", "at", "kind", "rep_id", "followup_id", "data"]
    assert rows[0]["kind"] == "followup.booked"
    assert json.loads(rows[0]["data"])["prospect"] == "dana@acme.example.com"
    [line] = as_jsonl.output.splitlines()
    assert json.loads(line)["kind"] == "followup.booked"
    assert none_since.output.strip() == "id,at,kind,rep_id,followup_id,data"
