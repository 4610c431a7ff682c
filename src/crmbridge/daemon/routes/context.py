"""What every route needs from the daemon, built once by ``create_app``.

The routers are module-level: a handler reaches the store, configuration, clock and
metrics through the :func:`app_context` dependency instead of closing over them, so each
router reads on its own and tests can build an app from any context.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from crmbridge.clock import now
from crmbridge.config import CrmbridgeConfig
from crmbridge.daemon.login_throttle import LoginThrottle
from crmbridge.daemon.metrics import Metrics
from crmbridge.daemon.routes.problems import RETRY_AFTER_S, HttpError
from crmbridge.daemon.sync_health import SyncHealth
from crmbridge.daemon.ui_session import SignedOut
from crmbridge.logging import get_logger
from crmbridge.store.probe import StoreProbe
from crmbridge.store.repository import Store

Clock = Callable[[], datetime]

log = get_logger(component="http")


def wall_clock() -> datetime:
    """The real current time: the default clock, and the one sync health is read at."""
    return now()


@dataclass(frozen=True)
class AppContext:
    """The daemon's pieces the HTTP handlers use.

    ``clock`` is the time used for signature freshness and event validation;
    ``on_change`` is called after new changes or events were stored, to nudge the
    scheduler; ``health`` is the daemon's sync health (None outside a daemon);
    ``stopping`` tells readiness that the daemon is shutting down; ``logins`` counts the
    dashboard's failed sign-ins and ``signed_out`` holds its signed-out sessions.
    """

    store: Store
    config: CrmbridgeConfig
    clock: Clock
    metrics: Metrics
    probe: StoreProbe
    health: SyncHealth | None = None
    on_change: Callable[[], None] | None = None
    stopping: Callable[[], bool] | None = None
    logins: LoginThrottle = field(default_factory=LoginThrottle)
    signed_out: SignedOut = field(default_factory=SignedOut)

    async def nudge(self) -> None:
        """Call ``on_change`` in a worker thread; a failure is logged, never answered."""
        if self.on_change is None:
            return
        try:
            await run_in_threadpool(self.on_change)
        except Exception as exc:  # the change is stored; the next tick picks it up
            log.warning("http.on_change_failed", error=type(exc).__name__)

    def accepting(self) -> None:
        """Refuse intake (503, retry later) when the store's file is gone."""
        gone = self.probe.gone()
        if gone is not None:
            raise HttpError(503, gone, {"Retry-After": RETRY_AFTER_S})


async def app_context(request: Request) -> AppContext:
    """The context ``create_app`` stored on the app (a FastAPI dependency)."""
    context: AppContext = request.app.state.context
    return context


#: A handler parameter that receives the app's :class:`AppContext`.
Context = Annotated[AppContext, Depends(app_context)]
