"""Serving under gunicorn without a separate command: `nextstep serve` on a POSIX host.

gunicorn's `Application` (not `BaseApplication`) is the class that reads a config file; we
read config/gunicorn.conf.py with it instead of gunicorn's own command line, then apply
what Nextstep's settings and flags decide: the address, and the access log."""

from __future__ import annotations

from pathlib import Path

from gunicorn.app.base import Application

from scheduler.settings import Settings

CONFIG = Path(__file__).resolve().parent.parent / "config" / "gunicorn.conf.py"


class NextstepApplication(Application):
    def __init__(self, settings: Settings, host: str, port: int) -> None:
        self.settings, self.bind = settings, f"{host}:{port}"
        super().__init__(usage="nextstep serve", prog="nextstep")

    def load_config(self) -> None:
        if CONFIG.exists():
            self.load_config_from_file(str(CONFIG))
        self.cfg.set("bind", [self.bind])
        self.cfg.set("accesslog", "-" if self.settings.access_log else None)

    def load(self):
        """Runs in each worker after the fork: its own store, background jobs and app."""
        from web.app import create_app

        return create_app(self.settings)


def serve_with_gunicorn(settings: Settings, host: str, port: int) -> None:
    NextstepApplication(settings, host, port).run()
