"""Property definitions and value validation, as HubSpot's properties API describes them.

HubSpot-defined contact properties the sandbox knows (the ones crmbridge reads or
writes), their groups, the task properties, and :func:`check_value`, which applies
HubSpot's per-type rules to a written value and either normalises it or returns an
:class:`Issue` carrying HubSpot's error code (``INVALID_OPTION``, ``INVALID_EMAIL``...).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from crmbridge_hubspot.sandbox.timeutil import iso_ms, parse_instant

PROPERTY_TYPES = frozenset({"string", "number", "date", "datetime", "enumeration", "bool"})
FIELD_TYPES = frozenset(
    {
        "textarea",
        "text",
        "date",
        "file",
        "number",
        "select",
        "radio",
        "checkbox",
        "booleancheckbox",
        "calculation_equation",
        "phonenumber",
        "html",
    }
)
#: HubSpot internal names: lowercase letter first, then lowercase letters, digits, ``_``.
PROPERTY_NAME = re.compile(r"^[a-z][a-z0-9_]{0,99}$")
_EMAIL = re.compile(r"^[^@\s;,]+@[^@\s;,]+\.[^@\s;,]+$")
#: Set on every contact; never writable through the API.
SYSTEM_PROPERTIES = ("hs_object_id", "createdate", "lastmodifieddate")
#: What HubSpot returns when a read names no properties.
DEFAULT_CONTACT_PROPERTIES = (
    "createdate",
    "email",
    "firstname",
    "hs_object_id",
    "lastmodifieddate",
    "lastname",
)
_DEFINED_AT = datetime(2019, 8, 6, 2, 41, 52, 671000, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Option:
    """One allowed value of an enumeration property."""

    label: str
    value: str
    display_order: int = -1
    hidden: bool = False
    description: str = ""

    def to_json(self) -> dict[str, Any]:
        """The API's option object."""
        return {
            "label": self.label,
            "value": self.value,
            "displayOrder": self.display_order,
            "hidden": self.hidden,
            "description": self.description,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any], position: int) -> Option:
        """Read an ``OptionInput``; a missing ``displayOrder`` keeps the list order."""
        order = data.get("displayOrder")
        return cls(
            label=str(data.get("label", data.get("value", ""))),
            value=str(data.get("value", "")),
            display_order=int(order) if isinstance(order, int) else position,
            hidden=bool(data.get("hidden", False)),
            description=str(data.get("description") or ""),
        )


@dataclass(frozen=True, slots=True)
class PropertyDef:
    """A property definition (HubSpot's ``Property`` model)."""

    name: str
    label: str
    type: str
    field_type: str
    group_name: str
    description: str = ""
    options: tuple[Option, ...] = ()
    display_order: int = -1
    has_unique_value: bool = False
    hidden: bool = False
    form_field: bool = False
    calculated: bool = False
    external_options: bool = False
    hubspot_defined: bool = False
    read_only_value: bool = False
    read_only_definition: bool = False
    referenced_object_type: str | None = None
    created_at: datetime = _DEFINED_AT
    updated_at: datetime = _DEFINED_AT
    archived: bool = False

    @property
    def multi(self) -> bool:
        """A multiple-checkbox enumeration: values are joined with ``;``."""
        return self.type == "enumeration" and self.field_type == "checkbox"

    def option_values(self) -> list[str]:
        """The allowed values, in display order."""
        return [o.value for o in sorted(self.options, key=lambda o: o.display_order)]

    def to_json(self) -> dict[str, Any]:
        """The API's ``Property`` object."""
        body: dict[str, Any] = {
            "updatedAt": iso_ms(self.updated_at),
            "createdAt": iso_ms(self.created_at),
            "name": self.name,
            "label": self.label,
            "type": self.type,
            "fieldType": self.field_type,
            "description": self.description,
            "groupName": self.group_name,
            "options": [o.to_json() for o in self.options],
            "displayOrder": self.display_order,
            "calculated": self.calculated,
            "externalOptions": self.external_options,
            "hasUniqueValue": self.has_unique_value,
            "hidden": self.hidden,
            "hubspotDefined": self.hubspot_defined,
            "modificationMetadata": {
                "archivable": not self.hubspot_defined,
                "readOnlyDefinition": self.read_only_definition,
                "readOnlyValue": self.read_only_value,
            },
            "formField": self.form_field,
            "archived": self.archived,
        }
        if self.referenced_object_type:
            body["referencedObjectType"] = self.referenced_object_type
        return body


@dataclass(frozen=True, slots=True)
class PropertyGroup:
    """A property group (HubSpot's ``PropertyGroup`` model)."""

    name: str
    label: str
    display_order: int = -1
    archived: bool = False

    def to_json(self) -> dict[str, Any]:
        """The API's group object."""
        return {
            "name": self.name,
            "label": self.label,
            "displayOrder": self.display_order,
            "archived": self.archived,
        }


@dataclass(frozen=True, slots=True)
class Issue:
    """Why one written property value was refused (one entry of a VALIDATION_ERROR)."""

    name: str
    value: str
    code: str
    message: str


@dataclass(frozen=True, slots=True)
class PropertySpec:
    """A property definition request, already checked (see :func:`parse_property_create`)."""

    definition: PropertyDef
    problems: tuple[str, ...] = field(default_factory=tuple)


def _options(*pairs: tuple[str, str]) -> tuple[Option, ...]:
    return tuple(Option(label, value, order) for order, (value, label) in enumerate(pairs))


LIFECYCLE_STAGES = _options(
    ("subscriber", "Subscriber"),
    ("lead", "Lead"),
    ("marketingqualifiedlead", "Marketing Qualified Lead"),
    ("salesqualifiedlead", "Sales Qualified Lead"),
    ("opportunity", "Opportunity"),
    ("customer", "Customer"),
    ("evangelist", "Evangelist"),
    ("other", "Other"),
)
BUYING_ROLES = _options(
    ("BLOCKER", "Blocker"),
    ("BUDGET_HOLDER", "Budget Holder"),
    ("CHAMPION", "Champion"),
    ("DECISION_MAKER", "Decision Maker"),
    ("END_USER", "End User"),
    ("EXECUTIVE_SPONSOR", "Executive Sponsor"),
    ("INFLUENCER", "Influencer"),
    ("LEGAL_AND_COMPLIANCE", "Legal and Compliance"),
    ("OTHER", "Other"),
)
LEAD_STATUSES = _options(
    ("NEW", "New"),
    ("OPEN", "Open"),
    ("IN_PROGRESS", "In Progress"),
    ("OPEN_DEAL", "Open Deal"),
    ("UNQUALIFIED", "Unqualified"),
    ("ATTEMPTED_TO_CONTACT", "Attempted to Contact"),
    ("CONNECTED", "Connected"),
    ("BAD_TIMING", "Bad Timing"),
)


def default_groups() -> list[PropertyGroup]:
    """HubSpot's default contact property groups the sandbox uses."""
    return [
        PropertyGroup("contactinformation", "Contact information", 0),
        PropertyGroup("sales_properties", "Sales properties", 1),
        PropertyGroup("emailinformation", "Email information", 2),
        PropertyGroup("conversioninformation", "Conversion information", 3),
        PropertyGroup("analyticsinformation", "Web analytics history", 4),
        PropertyGroup("contact_activity", "Contact activity", 5),
    ]


def _hs(
    name: str,
    label: str,
    type_: str,
    field_type: str,
    group: str,
    *,
    options: tuple[Option, ...] = (),
    read_only: bool = False,
    form_field: bool = False,
    **extra: Any,
) -> PropertyDef:
    return PropertyDef(
        name=name,
        label=label,
        type=type_,
        field_type=field_type,
        group_name=group,
        options=options,
        hubspot_defined=True,
        read_only_definition=True,
        read_only_value=read_only,
        calculated=read_only,
        form_field=form_field,
        **extra,
    )


def default_contact_properties() -> list[PropertyDef]:
    """The HubSpot-defined contact properties the sandbox models.

    ``numemployees`` is free text here (HubSpot defines it as an enumeration of
    bands) so the demo data can carry the messy sizes crmbridge must parse.
    """
    info, sales = "contactinformation", "sales_properties"
    return [
        _hs("email", "Email", "string", "text", info, form_field=True),
        _hs("firstname", "First Name", "string", "text", info, form_field=True),
        _hs("lastname", "Last Name", "string", "text", info, form_field=True),
        _hs("company", "Company Name", "string", "text", info, form_field=True),
        _hs("jobtitle", "Job Title", "string", "text", info, form_field=True),
        _hs("phone", "Phone Number", "string", "phonenumber", info, form_field=True),
        _hs("mobilephone", "Mobile Phone Number", "string", "phonenumber", info, form_field=True),
        _hs("industry", "Industry", "string", "text", info, form_field=True),
        _hs("website", "Website URL", "string", "text", info, form_field=True),
        _hs("city", "City", "string", "text", info, form_field=True),
        _hs("country", "Country/Region", "string", "text", info, form_field=True),
        _hs("numemployees", "Number of Employees", "string", "text", info, form_field=True),
        _hs(
            "associatedcompanyid",
            "Primary Associated Company ID",
            "number",
            "number",
            info,
            read_only=True,
        ),
        _hs(
            "lifecyclestage",
            "Lifecycle Stage",
            "enumeration",
            "radio",
            info,
            options=LIFECYCLE_STAGES,
        ),
        _hs("hs_lead_status", "Lead Status", "enumeration", "radio", sales, options=LEAD_STATUSES),
        _hs(
            "hubspot_owner_id",
            "Contact owner",
            "enumeration",
            "select",
            sales,
            external_options=True,
            referenced_object_type="OWNER",
        ),
        _hs(
            "hs_buying_role", "Buying Role", "enumeration", "checkbox", sales, options=BUYING_ROLES
        ),
        _hs(
            "hs_sales_email_last_replied",
            "Recent Sales Email Replied Date",
            "datetime",
            "date",
            sales,
            read_only=True,
        ),
        _hs(
            "notes_last_contacted",
            "Last Contacted",
            "datetime",
            "date",
            "contact_activity",
            read_only=True,
        ),
        _hs(
            "hs_email_last_open_date",
            "Last marketing email open date",
            "datetime",
            "date",
            "emailinformation",
            read_only=True,
        ),
        _hs(
            "hs_email_last_click_date",
            "Last marketing email click date",
            "datetime",
            "date",
            "emailinformation",
            read_only=True,
        ),
        _hs(
            "recent_conversion_date",
            "Recent Conversion Date",
            "datetime",
            "date",
            "conversioninformation",
            read_only=True,
        ),
        _hs(
            "recent_conversion_event_name",
            "Recent Conversion",
            "string",
            "text",
            "conversioninformation",
            read_only=True,
        ),
        _hs(
            "hs_analytics_num_page_views",
            "Number of Pageviews",
            "number",
            "number",
            "analyticsinformation",
            read_only=True,
        ),
        _hs("createdate", "Create Date", "datetime", "date", info, read_only=True),
        _hs("lastmodifieddate", "Last Modified Date", "datetime", "date", info, read_only=True),
        _hs("hs_object_id", "Record ID", "number", "number", info, read_only=True),
        _hs(
            "hs_merged_object_ids",
            "Merged Contact IDs",
            "enumeration",
            "checkbox",
            info,
            read_only=True,
        ),
        _hs("hs_additional_emails", "Additional email addresses", "string", "text", info),
    ]


def task_properties() -> dict[str, PropertyDef]:
    """The task properties crmbridge writes (HubSpot's engagement fields)."""
    group = "task"
    defs = [
        _hs("hs_timestamp", "Due date", "datetime", "date", group),
        _hs("hs_task_subject", "Task Title", "string", "text", group),
        _hs("hs_task_body", "Notes", "string", "html", group),
        _hs(
            "hs_task_status",
            "Task Status",
            "enumeration",
            "select",
            group,
            options=_options(
                ("NOT_STARTED", "Not started"),
                ("IN_PROGRESS", "In progress"),
                ("WAITING", "Waiting"),
                ("COMPLETED", "Completed"),
                ("DEFERRED", "Deferred"),
            ),
        ),
        _hs(
            "hs_task_priority",
            "Priority",
            "enumeration",
            "select",
            group,
            options=_options(
                ("NONE", "None"), ("LOW", "Low"), ("MEDIUM", "Medium"), ("HIGH", "High")
            ),
        ),
        _hs(
            "hs_task_type",
            "Task Type",
            "enumeration",
            "select",
            group,
            options=_options(("EMAIL", "Email"), ("CALL", "Call"), ("TODO", "To-do")),
        ),
        _hs(
            "hubspot_owner_id",
            "Assigned to",
            "enumeration",
            "select",
            group,
            external_options=True,
            referenced_object_type="OWNER",
        ),
        _hs("hs_task_reminders", "Reminder", "string", "text", group),
        _hs("hs_queue_membership_ids", "Queue", "string", "text", group),
        _hs("hs_createdate", "Create Date", "datetime", "date", group, read_only=True),
        _hs("hs_lastmodifieddate", "Last Modified Date", "datetime", "date", group, read_only=True),
        _hs("hs_object_id", "Record ID", "number", "number", group, read_only=True),
    ]
    return {d.name: d for d in defs}


def describe_options(definition: PropertyDef) -> str:
    """The option listing HubSpot prints inside an INVALID_OPTION message."""
    parts = [
        f'label: "{o.label}"\nvalue: "{o.value}"\ndisplay_order: {o.display_order}\n'
        f"hidden: {str(o.hidden).lower()}\nread_only: false\n"
        for o in sorted(definition.options, key=lambda o: o.display_order)
    ]
    return "[" + ", ".join(parts) + "]"


def check_value(
    definition: PropertyDef, value: str, owner_ids: Collection[str] = ()
) -> tuple[str | None, Issue | None]:
    """Normalise ``value`` for ``definition`` or say why HubSpot would refuse it.

    ``value`` is never empty here (an empty string clears and is not checked).
    Datetimes are stored as ISO-8601 with ms; dates as ``YYYY-MM-DD``; booleans lowercase.
    """
    name = definition.name
    if definition.type == "enumeration":
        allowed = set(owner_ids) if definition.external_options else set(definition.option_values())
        parts = value.split(";") if definition.multi else [value]
        for part in parts:
            if part not in allowed:
                listing = describe_options(definition) if definition.options else "[]"
                message = f"{part} was not one of the allowed options: {listing}"
                return None, Issue(name, value, "INVALID_OPTION", message)
        return value, None
    if definition.type == "number":
        try:
            float(value)
        except ValueError:
            return None, Issue(name, value, "INVALID_INTEGER", f"{value} was not a valid number.")
        return value.strip(), None
    if definition.type in ("datetime", "date"):
        moment = parse_instant(value)
        if moment is None:
            return None, Issue(name, value, "INVALID_DATE", f"{value} was not a valid date.")
        if definition.type == "date":
            if (moment.hour, moment.minute, moment.second, moment.microsecond) != (0, 0, 0, 0):
                message = f"{value} is at {iso_ms(moment)}, which is not midnight UTC."
                return None, Issue(name, value, "INVALID_DATE", message)
            return moment.date().isoformat(), None
        return iso_ms(moment), None
    if definition.type == "bool":
        if value.strip().lower() not in ("true", "false"):
            return None, Issue(name, value, "INVALID_BOOLEAN", f"{value} was not a valid boolean.")
        return value.strip().lower(), None
    if name == "email" and not _EMAIL.match(value.strip()):
        return None, Issue(name, value, "INVALID_EMAIL", f"Email address {value} is invalid")
    return value, None


def parse_property_create(body: Any, groups: Collection[str], now: datetime) -> PropertySpec:
    """Read a ``PropertyCreate`` body; ``problems`` lists everything wrong with it."""
    problems: list[str] = []
    if not isinstance(body, Mapping):
        return PropertySpec(_placeholder(now), ("the request body must be a JSON object",))
    for required in ("name", "label", "type", "fieldType", "groupName"):
        if not isinstance(body.get(required), str) or not body.get(required):
            problems.append(f"{required} is required")
    name = str(body.get("name") or "")
    if name and not PROPERTY_NAME.match(name):
        problems.append(
            f"Property name {name!r} is invalid: use lowercase letters, digits and "
            "underscores, starting with a letter"
        )
    type_ = str(body.get("type") or "")
    field_type = str(body.get("fieldType") or "")
    if type_ and type_ not in PROPERTY_TYPES:
        problems.append(f"type {type_!r} is not one of {sorted(PROPERTY_TYPES)}")
    if field_type and field_type not in FIELD_TYPES:
        problems.append(f"fieldType {field_type!r} is not one of {sorted(FIELD_TYPES)}")
    group = str(body.get("groupName") or "")
    if group and group not in groups:
        problems.append(f"Property group {group!r} does not exist")
    raw_options = body.get("options") or []
    options: list[Option] = []
    if not isinstance(raw_options, list) or not all(isinstance(o, Mapping) for o in raw_options):
        problems.append("options must be a list of objects")
    else:
        options = [Option.from_json(o, i) for i, o in enumerate(raw_options)]
        values = [o.value for o in options]
        if len(set(values)) != len(values):
            problems.append("option values must be unique")
    if type_ == "enumeration" and not options and not body.get("externalOptions"):
        problems.append("enumeration properties need options")
    order = body.get("displayOrder", -1)
    definition = PropertyDef(
        name=name,
        label=str(body.get("label") or ""),
        type=type_,
        field_type=field_type,
        group_name=group,
        description=str(body.get("description") or ""),
        options=tuple(options),
        display_order=order if isinstance(order, int) else -1,
        has_unique_value=bool(body.get("hasUniqueValue", False)),
        hidden=bool(body.get("hidden", False)),
        form_field=bool(body.get("formField", False)),
        external_options=bool(body.get("externalOptions", False)),
        referenced_object_type=body.get("referencedObjectType") or None,
        created_at=now,
        updated_at=now,
    )
    return PropertySpec(definition, tuple(problems))


def _placeholder(now: datetime) -> PropertyDef:
    return PropertyDef("", "", "string", "text", "", created_at=now, updated_at=now)


def check_values(
    definitions: Mapping[str, PropertyDef],
    values: Mapping[str, Any],
    owner_ids: set[str],
    *,
    allow_read_only: bool,
) -> tuple[dict[str, str], list[Issue]]:
    """Each value as HubSpot stores it, and why HubSpot would refuse the others."""
    clean: dict[str, str] = {}
    issues: list[Issue] = []
    for name, raw in values.items():
        text = _as_text(raw)
        if text is None:
            message = f'Property "{name}" must be a string, number or boolean'
            issues.append(Issue(name, repr(raw), "INVALID_PROPERTY_VALUE", message))
            continue
        definition = definitions.get(name)
        if definition is None or definition.archived:
            message = f'Property "{name}" does not exist'
            issues.append(Issue(name, text, "PROPERTY_DOESNT_EXIST", message))
            continue
        system = name in SYSTEM_PROPERTIES or name in ("hs_createdate", "hs_lastmodifieddate")
        if definition.read_only_value and (system or not allow_read_only):
            message = f'"{name}" is a calculated property; its value cannot be set.'
            issues.append(Issue(name, text, "READ_ONLY_VALUE", message))
            continue
        if text == "":
            clean[name] = ""
            continue
        value, issue = check_value(definition, text, owner_ids)
        if issue is not None:
            issues.append(issue)
        elif value is not None:
            clean[name] = value
    return clean, issues


def _as_text(raw: Any) -> str | None:
    if raw is None:
        return ""
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, int | float | str):
        return str(raw)
    return None
