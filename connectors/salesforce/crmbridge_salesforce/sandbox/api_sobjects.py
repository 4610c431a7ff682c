"""sObject resources: describe, single records, sObject Collections, getDeleted/getUpdated
and ``limits``.

Describe lists only the fields the integration user can see (field-level security
removes the others, as in Salesforce). ``composite/sobjects`` takes at most 200 records
of any objects, each with ``attributes.type``; with ``allOrNone: false`` every record
gets its own save result, in order; with ``allOrNone: true`` one failure rolls all back
(``ALL_OR_NONE_OPERATION_ROLLED_BACK`` on the others).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from crmbridge_salesforce.sandbox import writes
from crmbridge_salesforce.sandbox.pipeline import Services, guarded, json_body
from crmbridge_salesforce.sandbox.state import now_ms
from crmbridge_salesforce.sandbox.wire import ApiError, SalesforceJSON, record_error

#: sObject Collections take at most this many records per call.
MAX_COLLECTION = 200
#: getDeleted answers for the last 15 days, getUpdated for the last 30.
DELETED_DAYS = 15
UPDATED_DAYS = 30
#: The error of a valid record of an allOrNone call that another record failed.
ROLLED_BACK = record_error(
    "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    "Record rolled back because not all records were valid and the request was using "
    "AllOrNone header",
)


def _sobject(services: Services, name: str) -> str:
    canonical = services.state.object_name(name)
    if canonical is None:
        raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
    return canonical


def auto_assign(request: Request) -> bool:
    """``Sforce-Auto-Assign``: anything but FALSE (the default is TRUE) runs assignment."""
    return request.headers.get("sforce-auto-assign", "TRUE").strip().upper() != "FALSE"


def describe(services: Services, sobject: str, version: str) -> dict[str, Any]:
    """An sObject describe, with only the fields the integration user can see."""
    state = services.state
    fields = [f.describe() for f in state.schema.fields(sobject) if state.can_read(sobject, f.name)]
    return {
        "name": sobject,
        "label": sobject,
        "keyPrefix": state.schema.prefix(sobject),
        "custom": False,
        "createable": True,
        "updateable": True,
        "queryable": True,
        "fields": fields,
        "urls": {"sobject": f"/services/data/{version}/sobjects/{sobject}"},
    }


def _parse_window(request: Request, days: int) -> tuple[datetime, datetime]:
    try:
        start = datetime.fromisoformat(request.query_params["start"].replace("Z", "+00:00"))
        end = datetime.fromisoformat(request.query_params["end"].replace("Z", "+00:00"))
    except (KeyError, ValueError) as exc:
        raise ApiError(400, "MALFORMED_QUERY", "start and end must be ISO-8601 datetimes") from exc
    if start.tzinfo is None or end.tzinfo is None:
        raise ApiError(400, "MALFORMED_QUERY", "start and end need a time zone")
    earliest = now_ms() - timedelta(days=days)
    if start < earliest:
        raise ApiError(
            400, "INVALID_REPLICATION_DATE", "startDate before org replication enabled date"
        )
    if end <= start:
        raise ApiError(400, "INVALID_REPLICATION_DATE", "endDate before startDate")
    return start.astimezone(UTC), end.astimezone(UTC)


def collection_update(
    services: Services, records: list[Any], all_or_none: bool, assign: bool
) -> list[dict[str, Any]]:
    """Save results of an sObject Collections update, one per record in order."""
    state = services.state
    with state.lock:
        checked: list[_Planned | dict[str, Any]] = []
        for item in records:
            if not isinstance(item, dict):
                checked.append({"success": False, "errors": [record_error(
                    "JSON_PARSER_ERROR", "a record must be a JSON object")]})  # fmt: skip
                continue
            fields = {k: v for k, v in item.items() if k not in ("attributes", "id", "Id")}
            record_id = item.get("id", item.get("Id"))
            sobject = state.schema.object_name(str((item.get("attributes") or {}).get("type", "")))
            try:
                if sobject is None:
                    raise writes.RecordRefusedError(
                        "INVALID_TYPE", "Must send a concrete entity type.", []
                    )
                full_id, values = writes.check_update(state, sobject, record_id, fields)
            except writes.RecordRefusedError as refused:
                shown = record_id if isinstance(record_id, str) else None
                checked.append({"id": shown, "success": False, "errors": [refused.error]})
                continue
            checked.append(_Planned(sobject, values, full_id))
        return _save_all(services, checked, all_or_none, assign)


@dataclass
class _Planned:
    """A record that passed its checks: created when ``record_id`` is None."""

    sobject: str
    values: dict[str, Any]
    record_id: str | None = None


def _rolled_back(record_id: str | None) -> dict[str, Any]:
    result: dict[str, Any] = {"success": False, "errors": [ROLLED_BACK]}
    return result if record_id is None else {"id": record_id} | result


def _save_all(
    services: Services, checked: list[_Planned | dict[str, Any]], all_or_none: bool, assign: bool
) -> list[dict[str, Any]]:
    """Write the checked records (unless allOrNone and one failed); results in order."""
    state = services.state
    if all_or_none and any(isinstance(c, dict) for c in checked):
        return [c if isinstance(c, dict) else _rolled_back(c.record_id) for c in checked]
    results = []
    for c in checked:
        if isinstance(c, dict):
            results.append(c)
            continue
        values = writes.assigned(state, c.sobject, c.values, assign)
        if c.record_id is None:
            saved = state.insert(c.sobject, values, by=state.users.integration)
        else:
            state.update(c.sobject, c.record_id, values, by=state.users.integration)
            saved = c.record_id
        results.append({"id": saved, "success": True, "errors": []})
    return results


def routes(services: Services) -> list[Route]:
    """The sObject routes."""
    state = services.state

    async def global_describe(request: Request) -> Response:
        version = request.path_params["version"]
        listed = [
            {
                "name": name,
                "label": name,
                "keyPrefix": state.schema.prefix(name),
                "queryable": True,
                "urls": {"sobject": f"/services/data/{version}/sobjects/{name}"},
            }
            for name in state.schema.objects
            if name not in state.absent
        ]
        return SalesforceJSON(
            {"encoding": "UTF-8", "maxBatchSize": MAX_COLLECTION, "sobjects": listed}
        )

    async def describe_one(request: Request) -> Response:
        sobject = _sobject(services, request.path_params["sobject"])
        return SalesforceJSON(describe(services, sobject, request.path_params["version"]))

    async def create_one(request: Request) -> Response:
        sobject = _sobject(services, request.path_params["sobject"])
        body = await json_body(request)
        if not isinstance(body, dict):
            raise ApiError(400, "JSON_PARSER_ERROR", "The request body must be a JSON object")
        result = writes.create(state, sobject, body, auto_assign=auto_assign(request))
        if not result["success"]:
            error = result["errors"][0]
            raise ApiError(400, error["statusCode"], error["message"], error["fields"])
        return SalesforceJSON(result, status_code=201)

    async def record(request: Request) -> Response:
        sobject = _sobject(services, request.path_params["sobject"])
        record_id = request.path_params["record_id"]
        if request.method == "PATCH":
            body = await json_body(request)
            if not isinstance(body, dict):
                raise ApiError(400, "JSON_PARSER_ERROR", "The request body must be a JSON object")
            result = writes.update(
                state, sobject, record_id, body, auto_assign=auto_assign(request)
            )
            if not result["success"]:
                error = result["errors"][0]
                status = 404 if error["statusCode"] == "INVALID_CROSS_REFERENCE_KEY" else 400
                raise ApiError(status, error["statusCode"], error["message"], error["fields"])
            return Response(status_code=204)
        found = state.find(record_id)
        if found is None or found[0] != sobject or found[1]["IsDeleted"]:
            raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
        if request.method == "DELETE":
            state.delete(sobject, found[1]["Id"])
            return Response(status_code=204)
        version = request.path_params["version"]
        body = {
            "attributes": {"type": sobject,
                           "url": f"/services/data/{version}/sobjects/{sobject}/{found[1]['Id']}"}
        } | {k: v for k, v in found[1].items() if state.can_read(sobject, k)}  # fmt: skip
        return SalesforceJSON(body)

    async def collections(request: Request) -> Response:
        body = await json_body(request)
        records = body.get("records") if isinstance(body, dict) else None
        if not isinstance(records, list) or not records:
            raise ApiError(400, "INVALID_FIELD", "records is required and must be a list")
        if len(records) > MAX_COLLECTION:
            raise ApiError(
                400, "EXCEEDED_ID_LIMIT",
                f"record limit reached. cannot submit more than {MAX_COLLECTION} records into "
                "this call",
            )  # fmt: skip
        all_or_none = bool(body.get("allOrNone", False))
        if request.method == "PATCH":
            return SalesforceJSON(
                collection_update(services, records, all_or_none, auto_assign(request))
            )
        return SalesforceJSON(collection_create(services, records, all_or_none, request))

    async def deleted(request: Request) -> Response:
        sobject = _sobject(services, request.path_params["sobject"])
        start, end = _parse_window(request, DELETED_DAYS)
        with state.lock:
            rows = [(rid, when) for rid, when in state.deleted[sobject] if start <= when < end]
        return SalesforceJSON(
            {
                "deletedRecords": [{"id": rid, "deletedDate": when} for rid, when in rows],
                "earliestDateAvailable": now_ms() - timedelta(days=DELETED_DAYS),
                "latestDateCovered": min(end, now_ms()),
            }
        )

    async def updated(request: Request) -> Response:
        sobject = _sobject(services, request.path_params["sobject"])
        start, end = _parse_window(request, UPDATED_DAYS)
        ids = [
            r["Id"]
            for r in state.visible(sobject, include_deleted=False)
            if start <= r["SystemModstamp"] < end
        ]
        return SalesforceJSON({"ids": ids, "latestDateCovered": min(end, now_ms())})

    async def limits(request: Request) -> Response:
        limit = services.config.daily_limit
        return SalesforceJSON(
            {
                "DailyApiRequests": {"Max": limit, "Remaining": max(0, limit - state.api_used)},
                "DailyBulkV2QueryJobs": {"Max": 10000, "Remaining": 10000},
                "DailyBulkApiBatches": {"Max": 15000, "Remaining": 15000},
            }
        )

    base = "/services/data/{version}"
    table: list[tuple[str, Any, list[str]]] = [
        ("/sobjects", global_describe, ["GET"]),
        ("/sobjects/{sobject}/describe", describe_one, ["GET"]),
        ("/sobjects/{sobject}/deleted", deleted, ["GET"]),
        ("/sobjects/{sobject}/updated", updated, ["GET"]),
        ("/sobjects/{sobject}", create_one, ["POST"]),
        ("/sobjects/{sobject}/{record_id}", record, ["GET", "PATCH", "DELETE"]),
        ("/composite/sobjects", collections, ["PATCH", "POST"]),
        ("/limits", limits, ["GET"]),
    ]
    return [Route(base + path, guarded(services, fn), methods=m) for path, fn, m in table]


def collection_create(
    services: Services, records: list[Any], all_or_none: bool, request: Request
) -> list[dict[str, Any]]:
    """Save results of an sObject Collections create (tasks, email messages...)."""
    state = services.state
    assign = auto_assign(request)
    with state.lock:
        checked: list[_Planned | dict[str, Any]] = []
        for item in records:
            sobject = None
            if isinstance(item, dict):
                sobject = state.schema.object_name(
                    str((item.get("attributes") or {}).get("type", ""))
                )
            try:
                if not isinstance(item, dict) or sobject is None:
                    raise writes.RecordRefusedError(
                        "INVALID_TYPE", "Must send a concrete entity type.", []
                    )
                if item.get("id") or item.get("Id"):
                    raise writes.RecordRefusedError(
                        "INVALID_FIELD", "cannot specify Id in an insert call", ["Id"]
                    )
                fields = {k: v for k, v in item.items() if k != "attributes"}
                checked.append(_Planned(sobject, writes.check_create(state, sobject, fields)))
            except writes.RecordRefusedError as refused:
                checked.append({"success": False, "errors": [refused.error]})
        return _save_all(services, checked, all_or_none, assign)
