"""``/webhooks/hubspot`` and ``/webhooks/salesforce``: CRM notifications → receipts, dirty marks.

A webhook is stored in one short transaction and answered; the handler never calls a CRM.
Secrets (HubSpot's app secret, the Salesforce shared secret) are never logged nor echoed.
"""

from __future__ import annotations

import hmac
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from crmbridge.daemon import webhooks
from crmbridge.daemon.routes.context import AppContext, Context
from crmbridge.daemon.routes.guards import read_body
from crmbridge.daemon.routes.problems import HttpError, Problem
from crmbridge.daemon.webhooks import (
    HUBSPOT,
    HUBSPOT_SIGNATURE_HEADER,
    HUBSPOT_TIMESTAMP_HEADER,
    SALESFORCE,
    SALESFORCE_SECRET_HEADER,
    RecordResult,
    WebhookChange,
    WebhookError,
)
from crmbridge.logging import get_logger
from crmbridge_hubspot.settings import HubSpotSettings

#: 100 HubSpot notifications are a few tens of kB.
MAX_HUBSPOT_BODY = 1024 * 1024
#: 100 Outbound Message notifications with many fields, or a batch of CDC events.
MAX_SALESFORCE_BODY = 4 * 1024 * 1024

log = get_logger(component="http")

router = APIRouter(tags=["webhooks"])


async def _record(
    context: AppContext, connector: str, changes: list[WebhookChange]
) -> RecordResult:
    context.accepting()
    result = await run_in_threadpool(
        webhooks.record_changes, context.store, connector, changes, context.clock()
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


# -- HubSpot -------------------------------------------------------------------------------


@router.post(
    "/webhooks/hubspot",
    summary="HubSpot webhook (v3 signature)",
    responses={401: {"model": Problem}, 400: {"model": Problem}, 503: {"model": Problem}},
)
async def hubspot_webhook(request: Request, context: Context) -> Response:
    """Contact creations and property changes, at most 100 per request."""
    config = context.config
    hubspot = config.connectors.tables().get("hubspot")
    secret = hubspot.app_secret if isinstance(hubspot, HubSpotSettings) else None
    if secret is None:
        raise HttpError(
            503,
            "HubSpot webhooks are not configured: set connectors.hubspot.app_secret "
            "(HUBSPOT_APP_SECRET)",
        )
    body = await read_body(request, MAX_HUBSPOT_BODY)
    failure = webhooks.verify_hubspot_v3(
        secret.get_secret_value(),
        request.method,
        _signed_uris(request, config.daemon.public_url),
        body,
        request.headers.get(HUBSPOT_TIMESTAMP_HEADER),
        request.headers.get(HUBSPOT_SIGNATURE_HEADER),
        context.clock(),
    )
    if failure is not None:
        raise _rejected(context, HUBSPOT, 401, failure)
    try:
        notifications = webhooks.parse_hubspot_payload(body)
    except WebhookError as exc:
        raise _rejected(context, HUBSPOT, exc.status, exc.reason) from None
    result = await _record(context, HUBSPOT, webhooks.hubspot_changes(notifications))
    return JSONResponse(result.as_dict(), 200)


# -- Salesforce ------------------------------------------------------------------------------


@router.post(
    "/webhooks/salesforce",
    summary="Salesforce Outbound Message or Change Data Capture relay",
    responses={
        401: {"model": Problem},
        403: {"model": Problem},
        400: {"model": Problem},
        503: {"model": Problem},
    },
)
async def salesforce_webhook(request: Request, context: Context) -> Response:
    """Authenticated by the shared secret (``X-Crmbridge-Secret`` or ``?secret=``)."""
    daemon = context.config.daemon
    secret = daemon.salesforce_webhook_secret
    if secret is None:
        raise HttpError(
            503,
            "Salesforce webhooks are not configured: set daemon.salesforce_webhook_secret",
        )
    given = request.headers.get(SALESFORCE_SECRET_HEADER) or request.query_params.get("secret")
    if not given or not hmac.compare_digest(given.encode(), secret.get_secret_value().encode()):
        raise _rejected(context, SALESFORCE, 401, "missing or wrong Salesforce webhook secret")
    body = await read_body(request, MAX_SALESFORCE_BODY)
    expected_org = daemon.salesforce_org_id
    try:
        if webhooks.is_xml(body, request.headers.get("content-type", "")):
            message = webhooks.parse_outbound_message(body)
            orgs = {message.organization_id}
            changes = message.changes
            soap = True
        else:
            changes, orgs = webhooks.parse_salesforce_json(body)
            soap = False
    except WebhookError as exc:
        raise _rejected(context, SALESFORCE, exc.status, exc.reason) from None
    if expected_org and not all(webhooks.same_salesforce_org(o, expected_org) for o in orgs):
        raise _rejected(context, SALESFORCE, 403, "the message comes from another Salesforce org")
    result = await _record(context, SALESFORCE, changes)
    if soap:
        return Response(webhooks.OUTBOUND_ACK, media_type="text/xml; charset=utf-8")
    return JSONResponse(result.as_dict(), 200)


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
