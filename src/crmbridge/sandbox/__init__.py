"""A local HubSpot-compatible CRM for demos and end-to-end tests.

The official ``hubspot-api-client`` SDK talks to it unchanged (``HubSpot(access_token=
"sandbox-token", host=server.url)``). Modules, one concept each:

- :mod:`~crmbridge.sandbox.state` — the in-memory CRM (thread-safe)
- :mod:`~crmbridge.sandbox.schema` — property definitions and value validation
- :mod:`~crmbridge.sandbox.search` — search filters, sorting and paging
- :mod:`~crmbridge.sandbox.ratelimit` — HubSpot's rate limits and headers
- :mod:`~crmbridge.sandbox.faults` — injected 5xx answers and latency
- :mod:`~crmbridge.sandbox.webhooks` — signed v3 webhook delivery
- :mod:`~crmbridge.sandbox.wire` — JSON responses and HubSpot error bodies
- :mod:`~crmbridge.sandbox.pipeline` — auth, scopes, limits and faults around handlers
- ``api_*`` — the endpoints; :mod:`~crmbridge.sandbox.admin` — ``/_sandbox/``
- :mod:`~crmbridge.sandbox.app` — :func:`create_app`
- :mod:`~crmbridge.sandbox.seed` — the demo dataset and its events
- :mod:`~crmbridge.sandbox.server` — :class:`SandboxServer` and :func:`serve`
"""

from __future__ import annotations

from crmbridge.sandbox.app import create_app
from crmbridge.sandbox.config import DEFAULT_APP_SECRET, DEFAULT_TOKEN, SandboxConfig
from crmbridge.sandbox.seed import seed_demo
from crmbridge.sandbox.server import SandboxServer, serve
from crmbridge.sandbox.state import SandboxState

__all__ = [
    "DEFAULT_APP_SECRET",
    "DEFAULT_TOKEN",
    "SandboxConfig",
    "SandboxServer",
    "SandboxState",
    "create_app",
    "seed_demo",
    "serve",
]
