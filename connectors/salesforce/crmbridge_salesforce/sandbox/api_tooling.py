"""The Tooling API's ``CustomField``: creating fields, and finding them by query.

``POST tooling/sobjects/CustomField`` with ``{"FullName": "Lead.Score__c", "Metadata":
{"type", "label", ...}}`` adds the field (201 ``{"id", "success", "errors"}``). As in
Salesforce the new field is hidden from the integration user until a permission set
assigned to it grants Read (``FieldPermissions``). Refusals: an existing name
``DUPLICATE_DEVELOPER_NAME``; a bad name, type or length ``FIELD_INTEGRITY_EXCEPTION``;
an unknown object ``INVALID_TYPE``. ``GET tooling/query`` answers ``SELECT Id,
DeveloperName, TableEnumOrId FROM CustomField [WHERE ...]``.
"""

from __future__ import annotations

import re
import threading
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from crmbridge_salesforce.sandbox.pipeline import Services, guarded, json_body
from crmbridge_salesforce.sandbox.soql import Comparison, Literal, SoqlError, parse
from crmbridge_salesforce.sandbox.state import id18
from crmbridge_salesforce.sandbox.wire import ApiError, SalesforceJSON

_NAME = re.compile(r"^([A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)*)__c$")
#: Metadata types the sandbox creates, and the describe type each becomes.
TYPES = {
    "Text": "string", "Number": "double", "Checkbox": "boolean", "DateTime": "datetime",
    "Date": "date", "Picklist": "picklist", "LongTextArea": "textarea", "Percent": "percent",
    "Currency": "currency", "Email": "email", "Url": "url",
}  # fmt: skip
_TOOLING_FIELDS = {"id": "Id", "developername": "DeveloperName", "tableenumorid": "TableEnumOrId"}


def _refuse(message: str, code: str = "FIELD_INTEGRITY_EXCEPTION") -> ApiError:
    return ApiError(400, code, message)


def _check_metadata(kind: str, meta: dict[str, Any]) -> None:
    label = meta.get("label")
    if not isinstance(label, str) or not label.strip() or len(label) > 40:
        raise _refuse("Field label: a label of 1 to 40 characters is required")
    if kind == "Text":
        length = meta.get("length")
        if not isinstance(length, int) or not 1 <= length <= 255:
            raise _refuse("Length: Text fields need a length from 1 to 255")
    if kind == "LongTextArea":
        length = meta.get("length")
        if not isinstance(length, int) or not 256 <= length <= 131_072:
            raise _refuse("Length: Long Text Area fields need a length from 256 to 131,072")
        if not isinstance(meta.get("visibleLines"), int):
            raise _refuse("Visible Lines: required for Long Text Area fields")
    if kind in ("Number", "Percent", "Currency"):
        precision, scale = meta.get("precision"), meta.get("scale")
        if not (isinstance(precision, int) and isinstance(scale, int)):
            raise _refuse("Precision and scale are required for numbers")
        if not (1 <= precision <= 18 and 0 <= scale <= precision):
            raise _refuse("Precision must be 1 to 18 and scale at most the precision")
    if kind == "Picklist":
        values = ((meta.get("valueSet") or {}).get("valueSetDefinition") or {}).get("value")
        if not isinstance(values, list) or not values:
            raise _refuse("Picklist: at least one value is required")


def _shape(kind: str, meta: dict[str, Any]) -> dict[str, Any]:
    """Length, restricted values and integer digits of a new field, from its metadata."""
    shape: dict[str, Any] = {}
    if kind in ("Text", "LongTextArea"):
        shape["length"] = int(meta["length"])
    if kind in ("Number", "Percent", "Currency"):
        shape["integer_digits"] = int(meta["precision"]) - int(meta["scale"])
    if kind == "Picklist":
        value_set = meta.get("valueSet") or {}
        if value_set.get("restricted"):
            values = value_set["valueSetDefinition"]["value"]
            shape["restricted_values"] = tuple(str(v.get("fullName")) for v in values)
    return shape


def routes(services: Services) -> list[Route]:
    """The Tooling API routes."""
    state = services.state
    created: list[dict[str, str]] = []
    lock = threading.Lock()

    async def create(request: Request) -> Response:
        body = await json_body(request, limit=1024 * 1024)
        if not isinstance(body, dict) or not isinstance(body.get("Metadata"), dict):
            raise _refuse("FullName and Metadata are required", "INVALID_INPUT")
        full = str(body.get("FullName", ""))
        sobject_name, _, name = full.partition(".")
        sobject = state.schema.object_name(sobject_name)
        if sobject is None:
            raise ApiError(400, "INVALID_TYPE", f"Cannot find object: {sobject_name[:80]}")
        match = _NAME.match(name)
        if match is None or len(match.group(1)) > 40:
            raise _refuse(f"Field name {name[:80]!r} is not a valid custom field name")
        meta: dict[str, Any] = body["Metadata"]
        kind = meta.get("type")
        if kind not in TYPES:
            raise _refuse(f"Unknown field type {str(kind)[:40]!r}")
        _check_metadata(str(kind), meta)
        with lock, state.lock:
            if state.schema.field(sobject, name) is not None:
                raise ApiError(
                    400, "DUPLICATE_DEVELOPER_NAME",
                    f"There is already a field named {match.group(1)} on {sobject}.",
                )  # fmt: skip
            definition = state.schema.add_custom_field(
                sobject, name, TYPES[str(kind)], str(meta["label"]), **_shape(str(kind), meta)
            )
            # Existing records read the default: a checkbox is false unless it says true.
            initial = (str(meta.get("defaultValue", "false")).lower() == "true"
                       if definition.type == "boolean" else None)  # fmt: skip
            for record in state.records[sobject].values():
                record.setdefault(name, initial)
            field_id = id18("00N5g" + str(len(created) + 1).rjust(10, "0"))
            created.append(
                {"Id": field_id, "DeveloperName": match.group(1), "TableEnumOrId": sobject}
            )
        return SalesforceJSON(
            {"id": field_id, "success": True, "errors": [], "warnings": [], "infos": []},
            status_code=201,
        )

    async def query(request: Request) -> Response:
        soql = request.query_params.get("q", "")
        parsed = parse(soql)
        if parsed.sobject.lower() != "customfield":
            raise ApiError(
                400, "INVALID_TYPE", f"sObject type '{parsed.sobject}' is not supported."
            )
        columns = []
        for name in parsed.fields:
            if name.lower() not in _TOOLING_FIELDS:
                raise SoqlError(f"No such column '{name}' on entity 'CustomField'", "INVALID_FIELD")
            columns.append(_TOOLING_FIELDS[name.lower()])
        where = parsed.where
        with lock:
            rows = list(created)
        if where is not None:
            if not (
                isinstance(where, Comparison)
                and where.op == "="
                and isinstance(where.value, Literal)
            ):
                raise SoqlError("the sandbox filters CustomField on one field with = only")
            column = _TOOLING_FIELDS.get(where.field.lower())
            if column is None:
                raise SoqlError(f"No such column '{where.field}' on entity 'CustomField'",
                                "INVALID_FIELD")  # fmt: skip
            wanted = str(where.value.value).lower()
            rows = [r for r in rows if r[column].lower() == wanted]
        version = request.path_params["version"]
        records = [
            {"attributes": {
                "type": "CustomField",
                "url": f"/services/data/{version}/tooling/sobjects/CustomField/{r['Id']}",
            }} | {c: r[c] for c in columns}
            for r in rows
        ]  # fmt: skip
        return SalesforceJSON(
            {"size": len(records), "totalSize": len(records), "done": True,
             "queryLocator": None, "entityTypeName": "CustomField", "records": records}
        )  # fmt: skip

    base = "/services/data/{version}/tooling"
    return [
        Route(base + "/sobjects/CustomField", guarded(services, create), methods=["POST"]),
        Route(base + "/query", guarded(services, query), methods=["GET"]),
    ]
