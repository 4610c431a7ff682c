"""Where the connector's access token comes from: a private app's, or an OAuth app's.

A private-app token does not expire. An app installed with OAuth exchanges its refresh
token for an access token that lives ``expires_in`` seconds (1,800 on HubSpot), so the
daemon, which builds its connector once, must renew it while it runs:

- ahead of expiry: a token with less than :func:`refresh_margin` left is replaced
  before it is sent;
- once after a 401 (HubSpot may end a token early): the call is sent again with a new
  token, and a second refusal is an :class:`~crmbridge.errors.AuthError`.

The daemon calls from several threads: one lock makes a single refresh serve them all,
and a thread whose call was refused with a token another thread has already replaced
just uses the new one. Tokens never appear in messages, logs or ``repr``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from hubspot import HubSpot
from urllib3 import Retry

from crmbridge.errors import AuthError, CrmbridgeError, PermanentRecordError
from crmbridge_hubspot.errors import from_exception, parse_body
from crmbridge_hubspot.settings import HubSpotSettings

#: HubSpot's burst limit for an OAuth app: 100 calls per 10 s in each installing account
#: (a private app on Professional has 190).
OAUTH_BURST = 100
#: Renew this long before expiry at most (a fifth of a short token's life at least).
REFRESH_MARGIN_S = 300.0
OAUTH_SETTINGS = (
    "connectors.hubspot.client_id, connectors.hubspot.client_secret and "
    "connectors.hubspot.refresh_token"
)


def refresh_margin(expires_in: float) -> float:
    """How long before expiry a token is renewed: 5 minutes of HubSpot's 30, and a
    fifth of a shorter life (a sandbox's few seconds in tests)."""
    return min(REFRESH_MARGIN_S, expires_in / 5)


class TokenSource(Protocol):
    """What :class:`~crmbridge_hubspot.client.HubSpotClient` asks for a bearer token."""

    #: True for an OAuth app (its token info is read at ``/oauth/v1/access-tokens``).
    oauth: bool

    def token(self) -> str:
        """A token to send now."""

    def renew(self, rejected: str) -> bool:
        """HubSpot answered 401 to ``rejected``: get another token; False when there is
        nothing to renew (the 401 then stands)."""


class PrivateAppToken:
    """A private app's access token: fixed, nothing to renew."""

    oauth = False

    def __init__(self, access_token: str) -> None:
        self._token = access_token

    def __repr__(self) -> str:
        return "PrivateAppToken(***)"

    def token(self) -> str:
        """The configured token."""
        return self._token

    def renew(self, rejected: str) -> bool:
        """A private-app token cannot be renewed: HubSpot's 401 stands."""
        return False


class OAuthTokens:
    """Access tokens of an app installed with OAuth, refreshed with the refresh token."""

    oauth = True

    def __init__(
        self,
        settings: HubSpotSettings,
        *,
        timeout: Any = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not (settings.client_id and settings.client_secret and settings.refresh_token):
            raise AuthError(f"OAuth needs {OAUTH_SETTINGS}")
        self._client_id = settings.client_id
        self._client_secret = settings.client_secret
        self._refresh_token = settings.refresh_token.get_secret_value()
        self._timeout = timeout
        self._clock = clock
        # urllib3 must not retry on its own: the caller's retry policy decides.
        self._api = HubSpot(
            host=settings.base_url.rstrip("/"),
            retry=Retry(total=0, connect=0, read=0, redirect=0, status=0),
        ).oauth.tokens_api
        self._lock = threading.Lock()
        self._access: str | None = None
        self._renew_at = 0.0
        #: Access tokens obtained so far.
        self.refreshes = 0

    def __repr__(self) -> str:
        return f"OAuthTokens(client_id={self._client_id!r}, refreshes={self.refreshes})"

    def token(self) -> str:
        """The current access token, refreshed first when it is close to expiry."""
        with self._lock:
            if self._access is None or self._clock() >= self._renew_at:
                return self._refresh()
            return self._access

    def renew(self, rejected: str) -> bool:
        """Refresh unless another thread already replaced ``rejected``."""
        with self._lock:
            if self._access == rejected or self._access is None:
                self._refresh()
        return True

    def _refresh(self) -> str:
        """Exchange the refresh token (the lock is held: one refresh for all threads)."""
        started = self._clock()
        try:
            answer, _status, _headers = self._api.create_with_http_info(
                grant_type="refresh_token",
                client_id=self._client_id,
                client_secret=self._client_secret.get_secret_value(),
                refresh_token=self._refresh_token,
                _request_timeout=self._timeout,
            )
        except Exception as exc:
            raise _refused(exc) from None
        self._access = str(answer.access_token)
        if answer.refresh_token:
            # HubSpot answers with the same refresh token; keep a rotated one if not.
            self._refresh_token = str(answer.refresh_token)
        life = float(answer.expires_in or 0)
        self._renew_at = started + life - refresh_margin(life)
        self.refreshes += 1
        return self._access


def _refused(exc: Exception) -> CrmbridgeError:
    """What a failed refresh means: the settings are wrong (or the app was uninstalled),
    or HubSpot did not answer, which is transient and retried like any call."""
    error = from_exception(exc, what="OAuth token refresh")
    if not isinstance(error, AuthError | PermanentRecordError):
        return error
    code = str(parse_body(getattr(exc, "body", None)).get("status") or "")
    said = f" ({code})" if code and code != "error" else ""
    return AuthError(
        f"HubSpot refused the OAuth refresh{said}: check {OAUTH_SETTINGS} (a refresh "
        "token ends when the app is uninstalled: reinstall it and set the new one)",
        detail=error.detail,
    )
