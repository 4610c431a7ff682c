"""The daemon's HTTP side: CRM webhooks, event intake, health, readiness and metrics.

=========================  =================================================================
``POST /webhooks/{connector}`` a CRM's notifications, verified and parsed by its plugin
                               (e.g. ``hubspot``, ``salesforce``) → receipts, dirty marks
``POST /v1/events``            canonical events (JSON array or NDJSON, ≤ 10 MB), bearer token
``GET /v1/profile/{email}``     the next question a form should ask a lead, bearer token
``/v1/writes``                 pause, resume or show CRM writes, admin (or ingest) bearer
                               token (see :mod:`crmbridge.daemon.routes.writes`)
``GET /healthz``               sync health per connector; 503 when a connector has had no
                               successful cycle for ``daemon.unhealthy_after_cycles`` poll
                               intervals, or the store cannot take writes
``GET /readyz``                intake can be accepted: the store answers and takes writes
                               (the SQLite file is the one opened at start), not stopping;
                               a CRM that is down or rate limited does not matter here
``GET /metrics``               Prometheus text exposition (see :mod:`crmbridge.daemon.metrics`)
``/ui``                         the read-only dashboard, behind ``daemon.ui_token`` (see
                               :mod:`crmbridge.daemon.routes.ui`)
``GET /openapi.json``          the OpenAPI document (``/docs`` renders it)
=========================  =================================================================

Handlers never call a CRM: a webhook is stored in one short transaction and answered,
and ``on_change`` nudges the scheduler to poll and drain at once. Secrets — the ingest
token, the CRMs' webhook secrets, ``Authorization`` headers — are never logged nor
echoed. No input makes an endpoint answer 5xx; only an unreachable
database does (503, so the sender retries) — or a SQLite file deleted or replaced while
the daemon runs (503 rather than accepting what would be written into a lost file).

Each concern is a router in :mod:`crmbridge.daemon.routes`; the handlers reach the
store, configuration, clock and metrics through the ``AppContext`` that
:func:`create_app` stores on the app (see :mod:`crmbridge.daemon.routes.context`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

from crmbridge._version import __version__
from crmbridge.config import CrmbridgeConfig
from crmbridge.daemon.login_throttle import LoginThrottle
from crmbridge.daemon.metrics import Metrics, install
from crmbridge.daemon.routes import events, profiling, ui, webhooks, writes
from crmbridge.daemon.routes import health as health_routes
from crmbridge.daemon.routes.context import AppContext, Clock, wall_clock
from crmbridge.daemon.routes.problems import install_error_handlers
from crmbridge.daemon.sync_health import SyncHealth
from crmbridge.scoring import ScoringEngine
from crmbridge.store.probe import StoreProbe
from crmbridge.store.repository import Store


class _BridgeApp(FastAPI):
    """FastAPI with the canonical event's schema and the bearer scheme in its document."""

    def openapi(self) -> dict[str, Any]:
        if self.openapi_schema is not None:
            return self.openapi_schema
        schema = super().openapi()
        components = schema.setdefault("components", {})
        schemas = components.setdefault("schemas", {})
        for name, definition in events.event_schemas().items():
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


def create_app(
    store: Store,
    config: CrmbridgeConfig,
    *,
    clock: Clock = wall_clock,
    on_change: Callable[[], None] | None = None,
    metrics: Metrics | None = None,
    health: SyncHealth | None = None,
    probe: StoreProbe | None = None,
    stopping: Callable[[], bool] | None = None,
    logins: LoginThrottle | None = None,
) -> FastAPI:
    """The daemon's HTTP app.

    ``clock`` is the time used for signature freshness and event validation;
    ``on_change`` is called (in a worker thread) after a webhook recorded new changes or
    new events were stored, to nudge the scheduler. ``metrics`` (a fresh registry by
    default) becomes the process's current metrics set and is served at ``/metrics``.
    ``health`` is the daemon's sync health (``/healthz`` reports it), ``probe`` watches
    the store (one is made from ``store`` when not given: create the app when the store
    is opened), and ``stopping`` tells ``/readyz`` that the daemon is shutting down.
    ``logins`` counts the dashboard's failed sign-ins (a fresh counter by default).
    """
    app_metrics = install(metrics or Metrics().with_process_metrics()).watch_outbox(store)
    app_metrics.watch_outdated(
        store,
        ScoringEngine(
            config.scoring, config.bant, config.lifecycle, language=config.bridge.language
        ).version,
    )
    app = _BridgeApp(
        title="crmbridge",
        version=__version__,
        description="Webhooks, event intake and health of the crmbridge daemon.",
    )
    app.state.store = store
    app.state.metrics = app_metrics
    app.state.context = AppContext(
        store=store,
        config=config,
        clock=clock,
        metrics=app_metrics,
        probe=probe or StoreProbe(store),
        health=health,
        on_change=on_change,
        stopping=stopping,
        logins=logins or LoginThrottle(),
    )
    install_error_handlers(app)
    # Inclusion order is the order of the paths in the OpenAPI document.
    for module in (health_routes, webhooks, events, profiling, writes, ui):
        app.include_router(module.router)
    return app
