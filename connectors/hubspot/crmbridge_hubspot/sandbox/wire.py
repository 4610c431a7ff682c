"""HubSpot's wire format: JSON responses, error bodies and the request view handlers get.

Every response is JSON with ``Content-Type: application/json;charset=utf-8``. Errors
use HubSpot's shape, ``{"status": "error", "message", "correlationId", "category"}``
plus optional ``errors``, ``context`` and ``links``; the 429 body of the 10-second and
daily limits uses ``errorType`` and ``policyName`` instead of ``category``, while a
search refused for its per-second limit keeps ``category: RATE_LIMITS`` and names no
policy.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response

from crmbridge_hubspot.sandbox.schema import Issue

JSON_TYPE = "application/json;charset=utf-8"


class HubSpotJSON(Response):
    """A JSON response exactly as HubSpot sends it (compact, UTF-8, charset in the type)."""

    media_type = JSON_TYPE

    def render(self, content: Any) -> bytes:
        """Serialise ``content``; None gives an empty body."""
        if content is None:
            return b""
        text = json.dumps(content, ensure_ascii=False, separators=(",", ":"))
        try:
            return text.encode("utf-8")
        except UnicodeEncodeError:
            # A lone surrogate (stored from a "\ud800" escape) has no UTF-8 form; escaped
            # it is still valid JSON, as HubSpot answers it.
            return json.dumps(content, separators=(",", ":")).encode("ascii")


def correlation_id() -> str:
    """A fresh id, as HubSpot puts on every error."""
    return str(uuid.uuid4())


class HubSpotError(Exception):
    """An error response a handler raises; rendered with HubSpot's error body."""

    def __init__(
        self,
        status: int,
        category: str,
        message: str,
        *,
        errors: Sequence[Mapping[str, Any]] | None = None,
        context: Mapping[str, Any] | None = None,
        links: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.category = category
        self.message = message
        self.errors = list(errors) if errors is not None else None
        self.context = dict(context) if context is not None else None
        self.links = dict(links) if links is not None else None

    def body(self) -> dict[str, Any]:
        """The JSON error body."""
        body: dict[str, Any] = {
            "status": "error",
            "message": self.message,
            "correlationId": correlation_id(),
        }
        if self.errors is not None:
            body["errors"] = self.errors
        if self.context is not None:
            body["context"] = self.context
        if self.links is not None:
            body["links"] = self.links
        body["category"] = self.category
        return body


def bad_request(message: str, **context: list[str]) -> HubSpotError:
    """A 400 ``VALIDATION_ERROR``."""
    return HubSpotError(400, "VALIDATION_ERROR", message, context=context or None)


def not_found(message: str, ids: Sequence[str] = ()) -> HubSpotError:
    """A 404 ``OBJECT_NOT_FOUND``."""
    context = {"id": list(ids)} if ids else None
    return HubSpotError(404, "OBJECT_NOT_FOUND", message, context=context)


def property_errors(issues: Sequence[Issue], portal_id: int) -> HubSpotError:
    """HubSpot's 400 for refused property values: every issue, in message and ``errors``."""
    listing = [
        {
            "isValid": False,
            "message": i.message,
            "error": i.code,
            "name": i.name,
            "localizedErrorMessage": i.message,
            "portalId": portal_id,
        }
        for i in issues
    ]
    message = "Property values were not valid: " + json.dumps(listing, separators=(",", ":"))
    errors = [
        {"message": i.message, "code": i.code, "context": {"propertyName": [i.name]}}
        for i in issues
    ]
    return HubSpotError(400, "VALIDATION_ERROR", message, errors=errors)


def unauthorized() -> HubSpotError:
    """HubSpot's 401 for a missing or unknown token."""
    message = (
        "Authentication credentials not found. This API supports OAuth 2.0 authentication "
        "and you can find more details at "
        "https://developers.hubspot.com/docs/methods/auth/oauth-overview"
    )
    return HubSpotError(401, "INVALID_AUTHENTICATION", message)


def missing_scopes(required: Sequence[str]) -> HubSpotError:
    """HubSpot's 403 when the token lacks a scope of the endpoint's set (all listed)."""
    message = (
        "This app hasn't been granted all required scopes to make this call. Read more "
        "about required scopes here: https://developers.hubspot.com/scopes."
    )
    errors = [
        {
            "message": "One or more of the following scopes are required.",
            "context": {"requiredGranularScopes": list(required)},
        }
    ]
    return HubSpotError(
        403,
        "MISSING_SCOPES",
        message,
        errors=errors,
        links={"scopes": "https://developers.hubspot.com/scopes"},
    )


def rate_limit_body(message: str, policy: str) -> dict[str, Any]:
    """HubSpot's 429 body."""
    return {
        "status": "error",
        "message": message,
        "errorType": "RATE_LIMIT",
        "correlationId": correlation_id(),
        "policyName": policy,
        "requestId": str(uuid.uuid4()),
    }


def search_rate_limit_body() -> dict[str, Any]:
    """HubSpot's 429 body for a search over its per-second limit: no ``policyName``."""
    return {
        "status": "error",
        "message": "You have reached your secondly limit.",
        "correlationId": correlation_id(),
        "category": "RATE_LIMITS",
    }


@dataclass(frozen=True, slots=True)
class Reply:
    """What a handler answers: a status and a JSON body (None: no body)."""

    status: int
    body: Any = None


@dataclass(frozen=True)
class Call:
    """One authenticated API request, as handlers see it."""

    request: Request
    token: str
    raw: bytes
    _parsed: list[Any] = field(default_factory=list, repr=False)

    @property
    def query(self) -> QueryParams:
        """The query string."""
        return self.request.query_params

    def path(self, name: str) -> str:
        """A path parameter."""
        return str(self.request.path_params[name])

    def json(self) -> Any:
        """The parsed body; a 400 like HubSpot's when it is not JSON."""
        if not self._parsed:
            if not self.raw.strip():
                raise bad_request("Invalid input JSON: the request body is empty.")
            try:
                self._parsed.append(json.loads(self.raw))
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise bad_request(f"Invalid input JSON on line {_line(exc)}: {exc}") from exc
        return self._parsed[0]

    def json_object(self) -> dict[str, Any]:
        """The body, which must be a JSON object."""
        body = self.json()
        if not isinstance(body, dict):
            raise bad_request("Invalid input JSON: expected an object.")
        return body

    def names(self, key: str) -> list[str]:
        """A list parameter given repeated (``?p=a&p=b``) or comma-separated (``?p=a,b``)."""
        out: list[str] = []
        for item in self.query.getlist(key):
            out.extend(part.strip() for part in item.split(",") if part.strip())
        return list(dict.fromkeys(out))

    def flag(self, key: str, default: bool = False) -> bool:
        """A boolean parameter: ``true``/``True``/``false``/``False``..."""
        value = self.query.get(key)
        if value is None or value == "":
            return default
        lowered = value.strip().lower()
        if lowered in ("true", "1"):
            return True
        if lowered in ("false", "0"):
            return False
        raise bad_request(f"Query parameter {key}={value!r} is not a boolean.")

    def number(self, key: str, default: int, *, maximum: int | None = None) -> int:
        """An integer parameter; 400 when it is not one or exceeds ``maximum``."""
        value = self.query.get(key)
        if value is None or value == "":
            return default
        try:
            number = int(value)
        except ValueError as exc:
            raise bad_request(f"Query parameter {key}={value!r} is not an integer.") from exc
        if number < 0 or (maximum is not None and number > maximum):
            raise bad_request(f"Query parameter {key} must be between 0 and {maximum}.")
        return number


def _line(exc: Exception) -> str:
    return str(getattr(exc, "lineno", 1))
