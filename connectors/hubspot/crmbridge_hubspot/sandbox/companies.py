"""Companies and their associations with contacts, as HubSpot keeps them.

A company has HubSpot's default company properties (``name``, ``domain``,
``industry``, ``numberofemployees``...) checked as contact values are, and
``hs_lastmodifieddate`` moved by every change. A contact is associated with companies
by HubSpot's types: 279 (unlabelled, every association) and 1 ("Primary", at most one
company per contact). Company search lags like contact search (see indexlag.py).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from functools import partial
from typing import Any

from crmbridge_hubspot.sandbox.indexlag import SearchIndex
from crmbridge_hubspot.sandbox.records import AlreadyExistsError, InvalidValuesError
from crmbridge_hubspot.sandbox.schema import PropertyDef, PropertyGroup, check_values
from crmbridge_hubspot.sandbox.timeutil import iso_ms

#: HubSpot's contact-to-company association types.
PRIMARY_TYPE_ID = 1
UNLABELED_TYPE_ID = 279
DEFAULT_COMPANY_PROPERTIES = ("name", "domain", "hs_object_id", "createdate")
COMPANY_SYSTEM = ("hs_object_id", "createdate", "hs_lastmodifieddate")


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A snapshot of one record of an object other than contacts (a company, a deal)."""

    id: str
    properties: Mapping[str, str]
    created_at: datetime
    updated_at: datetime


Company = Snapshot


def defined_property(
    group: str, name: str, label: str, type_: str, field_type: str, **extra: Any
) -> PropertyDef:
    """A HubSpot-defined property of ``group`` (its definition cannot be edited)."""
    return PropertyDef(
        name=name,
        label=label,
        type=type_,
        field_type=field_type,
        group_name=group,
        hubspot_defined=True,
        read_only_definition=True,
        **extra,
    )


_defined = partial(defined_property, "companyinformation")


def company_properties() -> dict[str, PropertyDef]:
    """The HubSpot-defined company properties the sandbox models."""
    defined = [
        _defined("name", "Company name", "string", "text"),
        _defined("domain", "Company Domain Name", "string", "text"),
        _defined("industry", "Industry", "string", "text"),
        _defined("numberofemployees", "Number of Employees", "number", "number"),
        _defined("annualrevenue", "Annual Revenue", "number", "number"),
        _defined("city", "City", "string", "text"),
        _defined("country", "Country/Region", "string", "text"),
        _defined("lifecyclestage", "Lifecycle Stage", "string", "text"),
        _defined("hs_object_id", "Record ID", "number", "number", read_only_value=True),
        _defined("createdate", "Create Date", "datetime", "date", read_only_value=True),
        _defined(
            "hs_lastmodifieddate", "Last Modified Date", "datetime", "date", read_only_value=True
        ),
    ]
    return {d.name: d for d in defined}


class CompanyBook:
    """The sandbox's companies and contact-to-company associations (thread-safe)."""

    def __init__(self, now: Callable[[], datetime], first_id: int = 5_000_001) -> None:
        self._lock = threading.RLock()
        self._now = now
        self._next = first_id
        self._companies: dict[str, Company] = {}
        #: contact id → company id → the association type ids.
        self._links: dict[str, dict[str, set[int]]] = {}
        self.definitions = company_properties()
        #: Company property groups (HubSpot keeps them per object type).
        self.groups: dict[str, PropertyGroup] = {
            "companyinformation": PropertyGroup("companyinformation", "Company information", 0)
        }
        #: What company search shows while changes are being indexed.
        self.index: SearchIndex[Company] = SearchIndex()

    def check(self, values: Mapping[str, Any]) -> None:
        """InvalidValuesError when HubSpot would refuse one of ``values``."""
        self._checked(values)

    def _checked(self, values: Mapping[str, Any]) -> dict[str, str]:
        clean, issues = check_values(self.definitions, values, set(), allow_read_only=False)
        if issues:
            raise InvalidValuesError(issues)
        return clean

    def create(self, values: Mapping[str, Any]) -> Company:
        """A new company; InvalidValuesError when HubSpot would refuse a value."""
        clean = self._checked(values)
        with self._lock:
            now = self._now()
            company_id = str(self._next)
            self._next += 1
            properties = {k: v for k, v in clean.items() if v != ""}
            properties.update(
                hs_object_id=company_id, createdate=iso_ms(now), hs_lastmodifieddate=iso_ms(now)
            )
            company = Company(company_id, properties, now, now)
            self._companies[company_id] = company
            self.index.changed(company_id, None, company, now, self.index.lag())
            return company

    def update(self, company_id: str, values: Mapping[str, Any]) -> Company | None:
        """Set values (``""`` clears); None for an unknown id."""
        clean = self._checked(values)
        with self._lock:
            before = self._companies.get(company_id)
            if before is None:
                return None
            now = self._now()
            properties = dict(before.properties)
            for name, value in clean.items():
                if value == "":
                    properties.pop(name, None)
                else:
                    properties[name] = value
            properties["hs_lastmodifieddate"] = iso_ms(now)
            after = replace(before, properties=properties, updated_at=now)
            self._companies[company_id] = after
            self.index.changed(company_id, before, after, now, self.index.lag())
            return after

    def property(self, name: str) -> PropertyDef | None:
        """One company property definition (not archived), or None."""
        with self._lock:
            found = self.definitions.get(name)
            return found if found and not found.archived else None

    def properties(self, *, archived: bool = False) -> list[PropertyDef]:
        """Company property definitions (archived ones only when asked)."""
        with self._lock:
            return [d for d in self.definitions.values() if d.archived == archived]

    def add_property(self, definition: PropertyDef) -> PropertyDef:
        """Create a company property; AlreadyExistsError when the name is taken."""
        with self._lock:
            if definition.name in self.definitions:
                raise AlreadyExistsError(f"Property named '{definition.name}' already exists.")
            self.definitions[definition.name] = definition
            return definition

    def group_list(self) -> list[PropertyGroup]:
        """Company property groups."""
        with self._lock:
            return list(self.groups.values())

    def group(self, name: str) -> PropertyGroup | None:
        """One company property group, or None."""
        with self._lock:
            return self.groups.get(name)

    def add_group(self, group: PropertyGroup) -> PropertyGroup:
        """Create a company property group; AlreadyExistsError when the name is taken."""
        with self._lock:
            if group.name in self.groups:
                raise AlreadyExistsError(f"A property group named '{group.name}' already exists.")
            self.groups[group.name] = group
            return group

    def get(self, company_id: str) -> Company | None:
        """One company, or None."""
        with self._lock:
            return self._companies.get(company_id)

    def companies(self) -> list[Company]:
        """Every company, by id."""
        with self._lock:
            return [self._companies[k] for k in sorted(self._companies, key=int)]

    def searchable(self) -> list[Company]:
        """The companies as search shows them now (recent changes may lag)."""
        with self._lock:
            now = self._now()
            shown = (self.index.shown(c.id, c, now) for c in self.companies())
            return [c for c in shown if c is not None]

    def associate(self, contact_id: str, company_id: str, *, primary: bool = False) -> None:
        """Associate a contact with a company; ``primary`` moves the contact's primary
        company here (a contact has at most one)."""
        with self._lock:
            if company_id not in self._companies:
                raise KeyError(company_id)
            links = self._links.setdefault(contact_id, {})
            if primary:
                for types in links.values():
                    types.discard(PRIMARY_TYPE_ID)
            types = links.setdefault(company_id, {UNLABELED_TYPE_ID})
            if primary:
                types.add(PRIMARY_TYPE_ID)

    def dissociate(self, contact_id: str, company_id: str) -> None:
        """Remove every association between a contact and a company."""
        with self._lock:
            self._links.get(contact_id, {}).pop(company_id, None)

    def associations(self, contact_id: str) -> list[tuple[str, tuple[int, ...]]]:
        """``(company id, type ids)`` of a contact's companies, by company id."""
        with self._lock:
            links = self._links.get(contact_id, {})
            return [(k, tuple(sorted(links[k]))) for k in sorted(links, key=int)]
