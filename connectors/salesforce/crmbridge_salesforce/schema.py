"""crmbridge's custom fields on Lead and Contact, and their field-level security.

A field is created through the Tooling API (``POST tooling/sobjects/CustomField`` with
``FullName`` ``Lead.CRMBridge_Score__c`` and its ``Metadata``). A new field is visible
to nobody until field-level security grants it: crmbridge grants read and edit on the
permission set :data:`PERMISSION_SET` (``FieldPermissions`` rows), which an admin
assigns to the integration user. Without the right to create fields (Customize
Application) ``crmbridge check`` prints each definition for an admin to create.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from simple_salesforce.format import format_soql

from crmbridge.connector import FieldSpec
from crmbridge.errors import MissingScope, PermanentRecordError
from crmbridge_salesforce.fields import custom_field

if TYPE_CHECKING:
    from crmbridge_salesforce.connector import SalesforceConnector

#: The permission set crmbridge grants its fields on.
PERMISSION_SET = "Crmbridge_Integration"
#: Long text for these suffixes (a Text field holds 255 characters).
_LONG = ("reasons", "notes", "question", "feedback_reason")
#: An existing field answers one of these.
_EXISTS = ("DUPLICATE_DEVELOPER_NAME", "DUPLICATE_VALUE", "DUPLICATE")


def field_metadata(spec: FieldSpec) -> dict[str, Any]:
    """The CustomField ``Metadata`` for ``spec``."""
    base: dict[str, Any] = {"label": spec.label[:40], "description": spec.description[:1000]}
    if spec.type == "number":
        return {**base, "type": "Number", "precision": 18, "scale": 4}
    if spec.type == "bool":
        # Not a Checkbox: a checkbox is never empty, and crmbridge tells a value it
        # never wrote (empty) from "false".
        spec = FieldSpec(spec.name, spec.label, "enumeration", ("true", "false"))
    if spec.type == "datetime":
        return {**base, "type": "DateTime"}
    if spec.type == "enumeration":
        values = [{"fullName": o, "label": o, "default": False} for o in spec.options]
        return {
            **base,
            "type": "Picklist",
            "valueSet": {
                "restricted": True,
                "valueSetDefinition": {"sorted": False, "value": values},
            },
        }
    if spec.name.endswith(_LONG):
        return {**base, "type": "LongTextArea", "length": 4000, "visibleLines": 3}
    return {**base, "type": "Text", "length": 255}


def definition_text(sobject: str, spec: FieldSpec) -> str:
    """One line an admin reads to create the field by hand."""
    meta = field_metadata(spec)
    kind = meta["type"]
    extra = ""
    if kind == "Number":
        extra = "(18, 4)"
    elif kind in ("Text", "LongTextArea"):
        extra = f"({meta['length']})"
    elif kind == "Picklist":
        values = meta["valueSet"]["valueSetDefinition"]["value"]
        extra = f" restricted, values {', '.join(v['fullName'] for v in values)}"
    return f'{sobject}.{custom_field(spec.name)}: {kind}{extra}, label "{meta["label"]}"'


def ensure_fields(connector: SalesforceConnector, specs: Sequence[FieldSpec]) -> list[str]:
    """Create the missing fields on every object read and grant them; the names created
    (crmbridge's, once however many objects got it).

    A field the integration user cannot see may exist all the same, hidden by
    field-level security: it is granted, never created again, and when it stays hidden
    a :class:`~crmbridge.errors.MissingScope` names it and what to grant.
    """
    client = connector.client
    unseen: list[tuple[str, FieldSpec]] = []
    for sobject in connector.objects:
        described = connector.fields(sobject)
        assert described is not None
        unseen.extend((sobject, s) for s in specs if described.resolve(s.name) is None)
    if not unseen:
        return []
    existing = _existing_fields(connector, {sobject for sobject, _ in unseen})
    hidden = [(o, s) for o, s in unseen if f"{o}.{custom_field(s.name)}".lower() in existing]
    missing = [item for item in unseen if item not in hidden]
    created: list[str] = []
    granted = [(sobject, f"{sobject}.{custom_field(spec.name)}") for sobject, spec in hidden]
    for sobject, spec in missing:
        full = f"{sobject}.{custom_field(spec.name)}"
        try:
            client.rest(
                f"create field {full}",
                "tooling/sobjects/CustomField",
                method="POST",
                json={"FullName": full, "Metadata": field_metadata(spec)},
            )
        except MissingScope:
            raise MissingScope(_create_by_hand(missing, hidden)) from None
        except PermanentRecordError as exc:
            if not any(code in str(exc) for code in _EXISTS):
                raise
            hidden.append((sobject, spec))  # created meanwhile, or not listable
        else:
            if spec.name not in created:
                created.append(spec.name)
        granted.append((sobject, full))
    grant(connector, granted)
    connector.forget_fields()
    still = [(o, s) for o, s in unseen if _hidden(connector, o, s)]
    if still:
        raise MissingScope(_still_hidden(still))
    return created


def _existing_fields(connector: SalesforceConnector, sobjects: set[str]) -> set[str]:
    """``object.field__c`` (lower case) of the custom fields that exist on ``sobjects``,
    visible or not (the Tooling API lists them whatever field-level security says);
    empty when the integration user may not list them."""
    found: set[str] = set()
    for sobject in sorted(sobjects):
        soql = format_soql(
            "SELECT DeveloperName, TableEnumOrId FROM CustomField WHERE TableEnumOrId = {}",
            sobject,
        )
        try:
            answer = connector.client.rest(
                f"list the custom fields of {sobject}", "tooling/query", params={"q": soql}
            )
        except MissingScope:
            return found  # creating then tells existing from missing (DUPLICATE_...)
        for row in (answer or {}).get("records") or []:
            name = row.get("DeveloperName") if isinstance(row, dict) else None
            if isinstance(name, str):
                found.add(f"{sobject}.{name}__c".lower())
    return found


def _hidden(connector: SalesforceConnector, sobject: str, spec: FieldSpec) -> bool:
    described = connector.fields(sobject)
    return described is None or described.resolve(spec.name) is None


def _create_by_hand(
    missing: Sequence[tuple[str, FieldSpec]], hidden: Sequence[tuple[str, FieldSpec]]
) -> str:
    text = (
        "the integration user may not create fields (it needs the Customize Application "
        "permission). Create these, then grant Read and Edit on them to the integration "
        f"user (permission set {PERMISSION_SET}): "
        + "; ".join(definition_text(o, s) for o, s in missing)
    )
    if hidden:
        text += ". " + _still_hidden(hidden)
    return text


def _still_hidden(hidden: Sequence[tuple[str, FieldSpec]]) -> str:
    names = ", ".join(f"{o}.{custom_field(s.name)}" for o, s in hidden)
    return (
        f"these fields exist but field-level security hides them from the integration "
        f"user: {names}. Assign the permission set {PERMISSION_SET} to the integration "
        "user (or grant Read and Edit on each field to a permission set it holds)"
    )


def _permission_set(connector: SalesforceConnector) -> str:
    client = connector.client
    soql = format_soql("SELECT Id FROM PermissionSet WHERE Name = {}", PERMISSION_SET)
    found = client.call("find permission set", lambda sf: sf.query(soql))
    records = found.get("records") or []
    if records:
        return str(records[0]["Id"])
    answer = client.rest(
        "create permission set",
        "sobjects/PermissionSet",
        method="POST",
        json={"Name": PERMISSION_SET, "Label": "crmbridge integration"},
    )
    return str((answer or {}).get("id"))


def grant(connector: SalesforceConnector, fields: Sequence[tuple[str, str]]) -> None:
    """Read and edit on ``(sobject, "Object.Field__c")`` through the permission set."""
    client = connector.client
    if not fields:
        return
    try:
        parent = _permission_set(connector)
        for sobject, full in fields:
            try:
                client.rest(
                    f"grant {full}",
                    "sobjects/FieldPermissions",
                    method="POST",
                    json={
                        "ParentId": parent,
                        "SobjectType": sobject,
                        "Field": full,
                        "PermissionsRead": True,
                        "PermissionsEdit": True,
                    },
                )
            except PermanentRecordError as exc:
                if not any(code in str(exc) for code in _EXISTS):
                    raise
    except MissingScope as exc:
        raise MissingScope(
            f"crmbridge created its fields but cannot grant access to them: {exc}. Grant read "
            f"and edit on them to the integration user (permission set {PERMISSION_SET})"
        ) from None
