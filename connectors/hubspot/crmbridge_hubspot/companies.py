"""HubSpot companies for ``company.`` rules: associations, batch reads, the change stream.

- A contact's company is its primary associated company (association type 1,
  "Primary"), else the lowest id among its associated companies. Links are read with
  the v4 associations batch read, up to 1,000 contacts a call; a contact with more
  associated companies than one answer holds is read on with its ``after`` token.
- Companies are read with the companies batch read, 100 a call.
- crmbridge's company properties (the account score) are written with the companies
  batch update, 100 a call, and created in the ``crmbridge`` group of company
  properties, as contact properties are.
- Companies changed since a cursor are found with the companies search on
  ``hs_lastmodifieddate``, swept exactly as contacts are (look-back included, see
  :mod:`crmbridge_hubspot.sweep`). Without a cursor the stream starts from now: the
  companies contacts already belong to are read by id, never swept.

Every call goes through :class:`~crmbridge_hubspot.client.HubSpotClient` (pacing,
retries, error mapping). One company the SDK cannot read is left out, never the batch.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import suppress
from datetime import datetime, timedelta
from typing import Any

from crmbridge import clock
from crmbridge.connector import (
    CompanyPage,
    CompanyRecord,
    FieldSpec,
    LookbackCursor,
    Write,
    WriteResult,
)
from crmbridge.logging import get_logger
from crmbridge_hubspot.associations import read_associations
from crmbridge_hubspot.batch_update import BATCH_LIMIT, update_batches
from crmbridge_hubspot.client import HubSpotClient
from crmbridge_hubspot.errors import Conflict, NotFound
from crmbridge_hubspot.schema import GROUP, property_definition
from crmbridge_hubspot.sweep import SEARCH_LIMIT, Answer, Query, read_pages, search_body

#: Companies one batch read takes.
READ_BATCH = 100
#: The companies' modification time, as search filters and sorts on it.
MODIFIED = "hs_lastmodifieddate"
#: HubSpot's association type "Primary" from a contact to a company.
PRIMARY_TYPE_ID = 1

Row = tuple[datetime, str, CompanyRecord]


class HubSpotCompanies:
    """crmbridge's :class:`~crmbridge.connector.CompanyReader` and
    :class:`~crmbridge.connector.CompanyWriter` for HubSpot."""

    #: HubSpot keeps the primary company's id on the contact and moves its modification
    #: time with it: a contact whose value changed has its link read again.
    link_properties: tuple[str, ...] = ("associatedcompanyid",)
    write_batch_size = BATCH_LIMIT

    def __init__(self, client: HubSpotClient, *, lookback: timedelta, keep: int) -> None:
        self.client = client
        self.lookback = lookback
        self.keep = keep
        # The SDK builds a new API object (and connection pool) per attribute access.
        crm = client.sdk.crm
        self.search_api = crm.companies.search_api
        self.batch_api = crm.companies.batch_api
        self.associations_api = crm.associations.v4.batch_api

    def property_names(self) -> frozenset[str]:
        """Every company property of the portal (one request)."""
        found = self.client.call(
            "list company properties",
            self.client.properties_api.get_all_with_http_info,
            "companies",
        )
        return frozenset(prop.name for prop in found.results or [])

    def write(self, batch: Sequence[Write]) -> list[WriteResult]:
        """Companies batch update; one result per company, a bad one never sinks the rest."""
        return update_batches(
            self.client, "batch update companies", self.batch_api.update_with_http_info, batch
        )

    def ensure_property(self, field: FieldSpec) -> bool:
        """Create the crmbridge group of company properties and ``field`` if missing."""
        groups = self.client.groups_api
        try:
            self.client.call(
                "get company property group",
                groups.get_by_name_with_http_info,
                "companies",
                GROUP["name"],
            )
        except NotFound:
            # Conflict: created meanwhile (another replica), which is fine.
            with suppress(Conflict):
                self.client.call(
                    "create company property group",
                    groups.create_with_http_info,
                    "companies",
                    GROUP,
                )
        if field.name in self.property_names():
            return False
        try:
            self.client.call(
                f"create company property {field.name}",
                self.client.properties_api.create_with_http_info,
                "companies",
                property_definition(field),
            )
        except Conflict:
            return False
        return True

    def links(self, contact_ids: Sequence[str]) -> dict[str, str | None]:
        """Each contact's primary company (``None``: no company), 1,000 contacts a call."""
        found = read_associations(
            self.client, self.associations_api, "contacts", "companies", contact_ids
        )
        return {
            i: _primary([(PRIMARY_TYPE_ID in types, c) for c, types in found.get(i, [])])
            for i in dict.fromkeys(contact_ids)
        }

    def read(self, company_ids: Sequence[str], properties: Sequence[str]) -> list[CompanyRecord]:
        """The companies that exist among ``company_ids``, 100 a call."""
        ids = list(dict.fromkeys(company_ids))
        records: list[CompanyRecord] = []
        for start in range(0, len(ids), READ_BATCH):
            body = {
                "inputs": [{"id": i} for i in ids[start : start + READ_BATCH]],
                "properties": list(properties),
                "propertiesWithHistory": [],
            }
            data = self.client.call(
                "batch read companies", self.batch_api.read_with_http_info, body, archived=False
            )
            records.extend(_record(r, properties) for r in data.results or [])
        return records

    def changes(self, cursor: str | None, properties: Sequence[str]) -> Iterator[CompanyPage]:
        """Companies modified since ``cursor``, oldest first, 200 a search call."""
        if cursor is None:
            # From now, with no look-back before it: what changed earlier is read by id
            # (``read``) when a contact links to it, at its current version.
            start = clock.now()
            yield CompanyPage((), LookbackCursor(at=start, since=start).encode())
            return
        wanted = sorted({*properties, MODIFIED})

        def search(query: Query, names: list[str] = wanted) -> Answer[CompanyRecord]:
            data = self.client.call(
                "search companies",
                self.search_api.do_search_with_http_info,
                search_body(query, names, MODIFIED),
                search=True,
            )
            results = list(data.results or [])
            more = bool(data.paging and data.paging.next) and len(results) == SEARCH_LIMIT
            rows = [(_modified(r), str(r.id), _record(r, properties)) for r in results]
            return Answer(rows, more)

        def fetch(ids: Sequence[str]) -> list[Row]:
            rows = [(r.updated_at or clock.now(), r.id, r) for r in self.read(ids, properties)]
            return sorted(rows, key=lambda row: (row[0], int(row[1]) if row[1].isdigit() else 0))

        for fresh, position in read_pages(
            LookbackCursor.decode(cursor),
            search,
            light=lambda query: search(query, [MODIFIED]),
            fetch=fetch,
            window=self.lookback,
            keep=self.keep,
        ):
            yield CompanyPage(tuple(record for _, _, record in fresh), position.encode())


def _primary(found: list[tuple[bool, str]]) -> str | None:
    """The primary company, else the lowest id (HubSpot lists them in no set order)."""
    if not found:
        return None
    primary = [company for is_primary, company in found if is_primary]
    pool = primary or [company for _, company in found]
    return min(pool, key=lambda i: (len(i), i))


def _record(result: Any, properties: Sequence[str]) -> CompanyRecord:
    values = result.properties or {}
    kept = {name: values[name] for name in properties if values.get(name) is not None}
    return CompanyRecord(str(result.id), kept, getattr(result, "updated_at", None))


def _modified(result: Any) -> datetime:
    moment = getattr(result, "updated_at", None)
    if isinstance(moment, datetime):
        return moment
    get_logger(connector="hubspot").warning("company.no_updated_at", company=str(result.id))
    return clock.now()
