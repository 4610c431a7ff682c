"""``/healthz``, ``/readyz`` and ``/metrics``: is the daemon syncing, can it take intake."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response

from crmbridge.daemon.metrics import CONTENT_TYPE
from crmbridge.daemon.routes.context import Context, wall_clock

router = APIRouter(tags=["health"])


@router.get(
    "/healthz",
    summary="Sync health",
    responses={503: {"description": "A connector is not syncing, or the store is unwritable."}},
)
def healthz(context: Context) -> Response:
    """Per connector: last successful cycle, consecutive failures by kind, auth and
    rate-limit state. 503 when a connector has had no successful cycle for
    ``daemon.unhealthy_after_cycles`` poll intervals, or the store takes no writes."""
    state = context.probe.check()
    body: dict[str, Any] = {"status": "ok", "store": {"writable": state.ok}}
    if state.error:
        body["store"]["error"] = state.error
    unhealthy: list[str] = [] if state.ok else ["store"]
    if context.health is not None:
        report = context.health.report(wall_clock())
        body.update(report)
        unhealthy += [name for name, c in report["connectors"].items() if not c["healthy"]]
    if unhealthy:
        body["status"] = "unhealthy"
        body["unhealthy"] = unhealthy
    return JSONResponse(body, 503 if unhealthy else 200)


@router.get(
    "/readyz",
    summary="Readiness for intake",
    responses={503: {"description": "Intake cannot be accepted; the body says why."}},
)
def readyz(context: Context) -> Response:
    """Webhooks and events can be accepted: the store answers and takes writes and
    the daemon is not shutting down. The CRMs' state does not matter here."""
    state = context.probe.check()
    stopping = context.stopping
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


@router.get("/metrics", summary="Prometheus metrics")
def metrics_endpoint(context: Context) -> Response:
    """Counters, gauges and histograms in the Prometheus text format."""
    return Response(context.metrics.render(), media_type=CONTENT_TYPE)
