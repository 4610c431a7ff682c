"""Field names: crmbridge's (``crmbridge_fit_score``) and Salesforce's
(``CRMBridge_Fit_Score__c``), and the fields an object shows the integration user.

crmbridge names the fields it writes ``<prefix>_<suffix>`` in lower case; on Salesforce
they are custom fields, each part capitalised, the prefix ``crmbridge`` spelled
``CRMBridge``, with the ``__c`` suffix. Any other name is a Salesforce field name as an
admin writes it in a rule (``Title``, ``NumberOfEmployees``, ``Budget__c``); Salesforce
compares field names without regard to case.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

#: crmbridge's own names: lower case words joined by single underscores.
_OWN = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)+$")
#: Salesforce allows 40 characters before ``__c``.
MAX_FIELD_NAME = 40


def custom_field(name: str) -> str:
    """The custom field for crmbridge's ``name`` (``crmbridge_score`` → ``CRMBridge_Score__c``)."""
    parts = [part.capitalize() for part in name.split("_")]
    if parts[0] == "Crmbridge":
        parts[0] = "CRMBridge"
    return "_".join(parts)[:MAX_FIELD_NAME] + "__c"


def is_own_name(name: str) -> bool:
    """Is ``name`` in crmbridge's lower-case form (mapped to a custom field)?"""
    return bool(_OWN.match(name))


@dataclass(frozen=True)
class ObjectFields:
    """The fields of one object the integration user can read (from its describe)."""

    object: str
    #: lower-cased name → the field's describe entry.
    by_lower: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    @classmethod
    def from_describe(cls, name: str, describe: Mapping[str, Any]) -> ObjectFields:
        """Built from ``GET sobjects/<name>/describe``."""
        fields = describe.get("fields") or []
        return cls(name, {str(f["name"]).lower(): f for f in fields if f.get("name")})

    def resolve(self, name: str) -> str | None:
        """The Salesforce field for a property ``name``, or ``None`` when it cannot be read."""
        found = self.by_lower.get(name.lower())
        if found is not None:
            return str(found["name"])
        if is_own_name(name):
            mapped = self.by_lower.get(custom_field(name).lower())
            if mapped is not None:
                return str(mapped["name"])
        return None

    def updateable(self, sf_name: str) -> bool:
        """Can the integration user write this field?"""
        found = self.by_lower.get(sf_name.lower())
        return bool(found and found.get("updateable"))

    def names(self) -> frozenset[str]:
        """Every readable field, with crmbridge's lower-case aliases of its custom fields."""
        out: set[str] = set()
        for entry in self.by_lower.values():
            name = str(entry["name"])
            out.add(name)
            if name.endswith("__c"):
                out.add(name[:-3].lower())
        return frozenset(out)


def resolve_all(fields: ObjectFields, names: Iterable[str]) -> dict[str, str]:
    """Property name → Salesforce field, for the names the object has."""
    out = {}
    for name in names:
        sf_name = fields.resolve(name)
        if sf_name is not None:
            out[name] = sf_name
    return out
