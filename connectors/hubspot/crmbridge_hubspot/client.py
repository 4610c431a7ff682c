"""The HubSpot SDK behind one door: pacing, retries and error mapping for every call."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

import requests
from hubspot import HubSpot
from hubspot.utils.requests.http_request_builder import Request
from urllib3 import Retry

from crmbridge.connector.rate_governor import RateGovernor
from crmbridge.connector.retry import call_with_retries
from crmbridge.errors import RateLimited
from crmbridge_hubspot.errors import from_exception, parse_body, translate
from crmbridge_hubspot.ratelimits import SEARCH

#: HubSpot Professional private app; headers from HubSpot tighten it when lower.
DEFAULT_BURST = 190
BURST_WINDOW_S = 10.0
#: CRM search: 5 requests per second per account, with no headers to say so.
SEARCH_PER_SECOND = 5
SEARCH_JITTER_S = 0.1
TIMEOUT = (10.0, 60.0)


def is_search(method: str, path: str) -> bool:
    """Whether a raw call is a CRM search (``POST /crm/v3/objects/<type>/search``)."""
    return method.upper() == "POST" and path.split("?")[0].rstrip("/").endswith("/search")


class HubSpotClient:
    """Owns the SDK instance, the rate governors and the call statistics."""

    def __init__(
        self,
        access_token: str,
        base_url: str,
        *,
        burst: int = DEFAULT_BURST,
        attempts: int = 6,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        #: Where the calls go (shown when HubSpot does not answer; it holds no secret).
        self.base_url = base_url.rstrip("/")
        # urllib3 must not retry on its own: every retry goes through our governor.
        self.sdk = HubSpot(
            access_token=access_token,
            host=base_url.rstrip("/"),
            base_url=base_url.rstrip("/"),
            retry=Retry(total=0, connect=0, read=0, redirect=0, status=0),
        )
        self.governor = RateGovernor(burst, BURST_WINDOW_S)
        # HubSpot counts a search when it arrives; network jitter can bring two requests
        # sent a second apart closer together, hence a slightly longer window than 1 s.
        self.search_governor = RateGovernor(SEARCH_PER_SECOND, 1.0 + SEARCH_JITTER_S, margin=0)
        self.attempts = attempts
        self._sleep = sleep
        self.calls: Counter[str] = Counter()
        self.rate_limited: Counter[str] = Counter()
        # The SDK builds a new API object (and connection pool) per attribute access.
        crm = self.sdk.crm
        self.search_api = crm.contacts.search_api
        self.batch_api = crm.contacts.batch_api
        self.basic_api = crm.contacts.basic_api
        self.properties_api = crm.properties.core_api
        self.groups_api = crm.properties.groups_api
        self.owners_api = crm.owners.owners_api
        self.tasks_api = crm.objects.tasks.basic_api

    def call(
        self, what: str, method: Callable[..., Any], *args: Any, search: bool = False, **kwargs: Any
    ) -> Any:
        """Call an SDK ``*_with_http_info`` method; returns its data.

        Any object's search (the SDK's ``do_search*``) is paced as a search whether or
        not ``search`` says so: HubSpot counts every one against its per-second limit.
        """
        search = search or getattr(method, "__name__", "").startswith("do_search")

        def attempt() -> Any:
            self._acquire(search)
            self.calls[what] += 1
            try:
                data, _status, headers = method(*args, _request_timeout=TIMEOUT, **kwargs)
            except Exception as exc:
                raise self._failed(from_exception(exc, what=what, search=search), what) from None
            self._observe(headers)
            return data

        return call_with_retries(attempt, attempts=self.attempts, sleep=self._sleep)

    def raw(
        self,
        what: str,
        method: str,
        path: str,
        body: Any = None,
        qs: Mapping[str, Any] | None = None,
        *,
        retry: bool = True,
    ) -> dict[str, Any]:
        """An endpoint the SDK lacks, built as the SDK's ``api_request`` builds it; returns
        parsed JSON. Sent here rather than by ``api_request``, which waits without a
        timeout and prints every connection failure on stdout.

        ``retry=False`` for a call that is not idempotent (creating a task): a timeout
        may hide a success, so the caller checks the CRM before sending it again.
        A search of any object (``POST …/search``) is paced by the search governor.
        """
        search = is_search(method, path)

        def attempt() -> dict[str, Any]:
            self._acquire(search)
            self.calls[what] += 1
            options: dict[str, Any] = {"method": method, "path": path}
            if body is not None:
                options["body"] = body
            if qs:
                options["qs"] = dict(qs)
            try:
                request = Request(self.sdk.config, options)
                response = requests.request(
                    request.get_method(),
                    request.get_url(),
                    timeout=TIMEOUT,
                    **request.get_options_for_sending(),
                )
            except Exception as exc:
                raise self._failed(from_exception(exc, what=what), what) from None
            if response.status_code >= 400:
                error = translate(
                    response.status_code,
                    response.text,
                    what=what,
                    headers=response.headers,
                    search=search,
                )
                raise self._failed(error, what)
            self._observe(response.headers)
            return parse_body(response.text)

        return call_with_retries(attempt, attempts=self.attempts if retry else 1, sleep=self._sleep)

    @property
    def total_calls(self) -> int:
        """Every HTTP request sent, retries included."""
        return sum(self.calls.values())

    def _acquire(self, search: bool) -> None:
        if search:
            self.search_governor.acquire()
        self.governor.acquire()

    def _failed(self, error: Exception, what: str) -> Exception:
        if isinstance(error, RateLimited):
            self.rate_limited[error.policy or "?"] += 1
            if error.retry_after <= BURST_WINDOW_S:
                # The search limit holds back searches only; the 10-second window (or
                # an unnamed limit) every call, searches included.
                target = self.search_governor if error.policy == SEARCH else self.governor
                target.pause(error.retry_after)
        return error

    def _observe(self, headers: Any) -> None:
        if not headers:
            return

        def number(name: str) -> int | None:
            value = headers.get(name)
            try:
                return int(value) if value is not None else None
            except (TypeError, ValueError):
                return None

        self.governor.observe(
            maximum=number("X-HubSpot-RateLimit-Max"),
            remaining=number("X-HubSpot-RateLimit-Remaining"),
            interval_ms=number("X-HubSpot-RateLimit-Interval-Milliseconds"),
        )
