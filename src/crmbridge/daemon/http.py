"""The daemon's HTTP side: CRM webhooks, event intake, health, readiness and metrics.

=========================  =================================================================
``POST /webhooks/{connector}`` a CRM's notifications, verified and parsed by its plugin
                               (e.g. ``hubspot``, ``salesforce``) → receipts, dirty marks
``POST /v1/events``            canonical events (JSON array or NDJSON, ≤ 10 MB), bearer token
``GET /v1/profile/{email}``     the next question a form should ask a lead, bearer token
``/v1/writes``                 pause, resume or show CRM writes, admin (or ingest) bearer
                               token (see :mod:`crmbridge.daemon.writes_http`)
``GET /healthz``               sync health per connector; 503 when a connector has had no
                               successful cycle for ``daemon.unhealthy_after_cycles`` poll
                               intervals, or the store cannot take writes
``GET /readyz``                intake can be accepted: the store answers and takes writes
                               (the SQLite file is the one opened at start), not stopping;
                               a CRM that is down or rate limited does not matter here
``GET /metrics``               Prometheus text exposition (see :mod:`crmbridge.daemon.metrics`)
``GET /openapi.json``          the OpenAPI document (``/docs`` renders it)
=========================  =================================================================

Handlers never call a CRM: a webhook is stored in one short transaction and answered,
and ``on_change`` nudges the scheduler to poll and drain at once. Secrets — the ingest
token, the CRMs' webhook secrets, ``Authorization`` headers — are never logged nor
echoed. No input makes an endpoint answer 5xx; only an unreachable
database does (503, so the sender retries) — or a SQLite file deleted or replaced while
the daemon runs (503 rather than accepting what would be written into a lost file).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import quote

from fastapi import FastAPI, Path, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from crmbridge._version import __version__
from crmbridge.config import CrmbridgeConfig
from crmbridge.connector import WebhookChange, WebhookError, WebhookRequest, registry
from crmbridge.daemon.bearer import CHALLENGE, bearer_problem
from crmbridge.daemon.metrics import CONTENT_TYPE, Metrics, install
from crmbridge.daemon.profile import ProfileAnswer, profile_answer
from crmbridge.daemon.store_probe import StoreProbe
from crmbridge.daemon.sync_health import SyncHealth
from crmbridge.daemon.writes_http import writes_router
from crmbridge.external import loads
from crmbridge.ingest import BATCH, MAX_ISSUES, Ingestor, IngestReport, LineIssue
from crmbridge.logging import get_logger
from crmbridge.records import CanonicalEvent
from crmbridge.store.repository import Store
from crmbridge.store.webhooks import RecordResult, record_changes

#: ``POST /v1/events`` refuses larger bodies (413) before reading them whole.
MAX_EVENTS_BODY = 10 * 1024 * 1024
#: How long a sender is asked to wait before retrying when the store cannot take writes.
RETRY_AFTER_S = "30"
NDJSON_TYPES = frozenset(
    {
        "application/x-ndjson",
        "application/ndjson",
        "application/jsonl",
        "application/x-jsonl",
        "application/jsonlines",
        "application/x-jsonlines",
        "application/json-lines",
        "text/plain",
    }
)
_BOM_AND_SPACE = b"\xef\xbb\xbf \t\r\n"

Clock = Callable[[], datetime]

log = get_logger(component="http")


def _utcnow() -> datetime:
    return datetime.now(UTC)


# -- response models (for the OpenAPI document) -------------------------------------------


class Problem(BaseModel):
    """An error answer."""

    detail: str


class WebhookCounts(BaseModel):
    """What a CRM webhook delivery changed (unless the CRM needs another answer)."""

    accepted: int = Field(description="New notifications recorded.")
    replayed: int = Field(description="Notifications received before (or twice in this one).")
    ignored: int = Field(description="Notifications of another CRM account: receipted only.")
    records: int = Field(description="CRM records named (to rescore, or read by the poll).")
    contacts_marked: int = Field(description="Known contacts marked for rescoring.")
    events_stored: int = Field(description="Canonical events the notifications carried.")


class IngestIssue(BaseModel):
    """A problem with one event: its line (NDJSON) or array position + 1."""

    line: int
    reason: str
    severity: Literal["error", "warning"]


class IngestResult(BaseModel):
    """What ``POST /v1/events`` did with the batch."""

    lines: int = Field(description="Events read (blank NDJSON lines are not counted).")
    ingested: int = Field(description="New events stored.")
    duplicates: int = Field(description="Events already stored (same event_id or content).")
    failed: int = Field(description="Events refused; each has an issue (first 1,000 listed).")
    warnings: int
    issues: list[IngestIssue]
    unknown_types: dict[str, int] = Field(
        description="Event types no canonical name matches (stored, ignored by rules)."
    )


class _HttpError(Exception):
    """Answer ``status`` with ``{"detail": ...}`` and stop handling the request."""

    def __init__(self, status: int, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = headers


# -- the app --------------------------------------------------------------------------------


class _BridgeApp(FastAPI):
    """FastAPI with the canonical event's schema and the bearer scheme in its document."""

    def openapi(self) -> dict[str, Any]:
        if self.openapi_schema is not None:
            return self.openapi_schema
        schema = super().openapi()
        components = schema.setdefault("components", {})
        schemas = components.setdefault("schemas", {})
        for name, definition in _event_schemas().items():
            schemas.setdefault(name, definition)
        components.setdefault("securitySchemes", {})["ingestToken"] = {
            "type": "http",
            "scheme": "bearer",
            "description": "daemon.ingest_token (CRMBRIDGE__DAEMON__INGEST_TOKEN).",
        }
        components["securitySchemes"]["adminToken"] = {
            "type": "http",
            "scheme": "bearer",
            "description": "daemon.admin_token (CRMBRIDGE__DAEMON__ADMIN_TOKEN).",
        }
        return schema


def _event_schemas() -> dict[str, Any]:
    schema = CanonicalEvent.model_json_schema(ref_template="#/components/schemas/{model}")
    definitions: dict[str, Any] = schema.pop("$defs", {})
    schema["examples"] = [_EXAMPLE_EVENT]
    return {"CanonicalEvent": schema, **definitions}


_EXAMPLE_EVENT = {
    "event_id": "web-7f3a",
    "type": "page_view",
    "occurred_at": "2026-11-20T10:00:00Z",
    "contact": {"email": "ana@acme.es"},
    "properties": {"url": "https://acme.es/pricing"},
}

_EVENTS_BODY = {
    "requestBody": {
        "required": True,
        "description": (
            "Canonical events: a JSON array (Content-Type: application/json) or one event "
            "per line (application/x-ndjson); without a content type the body is sniffed. "
            f"At most {MAX_EVENTS_BODY // 2**20} MB. `contact` carries an email or "
            '`{"crm": "hubspot", "id": "123"}`.'
        ),
        "content": {
            "application/json": {
                "schema": {
                    "type": "array",
                    "items": {"$ref": "#/components/schemas/CanonicalEvent"},
                },
                "example": [_EXAMPLE_EVENT],
            },
            "application/x-ndjson": {
                "schema": {"$ref": "#/components/schemas/CanonicalEvent"},
                "example": json.dumps(_EXAMPLE_EVENT),
            },
        },
    },
    "security": [{"ingestToken": []}],
}


def create_app(
    store: Store,
    config: CrmbridgeConfig,
    *,
    clock: Clock = _utcnow,
    on_change: Callable[[], None] | None = None,
    metrics: Metrics | None = None,
    health: SyncHealth | None = None,
    probe: StoreProbe | None = None,
    stopping: Callable[[], bool] | None = None,
) -> FastAPI:
    """The daemon's HTTP app.

    ``clock`` is the time used for signature freshness and event validation;
    ``on_change`` is called (in a worker thread) after a webhook recorded new changes or
    new events were stored, to nudge the scheduler. ``metrics`` (a fresh registry by
    default) becomes the process's current metrics set and is served at ``/metrics``.
    ``health`` is the daemon's sync health (``/healthz`` reports it), ``probe`` watches
    the store (one is made from ``store`` when not given: create the app when the store
    is opened), and ``stopping`` tells ``/readyz`` that the daemon is shutting down.
    """
    app_metrics = install(metrics or Metrics().with_process_metrics()).watch_outbox(store)
    store_probe = probe or StoreProbe(store)
    app = _BridgeApp(
        title="crmbridge",
        version=__version__,
        description="Webhooks, event intake and health of the crmbridge daemon.",
    )
    app.state.store = store
    app.state.metrics = app_metrics

    @app.exception_handler(_HttpError)
    async def _refused(_request: Request, exc: _HttpError) -> Response:
        return JSONResponse({"detail": exc.detail}, exc.status, headers=exc.headers)

    @app.exception_handler(WebhookError)
    async def _bad_webhook(_request: Request, exc: WebhookError) -> Response:
        return JSONResponse({"detail": exc.reason}, exc.status)

    @app.exception_handler(SQLAlchemyError)
    async def _database_down(request: Request, exc: SQLAlchemyError) -> Response:
        log.error("http.database_error", path=request.url.path, error=type(exc).__name__)
        return JSONResponse(
            {"detail": "the database is unavailable; retry later"},
            503,
            headers={"Retry-After": "30"},
        )

    async def nudge() -> None:
        if on_change is None:
            return
        try:
            await run_in_threadpool(on_change)
        except Exception as exc:  # the change is stored; the next tick picks it up
            log.warning("http.on_change_failed", error=type(exc).__name__)

    def accepting() -> None:
        """Refuse intake (503, retry later) when the store's file is gone."""
        gone = store_probe.gone()
        if gone is not None:
            raise _HttpError(503, gone, {"Retry-After": RETRY_AFTER_S})

    async def record(connector: str, changes: list[WebhookChange]) -> RecordResult:
        accepting()
        result = await run_in_threadpool(record_changes, store, connector, changes, clock())
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
            await nudge()
        return result

    def rejected(connector: str, status: int, reason: str) -> _HttpError:
        app_metrics.webhook_events.labels(connector, "rejected").inc()
        log.warning("webhook.rejected", connector=connector, status=status, reason=reason)
        return _HttpError(status, reason)

    # -- health ------------------------------------------------------------------------

    @app.get(
        "/healthz",
        tags=["health"],
        summary="Sync health",
        responses={503: {"description": "A connector is not syncing, or the store is unwritable."}},
    )
    def healthz() -> Response:
        """Per connector: last successful cycle, consecutive failures by kind, auth and
        rate-limit state. 503 when a connector has had no successful cycle for
        ``daemon.unhealthy_after_cycles`` poll intervals, or the store takes no writes."""
        state = store_probe.check()
        body: dict[str, Any] = {"status": "ok", "store": {"writable": state.ok}}
        if state.error:
            body["store"]["error"] = state.error
        unhealthy: list[str] = [] if state.ok else ["store"]
        if health is not None:
            report = health.report(_utcnow())
            body.update(report)
            unhealthy += [name for name, c in report["connectors"].items() if not c["healthy"]]
        if unhealthy:
            body["status"] = "unhealthy"
            body["unhealthy"] = unhealthy
        return JSONResponse(body, 503 if unhealthy else 200)

    @app.get(
        "/readyz",
        tags=["health"],
        summary="Readiness for intake",
        responses={503: {"description": "Intake cannot be accepted; the body says why."}},
    )
    def readyz() -> Response:
        """Webhooks and events can be accepted: the store answers and takes writes and
        the daemon is not shutting down. The CRMs' state does not matter here."""
        state = store_probe.check()
        checks = {
            "database": state.reachable,
            "writable": state.writable,
            "accepting": not (stopping is not None and stopping()),
        }
        errors: dict[str, str] = {}
        if state.error:
            errors["database" if not state.reachable else "writable"] = state.error
        if not checks["accepting"]:
            errors["accepting"] = "shutting down"
        down = [name for name, up in checks.items() if not up]
        body: dict[str, Any] = {"status": "not ready" if down else "ready", "checks": checks}
        if down:
            body["down"] = down
            body["errors"] = errors
        return JSONResponse(body, 503 if down else 200)

    @app.get("/metrics", tags=["health"], summary="Prometheus metrics")
    def metrics_endpoint() -> Response:
        """Counters, gauges and histograms in the Prometheus text format."""
        return Response(app_metrics.render(), media_type=CONTENT_TYPE)

    # -- CRM webhooks ----------------------------------------------------------------------

    @app.post(
        "/webhooks/{connector}",
        tags=["webhooks"],
        summary="A CRM's webhook",
        description=_webhooks_description(),
        openapi_extra=_WEBHOOK_BODY,
        responses={
            200: {
                "model": WebhookCounts,
                "description": "Recorded: the counts, or the answer the CRM requires "
                "(Salesforce Outbound Messages: the SOAP Ack).",
                "content": {"text/xml": {"schema": {"type": "string"}}},
            },
            400: {"model": Problem, "description": "Not a delivery the connector understands."},
            401: {"model": Problem, "description": "Missing or wrong signature or secret."},
            403: {"model": Problem, "description": "From another CRM account than configured."},
            404: {"model": Problem, "description": "No installed connector receives webhooks."},
            413: {"model": Problem, "description": "Larger than the connector's limit."},
            503: {
                "model": Problem,
                "description": "The connector's webhook secret is not configured (the text "
                "names the setting), or the store cannot take writes.",
            },
        },
    )
    async def crm_webhook(
        request: Request,
        connector: str = Path(
            description="The connector: an installed plugin that receives webhooks.",
            json_schema_extra={"enum": sorted(_webhook_plugins())},
        ),
    ) -> Response:
        """Verified and parsed by the connector's plugin, recorded in one transaction."""
        found = registry.plugins().get(connector)
        support = found.webhooks if found is not None else None
        if found is None or support is None:
            names = ", ".join(sorted(_webhook_plugins())) or "none"
            raise _HttpError(404, f"no installed connector receives webhooks here ({names})")
        # A plugin installed after the configuration was read runs on its defaults.
        settings = config.connectors.tables().get(connector) or found.settings()
        receiver = support.receiver(settings)
        missing = receiver.unavailable()
        if missing is not None:
            raise _HttpError(503, missing)
        body = await _read_body(request, support.max_body)
        view = _webhook_request(request, body, config.daemon.public_url, clock())
        try:
            receiver.verify(view)
            delivery = receiver.parse(view)
        except WebhookError as exc:
            raise rejected(connector, exc.status, exc.reason) from None
        result = await record(connector, list(delivery.changes))
        if delivery.answer is not None:
            return Response(delivery.answer.body, media_type=delivery.answer.media_type)
        return JSONResponse(result.as_dict(), 200)

    # -- events ----------------------------------------------------------------------------

    @app.post(
        "/v1/events",
        tags=["events"],
        summary="Ingest canonical events",
        status_code=202,
        openapi_extra=_EVENTS_BODY,
        responses={
            202: {"model": IngestResult, "description": "Counts and per-line issues."},
            400: {"model": Problem, "description": "The body is not a JSON array."},
            401: {"model": Problem, "description": "Missing or wrong bearer token."},
            413: {"model": Problem, "description": "The body is larger than 10 MB."},
            503: {"model": Problem, "description": "No ingest token is configured."},
        },
    )
    async def ingest_events(request: Request) -> Response:
        """Validate each event like ``crmbridge ingest``; store the good ones."""
        _check_bearer(request, config)
        accepting()
        body = await _read_body(request, MAX_EVENTS_BODY)
        lines, unreadable = _numbered_events(body, request.headers.get("content-type", ""))
        now = clock()
        report = await run_in_threadpool(_ingest, store, config, lines, unreadable, now)
        app_metrics.events_ingested.labels("http").inc(report.ingested)
        log.info(
            "events.ingested",
            lines=report.lines,
            ingested=report.ingested,
            duplicates=report.duplicates,
            failed=report.failed,
        )
        if report.ingested:
            await nudge()
        return JSONResponse(report.as_dict(), 202)

    # -- progressive profiling ----------------------------------------------------------------

    @app.get(
        "/v1/profile/{email}",
        tags=["profiling"],
        summary="The next question to ask a lead",
        response_model=ProfileAnswer,
        openapi_extra={"security": [{"ingestToken": []}]},
        responses={
            401: {"model": Problem, "description": "Missing or wrong bearer token."},
            404: {"model": Problem, "description": "No contact has this email."},
            503: {"model": Problem, "description": "No ingest token is configured."},
        },
    )
    def profile(email: str, request: Request) -> ProfileAnswer:
        """The lead's stage, score and the field a form should ask next (email: any case)."""
        _check_bearer(request, config)
        answer = profile_answer(store, config, email)
        if answer is None:
            raise _HttpError(404, "no contact has this email")
        return answer

    app.include_router(writes_router(store, config))
    return app


# -- helpers ---------------------------------------------------------------------------------


async def _read_body(request: Request, limit: int) -> bytes:
    """The body, refused with 413 as soon as it is known to exceed ``limit``."""
    too_large = _HttpError(
        413,
        f"request body is larger than {limit / 2**20:g} MB; send the events in smaller batches",
    )
    declared = request.headers.get("content-length")
    if declared is not None:
        declared = declared.strip()
        if not declared.isascii() or not declared.isdigit():
            raise _HttpError(400, "invalid Content-Length header")
        if int(declared) > limit:
            raise too_large
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise too_large
    return bytes(body)


def _check_bearer(request: Request, config: CrmbridgeConfig) -> None:
    token = config.daemon.ingest_token
    if token is None or not token.get_secret_value():
        raise _HttpError(
            503,
            "event ingestion is disabled: no ingest token is configured "
            "(set daemon.ingest_token, e.g. CRMBRIDGE__DAEMON__INGEST_TOKEN)",
        )
    problem = bearer_problem(request.headers.get("authorization", ""), token.get_secret_value())
    if problem is not None:
        raise _HttpError(401, problem, dict(CHALLENGE))


def _webhook_plugins() -> dict[str, str]:
    """The installed plugins that receive webhooks, and what each one accepts."""
    return {
        name: plugin.webhooks.summary
        for name, plugin in registry.plugins().items()
        if plugin.webhooks is not None
    }


def _webhooks_description() -> str:
    """The webhook route's OpenAPI description: one paragraph per installed CRM."""
    lines = [
        "A CRM's notifications of changed records. The connector's plugin verifies the "
        "request and parses it; the daemon records receipts (a redelivery changes "
        "nothing), marks the known records for rescoring and starts a poll. No CRM is "
        "called while answering.",
        "",
    ]
    lines += [f"- `{name}`: {summary}" for name, summary in _webhook_plugins().items()]
    return "\n".join(lines)


_WEBHOOK_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "As the CRM sends it (JSON, or XML for SOAP notifications).",
        "content": {
            "application/json": {"schema": {}},
            "text/xml": {"schema": {"type": "string"}},
        },
    }
}


def _webhook_request(
    request: Request, body: bytes, public_url: str | None, now: datetime
) -> WebhookRequest:
    """What a plugin's receiver sees of the request."""
    return WebhookRequest(
        method=request.method,
        urls=tuple(_signed_uris(request, public_url)),
        headers=_first_values(request.headers.items()),
        query=_first_values(request.query_params.multi_items()),
        body=body,
        now=now,
    )


def _first_values(pairs: Any) -> Mapping[str, str]:
    """Name → first value (header names in lower case, as HTTP compares them)."""
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


NumberedLine = tuple[int, bytes | str]


def _numbered_events(body: bytes, content_type: str) -> tuple[list[NumberedLine], list[LineIssue]]:
    """Number the events of a body: array position + 1, or NDJSON line number.

    The content type decides (JSON → an array, or one object; NDJSON → lines); without
    one the body is sniffed. A JSON array that does not parse is refused (400); NDJSON
    lines are validated one by one.
    """
    media = content_type.split(";", 1)[0].strip().lower()
    start = body.lstrip(_BOM_AND_SPACE)
    if not start:
        return [], []
    if media in NDJSON_TYPES:
        return _ndjson(body), []
    if start.startswith(b"["):
        return _array(body)
    if start.startswith(b"{"):
        single = _single_object(body)
        if single is not None:
            return [(1, single)], []
    return _ndjson(body), []


def _ndjson(body: bytes) -> list[NumberedLine]:
    if body.startswith(b"\xef\xbb\xbf"):
        body = body[3:]
    return [(number, line) for number, line in enumerate(body.split(b"\n"), start=1)]


def _single_object(body: bytes) -> str | None:
    """The body re-serialized when it is exactly one JSON object (pretty-printed or not)."""
    try:
        value = loads(body)
    except (ValueError, RecursionError):
        return None
    if not isinstance(value, dict):
        return None
    try:
        return json.dumps(value)
    except (ValueError, RecursionError):
        return None


def _array(body: bytes) -> tuple[list[NumberedLine], list[LineIssue]]:
    try:
        items = loads(body)
    except RecursionError:
        raise _HttpError(400, "body is not a valid JSON array: nested too deeply") from None
    except json.JSONDecodeError as exc:
        raise _HttpError(
            400,
            f"body is not a valid JSON array: {exc.msg} (line {exc.lineno}, column {exc.colno})",
        ) from None
    except UnicodeDecodeError:
        raise _HttpError(400, "body is not a valid JSON array: not UTF-8 text") from None
    except ValueError as exc:
        raise _HttpError(400, f"body is not a valid JSON array: {exc}") from None
    if not isinstance(items, list):
        raise _HttpError(400, "body must be a JSON array of events")
    lines: list[NumberedLine] = []
    issues: list[LineIssue] = []
    for number, item in enumerate(items, start=1):
        try:
            lines.append((number, json.dumps(item)))
        except (ValueError, RecursionError):
            issues.append(LineIssue(number, "record: nested too deeply"))
    return lines, issues


def _ingest(
    store: Store,
    config: CrmbridgeConfig,
    lines: list[NumberedLine],
    unreadable: list[LineIssue],
    now: datetime,
) -> IngestReport:
    """Validate and store in batches, in this process (no worker pool inside a server)."""
    lines, refused = _storable(lines)
    unreadable = unreadable + refused
    ingestor = Ingestor(store, config.ingest.max_future_skew)
    total = IngestReport()
    for start in range(0, len(lines), BATCH):
        part = ingestor.ingest_lines(lines[start : start + BATCH], now)
        total.lines += part.lines
        total.ingested += part.ingested
        total.duplicates += part.duplicates
        total.failed += part.failed
        total.warnings += part.warnings
        total.unknown_types.update(part.unknown_types)
        total.issues.extend(part.issues[: max(0, MAX_ISSUES - len(total.issues))])
    for issue in unreadable:
        total.lines += 1
        total.add(issue)
    total.issues.sort(key=lambda issue: issue.line)
    return total


def _storable(lines: list[NumberedLine]) -> tuple[list[NumberedLine], list[LineIssue]]:
    """Set aside events holding a NUL character: PostgreSQL text cannot store one."""
    kept: list[NumberedLine] = []
    refused: list[LineIssue] = []
    for number, raw in lines:
        data = raw.encode() if isinstance(raw, str) else raw
        if b"\\u0000" in data and _has_nul(data):
            refused.append(LineIssue(number, "text contains a NUL character (\\u0000)"))
        else:
            kept.append((number, raw))
    return kept, refused


def _has_nul(data: bytes) -> bool:
    try:
        stack: list[Any] = [loads(data)]
    except (ValueError, RecursionError):
        return False  # validation reports the line
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            if "\x00" in value:
                return True
        elif isinstance(value, dict):
            stack.extend(value.keys())
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return False
