"""msal for the Outlook adapter: the confidential client app, the Graph scope, the
authorization-code flow (PKCE, state and nonce are msal's own) that connects a rep's account,
and GraphTokens, which turns a connection's stored token cache into access tokens.

What the web layer keeps between the two legs is the `flow` dict from `start_authorization`
(it holds the PKCE verifier and the state: store it in the server-side session, use it once).
"""

from __future__ import annotations

import threading
import time
import warnings
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import msal
import requests
from msal.exceptions import MsalServiceError

from scheduler.errors import (
    ConfigError,
    InvalidInput,
    NeedsReconnect,
    ProviderRejected,
    ProviderUnavailable,
)
from scheduler.providers.base import RawRequest
from scheduler.settings import Settings

GRAPH_PERMISSION = "Calendars.ReadWrite"
# Authorities msal knows itself; any other host (B2C, a sovereign cloud msal has not heard of,
# a test double) is used as given, without msal's instance discovery (API.md).
MICROSOFT_LOGIN_HOSTS = frozenset({
    "login.microsoftonline.com", "login.microsoft.com", "login.windows.net",
    "login.microsoftonline.us", "login.usgovcloudapi.net", "login.partner.microsoftonline.cn",
    "login.chinacloudapi.cn", "login.sovcloud-identity.fr", "login.sovcloud-identity.de",
    "login.sovcloud-identity.sg"})
CONSUMER_TENANT = "9188040d-6c67-4c5b-b112-36a304b66dad"  # the tenant of personal accounts
DISCOVERY_TTL = 24 * 3600.0  # what msal itself allows a discovery document
FORM_POST_ADVICE = r"response_mode='form_post' is recommended"
# Token endpoint errors that mean the rep's grant is gone, or that our app is misconfigured;
# anything else is taken as passing.
GRANT_GONE = {"invalid_grant", "interaction_required", "consent_required", "login_required"}
APP_REFUSED = {"invalid_client", "unauthorized_client", "invalid_scope"}

_discovery: dict[str, tuple[float, requests.Response]] = {}
_discovery_lock = threading.Lock()


def graph_scopes(settings: Settings) -> list[str]:
    """The permission named on Graph's own resource (`https://graph.microsoft.com/...`, or the
    national cloud's Graph the settings point at); msal adds openid/profile/offline_access
    itself and refuses them from callers."""
    parts = urlsplit(settings.graph_api_endpoint)
    return [f"{parts.scheme}://{parts.netloc}/{GRAPH_PERMISSION}"]


class MsalHttp:
    """msal's HTTP client: the caller's session, plus the authority's discovery document kept
    for the process. msal fetches it whenever an app is built, and an adapter is built per use,
    so without this every first call would pay a second round trip."""

    def __init__(self, session: requests.Session, timeout: float) -> None:
        self.session, self.timeout = session, timeout  # msal drops its own timeout for ours

    def post(self, url: str, **kwargs: Any) -> requests.Response:
        return self.session.post(url, **{"timeout": self.timeout, **kwargs})

    def get(self, url: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self.timeout)
        if not url.endswith("/.well-known/openid-configuration"):
            return self.session.get(url, **kwargs)
        with _discovery_lock:
            cached = _discovery.get(url)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        response = self.session.get(url, **kwargs)
        if response.status_code == 200:
            with _discovery_lock:
                _discovery[url] = (time.monotonic() + DISCOVERY_TTL, response)
        return response

    def close(self) -> None:
        """The session belongs to the caller."""


def msal_app(settings: Settings, *, token_cache: msal.TokenCache | None = None,
             http_client: requests.Session | None = None,
             timeout: float = 10.0) -> msal.ConfidentialClientApplication:
    """The app for our registration; building it reads the authority's discovery document."""
    if not settings.ms_client_id or not settings.ms_client_secret:
        raise ConfigError("NEXTSTEP_MS_CLIENT_ID and NEXTSTEP_MS_CLIENT_SECRET must be set to "
                          "connect Outlook", field="ms_client_id")
    host = urlsplit(settings.ms_authority).hostname
    try:
        return msal.ConfidentialClientApplication(
            settings.ms_client_id, client_credential=settings.ms_client_secret,
            authority=settings.ms_authority, token_cache=token_cache,
            http_client=MsalHttp(http_client or requests.Session(), timeout),
            instance_discovery=None if host in MICROSOFT_LOGIN_HOSTS else False)
    except ValueError as exc:  # msal's word for an authority it cannot use
        raise ConfigError(f"NEXTSTEP_MS_AUTHORITY {settings.ms_authority!r}: {exc}",
                          field="ms_authority") from None
    except (requests.RequestException, MsalServiceError) as exc:
        raise ProviderUnavailable(f"Microsoft sign-in is unreachable: {exc}") from None


def start_authorization(settings: Settings, redirect_uri: str, *,
                        http_client: requests.Session | None = None) -> dict[str, Any]:
    """The first leg: msal's flow dict; send the browser to `flow["auth_uri"]`.

    The answer comes back in the query string, not as msal's preferred form_post: a
    cross-site POST would arrive without the SameSite=Lax session cookie that holds the flow.
    The code in the URL is useless without the PKCE verifier, and msal checks state and nonce.
    """
    app = msal_app(settings, http_client=http_client)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", FORM_POST_ADVICE, UserWarning)
        return app.initiate_auth_code_flow(graph_scopes(settings), redirect_uri=redirect_uri,
                                           response_mode="query", prompt="select_account")


def finish_authorization(settings: Settings, flow: dict[str, Any],
                         auth_response: dict[str, Any], *,
                         http_client: requests.Session | None = None) -> dict[str, Any]:
    """The second leg: redeem the code (msal checks state, PKCE verifier and nonce) and return
    what the connection stores: the serialized token cache (encrypt it), the account id, the
    mailbox address, and whether it is a personal account (no getSchedule there)."""
    cache = msal.SerializableTokenCache()
    app = msal_app(settings, token_cache=cache, http_client=http_client)
    try:
        result = app.acquire_token_by_auth_code_flow(flow, auth_response)
    except ValueError as exc:  # msal: state missing or mismatched, or neither code nor error
        raise InvalidInput(f"the Microsoft sign-in answer does not belong to the sign-in that "
                           f"was started ({exc}); start again", field="state") from None
    except RuntimeError as exc:  # msal: the id_token's nonce is not ours
        raise InvalidInput(f"the Microsoft sign-in answer failed its check ({exc}); start "
                           "again", field="state") from None
    except (requests.RequestException, MsalServiceError) as exc:
        raise ProviderUnavailable(f"Microsoft sign-in is unreachable: {exc}") from None
    if "error" in result:
        raise ProviderRejected(f"Microsoft sign-in failed: {result['error']}: "
                               f"{result.get('error_description', '')}".strip(),
                               field="authorization")
    claims = result.get("id_token_claims", {})
    [account] = app.get_accounts()  # the cache started empty: the account that just signed in
    return {"token_cache": cache.serialize(), "account_id": account["home_account_id"],
            "email": claims.get("preferred_username") or claims.get("email", ""),
            "personal_account": claims.get("tid") == CONSUMER_TENANT}


class GraphTokens:
    """Access tokens for one connected account, from its serialized msal cache, refreshed
    silently by msal when due. A changed cache (a new refresh token) goes to
    `on_cache_changed` for the caller to store encrypted. Once the grant is gone, every call
    raises the same NeedsReconnect without another request."""

    def __init__(self, *, token_cache: str | None, account_id: str | None, settings: Settings,
                 on_cache_changed: Callable[[str], None] | None,
                 http_client: requests.Session, timeout: float) -> None:
        self._cache = msal.SerializableTokenCache()
        if token_cache:
            self._cache.deserialize(token_cache)
        self._account_id, self._settings = account_id, settings
        self._on_cache_changed = on_cache_changed
        self._http, self._timeout = http_client, timeout
        self._scopes = graph_scopes(settings)
        self._app: msal.ConfidentialClientApplication | None = None
        self._account: dict[str, Any] | None = None
        self._reconnect: NeedsReconnect | None = None

    def access_token(self, force_refresh: bool = False) -> str:
        """A valid access token (msal's acquire_token_silent, in the variant that says why
        it failed: a revoked grant and a passing outage need different answers)."""
        account = self._signed_in()
        try:
            result = self._msal().acquire_token_silent_with_error(
                self._scopes, account, force_refresh=force_refresh)
        except (requests.RequestException, MsalServiceError) as exc:
            raise ProviderUnavailable(f"Microsoft sign-in is unreachable: {exc}") from None
        finally:
            self._save_cache()
        if result and "access_token" in result:
            return result["access_token"]
        if not result:
            raise self.disconnect("no refresh token is stored for this account")
        error = result.get("error", "")
        detail = f"{error}: {result.get('error_description', '')}".strip()
        if error in GRANT_GONE:
            raise self.disconnect(detail)
        if error in APP_REFUSED:
            raise ProviderRejected(f"Microsoft refuses this app's credentials ({detail}); check "
                                   "NEXTSTEP_MS_CLIENT_ID/SECRET", field="ms_client_secret")
        raise ProviderUnavailable(f"Microsoft sign-in failed for now: {detail}")

    def username(self) -> str:
        """The signed-in mailbox address."""
        return self._signed_in()["username"]

    def disconnect(self, reason: str) -> NeedsReconnect:
        """From now on every call fails with this, without reaching Microsoft."""
        self._reconnect = NeedsReconnect(f"the Outlook connection needs to be connected again "
                                         f"({reason})", field="connection")
        return self._reconnect

    def _msal(self) -> msal.ConfidentialClientApplication:
        if self._app is None:
            self._app = msal_app(self._settings, token_cache=self._cache,
                                 http_client=self._http, timeout=self._timeout)
        return self._app

    def _signed_in(self) -> dict[str, Any]:
        """msal's account for `account_id`; without one the rep must connect again."""
        if self._reconnect is not None:
            raise self._reconnect
        if self._account is None:
            accounts = [a for a in self._msal().get_accounts()
                        if a["home_account_id"] == self._account_id]
            if not accounts:
                raise self.disconnect("the stored sign-in has no such account")
            self._account = accounts[0]
        return self._account

    def _save_cache(self) -> None:
        if self._cache.has_state_changed:
            self._cache.has_state_changed = False
            if self._on_cache_changed is not None:
                self._on_cache_changed(self._cache.serialize())


class MicrosoftOAuth:
    """The flow above as the OAuthFlow Outlook's description carries."""

    sign_in_label = "Microsoft"
    client_settings = "NEXTSTEP_MS_CLIENT_ID and NEXTSTEP_MS_CLIENT_SECRET"
    sign_in_refused = ("Signing in with Microsoft works once you have connected {email} on "
                       "the Connections page while signed in with your password.")
    unrevoked = "Microsoft lists the app at myapps.microsoft.com until you remove it there."

    def configured(self, settings: Settings) -> bool:
        return bool(settings.ms_client_id and settings.ms_client_secret)

    def start(self, settings: Settings, redirect_uri: str, *,
              http: requests.Session | None) -> tuple[str, dict[str, Any]]:
        flow = start_authorization(settings, redirect_uri, http_client=http)
        return flow["auth_uri"], {"flow": {k: v for k, v in flow.items() if k != "auth_uri"}}

    def finish(self, settings: Settings, redirect_uri: str, remembered: Mapping[str, Any],
               answer: RawRequest, *, http: requests.Session | None) -> dict[str, Any]:
        return finish_authorization(settings, remembered["flow"], dict(answer.args),
                                    http_client=http)

    def revoke(self, settings: Settings, credentials: Mapping[str, Any]) -> bool:
        # Microsoft has no endpoint to revoke one app's refresh token: the grant ends when the
        # rep removes the app at myapps.microsoft.com; we delete the token cache.
        return False
