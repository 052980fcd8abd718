"""The rep's own settings page; its first section is the rep's API tokens."""

from flask import Blueprint

bp = Blueprint("settings", __name__, template_folder="templates")

from web.settings import views  # noqa: E402,F401  (routes register on import)
