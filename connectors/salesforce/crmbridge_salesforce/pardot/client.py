"""Every Account Engagement (Pardot) API v5 call crmbridge makes, in one place.

A call carries the Salesforce session of the connector's
:class:`~crmbridge_salesforce.client.SalesforceClient` as its bearer token and the
business unit in ``Pardot-Business-Unit-Id``. Each call is first counted against
crmbridge's share of Pardot's daily calls (:class:`~crmbridge_salesforce.pardot.budget.
PardotBudget`), retried under the shared policy when it failed transiently (code 66,
too many at once, waits a second), and its refusal translated by
:func:`~crmbridge_salesforce.pardot.errors.translate`. A token Pardot refuses (code
184) is renewed by signing in to Salesforce again, once.

A query's later pages are read through the ``nextPageUrl`` Pardot returns; the bearer
token is only ever sent to ``base_url``'s host, so a ``nextPageUrl`` naming another
host is refused rather than followed.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import requests

from crmbridge.connector.retry import call_with_retries
from crmbridge.errors import AuthError, RateLimited, TransientError
from crmbridge_salesforce.client import SalesforceClient
from crmbridge_salesforce.pardot.budget import PardotBudget
from crmbridge_salesforce.pardot.errors import PARDOT_DAILY, SessionRefused, translate
from crmbridge_salesforce.pardot.settings import PardotSettings
from crmbridge_salesforce.session import SalesforceSession

API = "/api/v5/objects"
#: The largest answer read (a page of 1,000 activities is far below it).
MAX_BODY = 32 * 1024 * 1024


class PardotClient:
    """Signed v5 calls to one business unit, paced by the daily budget."""

    def __init__(
        self,
        salesforce: SalesforceClient,
        settings: PardotSettings,
        session: SalesforceSession,
        *,
        budget: PardotBudget | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        assert settings.business_unit_id is not None
        self.salesforce = salesforce
        self.settings = settings
        self.session = session
        self.budget = budget or PardotBudget(settings.daily_limit, settings.api_share)
        self._sleep = sleep
        self._host = urlsplit(settings.base_url).netloc.lower()
        #: Calls sent (tests and ``check`` read it).
        self.calls = 0

    def __repr__(self) -> str:
        return f"PardotClient(base_url={self.settings.base_url!r})"

    def query(self, what: str, obj: str, params: Mapping[str, str]) -> dict[str, Any]:
        """The first page of a v5 query on ``obj`` (e.g. ``visitor-activities``)."""
        url = f"{self.settings.base_url}{API}/{obj}"
        return self._call(what, url, dict(params))

    def next_page(self, what: str, url: str) -> dict[str, Any]:
        """The page a query's ``nextPageUrl`` names (on ``base_url``'s host only)."""
        parts = urlsplit(url)
        if parts.scheme != "https" or parts.netloc.lower() != self._host:
            raise TransientError(
                f"Pardot named a next page on another host ({what}); the read starts "
                "again from its stored position"
            )
        return self._call(what, url, None)

    def _call(self, what: str, url: str, params: dict[str, str] | None) -> dict[str, Any]:
        def once() -> dict[str, Any]:
            self.budget.admit()
            return self._signed(what, url, params)

        return call_with_retries(once, attempts=4, sleep=self._sleep)

    def _signed(self, what: str, url: str, params: dict[str, str] | None) -> dict[str, Any]:
        sf = self.salesforce.sf()
        try:
            return self._send(what, url, params, sf.session_id)
        except SessionRefused:
            if not self.salesforce.credentials.renewable:
                raise
            sf = self.salesforce.renew(sf)
            try:
                return self._send(what, url, params, sf.session_id)
            except SessionRefused as again:
                raise AuthError(str(again)) from None

    def _send(
        self, what: str, url: str, params: dict[str, str] | None, token: str
    ) -> dict[str, Any]:
        headers = {
            "Authorization": f"Bearer {token}",
            "Pardot-Business-Unit-Id": self.settings.business_unit_id or "",
            "Accept": "application/json",
        }
        self.calls += 1
        try:
            with self.session.get(url, params=params, headers=headers, stream=True) as response:
                # Read at most MAX_BODY: an answer without end never fills the memory.
                body = response.raw.read(MAX_BODY + 1, decode_content=True)
        except requests.Timeout:
            raise TransientError(f"Pardot did not answer in time ({what})") from None
        except (requests.RequestException, OSError) as exc:
            raise TransientError(f"could not reach Pardot ({what}): {type(exc).__name__}") from None
        if response.status_code != 200:
            error = translate(response.status_code, body[:MAX_BODY], what)
            if isinstance(error, RateLimited) and error.policy == PARDOT_DAILY:
                self.budget.refused(error)
            raise error
        if len(body) > MAX_BODY:
            raise TransientError(f"Pardot's answer to {what} is larger than {MAX_BODY} bytes")
        try:
            answer = json.loads(body)
        except (ValueError, RecursionError):
            raise TransientError(f"Pardot answered {what} with no JSON") from None
        if not isinstance(answer, dict):
            raise TransientError(f"Pardot answered {what} with no JSON object")
        return answer
