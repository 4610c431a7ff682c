"""How crmbridge's fields become HubSpot contact properties."""

from __future__ import annotations

from typing import Any

from crmbridge.connector import FieldSpec

GROUP = {"name": "crmbridge", "label": "crmbridge", "displayOrder": -1}

_TYPES: dict[str, tuple[str, str]] = {
    "number": ("number", "number"),
    "string": ("string", "text"),
    "bool": ("bool", "booleancheckbox"),
    "enumeration": ("enumeration", "select"),
    "datetime": ("datetime", "date"),
}


def property_definition(field: FieldSpec) -> dict[str, Any]:
    """The body of ``POST /crm/v3/properties/contacts`` for one crmbridge field."""
    kind, field_type = _TYPES[field.type]
    body: dict[str, Any] = {
        "name": field.name,
        "label": field.label,
        "type": kind,
        "fieldType": field_type,
        "groupName": GROUP["name"],
        "description": field.description or f"Written by crmbridge: {field.label.lower()}.",
    }
    options = field.options or (("true", "false") if field.type == "bool" else ())
    if options:
        body["options"] = [
            {"label": _label(option), "value": option, "displayOrder": i, "hidden": False}
            for i, option in enumerate(options)
        ]
    return body


def _label(option: str) -> str:
    return {"true": "Yes", "false": "No"}.get(option, option.replace("_", " ").capitalize())
