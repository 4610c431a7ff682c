"""The Salesforce sandbox as ``crmbridge sandbox`` and ``crmbridge demo`` see it.

:class:`SalesforceSandboxProvider` serves the Salesforce-compatible sandbox of
:mod:`crmbridge_salesforce.sandbox` until Ctrl-C. The demo needs the Salesforce
connector, which this release does not ship yet: starting the demo sandbox is refused
with a configuration error saying so. The server is imported only when one is started.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from crmbridge.connector import Sandbox, SandboxOptions
from crmbridge.connector.sandbox import DEMO_SEED
from crmbridge.errors import ConfigError, ConfigProblem


class SalesforceSandboxProvider:
    """The Salesforce plugin's :class:`~crmbridge.connector.SandboxProvider`."""

    @contextmanager
    def start(self, seed: str = DEMO_SEED) -> Iterator[Sandbox]:
        """Refused until the Salesforce connector is part of crmbridge."""
        raise ConfigError(
            [
                ConfigProblem(
                    "--crm",
                    "the Salesforce demo needs the Salesforce connector, which is not part "
                    "of this release yet",
                    "explore the sandbox itself with crmbridge sandbox --crm salesforce",
                )
            ]
        )
        yield  # pragma: no cover - makes this a generator

    def serve(self, options: SandboxOptions) -> None:
        """Serve on ``options.host:options.port`` over TLS until Ctrl-C; ``options.token``
        is a session id the sandbox accepts."""
        from crmbridge_salesforce.sandbox.server import serve

        serve(
            options.port,
            options.seed,
            host=options.host,
            session_id=options.token,
            fault_rate=options.fault_rate,
            latency_ms=options.latency_ms,
        )
