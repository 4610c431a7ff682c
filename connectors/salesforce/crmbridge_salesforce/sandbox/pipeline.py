"""What every REST API request goes through before and after its handler.

In order: the API version (404 ``NOT_FOUND`` beyond the newest), the session (401
``INVALID_SESSION_ID``), too many long requests already running (403
``REQUEST_LIMIT_EXCEEDED``), injected faults, the daily API limit (403
``REQUEST_LIMIT_EXCEEDED``, the call not counted), then the handler. Every answer
carries ``Sforce-Limit-Info: api-usage=N/M``. Handlers raise :class:`ApiError` or
:class:`SoqlError` and get Salesforce's error list.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from crmbridge_salesforce.sandbox.config import (
    LATEST_API_VERSION,
    OLDEST_API_VERSION,
    SandboxConfig,
)
from crmbridge_salesforce.sandbox.faults import LIMIT_MESSAGE, Faults, fault_response
from crmbridge_salesforce.sandbox.sessions import Sessions
from crmbridge_salesforce.sandbox.soql import SoqlError
from crmbridge_salesforce.sandbox.state import OrgState
from crmbridge_salesforce.sandbox.wire import ApiError

Handler = Callable[[Request], Awaitable[Response]]
_VERSION = re.compile(r"^v(\d{2})\.0$")


class InFlight:
    """Requests being answered now, with when each started (monotonic seconds)."""

    def __init__(self) -> None:
        self._started: dict[int, float] = {}
        self._lock = threading.Lock()
        self._next = itertools.count()

    def enter(self) -> int:
        """Register a request; its ticket for :meth:`leave`."""
        ticket = next(self._next)
        with self._lock:
            self._started[ticket] = time.monotonic()
        return ticket

    def leave(self, ticket: int) -> None:
        """The request was answered."""
        with self._lock:
            self._started.pop(ticket, None)

    def long_running(self, seconds: float) -> int:
        """How many requests have been running ``seconds`` or more."""
        now = time.monotonic()
        with self._lock:
            return sum(1 for started in self._started.values() if now - started >= seconds)


@dataclass
class Services:
    """Everything a handler may need of its sandbox."""

    state: OrgState
    config: SandboxConfig
    sessions: Sessions
    faults: Faults
    #: Per-feature stores (query cursors, bulk jobs) keyed by feature name.
    extras: dict[str, Any] = field(default_factory=dict)
    in_flight: InFlight = field(default_factory=InFlight)


def _version_ok(version: str) -> bool:
    match = _VERSION.match(version)
    if match is None:
        return False
    number = int(match.group(1))
    return float(OLDEST_API_VERSION) <= number <= float(LATEST_API_VERSION)


def limit_header(services: Services) -> str:
    """The ``Sforce-Limit-Info`` value: calls used today over the daily limit."""
    return f"api-usage={services.state.api_used}/{services.config.daily_limit}"


def session_of(request: Request) -> str:
    """The bearer session of ``request`` ("" when none)."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() in ("bearer", "oauth") else ""


def guarded(services: Services, handler: Handler) -> Handler:
    """``handler`` behind version, session, fault and limit checks (see module doc)."""

    async def endpoint(request: Request) -> Response:
        ticket = services.in_flight.enter()
        try:
            response = await _answer(services, handler, request)
        finally:
            services.in_flight.leave(ticket)
        response.headers["Sforce-Limit-Info"] = limit_header(services)
        return response

    return endpoint


async def _answer(services: Services, handler: Handler, request: Request) -> Response:
    version = request.path_params.get("version", "")
    if not _version_ok(version):
        return ApiError(404, "NOT_FOUND", "The requested resource does not exist").response()
    if not services.sessions.valid(session_of(request)):
        return ApiError(401, "INVALID_SESSION_ID", "Session expired or invalid").response()
    config = services.config
    if services.in_flight.long_running(config.long_request_seconds) >= config.max_long_requests:
        # Too many long requests at once: Salesforce refuses with the same code.
        return ApiError(
            403, "REQUEST_LIMIT_EXCEEDED", "ConcurrentPerOrgLongTxn Limit exceeded."
        ).response()
    if services.faults.latency:
        await asyncio.sleep(services.faults.latency)
    prefix = f"/services/data/{version}/"
    path = request.url.path
    resource = path[len(prefix) :] if path.startswith(prefix) else path
    fault = services.faults.take(path, resource, request.method)
    if fault == "expired":
        services.sessions.expire_all()
        return ApiError(401, "INVALID_SESSION_ID", "Session expired or invalid").response()
    if fault == "limit":
        return ApiError(403, "REQUEST_LIMIT_EXCEEDED", LIMIT_MESSAGE).response()
    if fault == "stall":
        await asyncio.sleep(services.faults.stall_seconds)
    elif fault is not None and fault not in ("late", "hold"):
        return fault_response(fault)
    if not services.state.count_call(services.config.daily_limit):
        return ApiError(403, "REQUEST_LIMIT_EXCEEDED", LIMIT_MESSAGE).response()
    try:
        response = await handler(request)
    except ApiError as error:
        return error.response()
    except SoqlError as error:
        return ApiError(400, error.code, error.message).response()
    if fault == "late":
        # Done and committed, answered too late: a client that gave up cannot know.
        await asyncio.sleep(services.faults.stall_seconds)
    elif fault == "hold":
        faults = services.faults
        faults.holding.set()
        await asyncio.to_thread(faults.wait_released, faults.stall_seconds)
    return response


async def json_body(request: Request, limit: int = 50 * 1024 * 1024) -> Any:
    """The request's JSON body, or 400 ``JSON_PARSER_ERROR`` as Salesforce answers."""
    raw = await request.body()
    if len(raw) > limit:
        raise ApiError(413, "REQUEST_ENTITY_TOO_LARGE", "The request body is too large.")
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(
            400, "JSON_PARSER_ERROR", f"The request body is not valid JSON: {exc}"
        ) from exc
