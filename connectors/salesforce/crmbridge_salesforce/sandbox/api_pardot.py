"""Account Engagement (Pardot) API v5 queries, as strict as Pardot is.

``GET /api/v5/objects/{visitor-activities,prospects}`` with, in order: the Salesforce
session as bearer token (401, code 184), ``Pardot-Business-Unit-Id`` (400 code 181
missing, 400 code 182 malformed, 403 code 201 unknown), at most ``max_concurrent``
requests at once (429 code 66), the daily limit (429 code 122), then the query:
``fields`` required (400 code 13) and each known (400 code 224), ``limit`` 1–1,000
(400 code 52), ``orderBy`` on sortable fields (400 code 5), filters on at most three
fields (400 code 209), unknown parameters refused (400 code 5), readable times (400
code 7). Later pages come from ``nextPageUrl``; its token expires after 4 hours (400
code 210) and a token that is not the sandbox's is refused (400 code 211). A token
sequence stops after 100,000 records (``Pardot-Warning: 203``). Pardot documents the
codes, not the HTTP statuses; the statuses here are the sandbox's choice.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import threading
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from crmbridge import clock
from crmbridge_salesforce.sandbox.pardot_state import (
    SPECS,
    TOKEN_RECORDS,
    ObjectSpec,
    PardotState,
    shown,
    sort_key,
)
from crmbridge_salesforce.sandbox.pipeline import Services

PREFIX = "/api/v5/objects"
MAX_LIMIT = 1000
DEFAULT_LIMIT = 200
TOKEN_HOURS = 4
_BUSINESS_UNIT = re.compile(r"^0Uv[A-Za-z0-9]{15}$")
_ORDER = re.compile(r"^([A-Za-z]{1,40})(?:\s+(ASC|DESC))?$", re.IGNORECASE)
_FILTER = re.compile(
    r"^(id|type|email|prospectId|idGreaterThan|"
    r"(?:createdAt|updatedAt)(?:After|AfterOrEqualTo|Before|BeforeOrEqualTo)?)$"
)
_CONTROL = frozenset({"fields", "limit", "orderBy", "nextPageToken", "deleted"})


class PardotError(Exception):
    """A v5 error: HTTP status and Pardot's numeric code."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message

    def response(self) -> Response:
        """The error body v5 answers: ``{"code": N, "message": "..."}``."""
        return JSONResponse({"code": self.code, "message": self.message},
                            status_code=self.status)  # fmt: skip


def _bad(code: int, message: str) -> PardotError:
    return PardotError(400, code, message)


def _time(name: str, text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise _bad(7, f"Invalid timestamp: {name}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _fields(spec: ObjectSpec, text: str | None) -> list[str]:
    if not text:
        raise _bad(13, "One or more required parameters are missing: fields")
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in spec.fields]
    if unknown or not names:
        raise _bad(224, f"Invalid fields for request type: {', '.join(unknown)[:200]}")
    return list(dict.fromkeys(names))


def _order(spec: ObjectSpec, text: str | None) -> list[tuple[str, bool]]:
    if not text:
        return [("id", False)]
    order = []
    for part in text.split(","):
        found = _ORDER.match(part.strip())
        if found is None or found.group(1) not in spec.sortable:
            raise _bad(5, f"Invalid query parameters: orderBy {part.strip()[:60]}")
        order.append((found.group(1), (found.group(2) or "").upper() == "DESC"))
    return order


def _filters(spec: ObjectSpec, params: dict[str, str]) -> dict[str, Any]:
    filters: dict[str, Any] = {}
    for name, value in params.items():
        if name in _CONTROL:
            continue
        if name not in spec.filters or not _FILTER.match(name):
            raise _bad(5, f"Invalid query parameters: {name[:60]}")
        if name.startswith(("createdAt", "updatedAt")):
            filters[name] = _time(name, value).isoformat()
        elif name in ("email",):
            filters[name] = value
        else:
            if not value.isdigit() or len(value) > 18:
                raise _bad(16, f"Invalid ID: {name}")
            filters[name] = int(value)
    fields = {re.sub(r"(After|Before|OrEqualTo|GreaterThan)+$", "", n) for n in filters}
    if len(fields) > 3:
        raise _bad(209, "Too many fields have filters: The max number of 3 distinct fields "
                        "with filters was exceeded for this query.")  # fmt: skip
    return filters


def _matches(row: dict[str, Any], filters: dict[str, Any]) -> bool:
    for name, value in filters.items():
        if name.startswith(("createdAt", "updatedAt")):
            column = "createdAt" if name.startswith("createdAt") else "updatedAt"
            have, want = row[column], datetime.fromisoformat(value)
            rest = name[len(column) :]
            ok = {"": have == want, "After": have > want, "AfterOrEqualTo": have >= want,
                  "Before": have < want, "BeforeOrEqualTo": have <= want}[rest]  # fmt: skip
        elif name == "idGreaterThan":
            ok = row["id"] > value
        else:
            ok = row.get(name) == value
        if not ok:
            return False
    return True


class Tokens:
    """Page tokens: the query and where it stands, signed so none can be forged."""

    def __init__(self) -> None:
        self._key = secrets.token_bytes(32)

    def issue(self, query: dict[str, Any]) -> str:
        """A token for ``query`` (its expiry added)."""
        expires = clock.now() + timedelta(hours=TOKEN_HOURS)
        body = json.dumps({**query, "expireTime": expires.isoformat()}, separators=(",", ":"))
        raw = base64.urlsafe_b64encode(body.encode()).decode()
        mac = hmac.new(self._key, raw.encode(), hashlib.sha256).hexdigest()[:32]
        return f"{raw}.{mac}"

    def read(self, token: str) -> dict[str, Any]:
        """The query a token holds; code 211 for a forged one, 210 for an expired one."""
        raw, _, mac = token.partition(".")
        good = hmac.new(self._key, raw.encode(), hashlib.sha256).hexdigest()[:32]
        if not mac or not hmac.compare_digest(mac, good):
            raise _bad(211, "Page token is invalid.")
        query: dict[str, Any] = json.loads(base64.urlsafe_b64decode(raw))
        if datetime.fromisoformat(query["expireTime"]) <= clock.now():
            raise _bad(210, "Page token has expired.")
        return query


def _value(state: PardotState, row: dict[str, Any], fields: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in fields:
        head, _, sub = name.partition(".")
        if not sub:
            out[name] = shown(row.get(name))
            continue
        prospect = state.prospect(row.get("prospectId"))
        if prospect is None:
            out[head] = None
        else:
            nested = out.get(head) or {}
            nested[sub] = shown(prospect.get(sub))
            out[head] = nested
    return out


def _page(state: PardotState, obj: str, query: dict[str, Any], tokens: Tokens,
          base: str, again: str | None = None) -> Response:  # fmt: skip
    """One page of ``query``; ``again`` (the ``looping_pages`` fault): the URL named as
    the next page, whatever follows."""
    order = [(str(n), bool(d)) for n, d in query["order"]]
    rows = [r for r in state.rows(obj) if _matches(r, query["filters"])]
    rows.sort(key=lambda r: sort_key(r, order))
    after = query.get("after")
    if after is not None:
        rows = [r for r in rows if list(sort_key(r, order)) > after]
    limit = int(query["limit"])
    page, more = rows[:limit], len(rows) > limit
    count = int(query.get("count", 0)) + len(page)
    headers = {}
    token = None
    if more and count < TOKEN_RECORDS:
        token = tokens.issue({**query, "after": list(sort_key(page[-1], order)), "count": count})
    elif more:
        headers["Pardot-Warning"] = "203"
    url = None
    if token is not None:
        url = f"{base}{PREFIX}/{obj}?" + urlencode(
            {"fields": ",".join(query["fields"]), "nextPageToken": token}
        )
    if again is not None:
        url = again
    body = {"nextPageToken": token, "nextPageUrl": url,
            "values": [_value(state, r, query["fields"]) for r in page]}  # fmt: skip
    return JSONResponse(body, headers=headers)


def routes(services: Services) -> list[Route]:
    """The v5 query routes, on the sandbox's host."""
    state: PardotState = services.extras.setdefault("pardot", PardotState())
    tokens = Tokens()
    lock = threading.Lock()
    running = [0]

    def admit(request: Request) -> None:
        auth = request.headers.get("authorization", "")
        token = auth[7:] if auth.lower().startswith("bearer ") else ""
        if not token or not services.sessions.valid(token):
            raise PardotError(401, 184, "access_token is invalid, unknown, or malformed")
        unit = request.headers.get("pardot-business-unit-id")
        if unit is None:
            raise _bad(181, "A required header is missing: Pardot-Business-Unit-Id header "
                            "not found on request.")  # fmt: skip
        if not _BUSINESS_UNIT.match(unit):
            raise _bad(182, "Invalid header value: Pardot-Business-Unit-Id")
        if unit != state.business_unit_id:
            raise PardotError(403, 201, "Business Unit specified in Pardot-Business-Unit-Id "
                                        "header not found or inactive.")  # fmt: skip
        if not state.count_call():
            raise PardotError(429, 122, "Daily API rate limit met")

    def plan(obj: str, spec: ObjectSpec, request: Request) -> dict[str, Any]:
        multi = request.query_params.multi_items()
        params = dict(multi)
        if len(params) != len(multi):
            raise _bad(5, "Invalid query parameters: a parameter is repeated")
        fields = _fields(spec, params.get("fields"))
        if "nextPageToken" in params:
            query = tokens.read(params["nextPageToken"])
            if query.get("obj") != obj:
                raise _bad(211, "Page token is invalid.")
            return {**query, "fields": fields}
        text = params.get("limit", str(DEFAULT_LIMIT))
        if not text.isdigit() or not 1 <= int(text) <= MAX_LIMIT:
            raise _bad(52, "Invalid parameter range: limit must be from 1 to 1000")
        return {"obj": obj, "fields": fields, "limit": int(text),
                "order": _order(spec, params.get("orderBy")),
                "filters": _filters(spec, params)}  # fmt: skip

    async def query(request: Request) -> Response:
        obj = request.path_params["obj"]
        spec = SPECS.get(obj)
        with lock:
            running[0] += 1
            busy = running[0] > state.max_concurrent
        try:
            if spec is None:
                raise PardotError(404, 198, "Endpoint not found")
            admit(request)
            if busy:
                raise PardotError(429, 66, "You have exceeded your concurrent request limit. "
                                           "Please wait, before trying again")  # fmt: skip
            base = f"{request.url.scheme}://{request.url.netloc}"
            later = "nextPageToken" in request.query_params
            again = str(request.url) if state.looping_pages and later else None
            return _page(state, obj, plan(obj, spec, request), tokens, base, again)
        except PardotError as error:
            return error.response()
        finally:
            with lock:
                running[0] -= 1

    return [Route(PREFIX + "/{obj}", query, methods=["GET"]), *admin_routes(state)]


def _when(value: Any) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError("a time is an ISO-8601 string")
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def admin_routes(state: PardotState) -> list[Route]:
    """``/_sandbox/pardot/...``: seed the business unit over HTTP (``crmbridge sandbox``).

    - ``POST /_sandbox/pardot/prospects``: ``{"email", "salesforce_id", "score", "grade"}``;
    - ``PATCH /_sandbox/pardot/prospects/{id}``: ``{"score", "grade", "at"}``;
    - ``POST /_sandbox/pardot/activities``: ``{"activities": [{"type", "prospect_id",
      "at"}], "staged": false}`` (at most 10,000 a request);
    - ``POST /_sandbox/pardot/commit``: staged activities become visible.
    """

    async def body(request: Request) -> dict[str, Any]:
        raw = await request.body()
        if len(raw) > 10 * 1024 * 1024:
            raise ValueError("the body is larger than 10 MB")
        data = json.loads(raw or b"{}")
        if not isinstance(data, dict):
            raise ValueError("the body is a JSON object")
        return data

    async def add_prospect(request: Request) -> dict[str, Any]:
        data = await body(request)
        pid = state.add_prospect(
            email=data.get("email"),
            salesforce_id=data.get("salesforce_id"),
            score=int(data.get("score") or 0),
            grade=data.get("grade"),
        )
        return {"id": pid}

    async def change_prospect(request: Request) -> dict[str, Any]:
        data = await body(request)
        pid = int(request.path_params["pid"])
        if pid not in state.prospects:
            raise KeyError(pid)
        values = {k: data[k] for k in ("score", "grade", "email") if k in data}
        state.update_prospect(pid, _when(data.get("at")), **values)
        return {"id": pid}

    async def add_activities(request: Request) -> dict[str, Any]:
        data = await body(request)
        rows = data.get("activities")
        if not isinstance(rows, list) or len(rows) > 10_000:
            raise ValueError("activities: a list of at most 10,000")
        parsed = [
            {"type": int(r["type"]), "prospect_id": r.get("prospect_id"), "at": _when(r.get("at"))}
            for r in rows
        ]
        return {"ids": state.add_activities(parsed, staged=bool(data.get("staged")))}

    async def commit(request: Request) -> dict[str, Any]:
        state.commit()
        return {}

    def handler(action: Any) -> Any:
        async def endpoint(request: Request) -> Response:
            try:
                return JSONResponse(await action(request))
            except KeyError:
                return JSONResponse({"message": "no such prospect"}, status_code=404)
            except (ValueError, TypeError) as exc:
                return JSONResponse({"message": str(exc)[:200]}, status_code=400)

        return endpoint

    base = "/_sandbox/pardot"
    return [
        Route(f"{base}/prospects", handler(add_prospect), methods=["POST"]),
        Route(f"{base}/prospects/{{pid:int}}", handler(change_prospect), methods=["PATCH"]),
        Route(f"{base}/activities", handler(add_activities), methods=["POST"]),
        Route(f"{base}/commit", handler(commit), methods=["POST"]),
    ]
