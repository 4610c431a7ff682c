"""Column headers of CRM contact exports, mapped to the property names rules use.

A HubSpot export (Contacts → Export) heads its columns with property *labels*
("First Name", "Job Title") or, when asked, internal names ("firstname"); a Salesforce
export heads them with API field names ("FirstName", "NumberOfEmployees") from Data
Loader or with labels ("Lead ID", "No. of Employees") from a report. Rules name internal
names, so:

- a header that is already an internal name (no spaces) is used as it is;
- a label in the tables below becomes its internal name;
- any other label is kept as it is, and the caller says so (rename the column to the
  property's internal name to use it in a rule).

Label exports also carry enumeration *labels* as values ("Marketing Qualified Lead");
the few properties the example model tests are turned back into internal values.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

HUBSPOT = "hubspot"
SALESFORCE = "salesforce"
#: A file whose headers name no CRM: scored like a JSON contact without ``crm``.
LOCAL = "local"

#: HubSpot contact property labels (as exports head them) → internal names.
HUBSPOT_LABELS = {
    "record id": "hs_object_id",
    "record id - contact": "hs_object_id",
    "email": "email",
    "first name": "firstname",
    "last name": "lastname",
    "job title": "jobtitle",
    "company name": "company",
    "number of employees": "numemployees",
    "industry": "industry",
    "annual revenue": "annualrevenue",
    "lifecycle stage": "lifecyclestage",
    "lead status": "hs_lead_status",
    "buying role": "hs_buying_role",
    "persona": "hs_persona",
    "phone number": "phone",
    "mobile phone number": "mobilephone",
    "website url": "website",
    "city": "city",
    "state/region": "state",
    "country/region": "country",
    "create date": "createdate",
    "last modified date": "lastmodifieddate",
    "original source": "hs_analytics_source",
    "recent sales email replied date": "hs_sales_email_last_replied",
}

#: Salesforce Lead report labels → API field names.
SALESFORCE_LABELS = {
    "lead id": "Id",
    "contact id": "Id",
    "first name": "FirstName",
    "last name": "LastName",
    "title": "Title",
    "company": "Company",
    "company / account": "Company",
    "email": "Email",
    "lead status": "Status",
    "lead source": "LeadSource",
    "industry": "Industry",
    "no. of employees": "NumberOfEmployees",
    "annual revenue": "AnnualRevenue",
    "rating": "Rating",
    "phone": "Phone",
    "country": "Country",
    "website": "Website",
}

#: The property holding the record's id, and the one holding its email, per CRM.
ID_PROPERTY = {HUBSPOT: "hs_object_id", SALESFORCE: "Id", LOCAL: "id"}
EMAIL_PROPERTY = {HUBSPOT: "email", SALESFORCE: "Email", LOCAL: "email"}

_HUBSPOT_SIGNS = {"record id", "record id - contact", "hs_object_id"}
_SALESFORCE_SIGNS = {"id", "lead id", "contact id", "leadid", "contactid"}
#: Internal names: HubSpot's are lower-case (``numemployees``), Salesforce's API names
#: are not (``NumberOfEmployees``, ``Budget__c``); neither has spaces.
_INTERNAL = {
    HUBSPOT: re.compile(r"[a-z][a-z0-9_]*"),
    SALESFORCE: re.compile(r"[A-Za-z][A-Za-z0-9_]*"),
    LOCAL: re.compile(r"[a-z][a-z0-9_]*"),
}
_SPACES = re.compile(r"\s+")


def _key(header: str) -> str:
    return _SPACES.sub(" ", header.strip()).lower()


def _lower_joined(value: str) -> str:
    """``Marketing Qualified Lead`` → ``marketingqualifiedlead`` (lifecycle stages)."""
    return value.replace(" ", "").lower()


def _upper_snake(value: str) -> str:
    """``Decision Maker;Budget Holder`` → ``DECISION_MAKER;BUDGET_HOLDER``."""
    return ";".join(_SPACES.sub("_", part.strip()).upper() for part in value.split(";"))


#: Internal values of the HubSpot enumerations a label export spells as labels.
HUBSPOT_VALUES: dict[str, Callable[[str], str]] = {
    "lifecyclestage": _lower_joined,
    "hs_buying_role": _upper_snake,
    "hs_lead_status": _upper_snake,
}


def detect_crm(headers: Sequence[str]) -> str:
    """Which CRM exported a file with these headers: by its id column, else ``local``."""
    keys = {_key(h) for h in headers}
    if keys & _HUBSPOT_SIGNS:
        return HUBSPOT
    if keys & _SALESFORCE_SIGNS or any(h.strip().endswith("__c") for h in headers):
        return SALESFORCE
    return LOCAL


@dataclass(frozen=True)
class Column:
    """One column of an export: the property it fills and how its values are read."""

    header: str
    name: str
    #: The header was a label, so enumeration values may be labels too.
    from_label: bool
    #: A label no table knows: kept under its header.
    unknown: bool = False

    def value(self, cell: str) -> str:
        """The property value of one cell (enumeration labels → internal values)."""
        convert = HUBSPOT_VALUES.get(self.name) if self.from_label else None
        return convert(cell) if convert else cell


def map_columns(headers: Sequence[str], crm: str) -> list[Column]:
    """The property each header fills, for an export of ``crm``."""
    labels = SALESFORCE_LABELS if crm == SALESFORCE else HUBSPOT_LABELS
    signs = _SALESFORCE_SIGNS if crm == SALESFORCE else _HUBSPOT_SIGNS
    internal = _INTERNAL.get(crm, _INTERNAL[LOCAL])
    columns = []
    for header in headers:
        text = header.strip()
        if _key(text) in signs:
            columns.append(Column(header, ID_PROPERTY[crm], from_label=False))
        elif internal.fullmatch(text):
            columns.append(Column(header, text, from_label=False))
        elif _key(text) in labels:
            columns.append(Column(header, labels[_key(text)], from_label=True))
        else:
            columns.append(Column(header, text, from_label=True, unknown=True))
    return columns
