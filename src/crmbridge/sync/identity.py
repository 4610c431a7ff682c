"""Following the CRM's own changes of identity: merged records fold into the survivor.

A poll reads a surviving record with the ids merged into it (HubSpot's
``hs_merged_object_ids``); a webhook says the same at once (``contact.merge``) or that a
record was deleted. The store's work is in :mod:`crmbridge.store.erasure`; both wait
for a rescoring batch holding contacts (:mod:`crmbridge.store.identity_lock`).
"""

from __future__ import annotations

from collections.abc import Sequence

from crmbridge.logging import get_logger
from crmbridge.store.erasure import find_records, follow_merge, forget
from crmbridge.store.repository import Store


def follow_merges(store: Store, connector: str, merges: Sequence[tuple[str, Sequence[str]]]) -> int:
    """Fold each survivor's merged records into it (idempotent); how many were folded."""
    folded = 0
    with store.identity.changing(connector), store.engine.begin() as connection:
        for survivor, merged in merges:
            count = follow_merge(connection, connector, survivor, merged)
            if count:
                get_logger(connector=connector).info(
                    "contact.merged", survivor=survivor, merged=list(merged), folded=count
                )
            folded += count
    return folded


def forget_deleted(store: Store, connector: str, crm_ids: Sequence[str]) -> int:
    """Forget what the store holds of records a read found deleted; rows removed."""
    with store.identity.changing(connector), store.engine.begin() as connection:
        erased = forget(connection, find_records(connection, connector, crm_ids))
    counts = erased.as_dict()
    if any(counts.values()):
        get_logger(connector=connector).info("contact.forgotten", crm_ids=list(crm_ids), **counts)
    return sum(counts.values())
