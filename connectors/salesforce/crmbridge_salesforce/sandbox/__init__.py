"""A local Salesforce-compatible org for demos and end-to-end tests, served over TLS.

simple-salesforce talks to it unchanged, given a ``requests.Session`` that trusts the
sandbox's CA (``session.verify = server.ca_bundle``) and, for the login flows, sends
``https://login.salesforce.com`` to :attr:`SandboxServer.login_host`. Modules, one
concept each:

- :mod:`~.tls` — the CA, server certificate and JWT key made at start
- :mod:`~.state` — the in-memory org; :mod:`~.schema` — objects and fields
- :mod:`~.soql` — the strict SOQL parser; :mod:`~.query` — running a query
- :mod:`~.login` — SOAP login and the OAuth token endpoint; :mod:`~.sessions`
- :mod:`~.pipeline` — sessions, faults and the daily limit around handlers
- :mod:`~.api_query`, :mod:`~.api_sobjects` — the REST endpoints; :mod:`~.writes`
- :mod:`~.faults`, :mod:`~.admin` (``/_sandbox``), :mod:`~.app`, :mod:`~.server`
"""

from __future__ import annotations

from crmbridge_salesforce.sandbox.admin import Admin
from crmbridge_salesforce.sandbox.config import SandboxConfig
from crmbridge_salesforce.sandbox.server import SandboxServer
from crmbridge_salesforce.sandbox.state import OrgState

__all__ = ["Admin", "OrgState", "SandboxConfig", "SandboxServer"]
