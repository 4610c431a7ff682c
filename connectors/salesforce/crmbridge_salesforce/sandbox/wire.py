"""Salesforce's wire format: JSON bodies, error lists, and record values as JSON.

REST errors are a JSON list ``[{"message": ..., "errorCode": ...}]`` (with ``fields``
when a field is at fault); per-record results of writes use ``statusCode`` instead.
Datetimes go out as ``2024-01-31T10:00:00.000+0000``, dates as ``2024-01-31``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from starlette.responses import Response

JSON_TYPE = "application/json;charset=UTF-8"


def to_json_value(value: Any) -> Any:
    """A stored value as Salesforce writes it in JSON."""
    if isinstance(value, datetime):
        moment = value.astimezone(UTC)
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


class SalesforceJSON(Response):
    """A JSON response as Salesforce sends it."""

    media_type = JSON_TYPE

    def render(self, content: Any) -> bytes:
        """Serialise ``content`` (stored values converted); None gives an empty body."""
        if content is None:
            return b""
        return json.dumps(content, default=to_json_value, separators=(",", ":")).encode()


class ApiError(Exception):
    """A request-level error a handler raises: HTTP status, errorCode and message."""

    def __init__(
        self, status: int, code: str, message: str, fields: Sequence[str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.fields = list(fields) if fields is not None else None

    def response(self) -> SalesforceJSON:
        """The error as Salesforce answers it: a one-element JSON list."""
        body: dict[str, Any] = {"message": self.message, "errorCode": self.code}
        if self.fields is not None:
            body["fields"] = self.fields
        return SalesforceJSON([body], status_code=self.status)


def record_error(code: str, message: str, fields: Sequence[str] = ()) -> dict[str, Any]:
    """One error of a per-record save result."""
    return {"statusCode": code, "message": message, "fields": list(fields)}
