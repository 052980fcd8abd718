"""The `nextstep` command: the outer shell that wires settings, database, app and workers."""

from __future__ import annotations

import os
import secrets
import sys
from datetime import UTC, datetime
from pathlib import Path

import click

from scheduler.errors import SchedulerError
from scheduler.settings import Settings, load_settings


class Fail(click.ClickException):
    exit_code = 2


def _settings(**overrides) -> Settings:
    try:
        return load_settings(**overrides)
    except SchedulerError as exc:
        raise Fail(exc.message) from None


def _runtime(settings: Settings):
    from scheduler.runtime import Nextstep
    from scheduler.store.migrate import upgrade

    upgrade(settings.database_url)
    return Nextstep.build(settings)


def _guard(work):
    """Domain errors become one clear line and exit code 2, never a traceback."""
    try:
        return work()
    except SchedulerError as exc:
        where = f" ({exc.field})" if exc.field else ""
        raise Fail(f"{exc.message}{where}") from None


@click.group()
def main() -> None:
    """Nextstep: book the follow-up while the prospect is still on the line."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--google-sandbox", is_flag=True,
              help="Also serve the Google emulator (web/sandbox) with the demo people's "
                   "calendars and offer 'Connect Google Calendar' against it.")
def demo(host: str, port: int, google_sandbox: bool) -> None:
    """Set up a local SQLite database with demo data and serve the app."""
    from scheduler.demo import seed_demo
    from scheduler.providers.google import GoogleCalendar

    instance = Path("instance")
    secret_file = instance / "secret_key"
    if not secret_file.exists():
        instance.mkdir(parents=True, exist_ok=True)
        secret_file.write_text(secrets.token_urlsafe(32))
    base_url = f"http://{host}:{port}"
    sandbox = _google_sandbox() if google_sandbox else {}
    settings = _settings(demo=True, secret_key=secret_file.read_text().strip(),
                         base_url=base_url, **sandbox)
    runtime = _runtime(settings)
    info = _guard(lambda: seed_demo(runtime))
    sandbox_note = (f"sandbox at {sandbox['google_auth_uri'].split('/o/')[0]}; Connections > "
                    f"Connect Google Calendar signs in {info.email}") if sandbox else None
    notes = {GoogleCalendar.name: sandbox_note} if sandbox_note else {}
    _announce("Nextstep demo", settings, base_url, runtime=runtime, notes=notes)
    click.echo(f"  sign in:   {info.email} / {info.password}")
    click.echo(f"  API token: {info.token}")
    click.echo(f"  try:       curl {base_url}/api/v1/health")
    _serve(settings, host, port, runtime=runtime, gunicorn=False)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--access-log", is_flag=True,
              help="Log every request to stderr (also NEXTSTEP_ACCESS_LOG=true).")
def serve(host: str, port: int, access_log: bool) -> None:
    """Serve the app with the configured settings (gunicorn where available)."""
    settings = _settings(**({"access_log": True} if access_log else {}))
    _guard(settings.require_secrets)
    runtime = _runtime(settings)
    _announce("Nextstep", settings, f"http://{host}:{port}", runtime=runtime)
    _serve(settings, host, port, runtime=runtime, gunicorn=True)


def _announce(title: str, settings: Settings, url: str, *, runtime,
              notes: dict[str, str] | None = None) -> None:
    """What `nextstep demo` and `nextstep serve` both print at start: where the app is,
    where mail goes and which calendars reps can connect."""
    from sqlalchemy.engine import make_url

    from scheduler.connections import connected_counts, offered_providers

    click.echo(f"{title} at {url}/")
    if settings.base_url.rstrip("/") != url:
        click.echo(f"  links:     {settings.base_url} (in mail to prospects)")
    click.echo(f"  database:  {make_url(settings.database_url).render_as_string()}")
    if settings.smtp_host:
        click.echo(f"  mail:      SMTP {settings.smtp_host}:{settings.smtp_port} "
                   f"(tls: {settings.smtp_tls})")
    else:
        click.echo(f"  mail:      written as .eml files to {settings.outbox_dir.resolve()}/")
    calendars = runtime.calendars
    offered = offered_providers(calendars=calendars)
    counts = connected_counts(runtime.store)
    click.echo("  calendars: built-in for every rep")
    for provider in calendars.providers.with_accounts():
        label = f"{provider.label}:"
        if provider.name not in offered:
            hint = f" (set {provider.oauth.client_settings})" if provider.oauth else ""
            click.echo(f"  {label} not offered{hint}")
            continue
        note = (notes or {}).get(provider.name, "offered")
        click.echo(f"  {label} {note}; {counts.get(provider.name, 0)} connected")


def _google_sandbox() -> dict[str, str]:
    """Start the Google emulator with the demo people's calendars; its settings."""
    from scheduler.demo import HELPERS, REP, busy_days
    from web.sandbox.google import sandbox

    os.environ.setdefault("OAUTHLIB_INSECURE_TRANSPORT", "1")  # the sandbox speaks http
    today = datetime.now(UTC).date()
    _state, settings = sandbox(
        [(email, zone) for email, _name, zone in (REP, *HELPERS)],
        lambda email, zone: [(start, end) for start, end, _ in busy_days(email, zone, today)])
    return settings


def _serve(settings: Settings, host: str, port: int, *, runtime, gunicorn: bool) -> None:
    """Serve: under gunicorn (its workers build their own runtime), else werkzeug's server
    with background work in a thread (the demo) or wherever background_jobs says."""
    from scheduler.jobs import ThreadJobs, background_jobs
    from web.app import create_app

    if gunicorn and sys.platform != "win32":
        from web.gunicorn import serve_with_gunicorn

        runtime.store.dispose()  # no connection crosses the workers' fork
        serve_with_gunicorn(settings, host, port)
        return
    runtime.use_jobs(background_jobs(settings, runtime.tick) if gunicorn
                     else ThreadJobs(runtime.tick).start())
    app = create_app(settings, runtime=runtime)
    from werkzeug.serving import run_simple

    run_simple(host, port, app, threaded=True, use_reloader=False)


@main.group()
def db() -> None:
    """Database schema."""


@db.command()
def upgrade() -> None:
    """Apply migrations."""
    from scheduler.store.migrate import upgrade as run_upgrade

    settings = _settings()
    run_upgrade(settings.database_url)
    click.echo("database is up to date")


@main.group()
def user() -> None:
    """Reps."""


@user.command("add")
@click.argument("email")
@click.option("--name", default=None)
@click.option("--timezone", default="UTC", show_default=True)
@click.option("--password", default=None)
def user_add(email: str, name: str | None, timezone: str, password: str | None) -> None:
    """Create a rep (working hours Monday–Friday 09:00–17:00 in their zone)."""
    from scheduler.accounts import add_user

    runtime = _runtime(_settings())
    created = _guard(lambda: add_user(email, name=name, timezone=timezone, password=password,
                                      store=runtime.store, clock=runtime.clock))
    click.echo(f"created {created.email} ({created.name}, {created.timezone})")


@main.group()
def token() -> None:
    """API tokens."""


@token.command("create")
@click.argument("email")
@click.option("--days", type=click.IntRange(1, 3650), default=None,
              help="Lifetime in days [default: the api_token_days setting, 90].")
def token_create(email: str, days: int | None) -> None:
    """Print a new API token for the rep, alone on stdout."""
    from scheduler.accounts import create_api_token

    settings = _settings()
    runtime = _runtime(settings)
    click.echo(_guard(lambda: create_api_token(runtime.store, email, clock=runtime.clock,
                                               days=days or settings.api_token_days)))


@token.command("list")
@click.argument("email")
def token_list(email: str) -> None:
    """The rep's tokens: id, created, last used, expiry, state (never the secret)."""
    from scheduler.accounts import list_api_tokens

    runtime = _runtime(_settings())
    rep = _rep_or_fail(runtime, email)
    now = runtime.clock.now()
    click.echo("id\tcreated\tlast used\texpires\tstate")
    for info in list_api_tokens(runtime.store, rep.id):
        click.echo("\t".join((str(info.id), _when(info.created_at), _when(info.last_used_at),
                              _when(info.expires_at), info.state(now))))


@token.command("revoke")
@click.argument("email")
@click.option("--id", "token_id", type=int, default=None, help="The token's id (token list).")
@click.option("--all", "every", is_flag=True, help="Every token of the rep.")
def token_revoke(email: str, token_id: int | None, every: bool) -> None:
    """Revoke a rep's token, or all of them; refused at once by every worker."""
    from scheduler.accounts import revoke_api_tokens

    if (token_id is None) == (not every):
        raise click.UsageError("give exactly one of --id ID or --all")
    runtime = _runtime(_settings())
    rep = _rep_or_fail(runtime, email)
    count = _guard(lambda: revoke_api_tokens(runtime.store, rep.id, token_id=token_id,
                                             clock=runtime.clock))
    click.echo(f"revoked {count} token(s) of {rep.email}")


def _rep_or_fail(runtime, email: str):
    from scheduler.accounts import get_user_by_email

    rep = get_user_by_email(runtime.store, email)
    if rep is None:
        raise Fail(f"no user {email} (email)")
    return rep


def _when(moment: datetime | None) -> str:
    return moment.isoformat(timespec="minutes").replace("+00:00", "Z") if moment else "-"


@main.command()
@click.option("--once", is_flag=True, help="One pass over every connection, then exit.")
@click.option("--interval", default=60.0, show_default=True, help="Seconds between passes.")
def sync(once: bool, interval: float) -> None:
    """Run calendar sync for all connections."""
    import time

    from scheduler.sync import flag_stalled_steps, sync_all

    runtime = _runtime(_settings())
    while True:
        results = sync_all(store=runtime.store, calendars=runtime.calendars,
                           clock=runtime.clock)
        stalled = flag_stalled_steps(store=runtime.store, clock=runtime.clock)
        changes = sum(r.changes for r in results)
        applied = sum(r.applied for r in results)
        click.echo(f"synced {len(results)} connections: {changes} changes, {applied} applied, "
                   f"{stalled} steps newly stalled")
        if once:
            return
        time.sleep(interval)


@main.command()
def worker() -> None:
    """Run background work: Celery when REDIS_URL is set, else an in-process loop."""
    settings = _settings()
    runtime = _runtime(settings)
    if settings.redis_url:
        from scheduler.jobs import CeleryJobs

        jobs = CeleryJobs(settings.redis_url)
        jobs.register(runtime.tick)
        jobs.app.worker_main(["worker", "--beat", "--loglevel=INFO", "--concurrency=2"])
        return
    from scheduler.jobs import ThreadJobs

    click.echo("no REDIS_URL: running the in-process worker (Ctrl-C stops it)")
    jobs = ThreadJobs(runtime.tick, interval=10).start()
    try:
        while True:
            import time

            time.sleep(3600)
    except KeyboardInterrupt:
        jobs.stop()


@main.group()
def log() -> None:
    """The log of what happened."""


@log.command("export")
@click.option("--format", "fmt", type=click.Choice(["csv", "jsonl"]), default="csv",
              show_default=True)
@click.option("--since", default=None, help="ISO 8601 instant with offset, e.g. 2026-11-01T00:00Z")
def log_export(fmt: str, since: str | None) -> None:
    """Write the log to stdout."""
    from scheduler.log import export_csv, export_jsonl, read_entries

    since_at = _parse_since(since)
    runtime = _runtime(_settings())
    records = read_entries(runtime.store, since=since_at)
    for chunk in (export_csv if fmt == "csv" else export_jsonl)(records):
        click.echo(chunk, nl=False)


def _parse_since(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter("expected an ISO 8601 instant", param_hint="--since") from None
    if parsed.tzinfo is None:
        raise click.BadParameter("needs an offset, e.g. 2026-11-01T00:00Z",
                                 param_hint="--since")
    return parsed
