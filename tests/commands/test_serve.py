"""A fresh install as a deployer makes it, in an empty folder with no settings but a
secret: `db upgrade`, `user add`, `token create`; then `nextstep serve` (gunicorn from the
installed console script) answering health, proposals, bookings and the log over real
HTTP; and the commands around it (`sync --once`, `log export`) on the same folder."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
import requests

from scheduler.accounts import authenticate_token
from scheduler.clock import SystemClock
from scheduler.store import Store
from tests.commands.conftest import (
    PROSPECT,
    REP,
    Process,
    Site,
    api,
    book_first_proposal,
    make_site,
    set_up,
    token_of,
    wait_for,
)
from tests.ports import free_port

# Read from the TOML file NEXTSTEP_CONFIG names, as config/nextstep.example.toml documents.
SETTINGS_FILE = """
google_client_id = "nextstep-test.apps.googleusercontent.com"
google_client_secret = "not-used-here"
"""


@dataclass
class Deployment:
    site: Site
    setup: dict[str, subprocess.CompletedProcess]  # what the set-up commands printed
    server: Process
    token: str


@pytest.fixture(scope="module")
def deployed(tmp_path_factory) -> Iterator[Deployment]:
    """One folder set up by the commands, with `nextstep serve` running and Google offered
    by the settings file."""
    folder = tmp_path_factory.mktemp("serve")
    (folder / "nextstep.toml").write_text(SETTINGS_FILE)
    site = make_site(folder, NEXTSTEP_CONFIG="nextstep.toml")
    setup = set_up(site)
    yield Deployment(site, setup, site.serve(), token_of(setup))
    site.stop_all()


@pytest.fixture(scope="module")
def booked(deployed):
    """A proposal asked for and its first slot booked over HTTP, and the invite written by
    serve's own background thread: (proposals, follow-up)."""
    site = deployed.site
    server = deployed.server
    token = deployed.token
    with api(server.url, token) as http:
        answers = book_first_proposal(http, server.url)
    wait_for(lambda: list(site.outbox.glob("*.eml")), "the invite in the outbox", server)
    return answers


def test_a_fresh_folder_gets_a_database_a_rep_and_a_token(deployed):
    site = deployed.site
    token = deployed.token
    email, name, zone = REP
    printed = {command: result.stdout for command, result in deployed.setup.items()}

    assert printed["db upgrade"] == "database is up to date\n"
    assert (site.folder / "instance" / "nextstep.sqlite3").is_file()
    assert printed["user add"] == f"created {email} ({name}, {zone})\n"
    assert printed["token create"] == token + "\n" and token.startswith("ns_")
    assert deployed.setup["token create"].stderr == ""
    store = Store(site.database_url)
    try:
        assert authenticate_token(store, token, clock=SystemClock()).email == email
    finally:
        store.dispose()


def test_serve_answers_health_over_http(deployed):
    server = deployed.server
    answer = requests.get(server.url + "/api/v1/health", timeout=5)

    assert answer.status_code == 200
    assert answer.json() == {"status": "ok", "database": "ok"}
    assert "Starting gunicorn" in server.output


def test_a_proposed_slot_books_and_the_log_says_so(deployed, booked):
    server = deployed.server
    token = deployed.token
    proposals, followup = booked

    assert len(proposals["proposals"]) == 3
    assert followup["start"] == proposals["proposals"][0]["start"]
    assert followup["status"] == "booked" and followup["prospect"]["email"] == PROSPECT["email"]
    with api(server.url, token) as http:
        again = http.get(f"{server.url}/api/v1/followups/{followup['id']}", timeout=5)
        log = http.get(server.url + "/api/v1/log", timeout=5).json()
        taken = http.post(server.url + "/api/v1/proposals", timeout=10,
                          json={"prospect": PROSPECT, "duration_minutes": 30}).json()
    assert again.status_code == 200 and again.json()["id"] == followup["id"]
    assert [(e["kind"], e["followup_id"]) for e in log["entries"]] == [
        ("followup.booked", followup["id"])]
    assert followup["start"] not in [slot["start"] for slot in taken["proposals"]]


def test_serve_prints_where_it_is_where_mail_goes_and_which_calendars(deployed):
    site = deployed.site
    server = deployed.server
    printed = server.output

    assert f"Nextstep at {server.url}/" in printed
    assert f"mail:      written as .eml files to {site.outbox}/" in printed
    assert "calendars: built-in for every rep" in printed
    assert "Google Calendar: offered; 0 connected" in printed
    assert "Outlook / Microsoft 365: not offered (set NEXTSTEP_MS_CLIENT_ID" in printed


def test_demo_prints_the_same_start_up_lines_as_serve(deployed, tmp_path):
    server = deployed.server
    demo_site = make_site(tmp_path)
    demo = demo_site.start("demo", "--port", str(free_port()))
    try:
        wait_for(lambda: "API token:" in demo.output, "nextstep demo printing its token",
                 demo)
    finally:
        demo_site.stop_all()

    def labels(printed: str) -> list[str]:
        return re.findall(r"^(Nextstep(?: demo)? at|  (?:database|mail|calendars|Google Calendar|"
                          r"Outlook / Microsoft 365):)", printed, flags=re.MULTILINE)
    assert labels(demo.output) == ["Nextstep demo at", "  database:", "  mail:",
                                   "  calendars:", "  Google Calendar:",
                                   "  Outlook / Microsoft 365:"]
    assert labels(server.output) == ["Nextstep at", *labels(demo.output)[1:]]


def test_gunicorn_runs_one_threaded_worker_per_core_from_the_config_file(deployed):
    server = deployed.server
    assert "Using worker: gthread" in server.output  # gunicorn's own default is sync
    children = Path(f"/proc/{server.popen.pid}/task/{server.popen.pid}/children")

    wait_for(lambda: len(children.read_text().split()) == os.cpu_count(),
             f"{os.cpu_count()} gunicorn workers", server)


def test_the_access_log_is_off_by_default(deployed):
    server = deployed.server
    requests.get(server.url + "/api/v1/health", timeout=5)

    assert "GET /api/v1/health" not in server.output


@pytest.mark.parametrize("secret", [None, "demo-only-secret"])
def test_serve_refuses_production_without_a_secret_of_its_own(site, secret):
    env = {name: value for name, value in site.env.items() if name != "NEXTSTEP_SECRET_KEY"}
    if secret:
        env["NEXTSTEP_SECRET_KEY"] = secret
    site.env = env

    result = site.run("serve", "--port", str(free_port()), check=False)

    assert result.returncode == 2
    [line] = result.stderr.splitlines()
    assert line.startswith("Error: NEXTSTEP_SECRET_KEY ") and "secret_key" in line
    assert "Starting gunicorn" not in result.stdout + result.stderr


def test_sync_once_reads_the_built_in_calendar_and_exits(deployed, booked):
    site = deployed.site
    result = site.run("sync", "--once")

    # The booked event is the one change; it is ours as booked, so nothing to apply.
    assert result.stdout == "synced 1 connections: 1 changes, 0 applied, 0 steps newly stalled\n"


def test_log_export_writes_the_booking_as_csv_and_jsonl(deployed, booked):
    site = deployed.site
    _proposals, followup = booked

    rows = list(csv.DictReader(io.StringIO(site.run("log", "export").stdout)))
    lines = site.run("log", "export", "--format", "jsonl", "--since",
                     followup["created_at"]).stdout.splitlines()

    [row] = [row for row in rows if row["kind"] == "followup.booked"]
    assert row["followup_id"] == followup["id"]
    assert json.loads(row["data"])["prospect"] == PROSPECT["email"]
    assert datetime.fromisoformat(row["at"]).tzinfo is not None
    [entry] = [json.loads(line) for line in lines if '"followup.booked"' in line]
    assert entry["followup_id"] == followup["id"] and entry["id"] == int(row["id"])
    assert entry["data"]["prospect"] == PROSPECT["email"]
