"""Salesforce's closed opportunities for ``crmbridge backtest --from-crm``.

An opportunity's contacts are its contact roles (``OpportunityContactRole``), and the
contact a lead became when it was converted into the opportunity (a converted lead
names both in ``ConvertedContactId`` and ``ConvertedOpportunityId``; crmbridge folds
a converted lead's record into that contact). Two SOQL queries read them, each
following ``nextRecordsUrl``, with the opportunity's fields read through the lookup
and only closed opportunities selected (``IsClosed``, set by Salesforce from the
stage, whatever the org calls its stages)::

    SELECT Id, OpportunityId, ContactId, Opportunity.IsWon, Opportunity.CloseDate
    FROM OpportunityContactRole WHERE Opportunity.IsClosed = true ORDER BY OpportunityId, Id

    SELECT Id, ConvertedContactId, ConvertedOpportunityId, ConvertedOpportunity.IsWon,
           ConvertedOpportunity.CloseDate
    FROM Lead WHERE ConvertedOpportunity.IsClosed = true ORDER BY ConvertedOpportunityId, Id

``IsWon`` says won or lost. ``CloseDate`` is a day without a time: the close is taken at
the start of that day, midnight UTC (as a date in an outcomes CSV file), so that
nothing later than the close can count. A row the answer cannot describe (no close
date, an id of the wrong shape) is left out and counted in the log, never the read.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from crmbridge.connector import DealOutcome
from crmbridge.logging import get_logger
from crmbridge_salesforce.client import SalesforceClient
from crmbridge_salesforce.reads import query_pages, valid_id

CONTACT_ROLES = (
    "SELECT Id, OpportunityId, ContactId, Opportunity.IsWon, Opportunity.CloseDate"
    " FROM OpportunityContactRole WHERE Opportunity.IsClosed = true"
    " ORDER BY OpportunityId, Id"
)
CONVERTED_LEADS = (
    "SELECT Id, ConvertedContactId, ConvertedOpportunityId, ConvertedOpportunity.IsWon,"
    " ConvertedOpportunity.CloseDate FROM Lead WHERE ConvertedOpportunity.IsClosed = true"
    " ORDER BY ConvertedOpportunityId, Id"
)
#: (query, opportunity id field, relationship, contact id field) of each link.
_LINKS = (
    (CONTACT_ROLES, "OpportunityId", "Opportunity", "ContactId"),
    (CONVERTED_LEADS, "ConvertedOpportunityId", "ConvertedOpportunity", "ConvertedContactId"),
)


@dataclass(slots=True)
class _Deal:
    won: bool
    closed_at: datetime
    contacts: dict[str, None] = field(default_factory=dict)


class SalesforceOutcomes:
    """crmbridge's :class:`~crmbridge.connector.OutcomeReader` for Salesforce."""

    def __init__(self, client: SalesforceClient, batch_size: int = 2000) -> None:
        self.client = client
        self.batch_size = batch_size

    def closed_deals(self) -> Iterator[DealOutcome]:
        """Every closed opportunity with a close date and a contact."""
        deals: dict[str, _Deal] = {}
        skipped = 0
        for soql, deal_field, relationship, contact_field in _LINKS:
            for page in query_pages(
                self.client,
                soql,
                self.batch_size,
                what="read closed opportunities",
                include_deleted=False,
            ):
                for row in page:
                    link = parse_link(row, deal_field, relationship, contact_field)
                    if link is None:
                        skipped += 1
                        continue
                    deal_id, won, closed_at, contact = link
                    deal = deals.setdefault(deal_id, _Deal(won, closed_at))
                    deal.contacts[contact] = None
        if skipped:
            get_logger(connector="salesforce").info("outcomes.rows_skipped", rows=skipped)
        for deal_id, deal in deals.items():
            yield DealOutcome(deal_id, deal.won, deal.closed_at, tuple(deal.contacts))


def parse_link(
    row: Mapping[str, Any], deal_field: str, relationship: str, contact_field: str
) -> tuple[str, bool, datetime, str] | None:
    """(opportunity id, won, close instant, contact id) of one answered row, or None
    when the row cannot say them."""
    deal_id, contact = row.get(deal_field), row.get(contact_field)
    deal = row.get(relationship)
    if not (isinstance(deal_id, str) and valid_id(deal_id)):
        return None
    if not (isinstance(contact, str) and valid_id(contact)) or not isinstance(deal, Mapping):
        return None
    won, closed = deal.get("IsWon"), close_instant(deal.get("CloseDate"))
    if not isinstance(won, bool) or closed is None:
        return None
    return deal_id, won, closed, contact


def close_instant(value: Any) -> datetime | None:
    """A ``CloseDate`` (``2026-10-01``) as the start of that day in UTC, or None."""
    if not isinstance(value, str) or len(value) != 10:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        return None
    return datetime(day.year, day.month, day.day, tzinfo=UTC)
