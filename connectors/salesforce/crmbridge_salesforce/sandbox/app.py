"""The Starlette application: the Salesforce API surface crmbridge uses, plus ``/_sandbox``.

An outer ASGI layer strips trailing slashes (simple-salesforce calls ``query/``,
``limits/``) and logs every request (method, path, query string with ``q`` kept, status,
duration and the headers that change behaviour); login calls are logged by path only, so
no credential is ever kept.
"""

from __future__ import annotations

import time

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from crmbridge_salesforce.sandbox import (
    admin,
    api_actions,
    api_bulk,
    api_pardot,
    api_query,
    api_sobjects,
    api_tooling,
)
from crmbridge_salesforce.sandbox.config import SandboxConfig
from crmbridge_salesforce.sandbox.faults import Faults
from crmbridge_salesforce.sandbox.login import LoginService
from crmbridge_salesforce.sandbox.pipeline import Services
from crmbridge_salesforce.sandbox.sessions import Sessions
from crmbridge_salesforce.sandbox.state import LoggedRequest, OrgState
from crmbridge_salesforce.sandbox.wire import ApiError

ADMIN_PREFIX = "/_sandbox"
#: Request headers kept in the log.
LOGGED_HEADERS = (
    "sforce-query-options", "sforce-auto-assign", "content-type", "pardot-business-unit-id"
)  # fmt: skip
#: Paths whose query string is never logged (none carries a secret, but keep it so).
_LOGIN_PATHS = ("/services/oauth2/", "/services/Soap/")


class RequestLog:
    """ASGI layer: normalise trailing slashes and log API requests in the state."""

    def __init__(self, app: ASGIApp, state: OrgState) -> None:
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
        headers = {
            k.decode("latin-1"): v.decode("latin-1")
            for k, v in scope.get("headers", [])
            if k.decode("latin-1") in LOGGED_HEADERS
        }

        def log() -> None:
            nonlocal logged
            if logged:
                return
            logged = True
            login = str(scope["path"]).startswith(_LOGIN_PATHS)
            query = "" if login else scope.get("query_string", b"").decode("latin-1")
            self.state.record_request(
                LoggedRequest(
                    scope["method"], scope["path"], query, status,
                    (time.perf_counter() - started) * 1000, headers,
                )
            )  # fmt: skip

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                # Logged before the client has the answer: a test reading the log right
                # after a call finds that call in it.
                log()
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            log()


async def _http_error(request: Request, exc: Exception) -> Response:
    code = exc.status_code if isinstance(exc, HTTPException) else 500
    if code == 405:
        return ApiError(405, "METHOD_NOT_ALLOWED",
                        f"HTTP Method '{request.method}' not allowed.").response()  # fmt: skip
    return ApiError(404, "NOT_FOUND", "The requested resource does not exist").response()


def create_app(
    state: OrgState, config: SandboxConfig, jwt_public_key: bytes, *, faults: Faults | None = None
) -> Starlette:
    """The sandbox app around ``state`` and ``config``; services at ``app.state.sandbox``."""
    services = Services(
        state=state,
        config=config,
        sessions=Sessions(config, state.org_id),
        faults=faults or Faults(),
    )
    login = LoginService(config, state, services.sessions, jwt_public_key)
    routes: list[BaseRoute] = [
        *login.routes(),
        *api_query.routes(services),
        *api_sobjects.routes(services),
        *api_bulk.routes(services),
        *api_tooling.routes(services),
        *api_actions.routes(services),
        *api_pardot.routes(services),
        *admin.routes(services),
    ]
    app = Starlette(
        routes=routes,
        middleware=[Middleware(RequestLog, state=state)],
        exception_handlers={404: _http_error, 405: _http_error},
    )
    app.state.sandbox = services
    return app
