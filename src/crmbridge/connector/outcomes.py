"""The optional outcomes capability: the CRM's closed deals, won or lost, and the
contacts each belongs to, for ``crmbridge backtest --from-crm``.

Like the company capability it is not a member of
:class:`~crmbridge.connector.Connector`: a connector offers it with an ``outcomes``
attribute holding an :class:`OutcomeReader` (read through :func:`outcome_reader`);
a connector without the attribute, or holding ``None``, has no outcomes to give.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable


@dataclass(frozen=True, slots=True)
class DealOutcome:
    """One closed deal: its id, whether it was won, when it closed (UTC-aware) and the
    CRM ids of the contacts (leads) it is associated with."""

    deal_id: str
    won: bool
    closed_at: datetime
    contact_ids: tuple[str, ...]


class OutcomeReader(Protocol):
    """Reads the CRM's closed deals."""

    def closed_deals(self) -> Iterator[DealOutcome]:
        """Every closed deal with a close date and at least one contact, in any order.
        A deal the CRM cannot describe (no close date) is left out, never the read."""
        ...


@runtime_checkable
class ReadsOutcomes(Protocol):
    """A connector that declares the outcomes capability."""

    @property
    def outcomes(self) -> OutcomeReader | None:
        """The outcome reader, or ``None``."""
        ...


def outcome_reader(connector: object) -> OutcomeReader | None:
    """The connector's outcome reader; ``None`` for a connector that declares none."""
    return connector.outcomes if isinstance(connector, ReadsOutcomes) else None
