"""The v4 associations batch read, shared by companies (contact → company) and deals
(deal → contact): 1,000 records a call, and a record with more associations than one
answer holds read on with its ``after`` token."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from crmbridge_hubspot.client import HubSpotClient

#: Records one associations batch read takes (HubSpot refuses more since 2025).
ASSOCIATION_BATCH = 1000
#: The most ``after`` pages read for one record's associations (a runaway guard).
MAX_ASSOCIATION_PAGES = 20

#: An associated record's id and the association type ids linking it.
Linked = tuple[str, tuple[int, ...]]


def read_associations(
    client: HubSpotClient, api: Any, source: str, target: str, ids: Sequence[str]
) -> dict[str, list[Linked]]:
    """Each record's associated ``target`` records; a record with none is absent
    (HubSpot lists it among the answer's errors, which is no fault)."""
    found: dict[str, list[Linked]] = {}
    unique = list(dict.fromkeys(ids))
    for start in range(0, len(unique), ASSOCIATION_BATCH):
        pending = [{"id": i} for i in unique[start : start + ASSOCIATION_BATCH]]
        for _ in range(MAX_ASSOCIATION_PAGES):
            if not pending:
                break
            pending = _page(client, api, source, target, pending, found)
    return found


def _page(
    client: HubSpotClient,
    api: Any,
    source: str,
    target: str,
    inputs: list[dict[str, str]],
    found: dict[str, list[Linked]],
) -> list[dict[str, str]]:
    """One batch read; the inputs to send again for their next page."""
    data = client.call(
        f"batch read {source[:-1]} {target}",
        api.get_page_with_http_info,
        source,
        target,
        {"inputs": inputs},
    )
    again: list[dict[str, str]] = []
    for result in data.results or []:
        origin = getattr(getattr(result, "_from", None), "id", None)
        if origin is None:
            continue
        held = found.setdefault(str(origin), [])
        for item in result.to or []:
            types = tuple(
                int(t.type_id)
                for t in item.association_types or []
                if getattr(t, "type_id", None) is not None
            )
            held.append((str(item.to_object_id), types))
        after = getattr(getattr(result.paging, "next", None), "after", None)
        if after:
            again.append({"id": str(origin), "after": str(after)})
    return again
