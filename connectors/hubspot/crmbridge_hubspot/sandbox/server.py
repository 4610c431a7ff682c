"""Running the sandbox: in-process for tests (:class:`SandboxServer`) or blocking for
the CLI (:func:`serve`, behind ``crmbridge sandbox --port 8765 --seed demo``).

Both serve with uvicorn on 127.0.0.1 by default. ``SandboxServer`` binds the socket
itself, so ``port=0`` picks a free port and ``.port``/``.url`` report it before any
request is made.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

import uvicorn
from starlette.applications import Starlette

from crmbridge.connector.local_server import ThreadedServer
from crmbridge_hubspot.sandbox.app import create_app
from crmbridge_hubspot.sandbox.config import (
    DEFAULT_APP_SECRET,
    DEFAULT_REFRESH_TOKEN,
    DEFAULT_TOKEN,
    SandboxConfig,
)
from crmbridge_hubspot.sandbox.pipeline import Services
from crmbridge_hubspot.sandbox.seed import seed_demo
from crmbridge_hubspot.sandbox.state import SandboxState

SEEDS = ("demo", "empty")


class SandboxServer:
    """A sandbox served on a background thread; use as a context manager.

    >>> with SandboxServer() as server:          # doctest: +SKIP
    ...     HubSpot(access_token="sandbox-token", host=server.url)
    """

    def __init__(
        self,
        state: SandboxState | None = None,
        config: SandboxConfig | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        log_level: str = "warning",
    ) -> None:
        self.state = state if state is not None else SandboxState()
        self.config = config if config is not None else SandboxConfig()
        self.host = host
        self.app: Starlette = create_app(self.state, self.config)
        self._server = ThreadedServer(self.app, host=host, port=port, log_level=log_level)

    @property
    def services(self) -> Services:
        """The app's limiter, fault injector and webhook dispatcher."""
        services: Services = self.app.state.sandbox
        return services

    @property
    def port(self) -> int:
        """The bound port (after :meth:`start`)."""
        return self._server.port

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``: pass it as the SDK's ``host``."""
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 10.0) -> SandboxServer:
        """Bind, start serving and wait until uvicorn accepts connections."""
        self._server.start(timeout)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Ask uvicorn to exit and wait for the thread."""
        self._server.stop(timeout)

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def build(
    seed: str | None = "demo",
    token: str = DEFAULT_TOKEN,
    *,
    app_secret: str = DEFAULT_APP_SECRET,
    rng_seed: int = 7,
    **settings: Any,
) -> tuple[SandboxState, SandboxConfig]:
    """A state (seeded with the demo when ``seed == "demo"``) and its settings."""
    if seed not in (*SEEDS, None):
        raise ValueError(f"unknown seed {seed!r}; use one of {', '.join(SEEDS)}")
    config = SandboxConfig(tokens={token: None}, app_secret=app_secret)
    config.update(settings)
    state = SandboxState()
    if seed == "demo":
        seed_demo(state, rng_seed=rng_seed)
        state.reset_observations()
    return state, config


def serve(
    port: int = 8765,
    seed: str | None = "demo",
    token: str = DEFAULT_TOKEN,
    *,
    host: str = "127.0.0.1",
    app_secret: str = DEFAULT_APP_SECRET,
    rng_seed: int = 7,
    webhook_url: str | None = None,
    rate_limit_max: int = 190,
    daily_limit: int = 650_000,
    fault_rate: float = 0.0,
    latency_ms: int = 0,
    index_lag_min_ms: int = 0,
    index_lag_max_ms: int = 0,
    log_level: str = "info",
) -> None:
    """Serve the sandbox until interrupted (Ctrl-C). ``seed`` is "demo" or "empty";
    the index lag is drawn per change between its bounds (0 and 0: off)."""
    state, config = build(
        seed,
        token,
        app_secret=app_secret,
        rng_seed=rng_seed,
        webhook_url=webhook_url,
        rate_limit_max=rate_limit_max,
        daily_limit=daily_limit,
        fault_rate=fault_rate,
        latency_ms=latency_ms,
        index_lag_min_ms=index_lag_min_ms,
        index_lag_max_ms=index_lag_max_ms,
    )
    app = create_app(state, config)
    lag = (
        f"{index_lag_min_ms / 1000:g}-{index_lag_max_ms / 1000:g} s per change"
        if index_lag_max_ms
        else "off"
    )
    url = f"http://{host}:{port}"
    print(
        f"crmbridge sandbox (HubSpot-compatible) on {url}\n"
        f"  token: {token}   app secret: {app_secret}\n"
        f"  OAuth app: client_id {config.oauth_client_id}, client_secret"
        f" {config.oauth_client_secret}, refresh_token {DEFAULT_REFRESH_TOKEN}\n"
        f"  contacts: {state.contact_count()}   demo events: {len(state.demo_events)}"
        f" ({url}/_sandbox/seed-events?format=jsonl)\n"
        f"  admin: {url}/_sandbox   webhooks: {webhook_url or 'off'}"
        f"   search index lag: {lag}\n"
        f"  point crmbridge at it: CRMBRIDGE__CONNECTORS__HUBSPOT__BASE_URL={url}"
        f" HUBSPOT_ACCESS_TOKEN={token}",
        flush=True,
    )
    uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=False)
