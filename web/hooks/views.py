from __future__ import annotations

from web.hooks import bp  # noqa: F401  (routes land with the provider webhooks)
