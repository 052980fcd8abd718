"""Connecting a rep's Google account: the OAuth 2.0 web flow (google-auth-oauthlib `Flow`
with PKCE), and revoking the grant when the rep disconnects.

What the web layer keeps between the two legs is the `state` and `code_verifier` from
`start_authorization`: store them in the server-side session and use them once.

Choices worth knowing:
- Scopes are asked for in the form Google grants them (`userinfo.email`, not `email`):
  oauthlib compares the granted `scope` with the requested one and raises on any difference.
  A rep may still untick the calendar boxes on the consent page; that is reported as
  ProviderRejected naming what is missing, not as a crash.
- `prompt=consent` with `access_type=offline`, so every connection gets a refresh token.
- The email comes from the id_token's claims, read without checking the signature: the token
  came straight from Google's token endpoint over TLS, which OpenID Connect Core 3.1.3.7
  accepts in place of the signature.
- The revocation endpoint sits next to the token endpoint (`.../token` -> `.../revoke`), as
  it does at Google, so no further setting is needed.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import requests
from google.auth import jwt
from google_auth_oauthlib.flow import Flow
from oauthlib.oauth2 import OAuth2Error

from scheduler.errors import ConfigError, InvalidInput, ProviderRejected, ProviderUnavailable
from scheduler.providers.base import RawRequest
from scheduler.settings import Settings

CALENDAR_SCOPES = ("https://www.googleapis.com/auth/calendar.events",
                   "https://www.googleapis.com/auth/calendar.freebusy",
                   # calendarList.list only: the rep picks calendars instead of typing ids
                   "https://www.googleapis.com/auth/calendar.calendarlist.readonly")
SIGN_IN_SCOPES = ("openid", "https://www.googleapis.com/auth/userinfo.email")
SCOPES = (*SIGN_IN_SCOPES, *CALENDAR_SCOPES)
TIMEOUT = 10.0


def start_authorization(settings: Settings, redirect_uri: str) -> tuple[str, str, str]:
    """The first leg: (URL to send the browser to, state, PKCE code_verifier)."""
    flow = _flow(settings, redirect_uri)
    url, state = flow.authorization_url(access_type="offline", prompt="consent")
    return url, state, flow.code_verifier


def finish_authorization(settings: Settings, redirect_uri: str, *,
                         authorization_response_url: str, state: str,
                         code_verifier: str) -> dict[str, Any]:
    """The second leg: check the answer belongs to the sign-in we started (`state` is the
    one `start_authorization` returned), redeem the code with the verifier, and return what
    the connection stores: {"access_token", "refresh_token", "expiry", "email",
    "email_verified"} (whether Google has checked that the account owns that address)."""
    answer = dict(parse_qsl(urlsplit(authorization_response_url).query))
    if not hmac.compare_digest(answer.get("state", "").encode(), state.encode()):
        raise InvalidInput("the Google sign-in answer does not belong to the sign-in that was "
                           "started; start again", field="state")
    if "error" in answer:
        raise ProviderRejected(f"Google sign-in was not completed: {answer['error']}",
                               field="authorization")
    flow = _flow(settings, redirect_uri, state=state, code_verifier=code_verifier)
    try:
        token = flow.fetch_token(authorization_response=authorization_response_url,
                                 timeout=TIMEOUT)
    except Warning as exc:  # oauthlib: Google granted other scopes than were asked for
        token = getattr(exc, "token", None)
        if token is None:
            raise
    except OAuth2Error as exc:
        raise ProviderRejected(f"Google sign-in failed: {exc.error}: {exc.description}",
                               field="authorization") from None
    except requests.RequestException as exc:
        raise ProviderUnavailable(f"Google sign-in is unreachable: {exc}") from None
    granted = token.get("scope") or []  # oauthlib has made Google's string a list
    missing = set(CALENDAR_SCOPES) - set(granted.split() if isinstance(granted, str) else granted)
    if missing:
        raise ProviderRejected("Google did not grant access to the calendar ("
                               + ", ".join(sorted(missing)) + "); connect again and allow it",
                               field="scopes")
    if not token.get("refresh_token") or not token.get("id_token"):
        raise ProviderRejected("Google answered without a refresh token or an ID token",
                               field="authorization")
    claims = jwt.decode(token["id_token"], verify=False)
    expires_at = token.get("expires_at") or time.time() + float(token.get("expires_in", 0))
    return {"access_token": token["access_token"], "refresh_token": token["refresh_token"],
            "expiry": datetime.fromtimestamp(expires_at, UTC).isoformat(timespec="seconds"),
            "email": claims.get("email", ""),
            "email_verified": claims.get("email_verified") is True}


def revoke(settings: Settings, token: Mapping[str, str | None]) -> None:
    """End the grant at Google (the refresh token and every access token under it). A token
    Google no longer knows is already revoked, which is what was wanted."""
    value = token.get("refresh_token") or token.get("access_token")
    if not value:
        return
    try:
        response = requests.post(revoke_uri(settings), data={"token": value}, timeout=TIMEOUT)
    except requests.RequestException as exc:
        raise ProviderUnavailable(f"Google is unreachable to revoke access: {exc}") from None
    if response.status_code == 200 or _error_code(response) == "invalid_token":
        return
    if response.status_code >= 500:
        raise ProviderUnavailable(f"Google did not revoke access: {response.status_code}")
    raise ProviderRejected(f"Google refused to revoke access: {response.status_code} "
                           f"{_error_code(response)}", field="connection")


def revoke_uri(settings: Settings) -> str:
    parts = urlsplit(settings.google_token_uri)
    return urlunsplit(parts._replace(path=parts.path.rsplit("/", 1)[0] + "/revoke",
                                     query=""))


def _flow(settings: Settings, redirect_uri: str, *, state: str | None = None,
          code_verifier: str | None = None) -> Flow:
    if not settings.google_client_id or not settings.google_client_secret:
        raise ConfigError("NEXTSTEP_GOOGLE_CLIENT_ID and NEXTSTEP_GOOGLE_CLIENT_SECRET must be "
                          "set to connect Google", field="google_client_id")
    config = {"web": {"client_id": settings.google_client_id,
                      "client_secret": settings.google_client_secret,
                      "auth_uri": settings.google_auth_uri,
                      "token_uri": settings.google_token_uri}}
    flow = Flow.from_client_config(config, scopes=list(SCOPES), state=state,
                                   code_verifier=code_verifier)
    flow.redirect_uri = redirect_uri
    return flow


def _error_code(response: requests.Response) -> str:
    try:
        return str(response.json().get("error", ""))
    except (ValueError, AttributeError):
        return ""


class GoogleOAuth:
    """The flow above as the OAuthFlow Google's description carries."""

    sign_in_label = "Google"
    client_settings = "NEXTSTEP_GOOGLE_CLIENT_ID and NEXTSTEP_GOOGLE_CLIENT_SECRET"
    sign_in_refused = ("No Nextstep account uses {email} (an address Google has verified). "
                       "Ask whoever runs Nextstep for your team to add you, then sign in again.")
    unrevoked = ("Google could not be reached to revoke access; remove Nextstep at "
                 "myaccount.google.com/permissions.")

    def configured(self, settings: Settings) -> bool:
        return bool(settings.google_client_id and settings.google_client_secret)

    def start(self, settings: Settings, redirect_uri: str, *,
              http: requests.Session | None) -> tuple[str, dict[str, Any]]:
        url, state, verifier = start_authorization(settings, redirect_uri)
        return url, {"state": state, "code_verifier": verifier}

    def finish(self, settings: Settings, redirect_uri: str, remembered: Mapping[str, Any],
               answer: RawRequest, *, http: requests.Session | None) -> dict[str, Any]:
        return finish_authorization(
            settings, redirect_uri,
            authorization_response_url=f"{redirect_uri}?{answer.query_string}",
            state=remembered["state"], code_verifier=remembered["code_verifier"])

    def revoke(self, settings: Settings, credentials: Mapping[str, Any]) -> bool:
        revoke(settings, credentials)
        return True
