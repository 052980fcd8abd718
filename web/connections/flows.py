"""The two legs of a provider's OAuth flow as the web sees them, for connecting a calendar and
for signing in. What the first leg must remember (as the provider's OAuthFlow says: Google's
state and PKCE verifier, msal's flow dict) is encrypted into the session under one key and
popped by the second leg: an answer is used at most once, only in the browser that started
it, and only for a while."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import session, url_for

from scheduler.clock import iso_utc
from scheduler.errors import BadToken, NeedsReconnect, NotFound
from scheduler.providers.base import OAuthFlow
from web.plain import plain_request
from web.runtime import runtime

PENDING = "oauth_pending"
MAX_AGE = timedelta(minutes=15)  # a consent page left open longer starts again


@dataclass(frozen=True)
class Finished:
    provider: str
    purpose: str
    user_id: int | None  # who started connecting; None for a sign-in
    credentials: dict[str, Any]
    next_url: str


def redirect_uri(provider: str) -> str:
    """One registered redirect URI per provider serves both connecting and signing in."""
    return (runtime().settings.base_url.rstrip("/")
            + url_for("connections.callback", provider=provider))


def start(provider: str, *, purpose: str, next_url: str, user_id: int | None = None) -> str:
    """The address of the provider's consent page; what the answer needs goes in the session."""
    url, remembered = _oauth(provider).start(runtime().settings, redirect_uri(provider),
                                             http=runtime().http)
    key_id, token = runtime().calendars.cipher.encrypt({
        "provider": provider, "purpose": purpose, "user_id": user_id, "next": next_url,
        "started_at": iso_utc(runtime().clock.now()), **remembered})
    session[PENDING] = {"key_id": key_id, "token": token.decode()}
    return url


def finish(provider: str) -> Finished:
    """Check the answer against the sign-in this browser started, then redeem its code."""
    pending = _pop_pending(provider)
    credentials = _oauth(provider).finish(runtime().settings, redirect_uri(provider), pending,
                                          plain_request(), http=runtime().http)
    return Finished(provider=provider, purpose=pending["purpose"], user_id=pending["user_id"],
                    credentials=credentials, next_url=pending["next"])


def _oauth(provider: str) -> OAuthFlow:
    oauth = runtime().calendars.providers.get_or_raise(provider).oauth
    if oauth is None:
        raise NotFound(f"{provider} accounts are not connected through a sign-in",
                       field="provider")
    return oauth


def _pop_pending(provider: str) -> dict[str, Any]:
    stored = session.pop(PENDING, None)
    if not isinstance(stored, dict):
        raise BadToken("This sign-in answer was already used, or the sign-in was not started "
                       "in this browser. Start again.", field="state")
    try:
        pending = runtime().calendars.cipher.decrypt(stored.get("key_id"),
                                                     str(stored.get("token", "")).encode())
    except NeedsReconnect:
        raise BadToken("This sign-in can no longer be checked. Start again.",
                       field="state") from None
    if pending.get("provider") != provider:
        raise BadToken("This answer is from another provider than the sign-in that was "
                       "started. Start again.", field="state")
    started = datetime.fromisoformat(pending["started_at"])
    if runtime().clock.now() - started > MAX_AGE:
        raise BadToken("This sign-in took longer than 15 minutes. Start again.", field="state")
    return pending
