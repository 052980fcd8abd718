"""The JSON API over HTTP: gunicorn serving create_app on the real PostgreSQL, loaded from a
second process on loopback.

What it measures, against the busy-mirror issue's targets (`POST /api/v1/proposals` on
gunicorn, 2 cores, 8 connections: >= 300 requests/s, p99 <= 50 ms, server CPU per proposal
<= 2.5 x health's):
- http.health.*: GET /api/v1/health (one `SELECT 1`), the floor a request costs here.
- http.proposals.*: POST /api/v1/proposals for the rep and 2 helpers (New York, Chicago,
  London; the prospect in one of four zones whose daytime meets the team's hours) over the
  whole 90 days of busy data, 3 slots. Each person has 2,000 busy events over those 90 days
  in the built-in calendar. Every answer must hold 3 slots (asserted: an empty answer is
  cheaper and would flatter the figure). `.server_cpu_vs_health` is the CPU ratio.
- http.followups.*: POST /api/v1/followups with both helpers and a 2-step plan, every
  request with its own idempotency key and its own half hour beyond the busy data, so each
  one should book (201); 409 and 5xx are counted, and should be 0. The outbox (calendar
  copies for 3 people, .eml invites) runs in the workers' background threads meanwhile.

Set-up: a throw-away database on 127.0.0.1:5432 (user postgres, trust auth), migrated with
scheduler.store.migrate.upgrade and dropped afterwards; gunicorn with 2 gthread workers x 4
threads; the load generator is this module run as `python -m bench.bench_http drive ...`:
CONNECTIONS keep-alive http.client connections in threads, closed loop, WARMUP seconds not
counted, then SECONDS measured. Latency is per request, send to last byte, in ms.
`.server_cpu` is the CPU gunicorn's processes spent per request sent (warm-up included),
read from /proc: on a shared machine it moves far less between runs than requests/s does.
Skips with one line when PostgreSQL is unreachable.
"""

from __future__ import annotations

import http.client
import itertools
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.timing import percentile
from tests.databases import throwaway_database

ROOT = Path(__file__).resolve().parent.parent
WORKERS, THREADS = 2, 4
CONNECTIONS = 8
WARMUP, SECONDS = 2.0, 10.0
BUSY_EACH, BUSY_DAYS = 2000, 90
REP = ("riley@bench.example.com", "Riley Rivera", "America/New_York")
HELPERS = (("lee@bench.example.com", "Lee Chen", "America/Chicago"),
           ("sam@bench.example.com", "Sam Okafor", "Europe/London"))
# Prospects whose daytime meets the team's shared hours (New York 10:00-12:00): a zone that
# never meets them would get an empty answer, which measures nothing.
PROSPECTS = (
    {"name": "Dana Whitfield", "email": "dana@acme.example.com", "timezone": "America/Los_Angeles"},
    {"name": "Ana Souza", "email": "ana@ipe.example.com", "timezone": "America/Sao_Paulo"},
    {"name": "Tom Baker", "email": "tom@thames.example.com", "timezone": "Europe/London"},
    {"name": "Marta Kowalski", "email": "marta@vistula.example.com", "timezone": "Europe/Warsaw"},
)


# The server side: database, seed data, gunicorn

def postgres_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=1):
            return True
    except OSError:
        return False


def seed(url: str, settings_env: dict[str, str], *, people=(REP, *HELPERS),
         busy_each: int = BUSY_EACH, keep_free=None) -> str:
    """The people, `busy_each` busy events each over BUSY_DAYS in the built-in calendar;
    returns the first one's API token. `keep_free(start)` drops events it says keep clear.

    The rows are written in one bulk insert, not through the calendar: a fresh database's
    busy versions are 0, so every process's mirror reads them on its first proposal."""
    from sqlalchemy import insert

    from scheduler.accounts import add_user, create_api_token
    from scheduler.runtime import Nextstep
    from scheduler.settings import load_settings
    from scheduler.store.migrate import upgrade
    from scheduler.store.models import LocalEvent

    upgrade(url)
    runtime = Nextstep.build(load_settings(settings_env), builders={})
    for email, name, zone in people:
        add_user(email, name=name, timezone=zone, store=runtime.store, clock=runtime.clock)
    rng = random.Random(7)
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    span = BUSY_DAYS * 24 * 60
    rows = []
    for email, _name, _zone in people:
        made = 0
        while made < busy_each:
            start = now + timedelta(minutes=rng.randrange(0, span, 5))
            if keep_free is not None and keep_free(start):
                continue
            made += 1
            rows.append({"calendar_id": email, "uid": uuid.uuid4().hex, "start": start,
                         "end": start + timedelta(minutes=rng.choice((15, 30, 60))),
                         "title": "Busy", "change_seq": len(rows) + 1})
    with runtime.store.transaction() as session:
        for offset in range(0, len(rows), 10_000):
            session.execute(insert(LocalEvent), rows[offset:offset + 10_000])
    token = create_api_token(runtime.store, people[0][0], clock=runtime.clock)
    runtime.store.dispose()
    return token


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_gunicorn(port: int, env: dict[str, str], log: Path) -> subprocess.Popen:
    command = [sys.executable, "-m", "gunicorn", "--workers", str(WORKERS),
               "--worker-class", "gthread", "--threads", str(THREADS),
               "--bind", f"127.0.0.1:{port}", "--error-logfile", str(log),
               "--log-level", "warning", "web.app:create_app()"]
    return subprocess.Popen(command, cwd=ROOT, env={**os.environ, **env},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def wait_until_up(port: int, server: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {server.returncode}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/api/v1/health")
            if connection.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError("gunicorn did not answer /api/v1/health in time")


def stop(server: subprocess.Popen) -> None:
    server.terminate()
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


# The client side: a closed-loop load generator, run as its own process

class Bodies:
    """Request bodies; every booking gets its own key and its own half hour."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.numbers = itertools.count()
        self.run = uuid.uuid4().hex[:8]
        # Past the seeded busy data, on the half hour: every slot is free for all three.
        self.first = (datetime.now(UTC) + timedelta(days=BUSY_DAYS + 10)).replace(
            minute=0, second=0, microsecond=0)
        self.due = (datetime.now(UTC) + timedelta(days=7)).date().isoformat()
        # The whole 90 days the busy data covers, not the default three weeks.
        self.latest = (datetime.now(UTC) + timedelta(days=BUSY_DAYS)).isoformat()

    def next(self) -> tuple[str, bytes]:
        n = next(self.numbers)
        prospect = PROSPECTS[n % len(PROSPECTS)]
        helpers = [email for email, _name, _zone in HELPERS]
        if self.kind == "health":
            return "/api/v1/health", b""
        if self.kind == "proposals":
            body: dict[str, Any] = {"prospect": prospect, "helpers": helpers,
                                    "duration_minutes": 30, "count": 3,
                                    "latest": self.latest}
            return "/api/v1/proposals", json.dumps(body).encode()
        start = self.first + timedelta(minutes=30 * n)
        body = {"prospect": prospect, "helpers": helpers, "duration_minutes": 30,
                "start": start.isoformat().replace("+00:00", "Z"),
                "idempotency_key": f"bench-{self.run}-{n}", "step_type": "proposal_review",
                "plan": {"steps": [
                    {"who": "rep", "what": "send the proposal", "type": "send_proposal",
                     "due": self.due, "help_from": [helpers[0]]},
                    {"who": "prospect", "what": "review it with finance",
                     "type": "talk_with_colleagues", "due": self.due}]}}
        return "/api/v1/followups", json.dumps(body).encode()


def drive(port: int, token: str, kind: str, seconds: float, connections: int,
          warmup: float) -> dict[str, Any]:
    """Keep `connections` requests in flight; record latency and status after warm-up."""
    bodies = Bodies(kind)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    started = time.monotonic()
    measure_from, stop_at = started + warmup, started + warmup + seconds
    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    lock = threading.Lock()

    sent = [0]

    def loop() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine: list[float] = []
        seen: Counter[str] = Counter()
        count = 0
        while (now := time.monotonic()) < stop_at:
            count += 1
            path, body = bodies.next()
            try:
                connection.request("GET" if kind == "health" else "POST", path,
                                   body=body or None, headers=headers)
                response = connection.getresponse()
                answer = response.read()
                status = response.status
            except (OSError, http.client.HTTPException):
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                status, answer = 0, b""
            if now >= measure_from:
                mine.append((time.monotonic() - now) * 1000)
                seen[_status_class(status)] += 1
                if kind == "proposals" and status == 200:
                    seen[f"slots_{len(json.loads(answer)['proposals'])}"] += 1
        connection.close()
        with lock:
            latencies.extend(mine)
            statuses.update(seen)
            sent[0] += count

    threads = [threading.Thread(target=loop) for _ in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {"requests": len(latencies), "seconds": seconds,
            "p50": percentile(latencies, 50), "p99": percentile(latencies, 99),
            "statuses": dict(statuses), "sent": sent[0]}


def _status_class(status: int) -> str:
    if status == 0:
        return "error"
    if status == 409:
        return "409"
    return f"{status // 100}xx"


def server_cpu_seconds(server: subprocess.Popen) -> float:
    """User + system CPU of gunicorn's workers so far (Linux /proc): what the app costs per
    request, a steadier figure than requests/s on a machine whose neighbours vary."""
    ticks = os.sysconf("SC_CLK_TCK")
    children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
    total = 0
    for pid in [str(server.pid), *children]:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def load(port: int, token: str, kind: str, server: subprocess.Popen) -> dict[str, Any]:
    """Run the load generator as a second process, so it does not share our GIL."""
    cpu_before = server_cpu_seconds(server)
    command = [sys.executable, "-m", "bench.bench_http", "drive", str(port), token, kind,
               str(SECONDS), str(CONNECTIONS), str(WARMUP)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True,
                          timeout=SECONDS + WARMUP + 60)
    result = json.loads(done.stdout)
    result["cpu_ms_per_request"] = ((server_cpu_seconds(server) - cpu_before) * 1000
                                    / max(result["sent"], 1))
    return result


def figures(kind: str, result: dict[str, Any]) -> Iterator[tuple[str, float, str]]:
    statuses = result["statuses"]
    yield f"http.{kind}.rps", round(result["requests"] / result["seconds"], 1), "requests/s"
    yield f"http.{kind}.p50", round(result["p50"], 2), "ms"
    yield f"http.{kind}.p99", round(result["p99"], 2), "ms"
    yield f"http.{kind}.server_cpu", round(result["cpu_ms_per_request"], 2), "ms/request"
    yield f"http.{kind}.2xx", statuses.get("2xx", 0), "responses"
    yield f"http.{kind}.409", statuses.get("409", 0), "responses"
    yield f"http.{kind}.4xx_other", statuses.get("4xx", 0), "responses"
    yield f"http.{kind}.5xx", statuses.get("5xx", 0), "responses"
    yield f"http.{kind}.errors", statuses.get("error", 0), "connections"
    if kind == "proposals":
        three = statuses.get("slots_3", 0)
        yield f"http.{kind}.answers_with_3_slots", three, "responses"
        # An empty answer costs less than a full one: a run with any is not a measurement.
        assert three == statuses.get("2xx", 0) > 0, f"answers without 3 slots: {statuses}"


@contextmanager
def served(prefix: str) -> Iterator[tuple[str, int, str, subprocess.Popen]]:
    """Seeded throw-away database and gunicorn on it: yields (database url, port, token,
    the gunicorn process);
    everything is stopped and dropped afterwards."""
    with throwaway_database("nextstep_bench") as url, \
            tempfile.TemporaryDirectory(prefix=prefix) as scratch:
        env = {"DATABASE_URL": url, "NEXTSTEP_SECRET_KEY": uuid.uuid4().hex,
               "NEXTSTEP_OUTBOX_DIR": f"{scratch}/outbox", "NEXTSTEP_INSTANCE_DIR": scratch,
               "NEXTSTEP_BASE_URL": "http://127.0.0.1"}
        token = seed(url, env)
        port = free_port()
        server = start_gunicorn(port, env, Path(scratch) / "gunicorn.log")
        try:
            wait_until_up(port, server)
            yield url, port, token, server
        finally:  # before the folder goes: its workers still write invites there
            stop(server)


def run() -> Iterator[tuple[str, float, str]]:
    if not postgres_reachable():
        print("http: skipped, PostgreSQL is not reachable at 127.0.0.1:5432", flush=True)
        return
    with served("nextstep-bench-") as (_url, port, token, server):
        yield "http.setup.cores", os.cpu_count() or 0, "cores"
        yield "http.setup.connections", CONNECTIONS, "connections"
        results = {kind: load(port, token, kind, server)
                   for kind in ("health", "proposals", "followups")}
        for kind, result in results.items():
            yield from figures(kind, result)
        yield ("http.proposals.server_cpu_vs_health",
               round(results["proposals"]["cpu_ms_per_request"]
                     / results["health"]["cpu_ms_per_request"], 2), "x")


if __name__ == "__main__" and sys.argv[1:2] == ["drive"]:
    port_, token_, kind_, seconds_, connections_, warmup_ = sys.argv[2:8]
    print(json.dumps(drive(int(port_), token_, kind_, float(seconds_), int(connections_),
                           float(warmup_))))
