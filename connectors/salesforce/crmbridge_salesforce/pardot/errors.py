"""What Account Engagement's v5 answers mean for crmbridge, in one place.

A v5 error is a JSON body ``{"code": N, "message": "..."}``; the numeric code decides
(Pardot documents the codes, not which HTTP status carries each, so the status is used
only when the body has no code). Messages are quoted, bounded, never a header or token.

| code | meaning                                            | crmbridge error         |
| ---- | -------------------------------------------------- | ----------------------- |
| 66   | more than 5 requests at once                       | RetryLater (1 s)        |
| 122  | the business unit's daily API calls are used up    | RateLimited (DAILY)     |
| 184  | access token invalid, unknown or expired           | SessionRefused          |
| 181  | a required header is missing                       | AuthError (the setting) |
| 182, 201 | business unit id invalid, inactive, or wrong host | AuthError (the setting) |
| 13, 224 ... | a parameter or field the API refuses       | SchemaError             |
| 202, 214, 183 | minute limit, timeout, internal error    | TransientError          |
| 210, 211 | page token expired or invalid                  | TransientError (re-read)|
"""

from __future__ import annotations

import json
from typing import Any

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
from crmbridge_salesforce.pardot.settings import TABLE

CONCURRENCY = 66
DAILY_LIMIT = 122
MISSING_HEADER = 181
INVALID_HEADER = 182
INVALID_TOKEN = 184
UNKNOWN_BUSINESS_UNIT = 201
#: ``RateLimited.policy`` of Pardot's daily limit (its own, not Salesforce's).
PARDOT_DAILY = "PARDOT_DAILY"
#: After a 122, one call an hour finds out whether Pardot's day has turned (it resets
#: at midnight in the business unit's time zone, which crmbridge does not know).
LIMIT_PROBE_S = 3600.0
_TRANSIENT = frozenset({183, 202, 210, 211, 214})
_PERMISSION = frozenset({46, 49, 76})
_MAX_MESSAGE = 300


class SessionRefused(AuthError):  # noqa: N818 - what Pardot did
    """Pardot refused the Salesforce access token (code 184): sign in again once."""


def error_body(content: bytes | str | None) -> tuple[int | None, str]:
    """The ``(code, message)`` of a v5 error body; ``(None, "")`` when it is none."""
    if not content:
        return None, ""
    try:
        body: Any = json.loads(content)
    except (ValueError, RecursionError):
        return None, ""
    if not isinstance(body, dict):
        return None, ""
    code = body.get("code")
    message = body.get("message")
    text = str(message)[:_MAX_MESSAGE] if isinstance(message, str) else ""
    if isinstance(code, bool) or not isinstance(code, int) or not 0 < code < 100_000:
        return None, text
    return code, text


def translate(status: int, content: bytes | str | None, what: str) -> CrmbridgeError:
    """The crmbridge error for a refused v5 call made while doing ``what``."""
    code, message = error_body(content)
    said = f"{code}: {message}" if code is not None else f"HTTP {status}"
    if code == CONCURRENCY:
        return RetryLater(f"Pardot refused {what}: too many requests at once ({said})",
                          retry_after=1.0)  # fmt: skip
    if code == DAILY_LIMIT:
        return RateLimited(
            f"Pardot refused {what}: the business unit's daily API calls are used up ({said})",
            retry_after=LIMIT_PROBE_S,
            policy=PARDOT_DAILY,
        )
    if code == INVALID_TOKEN or (code is None and status == 401):
        return SessionRefused(
            f"Pardot refused the Salesforce session ({said}): the connected app needs the "
            "pardot_api scope and the integration user must be synced to the business unit"
        )
    if code in (MISSING_HEADER, INVALID_HEADER, UNKNOWN_BUSINESS_UNIT):
        return AuthError(
            f"Pardot refused {what} ({said}): check {TABLE}.business_unit_id and "
            f"{TABLE}.base_url (pi.pardot.com for production, pi.demo.pardot.com for "
            "developer orgs and sandboxes)"
        )
    if code in _PERMISSION or (code is None and status == 403):
        return MissingScope(f"Pardot refused {what}: the integration user lacks access ({said})")
    if code in _TRANSIENT or status >= 500 or (code is None and status in (408, 429)):
        return TransientError(f"Pardot failed {what} ({said})")
    if status == 400 and code is not None:
        return SchemaError(f"Pardot refused {what} ({said})")
    return PermanentRecordError(f"Pardot refused {what} ({said})")
