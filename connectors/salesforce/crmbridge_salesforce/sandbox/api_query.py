"""``query`` and ``queryAll``: SOQL results in batches, followed with ``nextRecordsUrl``.

The batch size comes from ``Sforce-Query-Options: batchSize=N`` (Salesforce keeps it
within 200–2,000, default 2,000, and does not promise it: :attr:`SandboxConfig.batch_cap`
makes the sandbox answer smaller batches than asked). The result set is fixed when the
query runs; its later batches are read through a cursor (query locator) that lives 15
minutes after last use, and each user has at most ``max_cursors`` open: opening another
drops the oldest, whose locator then answers 400 ``INVALID_QUERY_LOCATOR``.
"""

from __future__ import annotations

import re
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from crmbridge_salesforce.sandbox import query
from crmbridge_salesforce.sandbox.pipeline import Services, guarded
from crmbridge_salesforce.sandbox.wire import ApiError, SalesforceJSON

#: A cursor unused this long is gone (Salesforce: 15 minutes).
CURSOR_SECONDS = 15 * 60
_BATCH = re.compile(r"(?:^|[;,\s])batchSize\s*=\s*(\d{1,9})", re.IGNORECASE)
_LOCATOR = re.compile(r"^(01g[0-9A-Za-z]{15})-(\d{1,9})$")


@dataclass
class _Cursor:
    rows: list[dict[str, Any]]
    batch: int
    endpoint: str
    used: float


class Cursors:
    """Open query cursors (one user: the integration user)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._open: OrderedDict[str, _Cursor] = OrderedDict()
        self._lock = threading.Lock()

    def open(self, rows: list[dict[str, Any]], batch: int, endpoint: str) -> str:
        """Keep ``rows`` for later batches; returns the cursor id."""
        cursor_id = "01g" + secrets.token_hex(8)[:12] + "AAA"
        with self._lock:
            self._open[cursor_id] = _Cursor(rows, batch, endpoint, time.monotonic())
            while len(self._open) > self.limit:
                self._open.popitem(last=False)
        return cursor_id

    def get(self, cursor_id: str) -> _Cursor | None:
        """The live cursor ``cursor_id``, or None (unknown, dropped or expired)."""
        now = time.monotonic()
        with self._lock:
            cursor = self._open.get(cursor_id)
            if cursor is None or now - cursor.used > CURSOR_SECONDS:
                self._open.pop(cursor_id, None)
                return None
            cursor.used = now
            return cursor

    def close(self, cursor_id: str) -> None:
        """Forget a cursor whose last batch was read."""
        with self._lock:
            self._open.pop(cursor_id, None)

    def count(self) -> int:
        """How many cursors are open."""
        with self._lock:
            return len(self._open)


def batch_size(services: Services, request: Request) -> int:
    """The batch size to answer with (requested, bounded to 200–2,000, capped)."""
    header = request.headers.get("sforce-query-options", "")
    match = _BATCH.search(header)
    size = services.config.default_batch_size
    if match:
        size = min(2000, max(200, int(match.group(1))))
    return max(1, min(size, services.config.batch_cap))


def _page(
    services: Services,
    version: str,
    endpoint: str,
    cursor_id: str | None,
    rows: list[dict[str, Any]],
    start: int,
    batch: int,
) -> dict[str, Any]:
    end = min(len(rows), start + batch)
    body: dict[str, Any] = {"totalSize": len(rows), "done": end >= len(rows), "records": []}
    for row in rows[start:end]:
        body["records"].append(_record(row, version))
    if end < len(rows):
        if cursor_id is None:
            cursor_id = cursors(services).open(rows, batch, endpoint)
        body["nextRecordsUrl"] = f"/services/data/{version}/{endpoint}/{cursor_id}-{end}"
    elif cursor_id is not None:
        cursors(services).close(cursor_id)
    return body


def _record(row: dict[str, Any], version: str) -> dict[str, Any]:
    """A row as the API answers it: ``attributes`` with the record's URL, parents too."""
    attributes = row["attributes"]
    url = f"/services/data/{version}/sobjects/{attributes['type']}/{attributes['id']}"
    record: dict[str, Any] = {"attributes": {"type": attributes["type"], "url": url}}
    for key, value in row.items():
        if key != "attributes":
            nested = isinstance(value, dict) and "attributes" in value
            record[key] = _record(value, version) if nested else value
    return record


def cursors(services: Services) -> Cursors:
    """The sandbox's cursor store."""
    store = services.extras.get("cursors")
    if store is None:
        store = services.extras["cursors"] = Cursors(services.config.max_cursors)
    assert isinstance(store, Cursors)
    return store


def routes(services: Services) -> list[Route]:
    """The query routes."""

    def start(endpoint: str, include_deleted: bool) -> Any:
        async def handler(request: Request) -> Response:
            soql = request.query_params.get("q")
            if soql is None:
                raise ApiError(400, "MALFORMED_QUERY", "A query string has to be specified")
            rows = query.run(services.state, soql, include_deleted=include_deleted)
            version = request.path_params["version"]
            size = batch_size(services, request)
            return SalesforceJSON(_page(services, version, endpoint, None, rows, 0, size))

        return handler

    def more(endpoint: str) -> Any:
        async def handler(request: Request) -> Response:
            match = _LOCATOR.match(request.path_params["locator"])
            cursor = cursors(services).get(match.group(1)) if match else None
            if match is None or cursor is None or cursor.endpoint != endpoint:
                raise ApiError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
            offset = int(match.group(2))
            if offset >= len(cursor.rows):
                raise ApiError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
            version = request.path_params["version"]
            page = _page(
                services, version, endpoint, match.group(1), cursor.rows, offset, cursor.batch
            )
            return SalesforceJSON(page)

        return handler

    base = "/services/data/{version}"
    return [
        Route(f"{base}/query", guarded(services, start("query", False)), methods=["GET"]),
        Route(f"{base}/queryAll", guarded(services, start("queryAll", True)), methods=["GET"]),
        Route(f"{base}/query/{{locator}}", guarded(services, more("query")), methods=["GET"]),
        Route(f"{base}/queryAll/{{locator}}", guarded(services, more("queryAll")), methods=["GET"]),
    ]
