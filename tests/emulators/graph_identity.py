"""The Microsoft identity platform (Entra ID, v2.0 endpoints) as the Graph emulator plays it:
discovery, the authorize page (which signs in a configured account at once), and the token
endpoint with the authorization-code grant (PKCE S256 checked) and the refresh-token grant.

Tokens are what msal needs and no more: an unsigned id_token (msal decodes it without checking
the signature; it compares the nonce) and `client_info`, from which msal builds the account's
`home_account_id` ("{oid}.{tid}"). Access tokens are opaque strings the Graph routes look up.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote_plus, urlencode

from flask import Blueprint, Response, current_app, jsonify, redirect, request

CONSUMER_TENANT = "9188040d-6c67-4c5b-b112-36a304b66dad"  # every personal Microsoft account
ORGANIZATION_TENANT = "5f1e0c2a-7b3d-4e8f-9a6b-1c2d3e4f5a6b"  # the emulated work tenant
RESERVED_SCOPES = {"openid", "profile", "offline_access", "email"}


@dataclass(frozen=True)
class Account:
    email: str
    name: str
    oid: str
    tid: str

    @property
    def personal(self) -> bool:
        return self.tid == CONSUMER_TENANT


class OAuthError(Exception):
    """A refusal shaped like Microsoft's: OAuth error, AADSTS code and text, maybe a suberror."""

    def __init__(self, error: str, aadsts: int, description: str, *, status: int = 400,
                 suberror: str | None = None) -> None:
        super().__init__(description)
        self.error, self.aadsts, self.description = error, aadsts, description
        self.status, self.suberror = status, suberror

    def response(self) -> Response:
        body = {"error": self.error, "error_description": self.description,
                "error_codes": [self.aadsts],
                "timestamp": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%SZ"),
                "trace_id": str(uuid.uuid4()), "correlation_id": str(uuid.uuid4())}
        if self.suberror:
            body["suberror"] = self.suberror
        answer = jsonify(body)
        answer.status_code = self.status
        return answer


class Identity:
    """Accounts, consents, codes and tokens; thread-safe. Knobs: `sign_in_as`,
    `revoke_consent`, `expire_access_tokens`, `authorize_error`, `token_lifetime`."""

    def __init__(self, *, client_id: str, client_secret: str, token_lifetime: int) -> None:
        self.lock = threading.RLock()
        self.client_id, self.client_secret = client_id, client_secret
        self.token_lifetime = token_lifetime
        self.authorize_error: tuple[str, str] | None = None  # e.g. the user declines consent
        self.accounts: dict[str, Account] = {}
        self.signed_in: str | None = None  # whom the authorize page signs in
        self._codes: dict[str, dict[str, Any]] = {}
        self._refresh_tokens: dict[str, tuple[str, str]] = {}  # token -> (email, client id)
        self._access_tokens: dict[str, tuple[str, list[str], float]] = {}
        self._consents: set[tuple[str, str]] = set()

    def add_account(self, email: str, *, name: str = "", personal: bool = False) -> Account:
        account = Account(email.lower(), name or email.split("@")[0], str(uuid.uuid4()),
                          CONSUMER_TENANT if personal else ORGANIZATION_TENANT)
        with self.lock:
            self.accounts[account.email] = account
            self.signed_in = self.signed_in or account.email
        return account

    def sign_in_as(self, email: str) -> None:
        with self.lock:
            self.signed_in = email.lower()

    def revoke_consent(self, email: str) -> None:
        """The user (or an admin) removes the app's permissions: refreshing fails from now on.
        Access tokens already issued keep working until they expire, as with Microsoft."""
        with self.lock:
            self._consents = {c for c in self._consents if c[0] != email.lower()}

    def expire_access_tokens(self) -> None:
        with self.lock:
            self._access_tokens.clear()

    def token_holder(self, access_token: str) -> tuple[Account, list[str]] | None:
        """Whose valid access token this is, with its scopes; None if unknown or expired."""
        with self.lock:
            entry = self._access_tokens.get(access_token)
            if entry is None or entry[2] < time.time():
                return None
            return self.accounts[entry[0]], entry[1]

    def issue_code(self, email: str, *, client_id: str, redirect_uri: str, scope: str,
                   challenge: str | None, method: str | None, nonce: str | None) -> str:
        """`email` signs in and consents; the code stands for that grant for 10 minutes."""
        with self.lock:
            self._consents.add((email, client_id))
            code = secrets.token_urlsafe(32)
            self._codes[code] = {"email": email, "client_id": client_id,
                                 "redirect_uri": redirect_uri, "scope": scope,
                                 "challenge": challenge, "method": method, "nonce": nonce,
                                 "expires": time.time() + 600}
            return code

    def redeem_code(self, code: str, *, client_id: str, redirect_uri: str | None,
                    verifier: str | None) -> dict[str, Any]:
        """The grant behind a code, once only, after the PKCE check."""
        with self.lock:
            grant = self._codes.pop(code, None)
        if grant is None or grant["expires"] < time.time() or grant["client_id"] != client_id:
            raise OAuthError("invalid_grant", 70008, "AADSTS70008: The provided authorization "
                             "code or refresh token has expired or was already redeemed.")
        if redirect_uri != grant["redirect_uri"]:
            raise OAuthError("invalid_grant", 500112, "AADSTS500112: The reply address does "
                             "not match the reply address of the authorization request.")
        if grant["challenge"] and (not verifier or _s256(verifier) != grant["challenge"]):
            raise OAuthError("invalid_grant", 50148, "AADSTS50148: The code_verifier does not "
                             "match the code_challenge supplied in the authorization request.")
        return grant

    def check_refresh(self, refresh_token: str, client_id: str) -> str:
        """The email behind a refresh token that still works, or the platform's refusal."""
        with self.lock:
            holder = self._refresh_tokens.get(refresh_token)
            if holder is None or holder[1] != client_id:
                raise OAuthError("invalid_grant", 70000, "AADSTS70000: The provided value for "
                                 "the 'refresh_token' is not valid.")
            if holder not in self._consents:
                raise OAuthError(
                    "invalid_grant", 65001, "AADSTS65001: The user or administrator has not "
                    f"consented to use the application with ID '{client_id}'. Send an "
                    "interactive authorization request for this user and resource.",
                    suberror="consent_required")
            return holder[0]

    def issue_tokens(self, email: str, client_id: str, scopes: list[str]) -> tuple[str, str]:
        with self.lock:
            access, refresh = secrets.token_urlsafe(32), secrets.token_urlsafe(48)
            self._access_tokens[access] = (email, scopes, time.time() + self.token_lifetime)
            self._refresh_tokens[refresh] = (email, client_id)
            return access, refresh


bp = Blueprint("identity", __name__)


def _identity() -> Identity:
    return current_app.extensions["graph_state"].identity


def _base() -> str:
    return request.host_url.rstrip("/")


@bp.get("/<tenant>/v2.0/.well-known/openid-configuration")
def openid_configuration(tenant: str) -> Response:
    base = f"{_base()}/{tenant}"
    issuer_tenant = "{tenantid}" if tenant in ("common", "organizations", "consumers") else tenant
    return jsonify({
        "issuer": f"{_base()}/{issuer_tenant}/v2.0",
        "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
        "token_endpoint": f"{base}/oauth2/v2.0/token",
        "end_session_endpoint": f"{base}/oauth2/v2.0/logout",
        "jwks_uri": f"{base}/discovery/v2.0/keys",
        "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic",
                                                  "private_key_jwt"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "response_modes_supported": ["query", "fragment", "form_post"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "code_challenge_methods_supported": ["plain", "S256"],
        "cloud_instance_name": "emulator.test"})


@bp.get("/<tenant>/oauth2/v2.0/authorize")
def authorize(tenant: str) -> Response:
    """No page to click through: the configured account signs in and consents at once."""
    identity, args = _identity(), request.args
    if args.get("client_id") != identity.client_id:
        return Response("AADSTS700016: Application not found in the directory.", 400)
    redirect_uri = args.get("redirect_uri")
    if not redirect_uri:
        return Response("AADSTS900144: The request body must contain 'redirect_uri'.", 400)
    answer = {"state": args.get("state", "")}
    method = args.get("code_challenge_method")
    if args.get("response_type") != "code":
        answer |= {"error": "unsupported_response_type",
                   "error_description": "AADSTS700054: response_type 'code' is expected."}
    elif args.get("code_challenge") and method != "S256":
        answer |= {"error": "invalid_request",
                   "error_description": "AADSTS501491: Invalid code_challenge_method."}
    elif identity.authorize_error:
        answer |= dict(zip(("error", "error_description"), identity.authorize_error,
                           strict=True))
    elif identity.signed_in is None:
        answer |= {"error": "login_required",
                   "error_description": "AADSTS50058: No account is signed in."}
    else:
        answer["code"] = identity.issue_code(
            identity.signed_in, client_id=identity.client_id, redirect_uri=redirect_uri,
            scope=args.get("scope", ""), challenge=args.get("code_challenge"), method=method,
            nonce=args.get("nonce"))
        answer["session_state"] = str(uuid.uuid4())
        if args.get("client_info") == "1":
            answer["client_info"] = _client_info(identity.accounts[identity.signed_in])
    separator = "&" if "?" in redirect_uri else "?"
    return redirect(f"{redirect_uri}{separator}{urlencode(answer)}", 302)


@bp.post("/<tenant>/oauth2/v2.0/token")
def token(tenant: str) -> Response:
    identity, form = _identity(), request.form
    client_id, secret = _client_credentials()
    try:
        if client_id != identity.client_id or secret != identity.client_secret:
            raise OAuthError("invalid_client", 7000215, "AADSTS7000215: Invalid client secret "
                             "provided.", status=401)
        grant_type = form.get("grant_type")
        if grant_type == "authorization_code":
            grant = identity.redeem_code(form.get("code", ""), client_id=client_id,
                                         redirect_uri=form.get("redirect_uri"),
                                         verifier=form.get("code_verifier"))
            email, scope, nonce = grant["email"], form.get("scope", grant["scope"]), \
                grant["nonce"]
        elif grant_type == "refresh_token":
            email = identity.check_refresh(form.get("refresh_token", ""), client_id)
            scope, nonce = form.get("scope", ""), None
        else:
            raise OAuthError("unsupported_grant_type", 70003,
                             f"AADSTS70003: The app requested an unsupported grant type "
                             f"'{grant_type}'.")
    except OAuthError as refusal:
        return refusal.response()
    scopes = [s for s in scope.split() if s not in RESERVED_SCOPES]
    access, refresh = identity.issue_tokens(email, client_id, scopes)
    account = identity.accounts[email]
    return jsonify({
        "token_type": "Bearer", "scope": " ".join(scopes),
        "expires_in": identity.token_lifetime, "ext_expires_in": identity.token_lifetime,
        "access_token": access, "refresh_token": refresh,
        "id_token": _id_token(account, client_id, nonce), "client_info": _client_info(account)})


def _client_credentials() -> tuple[str | None, str | None]:
    """HTTP Basic (what msal sends, form-encoded inside) or the client_secret_post fields."""
    auth = request.authorization
    if auth and auth.type == "basic":
        return unquote_plus(auth.username or ""), unquote_plus(auth.password or "")
    return request.form.get("client_id"), request.form.get("client_secret")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _s256(verifier: str) -> str:
    return _b64(hashlib.sha256(verifier.encode()).digest())


def _client_info(account: Account) -> str:
    return _b64(json.dumps({"uid": account.oid, "utid": account.tid}).encode())


def _id_token(account: Account, client_id: str, nonce: str | None) -> str:
    now = int(time.time())
    claims = {"aud": client_id, "iss": f"{_base()}/{account.tid}/v2.0", "iat": now,
              "nbf": now, "exp": now + 3600, "name": account.name, "oid": account.oid,
              "preferred_username": account.email, "sub": _b64(account.oid.encode()),
              "tid": account.tid, "ver": "2.0"}
    if nonce:
        claims["nonce"] = nonce
    header = {"typ": "JWT", "alg": "none"}
    return f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}."
