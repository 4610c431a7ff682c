"""A local HubSpot-compatible CRM for demos and end-to-end tests.

The official ``hubspot-api-client`` SDK talks to it unchanged (``HubSpot(access_token=
"sandbox-token", host=server.url)``). Modules, one concept each:

- :mod:`~crmbridge_hubspot.sandbox.state` — the in-memory CRM (thread-safe)
- :mod:`~crmbridge_hubspot.sandbox.schema` — property definitions and value validation
- :mod:`~crmbridge_hubspot.sandbox.search` — search filters, sorting and paging
- :mod:`~crmbridge_hubspot.sandbox.ratelimit` — HubSpot's rate limits and headers
- :mod:`~crmbridge_hubspot.sandbox.faults` — injected errors (423, 477, 5xx), stalls, latency
- :mod:`~crmbridge_hubspot.sandbox.webhooks` — signed v3 webhook delivery
- :mod:`~crmbridge_hubspot.sandbox.wire` — JSON responses and HubSpot error bodies
- :mod:`~crmbridge_hubspot.sandbox.pipeline` — auth, scopes, limits and faults around handlers
- ``api_*`` — the endpoints; :mod:`~crmbridge_hubspot.sandbox.admin` — ``/_sandbox/``
- :mod:`~crmbridge_hubspot.sandbox.app` — :func:`create_app`
- :mod:`~crmbridge_hubspot.sandbox.seed` — the demo dataset and its events
- :mod:`~crmbridge_hubspot.sandbox.server` — :class:`SandboxServer` and :func:`serve`
"""

from __future__ import annotations

from crmbridge_hubspot.sandbox.app import create_app
from crmbridge_hubspot.sandbox.config import DEFAULT_APP_SECRET, DEFAULT_TOKEN, SandboxConfig
from crmbridge_hubspot.sandbox.seed import seed_demo
from crmbridge_hubspot.sandbox.server import SandboxServer, serve
from crmbridge_hubspot.sandbox.state import SandboxState

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
