"""The live-call screen: the page a rep keeps open during the call."""

from flask import Blueprint

bp = Blueprint("live", __name__, template_folder="templates")

from web.live import views  # noqa: E402,F401  (routes register on import)
