"""The ``requests.Session`` every Salesforce call goes through.

simple-salesforce sends its requests without a timeout (a stalled connection would
hang a sync cycle for good), and its ``SFType`` methods take no timeout argument: the
session therefore gives every request one unless the caller set its own.

For tests and the local sandbox only, ``login_host`` sends every request meant for
a ``*.salesforce.com`` host (``login``, ``test``, a My Domain) to that ``host:port``
instead: simple-salesforce always builds ``https://<domain>.salesforce.com`` login
URLs. ``ca_bundle`` is the certificate authority that signed the sandbox's TLS
certificate. Against Salesforce both stay unset.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests

SALESFORCE_SUFFIX = ".salesforce.com"


class SalesforceSession(requests.Session):
    """A session with a default ``(connect, read)`` timeout and an optional test host."""

    def __init__(
        self,
        timeout: float,
        *,
        login_host: str | None = None,
        ca_bundle: str | None = None,
    ) -> None:
        super().__init__()
        self.default_timeout = (timeout, timeout)
        self.login_host = login_host
        self.ca_bundle = ca_bundle
        if ca_bundle:
            self.verify = ca_bundle
        #: Called with every response (the API budget counts them and reads its header).
        self.observer: Callable[[requests.Response], None] | None = None

    def request(
        self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any
    ) -> requests.Response:
        """Send with the default timeout (unless one is given), to the test host if set."""
        kwargs.setdefault("timeout", self.default_timeout)
        if self.ca_bundle:
            # Per request: REQUESTS_CA_BUNDLE in the environment overrides Session.verify.
            kwargs.setdefault("verify", self.ca_bundle)
        target = url.decode() if isinstance(url, bytes) else url
        if self.login_host:
            target = redirected(target, self.login_host)
        verb = method.decode() if isinstance(method, bytes) else method
        response = super().request(verb, target, *args, **kwargs)
        if self.observer is not None:
            self.observer(response)
        return response

    def __repr__(self) -> str:
        return f"SalesforceSession(timeout={self.default_timeout[0]}, test_host={self.login_host})"


def redirected(url: str, host: str) -> str:
    """``url`` sent to ``host`` when it names a ``*.salesforce.com`` host."""
    parts = urlsplit(url)
    name = (parts.hostname or "").lower()
    if name == SALESFORCE_SUFFIX[1:] or name.endswith(SALESFORCE_SUFFIX):
        return urlunsplit(("https", host, parts.path, parts.query, parts.fragment))
    return url
