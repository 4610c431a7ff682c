"""Companies for ``company.`` rules: links and company data brought into the store.

Runs within a connector's read, in three steps, each in batches:

1. the companies' change stream (its own cursor, ``companies``): a cached company
   whose properties changed marks its contacts dirty;
2. while contact pages are stored, the links of the contacts whose company may have
   changed (a ``link_properties`` value changed) are marked to be asked for again;
3. after the pages, the contacts without a current link are linked (``links``, many
   contacts a call), and the companies linked but not cached with the properties the
   model reads are read (``read``, many companies a call).

Only what the store lacks is asked for: a company already cached is never read again
for another contact, nor while it has not changed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from crmbridge.config import CrmbridgeConfig, trigger_conditions
from crmbridge.connector import CompanyReader, CompanyRecord
from crmbridge.logging import get_logger
from crmbridge.records import ContactRecord
from crmbridge.scoring.properties import company_properties
from crmbridge.store import companies as cache
from crmbridge.store.repository import Store

COMPANIES_STREAM = "companies"
#: Contacts whose links one ``links`` call is given (the connector batches further).
LINK_BATCH = 1000
#: Companies one ``read`` call is given (the connector batches further).
READ_BATCH = 1000


def company_reads(config: CrmbridgeConfig) -> list[str]:
    """The company properties the model reads (scoring, BANT, lifecycle, triggers)."""
    paths = company_properties(
        config.scoring, config.bant, config.lifecycle, trigger_conditions(config)
    )
    return sorted({name for _, name in paths})


@dataclass
class CompanyCounts:
    """What one connector's company steps did."""

    changed: int = 0
    linked: int = 0
    read: int = 0
    #: Contacts marked dirty: moved, or their company changed.
    marked: int = 0


class CompanySync:
    """Keeps one connector's links and company cache current for the model."""

    def __init__(
        self,
        store: Store,
        crm: str,
        reader: CompanyReader,
        properties: Sequence[str],
        *,
        on_regrouped: Callable[[Sequence[str]], None] | None = None,
    ) -> None:
        self.store = store
        #: Told the companies contacts left or joined (the account score's roll-up).
        self.on_regrouped = on_regrouped
        self.crm = crm
        self.reader = reader
        self.properties = sorted(set(properties))
        self.fetched = cache.fetched_digest(self.properties)
        self.counts = CompanyCounts()

    def follow_changes(self, now: datetime) -> None:
        """Store the companies changed since the stream's cursor (cached ones only)."""
        cursor = self.store.get_cursor(self.crm, COMPANIES_STREAM)
        for page in self.reader.changes(cursor, self.properties):
            self.counts.changed += len(page.records)
            self.counts.marked += cache.save_companies(
                self.store, self.crm, _by_id(page.records), self.fetched, now, known_only=True
            )
            self.store.put_cursor(self.crm, COMPANIES_STREAM, page.cursor)

    def contacts_read(self, records: Sequence[ContactRecord]) -> None:
        """Contacts about to be stored: those that may have moved are linked anew."""
        names = self.reader.link_properties
        if names:
            values = {r.id: r.properties for r in records}
            cache.forget_moved_links(self.store, self.crm, values, names)

    def link(self, now: datetime) -> None:
        """Link every contact without a current link, then read the companies missing."""
        after = 0
        while batch := cache.unlinked(self.store, self.crm, after, LINK_BATCH):
            after = batch[-1][0]
            found = self.reader.links([crm_id for _, crm_id in batch])
            links = {contact_id: found.get(crm_id) for contact_id, crm_id in batch}
            self.counts.linked += len(links)
            regrouped: list[str] = []
            self.counts.marked += cache.save_links(self.store, self.crm, links, now, regrouped)
            if regrouped and self.on_regrouped is not None:
                self.on_regrouped(sorted(set(regrouped)))
        asked: list[str] = []
        while wanted := cache.companies_to_read(self.store, self.crm, self.fetched, READ_BATCH):
            if wanted == asked:  # not stored (cannot happen): never ask forever
                break
            asked = wanted
            records = _by_id(self.reader.read(wanted, self.properties))
            self.counts.read += len(records)
            # A company the CRM no longer has is cached empty: not asked for again.
            missing: dict[str, tuple[dict[str, Any], datetime | None]] = {
                company_id: ({}, None) for company_id in wanted if company_id not in records
            }
            self.counts.marked += cache.save_companies(
                self.store, self.crm, {**records, **missing}, self.fetched, now
            )
        if self.counts.marked:
            get_logger(connector=self.crm).info("companies.synced", **vars(self.counts))


def _by_id(
    records: Sequence[CompanyRecord],
) -> dict[str, tuple[dict[str, Any], datetime | None]]:
    return {r.id: (dict(r.properties), r.updated_at) for r in records}
