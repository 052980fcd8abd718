"""Change notifications from calendar providers: they only trigger a sync."""

from flask import Blueprint

bp = Blueprint("hooks", __name__, url_prefix="/hooks")

from web.hooks import views  # noqa: E402,F401  (routes register on import)
