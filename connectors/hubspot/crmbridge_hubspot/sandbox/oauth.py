"""Sign-in as HubSpot does it: private-app tokens, and OAuth apps whose access tokens expire.

A private-app token (``SandboxConfig.tokens``) never expires. An app installed with OAuth
holds a refresh token (``SandboxConfig.refresh_tokens``) and exchanges it, with the app's
client id and secret, at ``POST /oauth/v1/token`` for an access token that expires after
``access_token_ttl_s`` (HubSpot's example: 1,800 s). After that every API call made with
it answers 401 ``EXPIRED_AUTHENTICATION``, as HubSpot does. An OAuth app's calls are
limited per install to ``oauth_rate_limit_max`` per 10 s (HubSpot: 100).

Endpoints (the shapes of HubSpot's v1 OAuth API):

- ``POST /oauth/v1/token`` (form-encoded; ``grant_type=refresh_token`` only): the new
  ``access_token``, the same ``refresh_token``, ``expires_in`` and ``token_type``; a
  400 with ``{"status": "BAD_REFRESH_TOKEN" | "BAD_CLIENT_ID" | "BAD_GRANT_TYPE",
  "message"}`` otherwise (a client secret that does not match its id counts as an
  unknown client);
- ``GET /oauth/v1/access-tokens/{token}``: the token's hub, app, user, scopes and the
  seconds it has left;
- ``DELETE /oauth/v1/refresh-tokens/{token}``: revoke a refresh token (the access
  tokens issued from it keep working until they expire, as on HubSpot).

Expiry is measured on the monotonic clock; the wall clock only dates the error body.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import timedelta
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from crmbridge_hubspot.sandbox.config import ALL_SCOPES, SandboxConfig
from crmbridge_hubspot.sandbox.state import SandboxState
from crmbridge_hubspot.sandbox.timeutil import iso_ms, utc_now
from crmbridge_hubspot.sandbox.wire import HubSpotError, HubSpotJSON, correlation_id, unauthorized

HUB_DOMAIN = "crmbridge-sandbox.hubspot.com"


@dataclass(frozen=True)
class Identity:
    """Who made an API call: the rate-limit key (one per private app or OAuth install),
    the scopes granted (``None``: every scope) and the 10-second limit (``None``: the
    private apps' ``rate_limit_max``)."""

    key: str
    scopes: frozenset[str] | None
    limit: int | None = None


@dataclass(frozen=True)
class _Grant:
    """One issued access token."""

    refresh_token: str
    scopes: frozenset[str] | None
    expires_at: float  # monotonic seconds


def token_error(status: str, message: str) -> Response:
    """HubSpot's 400 from the token endpoint: ``status`` is a code, not "error"."""
    body = {"status": status, "message": message, "correlationId": correlation_id()}
    return HubSpotJSON(body, status_code=400)


#: How HubSpot words the age of an expired token: the largest unit the age reaches
#: twice (recorded answers say "75 second(s)", "3 minute(s)", "6 hour(s)", "20336 day(s)").
_AGE_UNITS = (("day(s)", 86_400), ("hour(s)", 3_600), ("minute(s)", 60))


def token_age(seconds: float) -> str:
    """``75`` → ``"75 second(s)"``, ``200`` → ``"3 minute(s)"``, as HubSpot's 401 says it."""
    for unit, size in _AGE_UNITS:
        if seconds >= 2 * size:
            return f"{int(seconds // size)} {unit}"
    return f"{int(seconds)} second(s)"


def expired(seconds_ago: float, expired_at_iso: str) -> HubSpotError:
    """HubSpot's 401 for an access token past its expiry (recorded traffic: status
    "error", category ``EXPIRED_AUTHENTICATION``, the age in the message and the
    instant in ``context["expire time"]``)."""
    return HubSpotError(
        401,
        "EXPIRED_AUTHENTICATION",
        f"The OAuth token used to make this call expired {token_age(seconds_ago)} ago.",
        context={"expire time": [expired_at_iso]},
    )


class OAuthServer:
    """Issues, checks and revokes tokens; thread-safe."""

    def __init__(
        self, config: SandboxConfig, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._config = config
        self._clock = clock
        self._lock = threading.Lock()
        self._grants: dict[str, _Grant] = {}
        #: Access tokens issued so far (for tests: how often a client refreshed).
        self.issued = 0

    def authenticate(self, token: str | None) -> Identity:
        """The caller of an API request; a HubSpot 401 when the token is unknown or expired."""
        if token is None:
            raise unauthorized()
        if self._config.knows(token):
            return Identity(token, self._config.scopes_of(token))
        with self._lock:
            grant = self._grants.get(token)
        if grant is None:
            raise unauthorized()
        left = grant.expires_at - self._clock()
        if left <= 0:
            raise expired(-left, iso_ms(utc_now() + timedelta(seconds=left)))
        # One rate-limit window per install, whichever of its access tokens is used.
        limit = self._config.oauth_rate_limit_max
        return Identity("oauth:" + grant.refresh_token, grant.scopes, limit)

    def refresh(self, form: dict[str, str]) -> Response:
        """``POST /oauth/v1/token``."""
        config = self._config
        if form.get("grant_type") != "refresh_token":
            return token_error("BAD_GRANT_TYPE", "the sandbox supports grant_type=refresh_token")
        client_id, client_secret = form.get("client_id", ""), form.get("client_secret", "")
        if not (
            secrets.compare_digest(client_id, config.oauth_client_id)
            and secrets.compare_digest(client_secret, config.oauth_client_secret)
        ):
            return token_error("BAD_CLIENT_ID", "missing or unknown client id")
        refresh_token = form.get("refresh_token", "")
        try:
            scopes = config.refresh_scopes(refresh_token)
        except KeyError:
            return token_error("BAD_REFRESH_TOKEN", "missing or invalid refresh token")
        ttl = config.access_token_ttl_s
        access = "sandbox-oauth-" + secrets.token_urlsafe(24)
        with self._lock:
            self._drop_expired()
            self._grants[access] = _Grant(refresh_token, scopes, self._clock() + ttl)
            self.issued += 1
        return HubSpotJSON(
            {
                "token_type": "bearer",
                "refresh_token": refresh_token,
                "access_token": access,
                "expires_in": ttl,
            }
        )

    def info(self, token: str, state: SandboxState) -> Response:
        """``GET /oauth/v1/access-tokens/{token}``."""
        try:
            identity = self.authenticate(token)
        except HubSpotError as exc:
            return HubSpotJSON(exc.body(), status_code=exc.status)
        with self._lock:
            grant = self._grants.get(token)
        if grant is None:  # a private-app token: it has its own info endpoint
            error = unauthorized()
            return HubSpotJSON(error.body(), status_code=error.status)
        owners = state.owners()
        scopes = identity.scopes
        return HubSpotJSON(
            {
                "token": token,
                "user": owners[0].email if owners else "admin@crmbridge-sandbox.example",
                "hub_domain": HUB_DOMAIN,
                "scopes": sorted(scopes) if scopes is not None else list(ALL_SCOPES),
                "hub_id": self._config.portal_id,
                "app_id": self._config.app_id,
                "expires_in": max(0, int(grant.expires_at - self._clock())),
                "user_id": owners[0].user_id if owners else 1,
                "token_type": "access",
            }
        )

    def expire_all(self) -> int:
        """Make every issued access token expired now (HubSpot ending them early); how many."""
        now = self._clock()
        with self._lock:
            for token, grant in self._grants.items():
                self._grants[token] = replace(grant, expires_at=min(grant.expires_at, now))
            return len(self._grants)

    def _drop_expired(self) -> None:
        # Expired tokens are kept a while so a late call still gets the "expired" answer.
        horizon = self._clock() - 3600
        for token in [t for t, g in self._grants.items() if g.expires_at < horizon]:
            del self._grants[token]


def routes(oauth: OAuthServer, config: SandboxConfig, state: SandboxState) -> list[Route]:
    """The OAuth endpoints (no bearer token: the form or the path carries the credential)."""

    async def token(request: Request) -> Response:
        raw = (await request.body()).decode("utf-8", "replace")
        form = {key: values[0] for key, values in parse_qs(raw).items()}
        return oauth.refresh(form)

    async def access_token_info(request: Request) -> Response:
        return oauth.info(str(request.path_params["token"]), state)

    async def delete_refresh_token(request: Request) -> Response:
        if not config.revoke_refresh_token(str(request.path_params["token"])):
            error = HubSpotError(404, "OBJECT_NOT_FOUND", "refresh token not found")
            return HubSpotJSON(error.body(), status_code=404)
        return Response(status_code=204)

    return [
        Route("/oauth/v1/token", token, methods=["POST"]),
        Route("/oauth/v1/access-tokens/{token}", access_token_info, methods=["GET"]),
        Route("/oauth/v1/refresh-tokens/{token}", delete_refresh_token, methods=["DELETE"]),
    ]


def masked_path(path: str) -> str:
    """``path`` with a token in it replaced by its first characters (for the request log)."""
    for prefix in ("/oauth/v1/access-tokens/", "/oauth/v1/refresh-tokens/"):
        if path.startswith(prefix) and len(path) > len(prefix):
            return prefix + path[len(prefix) : len(prefix) + 4] + "…"
    return path
