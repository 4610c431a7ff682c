"""Incremental reads of one object: SOQL on ``SystemModstamp``, oldest first.

Each sweep queries ``SystemModstamp >= start ORDER BY SystemModstamp, Id`` and follows
``nextRecordsUrl`` (``Sforce-Query-Options: batchSize``). ``start`` lies a look-back
window before the newest change read (:class:`~crmbridge.connector.LookbackCursor`):
Salesforce can commit a row with a SystemModstamp below one already read. The cursor
remembers every record read in the window with the change read, so a record is
returned again only when it changed again; the position after each page is the
compound ``(SystemModstamp, Id)`` of its last row and the ids read at that instant.

The query is a ``queryAll``: deleted rows come too. A row merged into another
(``IsDeleted`` with ``MasterRecordId``) hands its history to the survivor, and a
converted lead hands its history to its contact (``ConvertedContactId``); the
survivors are read by id and returned with ``merged_ids``. A lead that was converted
is never returned itself (Salesforce refuses updates to it).

Every value put into SOQL goes through ``format_soql``; field and object names come
from Salesforce's describe, and are checked to be plain names anyway.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from simple_salesforce.api import Salesforce
from simple_salesforce.format import format_soql

from crmbridge.clock import parse_instant
from crmbridge.connector import LookbackCursor
from crmbridge.errors import PermanentRecordError
from crmbridge_salesforce.client import SalesforceClient

MODSTAMP = "SystemModstamp"
#: Read on every object whatever the model asks.
SYSTEM_FIELDS = ("Id", MODSTAMP, "Email", "IsDeleted", "MasterRecordId", "LastModifiedById")
LEAD_FIELDS = ("IsConverted", "ConvertedContactId")
_PLAIN = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,80}$")
_ID = re.compile(r"^[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?$")
#: Ids per ``WHERE Id IN (...)`` query.
IDS_PER_QUERY = 200
#: Salesforce's key prefixes of the objects crmbridge reads.
KEY_PREFIXES = {"00Q": "Lead", "003": "Contact"}


def object_of(crm_id: str) -> str | None:
    """The object a record id belongs to (by its key prefix), if crmbridge reads it."""
    if not _ID.match(crm_id):
        return None
    return KEY_PREFIXES.get(crm_id[:3])


def valid_id(crm_id: str) -> bool:
    """Is ``crm_id`` shaped like a Salesforce id (15 or 18 letters and digits)?"""
    return bool(_ID.match(crm_id))


def modstamp(row: Mapping[str, Any]) -> datetime:
    """A row's SystemModstamp; a row without one cannot be placed."""
    value = row.get(MODSTAMP)
    if not isinstance(value, str):
        raise PermanentRecordError(f"Salesforce row {row.get('Id', '?')} has no {MODSTAMP}")
    return parse_instant(value)


def select(sobject: str, columns: Sequence[str], where: str = "") -> str:
    """``SELECT columns FROM sobject [WHERE ...]``; names must be plain identifiers."""
    for name in (sobject, *columns):
        if not _PLAIN.match(name):
            raise PermanentRecordError(f"not a Salesforce field or object name: {name[:60]!r}")
    text = f"SELECT {', '.join(dict.fromkeys(columns))} FROM {sobject}"
    return f"{text} WHERE {where}" if where else text


def changed_since(sobject: str, columns: Sequence[str], start: datetime | None) -> str:
    """The sweep's query: rows modified at or after ``start`` (whole seconds, rounded
    down: SOQL datetimes have no fraction), in ``(SystemModstamp, Id)`` order."""
    where = "" if start is None else format_soql("SystemModstamp >= {}", start)
    return f"{select(sobject, columns, where)} ORDER BY SystemModstamp, Id"


def query_pages(
    client: SalesforceClient,
    soql: str,
    batch_size: int,
    *,
    what: str,
    include_deleted: bool = True,
) -> Iterator[list[dict[str, Any]]]:
    """The rows of ``soql``, a page per call, following ``nextRecordsUrl``."""
    headers = {"Sforce-Query-Options": f"batchSize={batch_size}"}
    result = client.call(
        what, lambda sf: sf.query(soql, include_deleted=include_deleted, headers=headers)
    )
    while True:
        yield [dict(row) for row in result.get("records") or []]
        following = result.get("nextRecordsUrl")
        if result.get("done", True) or not following:
            return
        result = client.call(what, _more(following, headers))


def _more(url: str, headers: dict[str, str]) -> Callable[[Salesforce], Any]:
    def more(sf: Salesforce) -> Any:
        return sf.query_more(url, identifier_is_url=True, headers=headers)

    return more


def rows_by_id(
    client: SalesforceClient, sobject: str, columns: Sequence[str], ids: Sequence[str]
) -> list[dict[str, Any]]:
    """The live rows of ``ids`` (well-formed ones; unknown ids are simply absent)."""
    wanted = [i for i in dict.fromkeys(ids) if valid_id(i)]
    rows: list[dict[str, Any]] = []
    for begin in range(0, len(wanted), IDS_PER_QUERY):
        chunk = wanted[begin : begin + IDS_PER_QUERY]
        soql = select(sobject, columns, format_soql("Id IN {}", chunk))
        for page in query_pages(
            client, soql, 2000, what=f"read {sobject} by id", include_deleted=False
        ):
            rows.extend(page)
    return rows


@dataclass(frozen=True, slots=True)
class Survivors:
    """Rows of a page that hand their history to another record."""

    #: survivor id → ids merged into it (merged rows, converted leads).
    merged: Mapping[str, tuple[str, ...]]
    #: rows deleted without a survivor.
    deleted: tuple[str, ...]


def sort_rows(rows: Sequence[Mapping[str, Any]]) -> tuple[list[Mapping[str, Any]], Survivors]:
    """The live rows of a page, and what its deleted, merged and converted rows say."""
    live: list[Mapping[str, Any]] = []
    merged: dict[str, list[str]] = {}
    deleted: list[str] = []
    for row in rows:
        rid = str(row.get("Id"))
        master = row.get("MasterRecordId")
        converted = row.get("ConvertedContactId")
        if row.get("IsDeleted"):
            if isinstance(master, str) and master:
                merged.setdefault(master, []).append(rid)
            else:
                deleted.append(rid)
        elif row.get("IsConverted"):
            if isinstance(converted, str) and converted:
                merged.setdefault(converted, []).append(rid)
        else:
            live.append(row)
    return live, Survivors({k: tuple(v) for k, v in merged.items()}, tuple(deleted))


def sweep(
    client: SalesforceClient,
    sobject: str,
    columns: Sequence[str],
    position: LookbackCursor,
    *,
    window: timedelta,
    keep: int,
    batch_size: int,
) -> Iterator[tuple[list[Mapping[str, Any]], LookbackCursor]]:
    """The rows changed since ``position``, a page at a time, with the position after it."""
    soql = changed_since(sobject, columns, position.start(window))
    for rows in query_pages(client, soql, batch_size, what=f"read changed {sobject}s"):
        if not rows:
            continue
        placed = [(modstamp(row), str(row["Id"]), row) for row in rows]
        fresh = [(at, rid, row) for at, rid, row in placed if position.admits(at, rid)]
        if not fresh:
            continue
        position = position.advance(
            [(at, rid) for at, rid, _ in fresh], window=window, keep=keep, floor=placed[-1][0]
        )
        yield [row for _, _, row in fresh], position
