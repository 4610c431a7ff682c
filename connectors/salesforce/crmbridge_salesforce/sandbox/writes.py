"""Creating and updating records as the integration user, with Salesforce's per-record errors.

One function per write (:func:`create`, :func:`update`) returns a save result,
``{"id", "success", "errors": [{"statusCode", "message", "fields"}]}``; REST, sObject
Collections and Bulk 2.0 all go through here, so they refuse the same things:

- an unknown field: ``INVALID_FIELD``; a field the user cannot edit (read-only, or
  hidden or read-only by field-level security): ``INVALID_FIELD_FOR_INSERT_UPDATE``;
- a value of the wrong type: ``INVALID_TYPE_ON_FIELD_IN_RECORD``; too long:
  ``STRING_TOO_LONG``; a required field left empty: ``REQUIRED_FIELD_MISSING``;
- an update of a converted lead: ``CANNOT_UPDATE_CONVERTED_LEAD``; of a deleted record:
  ``ENTITY_IS_DELETED``; of an id that is malformed or unknown: ``MALFORMED_ID`` /
  ``INVALID_CROSS_REFERENCE_KEY``;
- a lookup (``WhoId``, ``OwnerId``...) naming a record of another object:
  ``FIELD_INTEGRITY_EXCEPTION`` ("Name ID: id value of incorrect type"); one that does
  not exist: ``INVALID_CROSS_REFERENCE_KEY``; one in the recycle bin:
  ``ENTITY_IS_DELETED``; an inactive user as owner: ``INACTIVE_OWNER_OR_USER``.

Lead writes re-run the assignment rules unless ``Sforce-Auto-Assign: FALSE`` is sent
(the header defaults to true): the lead's owner becomes the assignment rule's owner.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from crmbridge_salesforce.sandbox.schema import NUMERIC_TYPES, TEXT_TYPES, FieldDef
from crmbridge_salesforce.sandbox.state import OrgState
from crmbridge_salesforce.sandbox.wire import record_error

_ID = re.compile(r"^[0-9A-Za-z]{15}(?:[0-9A-Za-z]{3})?$")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}\.[^@\s]{1,63}$")
#: Fields Salesforce requires on create, per object (beyond non-nillable fields).
_DEFAULTS = {
    "Lead": {"Status": "Open - Not Contacted"},
    "Task": {"Status": "Not Started", "Priority": "Normal"},
}


class RecordRefusedError(Exception):
    """A per-record refusal; ``error`` is its entry in the save result."""

    def __init__(self, code: str, message: str, fields: list[str]) -> None:
        super().__init__(message)
        self.error = record_error(code, message, fields)


def convert(fdef: FieldDef, value: Any) -> Any:
    """``value`` (as JSON gives it) as stored for ``fdef``, or :class:`RecordRefusedError`."""
    if value is None:
        return None
    kind = fdef.type
    wrong = RecordRefusedError(
        "INVALID_TYPE_ON_FIELD_IN_RECORD",
        f"{fdef.label}: value not of required type: {str(value)[:80]}",
        [fdef.name],
    )
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise wrong
    if kind in NUMERIC_TYPES:
        if isinstance(value, bool):
            raise wrong
        try:
            number = float(value) if isinstance(value, str | int | float) else None
        except ValueError:
            number = None
        if number is None or number != number or number in (float("inf"), float("-inf")):
            raise wrong
        if fdef.integer_digits is not None and abs(number) >= 10**fdef.integer_digits:
            raise RecordRefusedError(
                "NUMBER_OUTSIDE_VALID_RANGE",
                f"{fdef.label}: value outside of valid range on numeric field: {number}",
                [fdef.name],
            )
        if kind == "int":
            if number != int(number):
                raise wrong
            return int(number)
        return number
    if kind in ("date", "datetime"):
        if not isinstance(value, str):
            raise wrong
        try:
            if kind == "date":
                return date.fromisoformat(value)
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise wrong from None
        if moment.tzinfo is None:
            raise wrong
        return moment
    if not isinstance(value, str):
        if isinstance(value, int | float) and not isinstance(value, bool) and kind in TEXT_TYPES:
            value = str(value)
        else:
            raise wrong
    if kind in ("id", "reference") and not _ID.match(value):
        raise RecordRefusedError(
            "MALFORMED_ID", f"{fdef.label}: id value of incorrect type: {value[:40]}", [fdef.name]
        )
    if fdef.length and len(value) > fdef.length:
        raise RecordRefusedError(
            "STRING_TOO_LONG",
            f"{fdef.label}: data value too large: {value[:40]}... (max length={fdef.length})",
            [fdef.name],
        )
    if fdef.restricted_values is not None and value and value not in fdef.restricted_values:
        raise RecordRefusedError(
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            f"{fdef.label}: bad value for restricted picklist field: {value[:80]}",
            [fdef.name],
        )
    if kind == "email" and value and not _EMAIL.match(value):
        raise RecordRefusedError("INVALID_EMAIL_ADDRESS", f"{fdef.label}: invalid email address: "
                       f"{value[:80]}", [fdef.name])  # fmt: skip
    return value


def _values(
    state: OrgState, sobject: str, fields: dict[str, Any], creating: bool
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    unknown = [k for k in fields if state.schema.field(sobject, k) is None]
    if unknown:
        raise RecordRefusedError(
            "INVALID_FIELD", f"No such column '{unknown[0]}' on sobject of type {sobject}", unknown
        )
    forbidden = []
    for key, value in fields.items():
        fdef = state.schema.field(sobject, key)
        assert fdef is not None
        allowed = fdef.createable if creating else fdef.updateable
        if not allowed or not state.can_edit(sobject, fdef.name):
            forbidden.append(fdef.name)
            continue
        out[fdef.name] = convert(fdef, value)
        if fdef.references is not None and out[fdef.name]:
            out[fdef.name] = _looked_up(state, sobject, fdef, out[fdef.name])
    if forbidden:
        raise RecordRefusedError(
            "INVALID_FIELD_FOR_INSERT_UPDATE",
            f"Unable to create/update fields: {', '.join(forbidden)}. Please check the security "
            "settings of this field and verify that it is read/write for your profile or "
            "permission set.",
            forbidden,
        )
    return out


def _looked_up(state: OrgState, sobject: str, fdef: FieldDef, value: str) -> str:
    """The 18-character id a lookup names, or the refusal Salesforce gives."""
    targets = fdef.references or ()
    if state.schema.sobject_of_id(value) not in targets:
        raise RecordRefusedError(
            "FIELD_INTEGRITY_EXCEPTION",
            f"{fdef.reference_label}: id value of incorrect type: {value[:40]}",
            [fdef.name],
        )
    found = state.find(value)
    if found is None:
        raise RecordRefusedError(
            "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [fdef.name]
        )
    target, record = found
    if record["IsDeleted"]:
        raise RecordRefusedError("ENTITY_IS_DELETED", "entity is deleted", [fdef.name])
    if target == "User" and record.get("IsActive") is False:
        raise RecordRefusedError(
            "INACTIVE_OWNER_OR_USER",
            f"operation performed with inactive user [{record['Id']}] as owner of "
            f"{sobject.lower()}",
            [fdef.name],
        )
    return str(record["Id"])


def _failed(record_id: str | None, error: dict[str, Any]) -> dict[str, Any]:
    return {"id": record_id, "success": False, "errors": [error]} if record_id else {
        "success": False, "errors": [error]}  # fmt: skip


def assigned(
    state: OrgState, sobject: str, values: dict[str, Any], auto_assign: bool
) -> dict[str, Any]:
    """``values`` after the lead assignment rule ran (it owns every lead written while
    ``Sforce-Auto-Assign`` is not FALSE)."""
    if sobject == "Lead" and auto_assign:
        return values | {"OwnerId": state.users.assignment_owner}
    return values


def check_create(state: OrgState, sobject: str, fields: dict[str, Any]) -> dict[str, Any]:
    """The values to insert, or raises the per-record error (as a result dict)."""
    values = _values(state, sobject, fields, creating=True)
    for key, default in _DEFAULTS.get(sobject, {}).items():
        values.setdefault(key, default)
    owner = state.schema.field(sobject, "OwnerId")
    if owner is not None and owner.createable and not values.get("OwnerId"):
        # A record created without an owner belongs to whoever created it.
        values["OwnerId"] = state.users.integration
    _check_setup_record(state, sobject, values)
    missing = [
        f.name
        for f in state.schema.fields(sobject)
        if not f.nillable
        and f.createable
        and f.type != "boolean"
        and values.get(f.name) in (None, "")
    ]
    if missing:
        raise RecordRefusedError(
            "REQUIRED_FIELD_MISSING",
            f"Required fields are missing: [{', '.join(missing)}]",
            missing,
        )
    return values


def _check_setup_record(state: OrgState, sobject: str, values: dict[str, Any]) -> None:
    """What Salesforce checks of permission rows: they name things that exist, once."""
    if sobject == "FieldPermissions":
        key = str(values.get("Field") or "")
        owner, _, name = key.partition(".")
        fdef = state.schema.field(owner, name) if owner in state.schema.objects else None
        if fdef is None or owner != values.get("SobjectType") or not fdef.permissionable:
            raise RecordRefusedError(
                "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", f"Field: bad value for restricted "
                f"picklist field: {key[:80]}", ["Field"],
            )  # fmt: skip
        if values.get("PermissionsEdit") and not values.get("PermissionsRead"):
            raise RecordRefusedError(
                "FIELD_INTEGRITY_EXCEPTION", "Permission Read is required for Edit",
                ["PermissionsRead"],
            )  # fmt: skip
        duplicate: tuple[str, ...] = ("ParentId", "Field")
    elif sobject == "PermissionSetAssignment":
        duplicate = ("AssigneeId", "PermissionSetId")
    elif sobject == "PermissionSet":
        duplicate = ("Name",)
    elif sobject == "CampaignMember":
        _check_campaign_member(state, values)
        return
    else:
        return
    with state.lock:
        for row in state.records[sobject].values():
            if not row["IsDeleted"] and all(row.get(k) == values.get(k) for k in duplicate):
                raise RecordRefusedError(
                    "DUPLICATE_VALUE", f"duplicate value found: {duplicate[-1]} duplicates value "
                    f"on record with id: {row['Id']}", [],
                )  # fmt: skip


def _check_campaign_member(state: OrgState, values: dict[str, Any]) -> None:
    """A member names a live campaign and a lead or contact, and joins it once."""
    refs = {"CampaignId": "Campaign", "LeadId": "Lead", "ContactId": "Contact"}
    if not values.get("LeadId") and not values.get("ContactId"):
        raise RecordRefusedError(
            "REQUIRED_FIELD_MISSING", "Required fields are missing: [LeadId, ContactId]",
            ["LeadId", "ContactId"],
        )  # fmt: skip
    with state.lock:
        for name, target in refs.items():
            ref = values.get(name)
            found = state.find(str(ref)) if ref else None
            if ref and (found is None or found[0] != target or found[1]["IsDeleted"]):
                raise RecordRefusedError(
                    "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [name]
                )
            if ref and found is not None:
                values[name] = found[1]["Id"]  # the 18-character id, as Salesforce stores it
        who = "ContactId" if values.get("ContactId") else "LeadId"
        for row in state.records["CampaignMember"].values():
            if (
                not row["IsDeleted"]
                and row.get("CampaignId") == values["CampaignId"]
                and row.get(who) == values[who]
            ):
                raise RecordRefusedError("DUPLICATE_VALUE", "Already a campaign member.", [])


def create(
    state: OrgState, sobject: str, fields: dict[str, Any], *, auto_assign: bool = True
) -> dict[str, Any]:
    """Insert a record as the integration user; the save result."""
    try:
        values = check_create(state, sobject, fields)
    except RecordRefusedError as refused:
        return _failed(None, refused.error)
    new_id = state.insert(
        sobject, assigned(state, sobject, values, auto_assign), by=state.users.integration
    )
    return {"id": new_id, "success": True, "errors": []}


def check_update(
    state: OrgState, sobject: str, record_id: Any, fields: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    """The full id and values of an update, or :class:`RecordRefusedError`."""
    if not isinstance(record_id, str) or not record_id:
        raise RecordRefusedError("MISSING_ARGUMENT", "Id not specified in an update call", [])
    if not _ID.match(record_id) or state.schema.sobject_of_id(record_id) != sobject:
        raise RecordRefusedError("MALFORMED_ID", f"{sobject} ID: id value of incorrect type: "
                       f"{record_id[:40]}", ["Id"])  # fmt: skip
    found = state.find(record_id)
    if found is None:
        raise RecordRefusedError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [])
    _, record = found
    if record["IsDeleted"]:
        raise RecordRefusedError("ENTITY_IS_DELETED", "entity is deleted", [])
    if sobject == "Lead" and record.get("IsConverted"):
        raise RecordRefusedError(
            "CANNOT_UPDATE_CONVERTED_LEAD", "cannot reference converted lead", []
        )
    return record["Id"], _values(state, sobject, fields, creating=False)


def update(
    state: OrgState,
    sobject: str,
    record_id: Any,
    fields: dict[str, Any],
    *,
    auto_assign: bool = True,
) -> dict[str, Any]:
    """Update one record as the integration user; the save result."""
    with state.lock:
        try:
            full_id, values = check_update(state, sobject, record_id, fields)
        except RecordRefusedError as refused:
            return _failed(record_id if isinstance(record_id, str) else None, refused.error)
        state.update(
            sobject, full_id, assigned(state, sobject, values, auto_assign),
            by=state.users.integration,
        )  # fmt: skip
    return {"id": full_id, "success": True, "errors": []}
