"""Google's OAuth 2.0 endpoints as the emulator serves them: the consent page (which consents
at once for the configured account), the token endpoint (authorization_code with PKCE,
refresh_token) and revocation, with the grants, codes and tokens behind them.

What it keeps from the real service: single-use codes bound to the redirect URI and the S256
challenge, refresh tokens only for `access_type=offline`, `invalid_grant` once a grant is
revoked, `email` widened to the userinfo.email scope in the granted `scope` (oauthlib compares
it with what was asked for), scopes the user may untick on the consent page, and an RS256
id_token with the account's email. Not kept: the discovery document and signing certs.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, current_app, jsonify, redirect, request
from google.auth import crypt, jwt

ISSUER = "https://accounts.google.com"
SCOPE_ALIASES = {"email": "https://www.googleapis.com/auth/userinfo.email",
                 "profile": "https://www.googleapis.com/auth/userinfo.profile"}
CALENDAR_SCOPES = ("https://www.googleapis.com/auth/calendar.events",
                   "https://www.googleapis.com/auth/calendar.freebusy",
                   "https://www.googleapis.com/auth/calendar.calendarlist.readonly")


class OAuthError(Exception):
    """An answer in the token endpoint's shape: {"error", "error_description"}."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error, self.description, self.status = error, description, status


@dataclass
class Grant:
    """One account's consent to our client: every token issued under it dies with it."""

    email: str
    scopes: frozenset[str]
    revoked: bool = False


@dataclass
class Code:
    grant: Grant
    redirect_uri: str
    challenge: str | None
    method: str | None
    offline: bool


@dataclass
class Identity:
    client_id: str
    client_secret: str
    account: str  # who the consent page signs in
    token_lifetime: int = 3600
    deny_consent: bool = False  # the user clicks "Cancel" on the consent page
    withheld_scopes: set[str] = field(default_factory=set)  # boxes the user unticks
    unverified_email: bool = False  # an account whose address Google has not checked
    lock: threading.RLock = field(default_factory=threading.RLock)
    _codes: dict[str, Code] = field(default_factory=dict)
    _refresh: dict[str, Grant] = field(default_factory=dict)
    _access: dict[str, tuple[Grant, float]] = field(default_factory=dict)
    _signer: crypt.RSASigner | None = None

    # --- knobs and shortcuts for tests -----------------------------------------------------

    def issue(self, email: str | None = None,
              scopes: tuple[str, ...] = CALENDAR_SCOPES) -> dict[str, str]:
        """Tokens as if `email` had consented: {"access_token", "refresh_token", "expiry"}."""
        grant = Grant(email or self.account, frozenset(scopes))
        answer = self._tokens(grant, offline=True)
        expiry = time.strftime("%Y-%m-%dT%H:%M:%SZ",
                               time.gmtime(time.time() + answer["expires_in"]))
        return {"access_token": answer["access_token"],
                "refresh_token": answer["refresh_token"], "expiry": expiry}

    def revoke_refresh_token(self, refresh_token: str) -> None:
        """The user removes our app in their Google account: the grant dies."""
        with self.lock:
            self._refresh[refresh_token].revoked = True

    def expire_access_tokens(self) -> None:
        with self.lock:
            self._access.clear()

    def holder(self, access_token: str) -> Grant | None:
        """The live grant behind a bearer token, or None (unknown, expired, revoked)."""
        with self.lock:
            grant, expires = self._access.get(access_token, (None, 0.0))
            return grant if grant and not grant.revoked and expires > time.time() else None

    # --- the endpoints ---------------------------------------------------------------------

    def consent(self, params: dict[str, str]) -> str:
        """Where the consent page sends the browser back: redirect_uri with code and state."""
        if params.get("client_id") != self.client_id:
            raise OAuthError("invalid_client", "The OAuth client was not found.", 401)
        if not params.get("redirect_uri") or params.get("response_type") != "code":
            raise OAuthError("invalid_request", "Required parameter is missing: "
                                                "redirect_uri or response_type=code")
        method = params.get("code_challenge_method")
        if method not in (None, "S256", "plain"):
            raise OAuthError("invalid_request", "Invalid code_challenge_method")
        back = {"state": params["state"]} if "state" in params else {}
        if self.deny_consent:
            return _with_query(params["redirect_uri"], {**back, "error": "access_denied"})
        asked = {SCOPE_ALIASES.get(s, s) for s in params.get("scope", "").split()}
        grant = Grant(self.account, frozenset(asked - self.withheld_scopes))
        code = "4/0" + secrets.token_urlsafe(32)
        with self.lock:
            self._codes[code] = Code(grant, params["redirect_uri"],
                                     params.get("code_challenge"), method,
                                     params.get("access_type") == "offline")
        return _with_query(params["redirect_uri"], {**back, "code": code,
                                                    "scope": " ".join(sorted(grant.scopes)),
                                                    "authuser": "0", "prompt": "consent"})

    def token(self, form: dict[str, str], basic: tuple[str, str] | None) -> dict[str, Any]:
        client_id, secret = basic or (form.get("client_id"), form.get("client_secret"))
        if client_id != self.client_id or not hmac.compare_digest(
                (secret or "").encode(), self.client_secret.encode()):
            raise OAuthError("invalid_client", "Unauthorized", 401)
        grant_type = form.get("grant_type")
        if grant_type == "authorization_code":
            return self._redeem(form)
        if grant_type == "refresh_token":
            with self.lock:
                grant = self._refresh.get(form.get("refresh_token", ""))
            if grant is None or grant.revoked:
                raise OAuthError("invalid_grant", "Token has been expired or revoked.")
            return self._tokens(grant, offline=False)
        raise OAuthError("unsupported_grant_type", f"Invalid grant_type: {grant_type}")

    def _redeem(self, form: dict[str, str]) -> dict[str, Any]:
        with self.lock:
            code = self._codes.pop(form.get("code", ""), None)  # single use
        if code is None:
            raise OAuthError("invalid_grant", "Malformed auth code.")
        if form.get("redirect_uri") != code.redirect_uri:
            raise OAuthError("redirect_uri_mismatch", "Bad Request")
        if code.challenge is not None:
            verifier = form.get("code_verifier")
            if not verifier:
                raise OAuthError("invalid_grant", "Missing code verifier.")
            expected = _s256(verifier) if code.method == "S256" else verifier
            if not hmac.compare_digest(expected, code.challenge):
                raise OAuthError("invalid_grant", "Invalid code verifier.")
        return self._tokens(code.grant, offline=code.offline)

    def revoke(self, token: str) -> None:
        with self.lock:
            grant = self._refresh.get(token) or self._access.get(token, (None, 0.0))[0]
            if grant is None or grant.revoked:
                raise OAuthError("invalid_token", "Token expired or revoked")
            grant.revoked = True

    def _tokens(self, grant: Grant, *, offline: bool) -> dict[str, Any]:
        access = "ya29.emulated-" + secrets.token_urlsafe(32)
        answer: dict[str, Any] = {"access_token": access, "expires_in": self.token_lifetime,
                                  "scope": " ".join(sorted(grant.scopes)),
                                  "token_type": "Bearer"}
        with self.lock:
            self._access[access] = (grant, time.time() + self.token_lifetime)
            if offline:
                answer["refresh_token"] = "1//emulated-" + secrets.token_urlsafe(32)
                self._refresh[answer["refresh_token"]] = grant
        if "openid" in grant.scopes:
            answer["id_token"] = self._id_token(grant)
        return answer

    def _id_token(self, grant: Grant) -> str:
        now = int(time.time())
        claims = {"iss": ISSUER, "azp": self.client_id, "aud": self.client_id,
                  "sub": str(int(hashlib.sha256(grant.email.encode()).hexdigest()[:15], 16)),
                  "iat": now, "exp": now + 3600}
        if SCOPE_ALIASES["email"] in grant.scopes:
            claims.update(email=grant.email, email_verified=not self.unverified_email)
        with self.lock:
            if self._signer is None:
                self._signer = _new_signer()
            return jwt.encode(self._signer, claims).decode()


def _new_signer() -> crypt.RSASigner:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    return crypt.RSASigner.from_string(pem, key_id="emulated")


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _with_query(url: str, params: dict[str, str]) -> str:
    return url + ("&" if "?" in url else "?") + urlencode(params)


# --- routes ----------------------------------------------------------------------------------

bp = Blueprint("identity", __name__)


def _identity() -> Identity:
    return current_app.extensions["google_state"].identity


@bp.get("/o/oauth2/auth")
def auth() -> Response:
    try:
        return redirect(_identity().consent(request.args.to_dict()), code=302)
    except OAuthError as exc:  # Google shows an error page here; nothing goes back
        return Response(f"Error {exc.status}: {exc.error}\n{exc.description}",
                        status=exc.status, mimetype="text/plain")


@bp.post("/token")
def token() -> Response:
    auth_header = request.authorization
    basic = (auth_header.username or "", auth_header.password or "") \
        if auth_header and auth_header.type == "basic" else None
    return jsonify(_identity().token(request.form.to_dict(), basic))


@bp.post("/revoke")
def revoke() -> Response:
    _identity().revoke(request.values.get("token", ""))
    return jsonify({})


@bp.errorhandler(OAuthError)
def oauth_error(exc: OAuthError) -> tuple[Response, int]:
    return jsonify({"error": exc.error, "error_description": exc.description}), exc.status
