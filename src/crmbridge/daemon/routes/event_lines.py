"""The events of a ``POST /v1/events`` body, numbered: JSON array, one object or NDJSON."""

from __future__ import annotations

import json
from typing import Any

from crmbridge.daemon.routes.problems import HttpError
from crmbridge.external import loads
from crmbridge.ingest import LineIssue

NDJSON_TYPES = frozenset(
    {
        "application/x-ndjson",
        "application/ndjson",
        "application/jsonl",
        "application/x-jsonl",
        "application/jsonlines",
        "application/x-jsonlines",
        "application/json-lines",
        "text/plain",
    }
)
_BOM_AND_SPACE = b"\xef\xbb\xbf \t\r\n"

NumberedLine = tuple[int, bytes | str]


def numbered_events(body: bytes, content_type: str) -> tuple[list[NumberedLine], list[LineIssue]]:
    """Number the events of a body: array position + 1, or NDJSON line number.

    The content type decides (JSON → an array, or one object; NDJSON → lines); without
    one the body is sniffed. A JSON array that does not parse is refused (400); NDJSON
    lines are validated one by one.
    """
    media = content_type.split(";", 1)[0].strip().lower()
    start = body.lstrip(_BOM_AND_SPACE)
    if not start:
        return [], []
    if media in NDJSON_TYPES:
        return _ndjson(body), []
    if start.startswith(b"["):
        return _array(body)
    if start.startswith(b"{"):
        single = _single_object(body)
        if single is not None:
            return [(1, single)], []
    return _ndjson(body), []


def storable(lines: list[NumberedLine]) -> tuple[list[NumberedLine], list[LineIssue]]:
    """Set aside events holding a NUL character: PostgreSQL text cannot store one."""
    kept: list[NumberedLine] = []
    refused: list[LineIssue] = []
    for number, raw in lines:
        data = raw.encode() if isinstance(raw, str) else raw
        if b"\\u0000" in data and _has_nul(data):
            refused.append(LineIssue(number, "text contains a NUL character (\\u0000)"))
        else:
            kept.append((number, raw))
    return kept, refused


def _ndjson(body: bytes) -> list[NumberedLine]:
    if body.startswith(b"\xef\xbb\xbf"):
        body = body[3:]
    return [(number, line) for number, line in enumerate(body.split(b"\n"), start=1)]


def _single_object(body: bytes) -> str | None:
    """The body re-serialized when it is exactly one JSON object (pretty-printed or not)."""
    try:
        value = loads(body)
    except (ValueError, RecursionError):
        return None
    if not isinstance(value, dict):
        return None
    try:
        return json.dumps(value)
    except (ValueError, RecursionError):
        return None


def _array(body: bytes) -> tuple[list[NumberedLine], list[LineIssue]]:
    try:
        items = loads(body)
    except RecursionError:
        raise HttpError(400, "body is not a valid JSON array: nested too deeply") from None
    except json.JSONDecodeError as exc:
        raise HttpError(
            400,
            f"body is not a valid JSON array: {exc.msg} (line {exc.lineno}, column {exc.colno})",
        ) from None
    except UnicodeDecodeError:
        raise HttpError(400, "body is not a valid JSON array: not UTF-8 text") from None
    except ValueError as exc:
        raise HttpError(400, f"body is not a valid JSON array: {exc}") from None
    if not isinstance(items, list):
        raise HttpError(400, "body must be a JSON array of events")
    lines: list[NumberedLine] = []
    issues: list[LineIssue] = []
    for number, item in enumerate(items, start=1):
        try:
            lines.append((number, json.dumps(item)))
        except (ValueError, RecursionError):
            issues.append(LineIssue(number, "record: nested too deeply"))
    return lines, issues


def _has_nul(data: bytes) -> bool:
    try:
        stack: list[Any] = [loads(data)]
    except (ValueError, RecursionError):
        return False  # validation reports the line
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            if "\x00" in value:
                return True
        elif isinstance(value, dict):
            stack.extend(value.keys())
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return False
