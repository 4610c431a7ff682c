"""The HubSpot SDK behind one door: pacing, retries and error mapping for every call."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any, TypeVar

import requests
from hubspot import HubSpot
from hubspot.utils.requests.http_request_builder import Request
from urllib3 import Retry

from crmbridge import clock
from crmbridge.connector.rate_governor import RateGovernor
from crmbridge.connector.retry import MAX_INLINE_WAIT_S, call_with_retries
from crmbridge.errors import AuthError, CrmbridgeError, RateLimited, RetryLater
from crmbridge_hubspot.account_stops import DAILY, AccountStops, daily_limit_error, daily_reset
from crmbridge_hubspot.errors import TimedOut, from_exception, parse_body, translate
from crmbridge_hubspot.oauth import OAUTH_SETTINGS, PrivateAppToken, TokenSource
from crmbridge_hubspot.ratelimits import SEARCH

T = TypeVar("T")

#: HubSpot Professional private app; headers from HubSpot tighten it when lower.
DEFAULT_BURST = 190
BURST_WINDOW_S = 10.0
#: CRM search: 5 requests per second per account, with no headers to say so.
SEARCH_PER_SECOND = 5
SEARCH_JITTER_S = 0.1
#: Seconds to wait for a connection and then for each read of the answer, unless the
#: settings say otherwise (``[connectors.hubspot] timeout``).
DEFAULT_TIMEOUT_S = 20.0
#: Read the account's time zone (for when the daily limit resets) once fewer than this
#: share of the day's calls is left: by the time the limit is reached it is known.
ZONE_PREFETCH_SHARE = 0.05


def is_search(method: str, path: str) -> bool:
    """Whether a raw call is a CRM search (``POST /crm/v3/objects/<type>/search``)."""
    return method.upper() == "POST" and path.split("?")[0].rstrip("/").endswith("/search")


def unparsed(method: Any) -> Any:
    """An SDK ``*_with_http_info`` method answering the body unparsed (bytes). The body
    is read here, inside the client's call, so a connection lost while reading it is
    a failed call like any other (retried, mapped to crmbridge's errors)."""

    def call(*args: Any, **kwargs: Any) -> tuple[bytes, int, Any]:
        response = method(*args, _preload_content=False, **kwargs)
        try:
            body = response.data
        finally:
            response.release_conn()
        return body, response.status, response.headers

    return call


class HubSpotClient:
    """Owns the SDK instance, the rate governors and the call statistics."""

    def __init__(
        self,
        access_token: str | TokenSource,
        base_url: str,
        *,
        burst: int = DEFAULT_BURST,
        attempts: int = 6,
        sleep: Callable[[float], None] | None = None,
        timeout: float = DEFAULT_TIMEOUT_S,
    ) -> None:
        #: Where the calls go (shown when HubSpot does not answer; it holds no secret).
        self.base_url = base_url.rstrip("/")
        #: The bearer token of each request (an OAuth app's is renewed as it expires).
        self.tokens = (
            PrivateAppToken(access_token) if isinstance(access_token, str) else access_token
        )
        # urllib3 must not retry on its own: every retry goes through our governor.
        # Each request carries the token of the moment (``_request_auth``), not this one.
        self.sdk = HubSpot(
            access_token=access_token if isinstance(access_token, str) else None,
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
        #: (connect, read) for every request, SDK and raw alike: without it urllib3 and
        #: requests wait forever on a connection that accepted and never answered.
        self.timeout = (timeout, timeout)
        self.calls: Counter[str] = Counter()
        self.rate_limited: Counter[str] = Counter()
        #: Daily limit used up, account being migrated: no call is sent until it ends.
        self.stops = AccountStops()
        #: The account's time zone (``/account-info/v3/details``), read when needed.
        self.account_zone: str | None = None
        self._reading_zone = False
        #: Read ahead once only: a refused read is not retried on every call after it.
        self._zone_read_ahead = False
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

        def send(token: str) -> Any:
            self._acquire(search)
            self.calls[what] += 1
            auth = {"in": "header", "key": "Authorization", "value": f"Bearer {token}"}
            try:
                data, _status, headers = method(
                    *args, _request_timeout=self.timeout, _request_auth=auth, **kwargs
                )
            except Exception as exc:
                raise self._failed(from_exception(exc, what=what, search=search), what) from None
            self._observe(headers)
            return data

        return call_with_retries(
            lambda: self._authorized(send),
            attempts=self.attempts,
            sleep=self._sleep,
            give_up=_timed_out,
        )

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

        def send(token: str) -> dict[str, Any]:
            self._acquire(search)
            self.calls[what] += 1
            options: dict[str, Any] = {"method": method, "path": path}
            if body is not None:
                options["body"] = body
            if qs:
                options["qs"] = dict(qs)
            try:
                request = Request({**self.sdk.config, "access_token": token}, options)
                response = requests.request(
                    request.get_method(),
                    request.get_url(),
                    timeout=self.timeout,
                    **request.get_options_for_sending(),
                )
            except Exception as exc:
                raise self._failed(from_exception(exc, what=what), what) from None
            if response.status_code >= 400:
                failure = translate(
                    response.status_code,
                    response.text,
                    what=what,
                    headers=response.headers,
                    search=search,
                )
                raise self._failed(failure, what)
            self._observe(response.headers)
            return parse_body(response.text)

        return call_with_retries(
            lambda: self._authorized(send),
            attempts=self.attempts if retry else 1,
            sleep=self._sleep,
            give_up=_timed_out,
        )

    @property
    def total_calls(self) -> int:
        """Every HTTP request sent, retries included."""
        return sum(self.calls.values())

    def _authorized(self, send: Callable[[str], T]) -> T:
        """Send with the current token and, after a 401, once more with a renewed one
        (an OAuth token HubSpot ended early); a second 401 names the OAuth settings."""
        token = self.tokens.token()
        try:
            return send(token)
        except AuthError:
            if not self.tokens.renew(token):
                raise
        renewed = self.tokens.token()
        try:
            return send(renewed)
        except AuthError as exc:
            raise AuthError(
                f"HubSpot rejected a freshly refreshed access token: check {OAUTH_SETTINGS}",
                detail=exc.detail,
            ) from None

    def _acquire(self, search: bool) -> None:
        self.stops.check()
        # HubSpot counts a search against the search limit only (and the day): its
        # 10-second window excludes the search API, so a search takes no slot there and
        # a full window of writes never holds a read back.
        (self.search_governor if search else self.governor).acquire()

    def _failed(self, error: CrmbridgeError, what: str) -> CrmbridgeError:
        if isinstance(error, RateLimited) and error.policy == DAILY:
            self.rate_limited[DAILY] += 1
            return self._daily_limit_reached(what)
        if isinstance(error, RetryLater) and error.retry_after > MAX_INLINE_WAIT_S:
            # An account-wide wait (a migration): every other call would get the same.
            until = clock.now() + timedelta(seconds=error.retry_after)
            self.stops.stop(until, error)
            return error
        if isinstance(error, RateLimited):
            self.rate_limited[error.policy or "?"] += 1
            if error.retry_after <= BURST_WINDOW_S:
                # The search limit holds back searches only; the 10-second window (or
                # an unnamed limit) every other call.
                target = self.search_governor if error.policy == SEARCH else self.governor
                target.pause(error.retry_after)
        return error

    def _observe(self, headers: Any) -> None:
        # An answered call: the daily limit is not used up (any more); the headers may
        # say this call was the day's last.
        self.stops.lift_daily()
        if not headers:
            return

        def number(name: str) -> int | None:
            value = headers.get(name)
            try:
                return int(value) if value is not None else None
            except (TypeError, ValueError):
                return None

        daily, daily_left = (
            number("X-HubSpot-RateLimit-Daily"),
            number("X-HubSpot-RateLimit-Daily-Remaining"),
        )
        if daily_left is not None:
            if daily_left <= 0:
                # This call was the day's last: the next one would be refused.
                self._daily_limit_reached("the last call of the day was made")
            elif daily and daily_left <= daily * ZONE_PREFETCH_SHARE and not self._zone_read_ahead:
                self._zone_read_ahead = True
                self._read_zone()
        self.governor.observe(
            maximum=number("X-HubSpot-RateLimit-Max"),
            remaining=number("X-HubSpot-RateLimit-Remaining"),
            interval_ms=number("X-HubSpot-RateLimit-Interval-Milliseconds"),
        )

    def _daily_limit_reached(self, what: str) -> RateLimited:
        """Stop every call until the daily limit resets; the error says when."""
        zone = self.account_zone or self._read_zone()
        now = clock.now()
        error = daily_limit_error(what, zone, now)
        self.stops.stop(daily_reset(now, zone), error)
        return error

    def _read_zone(self) -> str | None:
        """The account's time zone, read once (None when HubSpot does not say)."""
        if self._reading_zone:
            return None
        self._reading_zone = True
        try:
            details = self.raw("account details", "GET", "/account-info/v3/details", retry=False)
            self.account_zone = str(details.get("timeZone") or "") or None
        except CrmbridgeError:
            pass
        finally:
            self._reading_zone = False
        return self.account_zone


def _timed_out(exc: BaseException) -> bool:
    """A call that got no answer within the timeout fails at once (see TimedOut)."""
    return isinstance(exc, TimedOut)
