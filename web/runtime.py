"""Access to the app's Nextstep runtime from views."""

from __future__ import annotations

from flask import current_app

from scheduler.runtime import Nextstep


def runtime() -> Nextstep:
    return current_app.extensions["nextstep"]
