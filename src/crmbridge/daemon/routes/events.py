"""``POST /v1/events``: canonical events (JSON array or NDJSON, ≤ 10 MB), bearer token."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from crmbridge.config import CrmbridgeConfig
from crmbridge.daemon.routes.context import Context
from crmbridge.daemon.routes.event_lines import NumberedLine, numbered_events, storable
from crmbridge.daemon.routes.guards import check_ingest_bearer, read_body
from crmbridge.daemon.routes.problems import Problem
from crmbridge.ingest import BATCH, MAX_ISSUES, Ingestor, IngestReport, LineIssue
from crmbridge.logging import get_logger
from crmbridge.records import CanonicalEvent
from crmbridge.store.repository import Store

#: ``POST /v1/events`` refuses larger bodies (413) before reading them whole.
MAX_EVENTS_BODY = 10 * 1024 * 1024

log = get_logger(component="http")

router = APIRouter(tags=["events"])


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


def event_schemas() -> dict[str, Any]:
    """The canonical event's JSON schema and its parts, for the OpenAPI components."""
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


@router.post(
    "/v1/events",
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
async def ingest_events(request: Request, context: Context) -> Response:
    """Validate each event like ``crmbridge ingest``; store the good ones."""
    check_ingest_bearer(request, context.config)
    context.accepting()
    body = await read_body(request, MAX_EVENTS_BODY)
    lines, unreadable = numbered_events(body, request.headers.get("content-type", ""))
    now = context.clock()
    report = await run_in_threadpool(_ingest, context.store, context.config, lines, unreadable, now)
    context.metrics.events_ingested.labels("http").inc(report.ingested)
    log.info(
        "events.ingested",
        lines=report.lines,
        ingested=report.ingested,
        duplicates=report.duplicates,
        failed=report.failed,
    )
    if report.ingested:
        await context.nudge()
    return JSONResponse(report.as_dict(), 202)


def _ingest(
    store: Store,
    config: CrmbridgeConfig,
    lines: list[NumberedLine],
    unreadable: list[LineIssue],
    now: datetime,
) -> IngestReport:
    """Validate and store in batches, in this process (no worker pool inside a server)."""
    lines, refused = storable(lines)
    unreadable = unreadable + refused
    ingestor = Ingestor(store, config.ingest.max_future_skew, config.scoring.custom_events)
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
