"""Outcomes matched to the store's contacts and events: the leads to replay."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from crmbridge.backtest.as_of import properties_as_of
from crmbridge.backtest.outcomes import Outcome, per_lead
from crmbridge.backtest.replay import Lead
from crmbridge.store.outcome_leads import contacts_by_crm_id, contacts_by_email
from crmbridge.store.property_history import PropertyChange, history_for, read_since
from crmbridge.store.repository import Store
from crmbridge.store.session import Session


@dataclass(frozen=True, slots=True)
class Matched:
    """The leads found, and the outcomes naming no stored contact."""

    leads: list[Lead]
    unmatched: int


def stored_leads(store: Store, session: Session, outcomes: Sequence[Outcome]) -> Matched:
    """One lead per stored contact an outcome names (see :func:`per_lead`), with all its
    events (the replay keeps only those before the close) and its properties as they
    were at the close, as far as the property history knows them."""
    chosen = per_lead(outcomes)
    by_email = contacts_by_email(session, [o.key for o in chosen if o.by_email])
    by_id = contacts_by_crm_id(session, [o.key for o in chosen if not o.by_email])
    # A CRM id given without its CRM: the contact of any CRM, the lowest id first.
    for (_, crm_id), row in sorted(by_id.items(), key=lambda item: -item[1].id):
        by_id[("", crm_id)] = row
    pairs: list[tuple[Any, Outcome]] = []
    seen: set[int] = set()
    unmatched = 0
    for outcome in chosen:
        row = _row(outcome, by_email, by_id)
        if row is None:
            unmatched += 1
        elif row.id not in seen:
            # Named twice (by e-mail and by id): the first outcome in the file counts.
            seen.add(row.id)
            pairs.append((row, outcome))
    ids = [row.id for row, _ in pairs]
    events = store.events_for(session, ids)
    history = history_for(session, ids)
    newly_read = {crm: read_since(session, crm) for crm in {row.crm for row, _ in pairs}}
    leads = [
        _lead(store, row, events.get(row.id, []), history.get(row.id, []), outcome, newly_read)
        for row, outcome in pairs
    ]
    return Matched(leads, unmatched)


def _lead(
    store: Store,
    row: Any,
    events: list[Any],
    changes: list[PropertyChange],
    outcome: Outcome,
    newly_read: dict[str, dict[str, datetime]],
) -> Lead:
    closed_at = outcome.closed_at
    found = properties_as_of(
        row.properties,
        row.properties_since,
        changes,
        closed_at,
        newly_read=newly_read[row.crm],
        last_read=row.updated_at,
    )
    contact = replace(store.as_contact(row), properties=found.values)
    return Lead(contact, events, outcome, closed_at if found.exact else None)


def _row(
    outcome: Outcome, by_email: dict[str, Any], by_id: dict[tuple[str, str], Any]
) -> Any | None:
    if outcome.by_email:
        return by_email.get(outcome.key)
    return by_id.get((outcome.crm or "", outcome.key))
