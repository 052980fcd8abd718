from __future__ import annotations

from web.offers import bp  # noqa: F401  (routes land with the offer pages)
