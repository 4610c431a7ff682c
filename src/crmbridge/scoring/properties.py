"""The contact properties a model reads, each with the config path that names it.

``crmbridge check`` compares them with the properties the CRM has, so that a rule on a
misspelt property (``jobtitel``) is reported instead of silently never matching.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from crmbridge.scoring.model import BantModel, Condition, LifecycleModel, ScoringModel

#: Rules on the associated company's properties read another object than the contact.
COMPANY_PREFIX = "company."


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
    return [(path, name) for path, name in found if not name.startswith(COMPANY_PREFIX)]
