"""Serving under gunicorn without a separate command: `nextstep serve` on a POSIX host."""

from __future__ import annotations

from pathlib import Path

from gunicorn.app.base import BaseApplication

from scheduler.settings import Settings

CONFIG = Path(__file__).resolve().parent.parent / "config" / "gunicorn.conf.py"


class _App(BaseApplication):
    def __init__(self, settings: Settings, host: str, port: int) -> None:
        self.settings, self.bind = settings, f"{host}:{port}"
        super().__init__()

    def load_config(self) -> None:
        if CONFIG.exists():
            self.load_config_from_file(str(CONFIG))
        self.cfg.set("bind", self.bind)

    def load(self):
        from web.app import create_app

        return create_app(self.settings)


def serve_with_gunicorn(settings: Settings, host: str, port: int) -> None:
    _App(settings, host, port).run()
