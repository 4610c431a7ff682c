"""Outcomes read from the CRMs themselves (``--from-crm``): each closed deal of every
enabled connector that offers the outcomes capability, once per associated contact."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from crmbridge.backtest.outcomes import Outcome
from crmbridge.connector import Connector, outcome_reader


@dataclass(frozen=True, slots=True)
class CrmOutcomes:
    """The outcomes read, the deals they came from, and the connectors that have none
    to give (no outcomes capability yet)."""

    outcomes: list[Outcome]
    deals: int
    without: list[str]


def crm_outcomes(connectors: Mapping[str, Connector]) -> CrmOutcomes:
    """Every closed deal as one :class:`Outcome` per contact, keyed by CRM id."""
    outcomes: list[Outcome] = []
    deals = 0
    without: list[str] = []
    for name, connector in connectors.items():
        reader = outcome_reader(connector)
        if reader is None:
            without.append(name)
            continue
        for deal in reader.closed_deals():
            deals += 1
            outcomes.extend(
                Outcome(contact, False, deal.won, deal.closed_at, crm=name)
                for contact in deal.contact_ids
            )
    return CrmOutcomes(outcomes, deals, without)
