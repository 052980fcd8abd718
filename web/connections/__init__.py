"""The rep's calendar connections: connect Google, Outlook, CalDAV; status of each."""

from flask import Blueprint

bp = Blueprint("connections", __name__, template_folder="templates")

from web.connections import views  # noqa: E402,F401  (routes register on import)
