"""The properties a model reads, each with the config path that names it.

``crmbridge check`` compares them with the properties the CRM has, so that a rule on a
misspelt property (``jobtitel``) is reported instead of silently never matching.
A name ``company.<property>`` reads the contact's company (:func:`company_property`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import replace

from crmbridge.errors import ConfigProblem
from crmbridge.scoring.model import BantModel, Condition, LifecycleModel, ScoringModel
from crmbridge.scoring.types import Contact

#: Rules on the associated company's properties read another object than the contact.
COMPANY_PREFIX = "company."
#: A company property name as CRMs spell them (HubSpot ``numberofemployees``,
#: Salesforce ``NumberOfEmployees`` or ``Tier__c``): a letter, then letters, digits
#: and underscores, at most 100 characters.
_PROPERTY_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,99}")


def company_property(name: str) -> str | None:
    """The company property a ``company.<property>`` name reads; ``None`` for any
    other name, or one whose property part is not a property name."""
    if not name.startswith(COMPANY_PREFIX):
        return None
    rest = name[len(COMPANY_PREFIX) :]
    return rest if _PROPERTY_NAME.fullmatch(rest) else None


def company_path_problem(name: str) -> str | None:
    """Why ``name`` (a rule's property) is a malformed company path, or ``None``."""
    if not name.startswith(COMPANY_PREFIX) or company_property(name) is not None:
        return None
    rest = name[len(COMPANY_PREFIX) :]
    if not rest:
        return f'"{name}" names no company property'
    if "." in rest:
        return f'"{name[:120]}" goes deeper than one level: company.<property> reads one property'
    return (
        f'"{name[:120]}" is not a property name: a letter, then letters, digits and '
        "underscores (at most 100)"
    )


def company_properties(
    scoring: ScoringModel,
    bant: BantModel,
    lifecycle: LifecycleModel,
    more: Iterable[tuple[str, Mapping[str, Condition]]] = (),
) -> list[tuple[str, str]]:
    """``(config path, company property)`` for every well-formed ``company.`` name."""
    found = []
    for path, name in _found(scoring, bant, lifecycle, more):
        prop = company_property(name)
        if prop is not None:
            found.append((path, prop))
    return found


def read_properties(
    scoring: ScoringModel,
    bant: BantModel,
    lifecycle: LifecycleModel,
    more: Iterable[tuple[str, Mapping[str, Condition]]] = (),
) -> list[tuple[str, str]]:
    """``(config path, contact property)`` for every contact property the model reads.

    Fit rules, the BANT criteria and committee, the lifecycle conditions, and ``more``
    (``(path, conditions)`` pairs, such as the triggers' property conditions). Event
    rules read event properties and ``company.`` names another object: both are left out.
    """
    found = _found(scoring, bant, lifecycle, more)
    return [(path, name) for path, name in found if not name.startswith(COMPANY_PREFIX)]


def _found(
    scoring: ScoringModel,
    bant: BantModel,
    lifecycle: LifecycleModel,
    more: Iterable[tuple[str, Mapping[str, Condition]]],
) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []

    def conditions(path: str, when: Mapping[str, Condition]) -> None:
        found.extend((f"{path}.{name}", name) for name in when)

    for i, rule in enumerate(scoring.fit):
        conditions(f"scoring.fit[{i}].when", rule.when)
    criteria = (
        ("budget", bant.budget),
        ("authority", bant.authority),
        ("need", bant.need),
        ("timeline", bant.timeline),
    )
    for letter, criterion in criteria:
        if criterion is not None:
            found.append((f"bant.{letter}.property", criterion.property))
    if bant.committee is not None:
        found.append(("bant.committee.property", bant.committee.property))
    conditions("lifecycle.opportunity_when", lifecycle.opportunity_when)
    conditions("lifecycle.customer_when", lifecycle.customer_when)
    for path, when in more:
        conditions(path, when)
    return found


def company_path_problems(
    scoring: ScoringModel,
    bant: BantModel,
    lifecycle: LifecycleModel,
    more: Iterable[tuple[str, Mapping[str, Condition]]] = (),
) -> list[ConfigProblem]:
    """One problem per malformed ``company.`` name (``company.``, ``company.a.b``)."""
    problems = []
    for path, name in _found(scoring, bant, lifecycle, more):
        problem = company_path_problem(name)
        if problem is not None:
            if path.endswith(f".{name}"):  # a key of a when table: quoted, as TOML writes it
                path = f'{path[: -len(name) - 1]}."{name[:120]}"'
            problems.append(
                ConfigProblem(path, problem, 'e.g. "company.numberofemployees" = { gte = 200 }')
            )
    return problems


def with_company(
    properties: Mapping[str, object], company: Mapping[str, object] | None
) -> dict[str, object]:
    """A contact's properties with its company's added as ``company.<property>``
    (what ``company.`` rules read); the contact's own are left as they are."""
    merged = dict(properties)
    for name, value in (company or {}).items():
        merged[COMPANY_PREFIX + name] = value
    return merged


def contact_with_company(contact: Contact, company: Mapping[str, object] | None) -> Contact:
    """``contact`` as ``company.`` rules see it: with its company's properties added
    (unchanged when it has no company)."""
    if company is None:
        return contact
    return replace(contact, properties=with_company(contact.properties or {}, company))
