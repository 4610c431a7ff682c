"""BANT qualification (Budget, Authority, Need, Timeline) from mapped contact properties."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from crmbridge.scoring.conditions import CompiledCondition, compile_condition
from crmbridge.scoring.model import BantModel
from crmbridge.scoring.text import MAX_SCORED_CHARS, plain_text, to_text
from crmbridge.scoring.types import BantResult

_LETTERS = ("budget", "authority", "need", "timeline")


@dataclass(frozen=True, slots=True)
class BantEvaluator:
    """Compiled BANT mapping: evaluate it on a contact's properties."""

    criteria: tuple[tuple[str, str, CompiledCondition] | None, ...]
    committee_property: str | None
    committee_roles: tuple[tuple[str, frozenset[str]], ...]

    @classmethod
    def compile(cls, model: BantModel) -> BantEvaluator:
        """Compile every configured letter and the committee-role mapping once."""
        criteria = []
        for letter in _LETTERS:
            criterion = getattr(model, letter)
            criteria.append(
                None
                if criterion is None
                else (letter, criterion.property, compile_condition(criterion.qualified))
            )
        committee = model.committee
        roles = tuple(
            (role, frozenset(to_text(v) for v in values))
            for role, values in (committee.roles.items() if committee else ())
        )
        return cls(tuple(criteria), committee.property if committee else None, roles)

    def evaluate(self, properties: Mapping[str, Any]) -> BantResult:
        """Which letters qualify, and the buying-committee role if the mapping knows it."""
        budget, authority, need, timeline = (
            item is not None and item[2](properties.get(item[1])) for item in self.criteria
        )
        return BantResult(budget, authority, need, timeline, self._role(properties))

    def _role(self, properties: Mapping[str, Any]) -> str | None:
        if self.committee_property is None:
            return None
        raw = properties.get(self.committee_property)
        if raw is None:
            return None
        # HubSpot multi-selects arrive as "A;B"; the first mapped value wins.
        values = [to_text(part) for part in plain_text(raw)[:MAX_SCORED_CHARS].split(";")]
        for value in values:
            for role, accepted in self.committee_roles:
                if value in accepted:
                    return role
        return None
