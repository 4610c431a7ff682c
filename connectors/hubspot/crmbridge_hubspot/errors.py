"""The one place that decides what a HubSpot failure means for crmbridge.

The SDK raises a different ``ApiException`` class per API module (and ``requests``
responses for raw calls); all of them carry a status, a JSON body and headers, which
is all this mapping reads. Messages name the setting to fix and never carry a secret.

HTTP status codes are read here and nowhere else: the rest of the connector, and the
core, decide by the type of the error raised (401 :class:`AuthError`, 403
:class:`MissingScope`, 404 :class:`NotFound`, 409 :class:`Conflict`, no answer at all
:class:`NoAnswer`...).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from crmbridge import clock
from crmbridge.errors import (
    AuthError,
    CrmbridgeError,
    MissingScope,
    PermanentRecordError,
    RateLimited,
    RetryLater,
    SchemaError,
    TransientError,
)
from crmbridge_hubspot.ratelimits import classify

TOKEN_HINT = (
    "set connectors.hubspot.access_token (e.g. via HUBSPOT_ACCESS_TOKEN) to a valid "
    "private-app token"
)
#: HubSpot's 423: a record is locked by a burst of writes to it, for about 2 s.
LOCKED_WAIT_S = 2.0
#: A 477 without a usable Retry-After: HubSpot says migrations take up to a day, so ask
#: again in a while rather than at once.
MIGRATION_WAIT_S = 600.0
#: Gateway and edge answers (502, 504, Cloudflare's 521-526): HubSpot asks for a pause
#: of a few seconds, then a retry — the ordinary transient backoff.
GATEWAY_STATUSES = frozenset({502, 504, 521, 522, 523, 524, 525, 526})
_TITLE = re.compile(r"<title>(.*?)</title>", re.IGNORECASE | re.DOTALL)


class NotFound(PermanentRecordError):  # noqa: N818 - named for HubSpot's answer
    """HubSpot answered 404: what was asked for does not exist (a group, an enrollment)."""


class Conflict(PermanentRecordError):  # noqa: N818 - named for HubSpot's answer
    """HubSpot answered 409: it already holds what was to be created."""


class NoAnswer(TransientError):  # noqa: N818 - what happened, not a category
    """Nothing answered at all (connection refused, DNS, timeout): no HTTP status."""


class TimedOut(NoAnswer):
    """No connection or no answer within the timeout (``[connectors.hubspot] timeout``).

    Not retried inside the call: a stalled HubSpot would hold the cycle (and a shutdown)
    for every attempt. The call fails; the outbox sends its writes again later.
    """


def parse_body(body: Any) -> dict[str, Any]:
    """The JSON error body as a dict ({} when it is not JSON)."""
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if isinstance(body, str) and body.strip():
        try:
            parsed = json.loads(body)
        except ValueError:
            if body.lstrip().startswith("<"):
                # A gateway's HTML page (502, 52x): its title says it, the markup does not.
                title = _TITLE.search(body)
                return {"message": " ".join(title.group(1).split())[:200] if title else ""}
            return {"message": body[:500]}
        return parsed if isinstance(parsed, dict) else {"message": str(parsed)[:500]}
    return {}


def _until_midnight_utc(now: datetime | None = None) -> float:
    moment = now or clock.now()
    midnight = (moment + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return (midnight - moment).total_seconds()


def retry_after_s(headers: Mapping[str, str] | None) -> float | None:
    """The ``Retry-After`` header in seconds (HubSpot sends seconds), None when absent."""
    if not headers:
        return None
    value = headers.get("Retry-After") or headers.get("retry-after")
    if value is None:
        return None
    try:
        seconds = float(str(value).strip())
    except ValueError:
        return None
    return seconds if 0 <= seconds < 10**7 else None


def translate(
    status: int | None,
    body: Any,
    *,
    what: str,
    headers: Mapping[str, str] | None = None,
    search: bool = False,
) -> CrmbridgeError:
    """Turn an HTTP status, body and headers into the crmbridge error the caller acts on.

    ``search`` (the call was a CRM search) with the headers tells HubSpot's limits
    apart on a 429 (see :mod:`crmbridge_hubspot.ratelimits`).
    """
    data = parse_body(body)
    message = str(data.get("message", "")).strip()[:500]
    category = str(data.get("category", ""))
    detail = f"HubSpot {status} on {what}: {category} {message}".strip()
    if status is None or status == 0:
        return NoAnswer(f"HubSpot did not answer {what}", detail=detail)
    if status == 401:
        return AuthError(f"HubSpot rejected the access token: {TOKEN_HINT}", detail=detail)
    if status == 403:
        scopes = _required_scopes(data)
        wanted = f" (needs {', '.join(scopes)})" if scopes else ""
        return MissingScope(
            f"the HubSpot private app lacks a scope for {what}{wanted}: add it in the app's "
            "settings and reinstall",
            detail=detail,
        )
    if status == 429:
        limit = classify(data, headers, search=search)
        wait = limit.wait_s if limit.wait_s is not None else _until_midnight_utc()
        return RateLimited(
            f"HubSpot rate limit ({limit.policy}) on {what}", retry_after=wait, policy=limit.policy
        )
    if status == 423:
        return RetryLater(
            f"HubSpot locked the records of {what} for a moment (423)",
            retry_after=LOCKED_WAIT_S,
            detail=detail,
        )
    if status == 477:
        asked = retry_after_s(headers)
        migrating = MIGRATION_WAIT_S if asked is None else asked
        resume = clock.now() + timedelta(seconds=migrating)
        return RetryLater(
            f"HubSpot is moving this account between data centres (477 on {what}): "
            f"calls resume after {resume:%Y-%m-%d %H:%M:%S} UTC (Retry-After {migrating:g} s); "
            "the writes wait in the outbox",
            retry_after=migrating,
            detail=detail,
        )
    if status in GATEWAY_STATUSES or status >= 500:
        return TransientError(f"HubSpot is unavailable for {what} ({status})", detail=detail)
    if "PROPERTY_DOESNT_EXIST" in json.dumps(data):
        return SchemaError(
            f"a crmbridge property is missing in HubSpot ({message}); run `crmbridge check` "
            "to create the properties",
            detail=detail,
        )
    refused = f"HubSpot refused {what}: {message or category or status}"
    if status == 404:
        return NotFound(refused, detail=detail)
    if status == 409:
        return Conflict(refused, detail=detail)
    return PermanentRecordError(refused, detail=detail)


def _required_scopes(data: dict[str, Any]) -> list[str]:
    scopes: list[str] = []
    for error in data.get("errors") or []:
        context = error.get("context") if isinstance(error, dict) else None
        if isinstance(context, dict):
            for key in ("requiredGranularScopes", "requiredScopes"):
                scopes.extend(str(s) for s in context.get(key) or [])
    return scopes


def transport_cause(exc: BaseException) -> str:
    """Why a request got no answer, in a few words ("connection refused", ...).

    requests and urllib3 wrap the socket's error several layers deep (``args``,
    ``reason``, ``__cause__``); the first recognisable layer names the cause.
    """
    seen: list[BaseException] = []
    pending = [exc]
    while pending and len(seen) < 20:
        current = pending.pop(0)
        if any(current is known for known in seen):
            continue
        seen.append(current)
        for name, cause in _CAUSES:
            if type(current).__name__ == name or isinstance(current, _BUILTIN.get(name, ())):
                return cause
        nested = [*current.args, getattr(current, "reason", None)]
        nested += [current.__cause__, current.__context__]
        pending.extend(item for item in nested if isinstance(item, BaseException))
    text = str(exc).lower()
    for words, cause in _CAUSE_WORDS:
        if words in text:
            return cause
    return f"no answer ({type(exc).__name__})"


#: Exception class names (requests, urllib3, socket) and what they mean, first match wins.
_CAUSES = (
    ("NameResolutionError", "the host name could not be resolved (DNS)"),
    ("gaierror", "the host name could not be resolved (DNS)"),
    ("ConnectionRefusedError", "connection refused"),
    ("ConnectTimeout", "connection timed out"),
    ("ConnectTimeoutError", "connection timed out"),
    ("ReadTimeout", "no answer in time (read timeout)"),
    ("ReadTimeoutError", "no answer in time (read timeout)"),
    ("SSLError", "TLS handshake failed"),
    ("ConnectionResetError", "connection reset"),
)
_TIMEOUTS = frozenset({"connection timed out", "no answer in time (read timeout)"})
_BUILTIN: dict[str, tuple[type[BaseException], ...]] = {
    "ConnectionRefusedError": (ConnectionRefusedError,),
    "ConnectionResetError": (ConnectionResetError,),
}
_CAUSE_WORDS = (
    ("name or service not known", "the host name could not be resolved (DNS)"),
    ("temporary failure in name resolution", "the host name could not be resolved (DNS)"),
    ("connection refused", "connection refused"),
    ("timed out", "connection timed out"),
)


def from_exception(exc: Exception, *, what: str, search: bool = False) -> CrmbridgeError:
    """Map an SDK exception (any module's ApiException) or a transport error."""
    if isinstance(exc, CrmbridgeError):
        return exc
    status = getattr(exc, "status", None)
    body = getattr(exc, "body", None)
    headers = getattr(exc, "headers", None)
    if status is None and body is None:
        # urllib3/requests transport failures: connection refused, timeouts, resets.
        cause = transport_cause(exc)
        kind = TimedOut if cause in _TIMEOUTS else NoAnswer
        return kind(f"HubSpot did not answer {what}: {cause}", detail=type(exc).__name__)
    return translate(
        int(status) if status is not None else None,
        body,
        what=what,
        headers=headers if isinstance(headers, Mapping) else None,
        search=search,
    )
