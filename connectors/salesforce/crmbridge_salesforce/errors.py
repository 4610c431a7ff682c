"""What Salesforce's answers mean for crmbridge: simple-salesforce's exceptions and the
per-record errors of a save, mapped onto the :mod:`crmbridge.errors` tree.

simple-salesforce raises by HTTP status (400 ``SalesforceMalformedRequest``, 401
``SalesforceExpiredSession``, 403 ``SalesforceRefusedRequest``, 404
``SalesforceResourceNotFound``, anything else ``SalesforceGeneralError``), each with
the response body in ``content``: a list of ``{"errorCode", "message"}``. The error
code decides; messages are quoted (bounded) but never a request, a header or a token.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import requests
from simple_salesforce.exceptions import (
    SalesforceAuthenticationFailed,
    SalesforceError,
    SalesforceExpiredSession,
    SalesforceMalformedRequest,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)

from crmbridge.errors import (
    AuthError,
    CrmbridgeError,
    MissingScope,
    PermanentRecordError,
    RateLimited,
    SchemaError,
    TransientError,
)

#: The daily API limit is used up (also: too many concurrent long requests).
REQUEST_LIMIT_EXCEEDED = "REQUEST_LIMIT_EXCEEDED"
#: ``RateLimited.policy`` of a refused call for the daily limit.
DAILY = "DAILY"
#: How long writes wait after Salesforce refused a call for its daily limit before one
#: call finds out whether the budget allows again (Salesforce sends no Retry-After).
LIMIT_PROBE_S = 300.0
#: Per-record codes worth another attempt later (a row locked by another save...).
RETRIABLE_CODES = frozenset(
    {"UNABLE_TO_LOCK_ROW", "SERVER_UNAVAILABLE", "REQUEST_RUNNING_TOO_LONG", "UNKNOWN_EXCEPTION"}
)
#: Codes saying the record is gone or never was.
MISSING_CODES = frozenset(
    {"ENTITY_IS_DELETED", "INVALID_CROSS_REFERENCE_KEY", "MALFORMED_ID", "INVALID_ID_FIELD"}
)
CONVERTED = "CANNOT_UPDATE_CONVERTED_LEAD"
_MAX_MESSAGE = 300


class NotFound(PermanentRecordError):  # noqa: N818 - what Salesforce answered
    """The resource asked for does not exist (404)."""


class NoAnswer(TransientError):  # noqa: N818 - what happened
    """Salesforce did not answer (timeout, refused or dropped connection)."""


def error_codes(content: Any) -> list[tuple[str, str]]:
    """``(errorCode, message)`` pairs of an error body (a list, a dict or raw bytes;
    an invocable action's results are read for their errors)."""
    body = content
    if isinstance(body, bytes | str):
        try:
            body = json.loads(body)
        except ValueError:
            return []
    items = body if isinstance(body, list) else [body]
    # An invocable action answers one result per input, each with its own errors.
    items = [
        error
        for item in items
        for error in (
            item["errors"]
            if isinstance(item, Mapping) and isinstance(item.get("errors"), list)
            else [item]
        )
    ]
    pairs = []
    for item in items:
        if isinstance(item, Mapping):
            code = item.get("errorCode") or item.get("statusCode") or item.get("error") or ""
            message = item.get("message") or item.get("error_description") or ""
            pairs.append((str(code), _bounded(str(message))))
    return pairs


def _bounded(text: str) -> str:
    return text if len(text) <= _MAX_MESSAGE else text[: _MAX_MESSAGE - 1] + "…"


def _described(pairs: Sequence[tuple[str, str]], status: int) -> str:
    if not pairs:
        return f"HTTP {status}"
    return "; ".join(f"{code}: {message}".strip(": ") for code, message in pairs)


def translate(exc: BaseException, what: str, *, credential: str) -> CrmbridgeError:
    """The crmbridge error for ``exc`` raised while doing ``what``.

    ``credential`` is the setting an admin fixes when Salesforce refuses the sign-in.
    """
    if isinstance(exc, CrmbridgeError):
        return exc
    if isinstance(exc, requests.Timeout):
        return NoAnswer(f"Salesforce did not answer in time ({what})")
    if isinstance(exc, requests.ConnectionError):
        return NoAnswer(f"could not reach Salesforce ({what}): {type(exc).__name__}")
    if isinstance(exc, requests.RequestException):
        return TransientError(f"request to Salesforce failed ({what}): {type(exc).__name__}")
    if isinstance(exc, SalesforceAuthenticationFailed):
        code = str(exc.code or "")
        return AuthError(
            f"Salesforce refused to sign in: check {credential} ({_bounded(code)})",
            detail=_bounded(exc.auth_message),
        )
    if not isinstance(exc, SalesforceError):
        return TransientError(f"Salesforce call failed ({what}): {type(exc).__name__}")
    pairs = error_codes(exc.content)
    codes = {code for code, _ in pairs}
    text = _described(pairs, exc.status)
    if isinstance(exc, SalesforceExpiredSession):
        return AuthError(
            f"Salesforce ended the session and it could not be renewed: check {credential}",
            detail=text,
        )
    if isinstance(exc, SalesforceRefusedRequest):
        if REQUEST_LIMIT_EXCEEDED in codes:
            return RateLimited(
                f"Salesforce refused {what}: the org's API request limit is exceeded ({text})",
                retry_after=LIMIT_PROBE_S,
                policy=DAILY,
            )
        if codes & {"API_DISABLED_FOR_ORG", "API_CURRENTLY_DISABLED"}:
            return AuthError(f"Salesforce refused {what}: {text} (check {credential})")
        return MissingScope(
            f"Salesforce refused {what}: the integration user lacks a permission ({text})"
        )
    if isinstance(exc, SalesforceResourceNotFound):
        return NotFound(f"Salesforce has no such resource ({what})", detail=text)
    if isinstance(exc, SalesforceMalformedRequest):
        if "INVALID_QUERY_LOCATOR" in codes:
            # A query cursor Salesforce dropped (expired, or too many open): the next
            # read starts again from the stored position.
            return TransientError(f"Salesforce dropped the query cursor ({what}): {text}")
        if codes & {"INVALID_FIELD", "INVALID_TYPE", "NO_SUCH_COLUMN"}:
            return SchemaError(f"Salesforce refused {what}: {text}")
        return PermanentRecordError(f"Salesforce refused {what}: {text}")
    if exc.status >= 500 or exc.status in (408, 429):
        return TransientError(f"Salesforce failed {what} (HTTP {exc.status}): {text}")
    return PermanentRecordError(f"Salesforce refused {what} (HTTP {exc.status}): {text}")


def record_error(errors: Any) -> tuple[str, bool]:
    """The message and retriability of one record's save errors."""
    pairs = []
    for item in errors if isinstance(errors, list) else []:
        if not isinstance(item, Mapping):
            continue
        code = str(item.get("statusCode") or item.get("errorCode") or "")
        fields = item.get("fields")
        named = [str(f)[:80] for f in fields[:10]] if isinstance(fields, list) else []
        where = f" [{', '.join(named)}]" if named else ""
        pairs.append((code, _bounded(str(item.get("message") or "")) + where))
    codes = {code for code, _ in pairs}
    message = _described(pairs, 400) if pairs else ""
    return message or "refused without a reason", bool(codes) and codes <= RETRIABLE_CODES
