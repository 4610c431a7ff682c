"""Fixtures of the Salesforce plugin's tests: a running Salesforce-compatible sandbox.

``salesforce_sandbox`` yields a :class:`SandboxHandle`: the sandbox over TLS on a free
port, its credentials, and a ``requests.Session`` (:meth:`SandboxHandle.http_session`)
that trusts the sandbox's CA and sends login calls for ``*.salesforce.com`` to it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
import requests
from requests.adapters import HTTPAdapter

from crmbridge_salesforce.sandbox import Admin, SandboxServer
from crmbridge_salesforce.sandbox.faults import Faults
from crmbridge_salesforce.sandbox.state import LoggedRequest
from crmbridge_salesforce.sandbox.tls import Certificates, make_certificates


class SandboxAdapter(HTTPAdapter):
    """Sends ``https://<anything>.salesforce.com`` to the sandbox and verifies its
    certificate with the sandbox's CA.

    ``verify`` is set per request because requests lets ``REQUESTS_CA_BUNDLE`` in the
    environment override ``Session.verify``.
    """

    def __init__(self, login_host: str, ca_bundle: str) -> None:
        super().__init__()
        self.login_host = login_host
        self.ca_bundle = ca_bundle

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        parts = urlsplit(request.url or "")
        if (parts.hostname or "").endswith(".salesforce.com"):
            request.url = urlunsplit(parts._replace(netloc=self.login_host))
        kwargs["verify"] = self.ca_bundle
        return super().send(request, **kwargs)


@dataclass
class SandboxHandle:
    """A running sandbox as tests use it."""

    server: SandboxServer

    @property
    def instance_url(self) -> str:
        return self.server.instance_url

    @property
    def login_host(self) -> str:
        return self.server.login_host

    @property
    def ca_bundle(self) -> str:
        return str(self.server.ca_bundle)

    @property
    def admin(self) -> Admin:
        return self.server.admin

    @property
    def faults(self) -> Faults:
        return self.server.faults

    @property
    def username(self) -> str:
        return self.server.config.username

    @property
    def password(self) -> str:
        return self.server.config.password

    @property
    def security_token(self) -> str:
        return self.server.config.security_token

    @property
    def consumer_key(self) -> str:
        return self.server.config.consumer_key

    @property
    def private_key_path(self) -> str:
        return str(self.server.certificates.jwt_private_key)

    @property
    def client_id(self) -> str:
        return self.server.config.client_id

    @property
    def client_secret(self) -> str:
        return self.server.config.client_secret

    def seed(self, sobject: str, fields: dict[str, Any], **options: Any) -> str:
        """Create a record as a rep would (see :meth:`Admin.create`)."""
        return self.server.admin.create(sobject, fields, **options)

    def request_log(self) -> list[LoggedRequest]:
        """The API requests the sandbox received, oldest first."""
        return self.server.admin.request_log()

    def http_session(self) -> requests.Session:
        """A session for simple-salesforce pointed at this sandbox."""
        session = requests.Session()
        adapter = SandboxAdapter(self.login_host, self.ca_bundle)
        session.mount("https://", adapter)
        session.verify = self.ca_bundle
        return session

    @cached_property
    def http(self) -> requests.Session:
        """One shared :meth:`http_session` (keep-alive: no TLS handshake per request)."""
        return self.http_session()

    def session_id(self) -> str:
        """A fresh session id (as after a login), for session-id mode."""
        return self.server.services.sessions.issue()


@pytest.fixture(scope="session")
def salesforce_sandbox_certificates(
    tmp_path_factory: pytest.TempPathFactory,
) -> Certificates:
    """One CA, server certificate and JWT key for every sandbox of the run."""
    return make_certificates(tmp_path_factory.mktemp("sf-sandbox-certs"))


@pytest.fixture
def salesforce_sandbox(salesforce_sandbox_certificates: Certificates) -> Iterator[SandboxHandle]:
    """A fresh, empty sandbox org served over TLS for one test."""
    with SandboxServer(certificates=salesforce_sandbox_certificates) as server:
        handle = SandboxHandle(server)
        yield handle
        handle.http.close()
