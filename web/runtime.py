"""Access to the app's Nextstep runtime from views."""

from __future__ import annotations

from typing import Any

from flask import current_app

from scheduler.runtime import Nextstep


def runtime() -> Nextstep:
    return current_app.extensions["nextstep"]


def deps(*names: str) -> dict[str, Any]:
    """The service dependencies a call takes (all of them when no names are given)."""
    every = runtime().deps()
    return {name: every[name] for name in names} if names else every
