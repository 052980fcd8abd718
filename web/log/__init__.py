"""The log page: what happened, what is due, what stalled."""

from flask import Blueprint

bp = Blueprint("log", __name__, template_folder="templates")

from web.log import views  # noqa: E402,F401  (routes register on import)
