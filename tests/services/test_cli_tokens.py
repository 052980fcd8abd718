"""`nextstep token list / revoke / create --days`: tokens end when told to, or on their own
(issue 15, finding 3). The secret is never printed again after `create`."""

from __future__ import annotations

from datetime import timedelta

import pytest
from click.testing import CliRunner

from scheduler.accounts import authenticate_token
from scheduler.clock import FixedClock, SystemClock
from scheduler.store import Store
from web.cli import main


@pytest.fixture
def cli(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.sqlite3'}")
    monkeypatch.setenv("NEXTSTEP_SECRET_KEY", "cli-test")
    runner = CliRunner()

    def run(*args: str):
        return runner.invoke(main, list(args), catch_exceptions=False)
    run("user", "add", "riley@example.com")
    return run


@pytest.fixture
def store(tmp_path, cli):
    opened = Store(f"sqlite:///{tmp_path / 'cli.sqlite3'}")
    yield opened
    opened.dispose()


def test_token_list_shows_ids_and_dates_but_never_the_secret(cli):
    first = cli("token", "create", "riley@example.com").output.strip()
    cli("token", "create", "riley@example.com", "--days", "7")

    listed = cli("token", "list", "riley@example.com")

    assert listed.exit_code == 0
    lines = listed.output.splitlines()
    assert lines[0].split("\t") == ["id", "created", "last used", "expires", "state"]
    assert [line.split("\t")[0] for line in lines[1:]] == ["1", "2"]
    assert all(line.endswith("\tactive") for line in lines[1:])
    assert first not in listed.output and "ns_" not in listed.output


def test_a_token_expires_after_its_days(cli, store):
    token = cli("token", "create", "riley@example.com", "--days", "7").output.strip()
    now = SystemClock().now()

    assert authenticate_token(store, token, clock=FixedClock(now + timedelta(days=6)))
    assert authenticate_token(store, token, clock=FixedClock(now + timedelta(days=7, minutes=1))
                              ) is None


def test_a_token_lives_ninety_days_by_default(cli, store):
    token = cli("token", "create", "riley@example.com").output.strip()
    now = SystemClock().now()

    assert authenticate_token(store, token, clock=FixedClock(now + timedelta(days=89)))
    assert authenticate_token(store, token, clock=FixedClock(now + timedelta(days=91))) is None


def test_revoke_by_id_ends_that_token_only(cli, store):
    first = cli("token", "create", "riley@example.com").output.strip()
    second = cli("token", "create", "riley@example.com").output.strip()

    revoked = cli("token", "revoke", "riley@example.com", "--id", "1")

    assert revoked.exit_code == 0 and "revoked 1" in revoked.output
    assert authenticate_token(store, first, clock=SystemClock()) is None
    assert authenticate_token(store, second, clock=SystemClock()) is not None
    assert "\trevoked" in cli("token", "list", "riley@example.com").output


def test_revoke_all_ends_every_token(cli, store):
    tokens = [cli("token", "create", "riley@example.com").output.strip() for _ in range(3)]

    assert "revoked 3" in cli("token", "revoke", "riley@example.com", "--all").output
    assert all(authenticate_token(store, t, clock=SystemClock()) is None for t in tokens)


@pytest.mark.parametrize(("args", "words"), [
    (["token", "revoke", "riley@example.com"], "exactly one"),
    (["token", "revoke", "riley@example.com", "--id", "1", "--all"], "exactly one"),
    (["token", "revoke", "riley@example.com", "--id", "99"], "no token 99"),
    (["token", "revoke", "ghost@example.com", "--all"], "no user"),
    (["token", "list", "ghost@example.com"], "no user"),
    (["token", "create", "riley@example.com", "--days", "0"], "--days"),
])
def test_bad_token_commands_say_why(cli, args, words):
    result = cli(*args)

    assert result.exit_code == 2
    assert words in result.output
