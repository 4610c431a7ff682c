"""``/v1/writes``: pause and resume CRM writes on a running bridge, over HTTP.

=========================  =============================================================
``GET /v1/writes``          whether writes are paused, since when, by whom and why
``POST /v1/writes/pause``   stop sending writes (optional JSON body ``{"reason": ...}``)
``POST /v1/writes/resume``  send again, starting with what waited
=========================  =============================================================

The switch lives in the store (see :mod:`crmbridge.store.controls`), so every replica
and every restart honours it; the drain reads it before each batch. The endpoints take
``daemon.admin_token`` as a bearer token and answer 503 when it is not set: the ingest
token is never accepted, because it is embedded in public web forms.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from crmbridge import clock
from crmbridge.config import CrmbridgeConfig
from crmbridge.daemon.routes.context import Context
from crmbridge.daemon.routes.guards import check_bearer
from crmbridge.daemon.routes.problems import HttpError
from crmbridge.logging import get_logger
from crmbridge.store.controls import MAX_REASON, WritesState, set_writes_paused, writes_state
from crmbridge.store.repository import Store

#: A pause request body is a reason at most.
MAX_BODY = 4096


class WritesAnswer(BaseModel):
    """The state of the writes switch."""

    paused: bool
    changed_at: str | None
    by: str | None
    reason: str | None


_AUTH_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing or wrong bearer token."},
    503: {"description": "daemon.admin_token is not configured."},
}


router = APIRouter(prefix="/v1/writes", tags=["writes"])
_SECURITY: dict[str, Any] = {"security": [{"adminToken": []}]}


@router.get("", summary="Are CRM writes paused?", responses=_AUTH_ERRORS, openapi_extra=_SECURITY)
def status(request: Request, context: Context) -> WritesAnswer:
    """Whether writes are paused, since when, by whom and why."""
    _authorize(request, context.config)
    with context.store.session() as session:
        return _answer(writes_state(session))


@router.post("/pause", summary="Pause CRM writes", responses=_AUTH_ERRORS, openapi_extra=_SECURITY)
async def pause(request: Request, context: Context) -> WritesAnswer:
    """Stop sending writes; reading, scoring and planning go on, writes wait."""
    _authorize(request, context.config)
    reason = _reason(await request.body())
    state = await run_in_threadpool(_switch, context.store, True, reason, _client(request))
    get_logger(component="http").info("writes.paused", by=state.by, reason=state.reason)
    return _answer(state)


@router.post(
    "/resume", summary="Resume CRM writes", responses=_AUTH_ERRORS, openapi_extra=_SECURITY
)
async def resume(request: Request, context: Context) -> WritesAnswer:
    """Send writes again, starting with what waited while paused."""
    _authorize(request, context.config)
    state = await run_in_threadpool(_switch, context.store, False, None, _client(request))
    get_logger(component="http").info("writes.resumed", by=state.by)
    return _answer(state)


def _authorize(request: Request, config: CrmbridgeConfig) -> None:
    check_bearer(
        request,
        config.daemon.admin_token,
        "the writes switch over HTTP is disabled: set daemon.admin_token "
        "(e.g. CRMBRIDGE__DAEMON__ADMIN_TOKEN); the ingest token is not accepted",
    )


def _answer(state: WritesState) -> WritesAnswer:
    return WritesAnswer(**state.as_dict())


def _switch(store: Store, paused: bool, reason: str | None, client: str) -> WritesState:
    with store.engine.begin() as connection:
        return set_writes_paused(
            connection, paused, by=f"http ({client})", reason=reason, now=clock.now()
        )


def _reason(body: bytes) -> str | None:
    """The optional ``{"reason": "..."}`` of a pause request (400 when malformed)."""
    if not body.strip():
        return None
    if len(body) > MAX_BODY:
        raise HttpError(413, f"the body is larger than {MAX_BODY} bytes")
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):
        raise HttpError(400, 'the body must be JSON: {"reason": "..."}') from None
    reason = payload.get("reason") if isinstance(payload, dict) else None
    if reason is not None and not isinstance(reason, str):
        raise HttpError(400, "reason must be a string")
    return reason[:MAX_REASON] if reason else None


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"
