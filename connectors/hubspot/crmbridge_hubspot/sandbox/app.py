"""The Starlette application: HubSpot's CRM API surface crmbridge uses, plus ``/_sandbox``.

:func:`create_app` wires the state, the settings, the rate limiter, fault injection and
the webhook dispatcher (started and stopped with the app's lifespan) to the routes.
An outer ASGI layer strips trailing slashes (the SDK calls ``/crm/v3/owners/``) and
logs every API request with its final status and duration.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from crmbridge_hubspot.sandbox import (
    admin,
    api_automation,
    api_companies,
    api_contacts,
    api_deals,
    api_engagement,
    api_properties,
    oauth,
)
from crmbridge_hubspot.sandbox.config import SandboxConfig
from crmbridge_hubspot.sandbox.faults import FaultInjector
from crmbridge_hubspot.sandbox.indexlag import IndexLag
from crmbridge_hubspot.sandbox.pipeline import Services, error_response
from crmbridge_hubspot.sandbox.ratelimit import RateLimiter
from crmbridge_hubspot.sandbox.state import SandboxState
from crmbridge_hubspot.sandbox.webhooks import WebhookDispatcher
from crmbridge_hubspot.sandbox.wire import HubSpotError

ADMIN_PREFIX = "/_sandbox"
#: The CRM API's write requests whose JSON body the log keeps (the OAuth endpoints,
#: whose bodies hold client secrets and tokens, are not under these).
LOGGED_BODIES = ("/crm/", "/automation/")
WRITES = frozenset({"POST", "PATCH", "PUT"})
#: A body is kept up to this many bytes (a batch of 100 contacts is far less).
MAX_LOGGED_BODY = 1_000_000


class RequestLog:
    """ASGI layer: normalise trailing slashes and log API requests in the state."""

    def __init__(self, app: ASGIApp, state: SandboxState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI call."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if len(path) > 1 and path.endswith("/"):
            scope = dict(scope)
            scope["path"] = path.rstrip("/") or "/"
        started = time.perf_counter()
        status = 500
        logged = str(scope["path"]).startswith(ADMIN_PREFIX)
        keep = scope["method"] in WRITES and str(scope["path"]).startswith(LOGGED_BODIES)
        body = bytearray()

        async def listen() -> Message:
            message = await receive()
            if keep and message["type"] == "http.request":
                room = MAX_LOGGED_BODY - len(body)
                body.extend(message.get("body", b"")[: max(room, 0)])
            return message

        def log() -> None:
            nonlocal logged
            if not logged:
                logged = True
                elapsed = (time.perf_counter() - started) * 1000
                query = scope.get("query_string", b"").decode("latin-1")
                # A token in the path (OAuth token info) is not kept in the log.
                path = oauth.masked_path(scope["path"])
                text = body.decode("utf-8", "replace")
                self.state.record_request(scope["method"], path, query, status, elapsed, text)

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                # Logged before the client can have the answer: a test that reads the
                # log right after a call must find that call in it.
                log()
            await send(message)

        try:
            await self.app(scope, listen, capture)
        finally:
            log()


async def _http_error(request: Request, exc: Exception) -> Response:
    code = exc.status_code if isinstance(exc, HTTPException) else 500
    if code == 405:
        error = HubSpotError(405, "METHOD_NOT_ALLOWED", f"{request.method} is not allowed here.")
    elif code == 404:
        error = HubSpotError(404, "OBJECT_NOT_FOUND", "resource not found")
    else:
        error = HubSpotError(code, "INTERNAL_ERROR", str(getattr(exc, "detail", "error")))
    return error_response(error)


def create_app(
    state: SandboxState | None = None,
    config: SandboxConfig | None = None,
    *,
    webhooks: WebhookDispatcher | None = None,
) -> Starlette:
    """Build the sandbox app around ``state`` and ``config`` (fresh ones when omitted).

    The services are reachable as ``app.state.sandbox`` (:class:`Services`).
    """
    state = state if state is not None else SandboxState()
    config = config if config is not None else SandboxConfig()
    services = Services(
        state=state,
        config=config,
        limiter=RateLimiter(config),
        faults=FaultInjector(config),
        webhooks=webhooks or WebhookDispatcher(config),
        oauth=oauth.OAuthServer(config),
    )
    state.subscribe(services.webhooks.notify)
    state.contact_index.lag = IndexLag(config).draw
    # Task search lags the same way (HubSpot indexes every object type for search).
    state.task_index.lag = IndexLag(config).draw
    state.companies.index.lag = IndexLag(config).draw

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        services.webhooks.start()
        try:
            yield
        finally:
            services.webhooks.stop()

    routes = [
        # Before the properties routes: /crm/v3/properties/companies is the companies'.
        *api_deals.routes(services),
        *api_companies.routes(services),
        *api_properties.routes(services),
        *api_contacts.routes(services),
        *api_engagement.routes(services),
        *api_automation.routes(services),
        *oauth.routes(services.oauth, config, state),
        *admin.routes(services),
    ]
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        middleware=[Middleware(RequestLog, state=state)],
        exception_handlers={404: _http_error, 405: _http_error},
    )
    app.state.sandbox = services
    return app
