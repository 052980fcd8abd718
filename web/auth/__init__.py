"""Sign-in for reps: a session cookie for pages, bearer tokens for the API."""

from flask import Blueprint

bp = Blueprint("auth", __name__, template_folder="templates")

from web.auth import views  # noqa: E402,F401  (routes register on import)
