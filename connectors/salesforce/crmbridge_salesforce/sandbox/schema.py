"""The sandbox's sObjects and fields: types, what may be written, and record id prefixes.

Field definitions carry what describe reports and what writes check (``createable``,
``updateable``, ``length``). Custom fields created through the Tooling API are added per
object at run time (:meth:`Schema.add_custom_field`). Which fields the integration user
may see is field-level security, kept in the state, not here.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

#: Audit and system fields every object has; none of them may be written.
_SYSTEM = (
    ("Id", "id"),
    ("IsDeleted", "boolean"),
    ("CreatedDate", "datetime"),
    ("CreatedById", "reference"),
    ("LastModifiedDate", "datetime"),
    ("LastModifiedById", "reference"),
    ("SystemModstamp", "datetime"),
)


@dataclass(frozen=True, slots=True)
class FieldDef:
    """One field as describe shows it."""

    name: str
    type: str
    label: str
    createable: bool = True
    updateable: bool = True
    nillable: bool = True
    custom: bool = False
    length: int = 0
    #: Standard fields the integration user may be denied (FLS); system fields never are.
    permissionable: bool = True
    #: A restricted picklist's values (writes of any other value are refused).
    restricted_values: tuple[str, ...] | None = None
    #: Digits before the decimal point a number may have (custom Number fields).
    integer_digits: int | None = None
    #: A lookup's target objects (writes naming another object's record, or none, are
    #: refused); None leaves it unchecked.
    references: tuple[str, ...] | None = None
    #: How Salesforce names the lookup in its errors ("Name ID", "Assigned To ID").
    reference_label: str = ""

    def describe(self) -> dict[str, object]:
        """The field's entry in an sObject describe."""
        return {
            "name": self.name,
            "label": self.label,
            "type": self.type,
            "length": self.length,
            "createable": self.createable,
            "updateable": self.updateable,
            "nillable": self.nillable,
            "custom": self.custom,
            "filterable": self.type != "textarea",
            "sortable": self.type != "textarea",
            "calculated": False,
            "soapType": _SOAP_TYPES.get(self.type, "xsd:string"),
            "restrictedPicklist": self.restricted_values is not None,
            "picklistValues": [
                {"value": v, "label": v, "active": True, "defaultValue": False}
                for v in self.restricted_values or ()
            ],
        }


_SOAP_TYPES = {
    "id": "tns:ID",
    "reference": "tns:ID",
    "boolean": "xsd:boolean",
    "datetime": "xsd:dateTime",
    "date": "xsd:date",
    "double": "xsd:double",
    "currency": "xsd:double",
    "percent": "xsd:double",
    "int": "xsd:int",
}
_LENGTHS = {"string": 255, "email": 80, "phone": 40, "picklist": 255, "url": 255,
            "textarea": 32_000, "id": 18, "reference": 18}  # fmt: skip
#: Types whose values are numbers on the wire.
NUMERIC_TYPES = frozenset({"double", "currency", "percent", "int"})
#: Types whose values are text on the wire.
TEXT_TYPES = frozenset({"string", "email", "phone", "picklist", "url", "textarea"})


def _label(name: str) -> str:
    base = name.removesuffix("__c").removesuffix("Id") or name
    return base.replace("_", " ")


def _fields(*specs: tuple[str, str] | tuple[str, str, str]) -> tuple[FieldDef, ...]:
    """Field definitions from (name, type[, flags]); flags: r read-only, c create-only,
    n not nillable."""
    out = []
    for name, kind in _SYSTEM:
        out.append(
            FieldDef(name, kind, _label(name), createable=False, updateable=False,
                     nillable=name != "Id" and not name.startswith("Is"),
                     length=_LENGTHS.get(kind, 0), permissionable=False)
        )  # fmt: skip
    for spec in specs:
        name, kind = spec[0], spec[1]
        flags = spec[2] if len(spec) == 3 else ""
        out.append(
            FieldDef(
                name, kind, _label(name),
                createable="r" not in flags,
                updateable="r" not in flags and "c" not in flags,
                nillable="n" not in flags and kind != "boolean",
                length=_LENGTHS.get(kind, 0),
            )
        )  # fmt: skip
    return tuple(out)


#: Standard objects: key prefix and fields.
STANDARD_OBJECTS: dict[str, tuple[str, tuple[FieldDef, ...]]] = {
    "Lead": ("00Q", _fields(
        ("FirstName", "string"), ("LastName", "string", "n"), ("Company", "string", "n"),
        ("Email", "email"), ("Title", "string"), ("Phone", "phone"),
        ("Status", "picklist", "n"), ("LeadSource", "picklist"), ("Industry", "picklist"),
        ("Rating", "picklist"), ("Country", "string"), ("Website", "url"),
        ("NumberOfEmployees", "int"), ("AnnualRevenue", "currency"),
        ("OwnerId", "reference"), ("MasterRecordId", "reference", "r"),
        ("IsConverted", "boolean", "r"), ("ConvertedDate", "date", "r"),
        ("ConvertedContactId", "reference", "r"), ("ConvertedAccountId", "reference", "r"),
        ("ConvertedOpportunityId", "reference", "r"), ("Description", "textarea"),
    )),
    "Contact": ("003", _fields(
        ("FirstName", "string"), ("LastName", "string", "n"), ("AccountId", "reference"),
        ("Email", "email"), ("Title", "string"), ("Phone", "phone"),
        ("LeadSource", "picklist"), ("OwnerId", "reference"),
        ("MasterRecordId", "reference", "r"), ("Description", "textarea"),
    )),
    "Account": ("001", _fields(
        ("Name", "string", "n"), ("Industry", "picklist"), ("Website", "url"),
        ("NumberOfEmployees", "int"), ("AnnualRevenue", "currency"),
        ("OwnerId", "reference"), ("MasterRecordId", "reference", "r"),
    )),
    "User": ("005", _fields(
        ("Username", "string", "n"), ("FirstName", "string"), ("LastName", "string", "n"),
        ("Name", "string", "r"), ("Email", "email", "n"), ("IsActive", "boolean"),
    )),
    "Task": ("00T", _fields(
        ("WhoId", "reference"), ("WhatId", "reference"), ("OwnerId", "reference"),
        ("Subject", "string"), ("ActivityDate", "date"), ("Status", "picklist", "n"),
        ("Priority", "picklist", "n"), ("Type", "picklist"), ("TaskSubtype", "picklist", "c"),
        ("CallType", "picklist"), ("Description", "textarea"),
        ("CompletedDateTime", "datetime", "r"),
    )),
    "EmailMessage": ("02s", _fields(
        ("Subject", "string"), ("TextBody", "textarea"), ("FromAddress", "email"),
        ("ToAddress", "string"), ("Incoming", "boolean", "c"), ("MessageDate", "datetime"),
        ("Status", "picklist"), ("RelatedToId", "reference"),
        ("ReplyToEmailMessageId", "reference", "c"), ("ActivityId", "reference", "r"),
    )),
    "EmailMessageRelation": ("0Rj", _fields(
        ("EmailMessageId", "reference", "c"), ("RelationId", "reference", "c"),
        ("RelationType", "picklist", "c"), ("RelationAddress", "email", "c"),
    )),
    "Group": ("00G", _fields(("Name", "string", "n"), ("Type", "picklist", "n"),
                             ("Email", "email"))),
    "Campaign": ("701", _fields(("Name", "string", "n"), ("IsActive", "boolean"))),
    "CampaignMember": ("00v", _fields(
        ("CampaignId", "reference", "cn"), ("LeadId", "reference", "c"),
        ("ContactId", "reference", "c"), ("Status", "picklist"),
    )),
    "ActionCadence": ("77c", _fields(("Name", "string", "n"), ("State", "picklist"))),
    "ActionCadenceTracker": ("77e", _fields(
        ("ActionCadenceId", "reference", "r"), ("TargetId", "reference", "r"),
        ("State", "picklist", "r"), ("CompletionReason", "picklist", "r"),
        ("OwnerId", "reference", "r"),
    )),
    "PermissionSet": ("0PS", _fields(("Name", "string", "n"), ("Label", "string", "n"))),
    "PermissionSetAssignment": ("0Pa", _fields(
        ("AssigneeId", "reference", "cn"), ("PermissionSetId", "reference", "cn"),
    )),
    "Organization": ("00D", _fields(
        ("Name", "string", "r"), ("OrganizationType", "string", "r"),
        ("IsSandbox", "boolean", "r"), ("InstanceName", "string", "r"),
    )),
    # IsClosed and IsWon follow StageName (see OPPORTUNITY_STAGES); neither is writable.
    "Opportunity": ("006", _fields(
        ("Name", "string", "n"), ("AccountId", "reference"), ("StageName", "picklist", "n"),
        ("CloseDate", "date", "n"), ("Amount", "currency"), ("Probability", "percent"),
        ("IsClosed", "boolean", "r"), ("IsWon", "boolean", "r"), ("OwnerId", "reference"),
        ("LeadSource", "picklist"),
    )),
    "OpportunityContactRole": ("00K", _fields(
        ("OpportunityId", "reference", "cn"), ("ContactId", "reference", "n"),
        ("Role", "picklist"), ("IsPrimary", "boolean"),
    )),
    "FieldPermissions": ("01k", _fields(
        ("ParentId", "reference", "cn"), ("SobjectType", "string", "cn"),
        ("Field", "string", "cn"), ("PermissionsRead", "boolean"),
        ("PermissionsEdit", "boolean"),
    )),
}  # fmt: skip


#: A new org's opportunity stages: stage → (IsClosed, IsWon), as Salesforce derives them.
OPPORTUNITY_STAGES = {
    "Prospecting": (False, False),
    "Qualification": (False, False),
    "Needs Analysis": (False, False),
    "Value Proposition": (False, False),
    "Id. Decision Makers": (False, False),
    "Perception Analysis": (False, False),
    "Proposal/Price Quote": (False, False),
    "Negotiation/Review": (False, False),
    "Closed Won": (True, True),
    "Closed Lost": (True, False),
}

#: Lookups Salesforce sets itself (never written), with the object each names: a query
#: may follow them to their parent like the lookups of :data:`LOOKUPS`.
SYSTEM_LOOKUPS: dict[tuple[str, str], str] = {
    ("Lead", "ConvertedOpportunityId"): "Opportunity",
    ("Lead", "ConvertedContactId"): "Contact",
    ("Lead", "ConvertedAccountId"): "Account",
}

#: Restricted picklists of standard fields, as Salesforce defines them.
RESTRICTED: dict[tuple[str, str], tuple[str, ...]] = {
    ("Opportunity", "StageName"): tuple(OPPORTUNITY_STAGES),
    ("Task", "CallType"): ("Inbound", "Internal", "Outbound"),
    ("Task", "TaskSubtype"): ("Task", "Email", "ListEmail", "Cadence", "Call", "LinkedIn"),
}
#: Lookups whose target Salesforce checks on every write: the objects they may name and
#: the label its errors use. (CampaignMember checks its own.)
LOOKUPS: dict[tuple[str, str], tuple[tuple[str, ...], str]] = {
    ("Task", "WhoId"): (("Lead", "Contact"), "Name ID"),
    ("Task", "WhatId"): (("Account", "Campaign"), "Related To ID"),
    ("Task", "OwnerId"): (("User",), "Assigned To ID"),
    ("Lead", "OwnerId"): (("User", "Group"), "Owner ID"),
    ("Contact", "OwnerId"): (("User",), "Owner ID"),
    ("Contact", "AccountId"): (("Account",), "Account ID"),
    ("Account", "OwnerId"): (("User",), "Owner ID"),
    ("EmailMessage", "ReplyToEmailMessageId"): (("EmailMessage",), "Email Message ID"),
    ("EmailMessageRelation", "EmailMessageId"): (("EmailMessage",), "Email Message ID"),
    ("EmailMessageRelation", "RelationId"): (("Lead", "Contact", "User"), "Relation ID"),
    ("Opportunity", "AccountId"): (("Account",), "Account ID"),
    ("Opportunity", "OwnerId"): (("User",), "Owner ID"),
    ("OpportunityContactRole", "OpportunityId"): (("Opportunity",), "Opportunity ID"),
    ("OpportunityContactRole", "ContactId"): (("Contact",), "Contact ID"),
}


def _refined(sobject: str, fdef: FieldDef) -> FieldDef:
    """``fdef`` with its restricted values and lookup targets, where Salesforce has any."""
    key = (sobject, fdef.name)
    if key in RESTRICTED:
        fdef = replace(fdef, restricted_values=RESTRICTED[key])
    if key in LOOKUPS:
        targets, label = LOOKUPS[key]
        fdef = replace(fdef, references=targets, reference_label=label)
    return fdef


def _objects() -> dict[str, dict[str, FieldDef]]:
    return {
        name: {f.name.lower(): _refined(name, f) for f in fields}
        for name, (_, fields) in STANDARD_OBJECTS.items()
    }


@dataclass
class Schema:
    """The objects and fields of one sandbox org (standard plus custom fields)."""

    objects: dict[str, dict[str, FieldDef]] = field(default_factory=_objects)

    def object_name(self, name: str) -> str | None:
        """The object's canonical name (names are case-insensitive), or None."""
        lowered = name.lower()
        return next((o for o in self.objects if o.lower() == lowered), None)

    def field(self, sobject: str, name: str) -> FieldDef | None:
        """The field of ``sobject`` called ``name`` (any case), or None."""
        return self.objects[sobject].get(name.lower())

    def fields(self, sobject: str) -> list[FieldDef]:
        """Every field of ``sobject``, in definition order."""
        return list(self.objects[sobject].values())

    def prefix(self, sobject: str) -> str:
        """The three-character key prefix of ``sobject``'s record ids."""
        return STANDARD_OBJECTS[sobject][0]

    def parent(self, sobject: str, relationship: str) -> tuple[FieldDef, str] | None:
        """The lookup field of ``sobject`` named by ``relationship`` (any case: the
        field's name without ``Id``) and the one object it refers to, or None (no such
        lookup, or one that may name several objects: the sandbox does not follow it)."""
        fdef = self.field(sobject, f"{relationship}Id")
        if fdef is None or fdef.type != "reference":
            return None
        if fdef.references is not None:
            return (fdef, fdef.references[0]) if len(fdef.references) == 1 else None
        target = SYSTEM_LOOKUPS.get((sobject, fdef.name))
        return None if target is None else (fdef, target)

    def sobject_of_id(self, record_id: str) -> str | None:
        """Which object a record id belongs to, by its prefix."""
        return next((o for o, (p, _) in STANDARD_OBJECTS.items() if record_id[:3] == p), None)

    def add_custom_field(
        self,
        sobject: str,
        name: str,
        kind: str,
        label: str,
        *,
        length: int | None = None,
        restricted_values: tuple[str, ...] | None = None,
        integer_digits: int | None = None,
    ) -> FieldDef:
        """Add the custom field ``name`` (ending ``__c``) to ``sobject``."""
        definition = FieldDef(
            name, kind, label, custom=True,
            length=length if length is not None else _LENGTHS.get(kind, 0),
            restricted_values=restricted_values, integer_digits=integer_digits,
        )  # fmt: skip
        self.objects[sobject][name.lower()] = definition
        return definition
