"""Deals and their associations with contacts, as HubSpot keeps them.

A deal has HubSpot's default deal properties: ``dealname``, ``pipeline`` (the sandbox
has HubSpot's ``default`` pipeline only), ``dealstage`` (an enumeration of that
pipeline's stage ids, ``closedwon`` and ``closedlost`` among them; any other value is
refused as HubSpot refuses it), ``closedate``, ``amount``; and the calculated
``hs_is_closed`` and ``hs_is_closed_won`` ("true"/"false", derived from the stage,
never set). A deal is associated with contacts by HubSpot's type 3 (deal to contact).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from datetime import datetime
from functools import partial
from typing import Any

from crmbridge_hubspot.sandbox.companies import Snapshot, defined_property
from crmbridge_hubspot.sandbox.records import InvalidValuesError
from crmbridge_hubspot.sandbox.schema import Issue, Option, PropertyDef, check_values
from crmbridge_hubspot.sandbox.timeutil import iso_ms

#: HubSpot's association type from a deal to a contact.
DEAL_TO_CONTACT = 3
DEFAULT_PIPELINE = "default"
#: The default pipeline's stages, in order, and which of them close the deal.
STAGES = (
    ("appointmentscheduled", "Appointment Scheduled"),
    ("qualifiedtobuy", "Qualified To Buy"),
    ("presentationscheduled", "Presentation Scheduled"),
    ("decisionmakerboughtin", "Decision Maker Bought-In"),
    ("contractsent", "Contract Sent"),
    ("closedwon", "Closed Won"),
    ("closedlost", "Closed Lost"),
)
CLOSED = frozenset({"closedwon", "closedlost"})
DEFAULT_DEAL_PROPERTIES = ("dealname", "amount", "closedate", "pipeline", "dealstage")
DEAL_SYSTEM = ("hs_object_id", "createdate", "hs_lastmodifieddate")


Deal = Snapshot
_defined = partial(defined_property, "dealinformation")


def deal_properties() -> dict[str, PropertyDef]:
    """The HubSpot-defined deal properties the sandbox models."""
    stages = tuple(Option(label, value, order) for order, (value, label) in enumerate(STAGES))
    pipelines = (Option("Sales Pipeline", DEFAULT_PIPELINE, 0),)
    defined = [
        _defined("dealname", "Deal Name", "string", "text"),
        _defined("amount", "Amount", "number", "number"),
        _defined("closedate", "Close Date", "datetime", "date"),
        _defined("pipeline", "Pipeline", "enumeration", "select", options=pipelines),
        _defined("dealstage", "Deal Stage", "enumeration", "radio", options=stages),
        _defined(
            "hs_is_closed",
            "Is Deal Closed?",
            "bool",
            "booleancheckbox",
            read_only_value=True,
            calculated=True,
        ),
        _defined(
            "hs_is_closed_won",
            "Is Closed Won",
            "bool",
            "booleancheckbox",
            read_only_value=True,
            calculated=True,
        ),
        _defined("hs_object_id", "Record ID", "number", "number", read_only_value=True),
        _defined("createdate", "Create Date", "datetime", "date", read_only_value=True),
        _defined(
            "hs_lastmodifieddate", "Last Modified Date", "datetime", "date", read_only_value=True
        ),
    ]
    return {d.name: d for d in defined}


class DealBook:
    """The sandbox's deals and deal-to-contact associations (thread-safe)."""

    def __init__(self, now: Callable[[], datetime], first_id: int = 9_000_001) -> None:
        self._lock = threading.RLock()
        self._now = now
        self._next = first_id
        self._deals: dict[str, Deal] = {}
        #: deal id → associated contact ids.
        self._contacts: dict[str, set[str]] = {}
        self.definitions = deal_properties()

    def now(self) -> datetime:
        """The sandbox's clock."""
        return self._now()

    def create(self, values: Mapping[str, Any]) -> Deal:
        """A new deal; InvalidValuesError when HubSpot would refuse a value. As HubSpot,
        a deal needs a stage; the pipeline defaults to ``default``."""
        clean, issues = check_values(self.definitions, values, set(), allow_read_only=False)
        if not clean.get("dealstage") and not issues:
            message = 'Property "dealstage" is required'
            issues = [Issue("dealstage", "", "REQUIRED_PROPERTY", message)]
        if issues:
            raise InvalidValuesError(issues)
        with self._lock:
            now = self._now()
            deal_id = str(self._next)
            self._next += 1
            properties = {k: v for k, v in clean.items() if v != ""}
            properties.setdefault("pipeline", DEFAULT_PIPELINE)
            stage = properties["dealstage"]
            properties.update(
                hs_object_id=deal_id,
                createdate=iso_ms(now),
                hs_lastmodifieddate=iso_ms(now),
                hs_is_closed="true" if stage in CLOSED else "false",
                hs_is_closed_won="true" if stage == "closedwon" else "false",
            )
            deal = Deal(deal_id, properties, now, now)
            self._deals[deal_id] = deal
            return deal

    def get(self, deal_id: str) -> Deal | None:
        """One deal, or None."""
        with self._lock:
            return self._deals.get(deal_id)

    def deals(self) -> list[Deal]:
        """Every deal, by id."""
        with self._lock:
            return [self._deals[k] for k in sorted(self._deals, key=int)]

    def associate(self, deal_id: str, contact_id: str) -> None:
        """Associate a deal with a contact (type 3)."""
        with self._lock:
            if deal_id not in self._deals:
                raise KeyError(deal_id)
            self._contacts.setdefault(deal_id, set()).add(contact_id)

    def contacts(self, deal_id: str) -> list[str]:
        """The contact ids a deal is associated with, by id."""
        with self._lock:
            return sorted(self._contacts.get(deal_id, ()), key=int)
