"""``POST /webhooks/{connector}``: CRM notifications → receipts, dirty marks, a poll.

One route serves every installed plugin that has the webhook capability
(:class:`~crmbridge.connector.webhook.WebhookSupport`): the plugin is found through the
registry and its settings in ``[connectors.<name>]``; its receiver verifies and parses
the request, and the store records the changes in one short transaction. The handler
never calls a CRM. Secrets (HubSpot's app secret, the Salesforce shared secret) are the
plugins' business and are never logged nor echoed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from crmbridge.connector import WebhookChange, WebhookError, WebhookRequest, registry
from crmbridge.daemon.routes.context import AppContext, Context
from crmbridge.daemon.routes.guards import read_body
from crmbridge.daemon.routes.problems import HttpError, Problem
from crmbridge.logging import get_logger
from crmbridge.store.webhooks import RecordResult, record_changes

log = get_logger(component="http")

router = APIRouter(tags=["webhooks"])


class WebhookCounts(BaseModel):
    """What a CRM webhook delivery changed (unless the CRM needs another answer)."""

    accepted: int = Field(description="New notifications recorded.")
    replayed: int = Field(description="Notifications received before (or twice in this one).")
    ignored: int = Field(description="Notifications of another CRM account: receipted only.")
    records: int = Field(description="CRM records named (to rescore, or read by the poll).")
    contacts_marked: int = Field(description="Known contacts marked for rescoring.")
    events_stored: int = Field(description="Canonical events the notifications carried.")


def webhook_plugins() -> dict[str, str]:
    """The installed plugins that receive webhooks, and what each one accepts."""
    return {
        name: plugin.webhooks.summary
        for name, plugin in registry.plugins().items()
        if plugin.webhooks is not None
    }


def _description() -> str:
    """The route's OpenAPI description: one line per installed CRM."""
    lines = [
        "A CRM's notifications of changed records. The connector's plugin verifies the "
        "request and parses it; the daemon records receipts (a redelivery changes "
        "nothing), marks the known records for rescoring and starts a poll. No CRM is "
        "called while answering.",
        "",
    ]
    lines += [f"- `{name}`: {summary}" for name, summary in webhook_plugins().items()]
    return "\n".join(lines)


_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "As the CRM sends it (JSON, or XML for SOAP notifications).",
        "content": {
            "application/json": {"schema": {}},
            "text/xml": {"schema": {"type": "string"}},
        },
    }
}

_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "model": WebhookCounts,
        "description": "Recorded: the counts, or the answer the CRM requires "
        "(Salesforce Outbound Messages: the SOAP Ack).",
        "content": {"text/xml": {"schema": {"type": "string"}}},
    },
    400: {"model": Problem, "description": "Not a delivery the connector understands."},
    401: {"model": Problem, "description": "Missing or wrong signature or secret."},
    403: {"model": Problem, "description": "From another CRM account than configured."},
    404: {"model": Problem, "description": "No installed connector receives webhooks here."},
    413: {"model": Problem, "description": "Larger than the connector's limit."},
    503: {
        "model": Problem,
        "description": "The connector's webhook secret is not configured (the text names "
        "the setting), or the store cannot take writes.",
    },
}


@router.post(
    "/webhooks/{connector}",
    summary="A CRM's webhook",
    description=_description(),
    openapi_extra=_BODY,
    responses=_RESPONSES,
)
async def crm_webhook(
    request: Request,
    context: Context,
    # The plugins are found once per process (entry points): the document lists them.
    connector: str = Path(
        description="The connector: an installed plugin that receives webhooks.",
        json_schema_extra={"enum": sorted(webhook_plugins())},
    ),
) -> Response:
    """Verified and parsed by the connector's plugin, recorded in one transaction."""
    found = registry.plugins().get(connector)
    support = found.webhooks if found is not None else None
    if found is None or support is None:
        names = ", ".join(sorted(webhook_plugins())) or "none"
        raise HttpError(404, f"no installed connector receives webhooks here ({names})")
    config = context.config
    # A plugin installed after the configuration was read runs on its defaults.
    settings = config.connectors.tables().get(connector) or found.settings()
    receiver = support.receiver(settings)
    missing = receiver.unavailable()
    if missing is not None:
        raise HttpError(503, missing)
    body = await read_body(request, support.max_body)
    view = _view(request, body, config.daemon.public_url, context.clock())
    try:
        receiver.verify(view)
        delivery = receiver.parse(view)
    except WebhookError as exc:
        raise _rejected(context, connector, exc.status, exc.reason) from None
    result = await _record(context, connector, list(delivery.changes))
    if delivery.answer is not None:
        return Response(delivery.answer.body, media_type=delivery.answer.media_type)
    return JSONResponse(result.as_dict(), 200)


async def _record(
    context: AppContext, connector: str, changes: list[WebhookChange]
) -> RecordResult:
    context.accepting()
    result = await run_in_threadpool(
        record_changes, context.store, connector, changes, context.clock()
    )
    app_metrics = context.metrics
    counter = app_metrics.webhook_events
    if result.accepted:
        counter.labels(connector, "accepted").inc(result.accepted)
    if result.replayed:
        counter.labels(connector, "replayed").inc(result.replayed)
    if result.events_stored:
        app_metrics.events_ingested.labels("webhook").inc(result.events_stored)
    app_metrics.note_webhook_change(connector, result.crm_ids)
    log.info("webhook.received", connector=connector, **result.as_dict())
    if result.accepted:
        await context.nudge()
    return result


def _rejected(context: AppContext, connector: str, status: int, reason: str) -> HttpError:
    context.metrics.webhook_events.labels(connector, "rejected").inc()
    log.warning("webhook.rejected", connector=connector, status=status, reason=reason)
    return HttpError(status, reason)


def _view(request: Request, body: bytes, public_url: str | None, now: datetime) -> WebhookRequest:
    """What a plugin's receiver sees of the request."""
    return WebhookRequest(
        method=request.method,
        urls=tuple(_signed_uris(request, public_url)),
        headers=_first_values(request.headers.items()),
        query=_first_values(request.query_params.multi_items()),
        body=body,
        now=now,
    )


def _first_values(pairs: Iterable[tuple[str, str]]) -> Mapping[str, str]:
    """Name → first value (Starlette gives header names in lower case)."""
    found: dict[str, str] = {}
    for name, value in pairs:
        found.setdefault(name, value)
    return found


def _signed_uris(request: Request, public_url: str | None) -> list[str]:
    """The URLs the CRM may have called (and signed): public, forwarded, as received."""
    scope = request.scope
    raw = scope.get("raw_path")
    if isinstance(raw, bytes) and raw:
        path = raw.decode("utf-8", "surrogateescape")
    else:
        path = quote(str(scope.get("root_path", "")) + str(scope.get("path", "")))
    query = bytes(scope.get("query_string", b"")).decode("utf-8", "surrogateescape")
    target = path + (f"?{query}" if query else "")
    scheme = str(scope.get("scheme", "http"))
    host = request.headers.get("host", "")
    if not host and scope.get("server"):
        server_host, server_port = scope["server"]
        host = f"{server_host}:{server_port}"
    bases: list[str] = []
    if public_url:
        bases.append(public_url.strip().rstrip("/"))
    forwarded_proto = request.headers.get("x-forwarded-proto", "").split(",")[0].strip()
    forwarded_host = request.headers.get("x-forwarded-host", "").split(",")[0].strip()
    if forwarded_proto or forwarded_host:
        bases.append(f"{forwarded_proto or scheme}://{forwarded_host or host}")
    if host:
        # TLS may end at a proxy that does not say so: try the other scheme too.
        other = "https" if scheme == "http" else "http"
        bases.extend((f"{scheme}://{host}", f"{other}://{host}"))
    return list(dict.fromkeys(base + target for base in bases))
