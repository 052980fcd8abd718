"""The Flask shell around the scheduler domain: parse input, call one service, render."""

from web.app import create_app

__all__ = ["create_app"]
