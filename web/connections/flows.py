"""The two legs of a provider's OAuth flow as the web sees them, for connecting a calendar and
for signing in. What the first leg must remember (Google's state and PKCE verifier, msal's
flow dict) is encrypted into the session under one key and popped by the second leg: an
answer is used at most once, only in the browser that started it, and only for a while."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import request, session, url_for

from scheduler.clock import iso_utc
from scheduler.errors import BadToken, NeedsReconnect
from scheduler.providers import google_oauth, outlook_oauth
from web.runtime import runtime

PENDING = "oauth_pending"
MAX_AGE = timedelta(minutes=15)  # a consent page left open longer starts again
PURPOSES = ("connect", "sign_in")


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
    settings, uri = runtime().settings, redirect_uri(provider)
    if provider == "google":
        url, state, verifier = google_oauth.start_authorization(settings, uri)
        remembered: dict[str, Any] = {"state": state, "code_verifier": verifier}
    else:
        flow = outlook_oauth.start_authorization(settings, uri, http_client=runtime().http)
        url = flow["auth_uri"]
        remembered = {"flow": {k: v for k, v in flow.items() if k != "auth_uri"}}
    key_id, token = runtime().calendars.cipher.encrypt({
        "provider": provider, "purpose": purpose, "user_id": user_id, "next": next_url,
        "started_at": iso_utc(runtime().clock.now()), **remembered})
    session[PENDING] = {"key_id": key_id, "token": token.decode()}
    return url


def finish(provider: str) -> Finished:
    """Check the answer against the sign-in this browser started, then redeem its code."""
    pending = _pop_pending(provider)
    settings, uri = runtime().settings, redirect_uri(provider)
    if provider == "google":
        query = request.query_string.decode()
        credentials = google_oauth.finish_authorization(
            settings, uri, authorization_response_url=f"{uri}?{query}",
            state=pending["state"], code_verifier=pending["code_verifier"])
    else:
        credentials = outlook_oauth.finish_authorization(
            settings, pending["flow"], request.args.to_dict(), http_client=runtime().http)
    return Finished(provider=provider, purpose=pending["purpose"], user_id=pending["user_id"],
                    credentials=credentials, next_url=pending["next"])


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
