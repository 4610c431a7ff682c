"""HubSpot's closed deals for ``crmbridge backtest --from-crm``.

- Closed deals are found with the deals search on ``hs_is_closed = true`` (stage ids
  differ per pipeline and portal; the calculated flags do not), read 200 a call in
  ``hs_object_id`` order and resumed with ``hs_object_id > last`` rather than
  ``after``, so the search's 10,000-result ceiling never cuts the read short.
  ``hs_is_closed_won`` says won or lost; ``closedate`` when.
- Each deal's contacts come from the v4 deal-to-contact associations batch read
  (:mod:`crmbridge_hubspot.associations`).

A deal without a close date or without a contact is left out (and counted in the log).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from crmbridge.clock import parse_instant
from crmbridge.connector import DealOutcome
from crmbridge.logging import get_logger
from crmbridge_hubspot.associations import read_associations
from crmbridge_hubspot.client import HubSpotClient
from crmbridge_hubspot.sweep import SEARCH_LIMIT

_PROPERTIES = ["closedate", "hs_is_closed_won", "hs_object_id"]


class HubSpotOutcomes:
    """crmbridge's :class:`~crmbridge.connector.OutcomeReader` for HubSpot."""

    def __init__(self, client: HubSpotClient) -> None:
        self.client = client
        crm = client.sdk.crm
        self.search_api = crm.deals.search_api
        self.associations_api = crm.associations.v4.batch_api

    def closed_deals(self) -> Iterator[DealOutcome]:
        """Every closed deal with a close date and a contact."""
        skipped = 0
        for page in self._closed_pages():
            contacts = self._contacts([deal_id for deal_id, _, _ in page])
            for deal_id, won, closed_at in page:
                linked = contacts.get(deal_id)
                if closed_at is None or not linked:
                    skipped += 1
                    continue
                yield DealOutcome(deal_id, won, closed_at, tuple(linked))
        if skipped:
            get_logger(connector="hubspot").info("outcomes.deals_skipped", deals=skipped)

    def _closed_pages(self) -> Iterator[list[tuple[str, bool, datetime | None]]]:
        last = 0
        while True:
            body = {
                "filterGroups": [
                    {
                        "filters": [
                            {"propertyName": "hs_is_closed", "operator": "EQ", "value": "true"},
                            {"propertyName": "hs_object_id", "operator": "GT", "value": str(last)},
                        ]
                    }
                ],
                "sorts": [{"propertyName": "hs_object_id", "direction": "ASCENDING"}],
                "properties": _PROPERTIES,
                "limit": SEARCH_LIMIT,
            }
            data = self.client.call(
                "search closed deals", self.search_api.do_search_with_http_info, body, search=True
            )
            results = list(data.results or [])
            if not results:
                return
            yield [_deal(r) for r in results]
            ids = [int(r.id) for r in results if str(r.id).isdigit()]
            if len(results) < SEARCH_LIMIT or not ids or max(ids) <= last:
                return
            last = max(ids)

    def _contacts(self, deal_ids: Sequence[str]) -> dict[str, list[str]]:
        found = read_associations(self.client, self.associations_api, "deals", "contacts", deal_ids)
        return {deal: [contact for contact, _ in linked] for deal, linked in found.items()}


def _deal(result: Any) -> tuple[str, bool, datetime | None]:
    values = result.properties or {}
    won = str(values.get("hs_is_closed_won") or "").lower() == "true"
    return str(result.id), won, _instant(values.get("closedate"))


def _instant(value: Any) -> datetime | None:
    """HubSpot's datetime: ISO-8601 in v3, milliseconds since the epoch in older data."""
    text = str(value or "").strip()
    if not text or len(text) > 40:
        return None
    try:
        if text.isdigit():
            return datetime.fromtimestamp(int(text) / 1000, tz=UTC)
        return parse_instant(text)
    except (ValueError, OverflowError, OSError):
        return None
