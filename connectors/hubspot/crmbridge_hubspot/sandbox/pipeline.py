"""What every API request goes through before and after its handler.

In order: a test's hook (:attr:`Services.on_request`), bearer-token authentication
(401 ``INVALID_AUTHENTICATION``, or ``EXPIRED_AUTHENTICATION`` for an expired OAuth
access token), scopes (403 ``MISSING_SCOPES`` unless the token holds every scope of the
endpoint's set), rate limits (429 with HubSpot's body; rate-limit headers on every
answer, the daily ones only on searches), added latency, a stall (the request held
unanswered), fault injection (a scripted or seeded error status, before the handler
or, with ``fault_after_handler``, after it so the write is applied yet reported as
failed), then the handler. Handlers are plain synchronous functions from a
:class:`~crmbridge_hubspot.sandbox.wire.Call` to a :class:`~crmbridge_hubspot.sandbox.wire.Reply`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from crmbridge_hubspot.sandbox.config import SandboxConfig
from crmbridge_hubspot.sandbox.faults import FaultInjector, fault_response
from crmbridge_hubspot.sandbox.oauth import OAuthServer
from crmbridge_hubspot.sandbox.ratelimit import SECONDLY, RateLimiter
from crmbridge_hubspot.sandbox.records import ChangeSource
from crmbridge_hubspot.sandbox.state import SandboxState
from crmbridge_hubspot.sandbox.webhooks import WebhookDispatcher
from crmbridge_hubspot.sandbox.wire import (
    Call,
    HubSpotError,
    HubSpotJSON,
    Reply,
    missing_scopes,
    rate_limit_body,
    search_rate_limit_body,
)

log = logging.getLogger("crmbridge_hubspot.sandbox")

Handler = Callable[[Call], Reply]
Endpoint = Callable[[Request], Awaitable[Response]]


@dataclass
class Services:
    """Everything handlers share: the CRM state, the settings and the machinery."""

    state: SandboxState
    config: SandboxConfig
    limiter: RateLimiter
    faults: FaultInjector
    webhooks: WebhookDispatcher
    oauth: OAuthServer
    #: A test's hook, called with the method and path of each API request before it is
    #: handled (on a worker thread: while it waits, that answer waits and the others go
    #: on), to hold an answer until the client has reached a chosen point.
    on_request: Callable[[str, str], None] | None = None

    @property
    def api_source(self) -> ChangeSource:
        """How API writes appear in property history and webhooks."""
        return ChangeSource("INTEGRATION", str(self.config.app_id))


def error_response(error: HubSpotError, headers: dict[str, str] | None = None) -> Response:
    """Render a HubSpotError."""
    return HubSpotJSON(error.body(), status_code=error.status, headers=headers)


def bearer_token(request: Request) -> str | None:
    """The token of an ``Authorization: Bearer ...`` header."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def endpoint(
    services: Services, handler: Handler, *, scopes: Sequence[str], search: bool = False
) -> Endpoint:
    """Wrap ``handler`` in auth, scopes, rate limits, latency and faults.

    ``scopes`` is the endpoint's whole scope set: the token must hold each of them.
    """
    required = tuple(scopes)

    async def run(request: Request) -> Response:
        state, config = services.state, services.config
        if services.on_request is not None:
            await asyncio.to_thread(services.on_request, request.method, request.url.path)
        token = bearer_token(request)
        try:
            caller = services.oauth.authenticate(token)
        except HubSpotError as exc:
            state.count("unauthorized")
            return error_response(exc)
        granted = caller.scopes
        # Every scope of the endpoint's set is needed (HubSpot wants crm.lists.read as
        # well as crm.lists.write to add a list member): one missing is a 403.
        if granted is not None and not granted.issuperset(required):
            state.count("missing_scopes")
            return error_response(missing_scopes(required))
        limiter = services.limiter
        decision = limiter.check_search() if search else limiter.check(caller.key, caller.limit)
        if not decision.allowed:
            state.count("rate_limited_search" if search else "rate_limited")
            if decision.policy == SECONDLY:
                body = search_rate_limit_body()
            else:
                body = rate_limit_body(decision.message, decision.policy or "")
            return HubSpotJSON(body, status_code=429, headers=decision.headers)
        if services.faults.latency_s:
            await asyncio.sleep(services.faults.latency_s)
        drawn = services.faults.draw(request.url.path)
        if drawn is not None and drawn.stall:
            # A connection that accepted and went silent: answered late, if ever.
            state.count("stalls_injected")
            await services.faults.hold()
        fault = drawn.status if drawn is not None else None
        if fault is not None and not config.fault_after_handler:
            state.count("faults_injected")
            return fault_response(fault, config)
        raw = await request.body()
        try:
            reply = handler(Call(request, token or "", raw))
        except HubSpotError as exc:
            reply = Reply(exc.status, exc.body())
        except Exception:
            log.exception("sandbox handler failed: %s %s", request.method, request.url.path)
            failure = HubSpotError(500, "INTERNAL_ERROR", "internal error")
            reply = Reply(500, failure.body())
        if fault is not None:
            state.count("faults_injected")
            state.count("faults_after_handler")
            return fault_response(fault, config)
        return HubSpotJSON(reply.body, status_code=reply.status, headers=decision.headers)

    return run
