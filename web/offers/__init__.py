"""The prospect's pages: the offer link (/o/<token>) and the booked follow-up (/f/<token>)."""

from flask import Blueprint

bp = Blueprint("offers", __name__, template_folder="templates")

from web.offers import views  # noqa: E402,F401  (routes register on import)
