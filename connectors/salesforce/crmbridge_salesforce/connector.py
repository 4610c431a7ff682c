"""The Salesforce connector: leads and contacts through simple-salesforce.

Reads are SOQL sweeps on ``SystemModstamp`` (:mod:`crmbridge_salesforce.reads`), one
per object (Lead, then Contact, as configured), under one cursor holding each object's
position. Writes are sObject Collections updates (:mod:`crmbridge_salesforce.writes`).
Closed opportunities for backtests: :mod:`crmbridge_salesforce.outcomes`.
Custom fields and their field-level security: :mod:`crmbridge_salesforce.schema`.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from crmbridge import clock
from crmbridge.clock import parse_instant
from crmbridge.connector import (
    CheckReport,
    CorruptCursorError,
    DailyCount,
    FieldSpec,
    LookbackCursor,
    Page,
    Write,
    WriteResult,
)
from crmbridge.connector.rate_governor import RateGovernor
from crmbridge.errors import MissingScope
from crmbridge.logging import get_logger
from crmbridge.records import ContactRecord
from crmbridge_salesforce.activity import (
    ACTIVITY_FIELDS,
    ACTIVITY_OBJECTS,
    DESCRIPTION,
    TASK,
    ReplyTasks,
    activity_events,
)
from crmbridge_salesforce.auth import credentials
from crmbridge_salesforce.bulk import bulk_write
from crmbridge_salesforce.cadences import Cadences
from crmbridge_salesforce.check import check_org
from crmbridge_salesforce.client import SalesforceClient
from crmbridge_salesforce.errors import NotFound
from crmbridge_salesforce.fields import ObjectFields, resolve_all
from crmbridge_salesforce.handoff import SalesforceHandoff
from crmbridge_salesforce.limits import ApiBudget
from crmbridge_salesforce.outcomes import SalesforceOutcomes
from crmbridge_salesforce.pardot.source import CURSOR_KEY as PARDOT_KEY
from crmbridge_salesforce.pardot.source import GRADE, SCORE, PardotSource
from crmbridge_salesforce.reads import (
    LEAD_FIELDS,
    SYSTEM_FIELDS,
    object_of,
    rows_by_id,
    sort_rows,
    sweep,
)
from crmbridge_salesforce.schema import ensure_fields
from crmbridge_salesforce.session import SalesforceSession
from crmbridge_salesforce.settings import SalesforceSettings
from crmbridge_salesforce.writes import COLLECTION_LIMIT, collections_write

log = get_logger(connector="salesforce")

NAME = "salesforce"
#: Suffix of the cursor key holding where the last ``getDeleted`` check ended.
DELETED_KEY = ".deleted"
#: How often ``getDeleted`` is asked (one call per object): deletions the recycle bin
#: still holds are read on every poll already.
DELETED_EVERY = timedelta(hours=1)
#: Each check starts a little before the last one ended (a deletion committing late).
DELETED_OVERLAP = timedelta(minutes=5)
#: ``getDeleted`` answers the last 30 days at most.
DELETED_REACH = timedelta(days=29)
#: Salesforce has no short-window request limit; this only keeps bursts polite.
DEFAULT_BURST = (100, 1.0)


class SalesforceConnector:
    """crmbridge's :class:`~crmbridge.connector.Connector` for Salesforce."""

    name = NAME

    def __init__(self, client: SalesforceClient, settings: SalesforceSettings) -> None:
        self.client = client
        self.settings = settings
        self.objects = settings.objects
        #: Records a write takes: a Bulk job's worth when Bulk 2.0 is in use.
        self.max_batch_size = max(COLLECTION_LIMIT, settings.bulk_batch_size)
        self._described: dict[str, ObjectFields] = {}
        self._lock = threading.Lock()
        self._reported: set[str] = set()
        #: Whether this read's records carry pardot_score and pardot_grade.
        self._standing = False
        #: Which Tasks are a lead's reply (``reply_call_types`` and the rest).
        self.reply_tasks = ReplyTasks.of(
            settings.reply_call_types, settings.reply_task_types, settings.reply_task_subjects
        )
        cadences = (
            Cadences(client, on_reply=settings.cadence_on_reply)
            if settings.sales_engagement
            else None
        )
        pardot = settings.pardot
        self.pardot = (
            PardotSource.build(client, pardot, settings.timeout.total_seconds(), settings.ca_bundle)
            if pardot.enabled
            else None
        )
        self._handoff = SalesforceHandoff(
            client,
            fallback_user=settings.task_owner_fallback,
            queues=settings.queue_owners,
            cadences=cadences,
        )
        #: Closed opportunities and their contacts, for backtests (outcomes.py).
        self.outcomes = SalesforceOutcomes(client, settings.batch_size)

    @classmethod
    def from_settings(
        cls, settings: SalesforceSettings, *, governor: RateGovernor | None = None
    ) -> SalesforceConnector:
        """Build from ``[connectors.salesforce]``; no complete way of signing in is a
        config error naming the settings."""
        creds = credentials(settings)
        session = SalesforceSession(
            settings.timeout.total_seconds(),
            login_host=settings.login_host,
            ca_bundle=settings.ca_bundle,
        )
        client = SalesforceClient(
            creds,
            session,
            governor=governor or RateGovernor(*DEFAULT_BURST),
            budget=ApiBudget(settings.api_share),
        )
        return cls(client, settings)

    def __repr__(self) -> str:
        return f"SalesforceConnector({self.client.credentials!r}, objects={self.objects!r})"

    def share_daily_count(self, count: DailyCount) -> None:
        """Count every call in ``count`` (every replica's) against ``api_share``."""
        self.client.budget.shared = count

    @property
    def handoff(self) -> SalesforceHandoff:
        """Owners (Users) and Tasks; see :mod:`crmbridge_salesforce.handoff`."""
        return self._handoff

    @property
    def rate_governor(self) -> RateGovernor:
        """The governor pacing every call."""
        return self.client.governor

    # -- describe ---------------------------------------------------------------------

    def fields(self, sobject: str) -> ObjectFields | None:
        """The fields of ``sobject`` the integration user sees (described once)."""
        if sobject not in self.objects:
            return None
        return self._describe(sobject)

    def _describe(self, sobject: str) -> ObjectFields:
        with self._lock:
            cached = self._described.get(sobject)
        if cached is not None:
            return cached
        answer = self.client.rest(f"describe {sobject}", f"sobjects/{sobject}/describe")
        described = ObjectFields.from_describe(sobject, answer or {})
        with self._lock:
            self._described[sobject] = described
        return described

    def forget_fields(self) -> None:
        """Describe again on next use (after fields were created)."""
        with self._lock:
            self._described.clear()

    # -- check and schema -------------------------------------------------------------

    def check(self) -> CheckReport:
        """Sign in and report the org, the API version and budget, and field access."""
        return check_org(self)

    def ensure_schema(self, fields: Sequence[FieldSpec]) -> list[str]:
        """Create crmbridge's missing custom fields on every object read; idempotent."""
        created = ensure_fields(self, fields)
        self.forget_fields()
        return created

    def property_names(self) -> frozenset[str]:
        """Every field readable on the objects read (and crmbridge's names of its own)."""
        names: set[str] = set()
        for sobject in self.objects:
            described = self.fields(sobject)
            if described is not None:
                names |= described.names()
        if self.pardot is not None and self.settings.pardot.score_and_grade:
            names |= {SCORE, GRADE}
        return frozenset(names)

    # -- reading ----------------------------------------------------------------------

    def _columns(self, sobject: str, properties: Sequence[str]) -> tuple[list[str], dict[str, str]]:
        described = self.fields(sobject)
        assert described is not None
        properties = [p for p in properties if p not in (SCORE, GRADE)]
        mapping = resolve_all(described, properties)
        unseen = sorted(set(properties) - set(mapping) - self._reported)
        if unseen:
            # Field-level security hides a field from the API altogether: say so once.
            self._reported.update(unseen)
            log.warning(
                "salesforce.fields_not_visible",
                object=sobject,
                fields=unseen[:50],
                hint="missing, or hidden from the integration user by field-level security",
            )
        system = [*SYSTEM_FIELDS, *(LEAD_FIELDS if sobject == "Lead" else ())]
        columns = [c for c in system if described.resolve(c) is not None or c == "Id"]
        return list(dict.fromkeys([*columns, *mapping.values()])), mapping

    def read_changes(self, cursor: str | None, properties: Sequence[str]) -> Iterator[Page]:
        """Leads and contacts changed since ``cursor``, oldest first within each object."""
        keys = [*self.objects, *ACTIVITY_OBJECTS, PARDOT_KEY]
        positions, starts, corrupt = _restore(cursor, keys)
        if corrupt is not None:
            # The safe positions are stored at once, so the corrupt ones are reported once.
            log.warning("cursor.reset", reason=str(corrupt))
            yield Page((), _encode(positions))
        wants_standing = self.pardot is not None and bool({SCORE, GRADE} & set(properties))
        moved = self.pardot.refresh() if self.pardot is not None and wants_standing else set()
        self._standing = wants_standing
        emitted: set[str] = set()
        for sobject in self.objects:
            columns, mapping = self._columns(sobject, properties)
            position = starts[sobject]
            for rows, after in sweep(
                self.client,
                sobject,
                columns,
                position,
                window=self.settings.lookback,
                keep=self.settings.lookback_records,
                batch_size=self.settings.batch_size,
            ):
                positions[sobject] = after.encode()
                records, gone = self._records(sobject, rows, mapping, properties)
                emitted.update(r.id for r in records)
                yield Page(tuple(records), _encode(positions), gone=gone)
                self._standings_sent(r.id for r in records)
            purged = self._hard_deletes(sobject, positions)
            if purged is not None:
                yield Page((), _encode(positions), gone=purged)
        if moved - emitted:
            yield from self._restanding(sorted(moved - emitted), properties, positions)
        if self.settings.activity:
            yield from self._activity_pages(positions, starts)
        if self.pardot is not None:
            for page in self.pardot.activities(starts[PARDOT_KEY]):
                positions[PARDOT_KEY] = page.position.encode()
                yield Page((), _encode(positions), page.events)
        if corrupt is not None:
            # After the read: the poll's failure tells /healthz and the cycle's report.
            raise corrupt

    def _hard_deletes(self, sobject: str, positions: dict[str, str]) -> tuple[str, ...] | None:
        """The ids ``getDeleted`` lists since the last check (at most hourly; none on
        the first read, which starts the checks), or ``None`` when the position of the
        checks did not move.

        ``queryAll`` sees a deleted row only while it is in the recycle bin; one emptied
        from it (after 15 days, or by an admin) is named by ``getDeleted`` alone.
        """
        key = f"{sobject}{DELETED_KEY}"
        now = clock.now()
        last = _instant(positions.get(key))
        if last is None or last > now:
            positions[key] = now.isoformat()  # from now on: the read sees what lives
            return ()
        if now - last < DELETED_EVERY:
            return None
        start = max(last - DELETED_OVERLAP, now - DELETED_REACH)
        answer = self.client.call(
            f"list the deleted {sobject}s",
            lambda sf: getattr(sf, sobject).deleted(start, now),
        )
        rows = (answer or {}).get("deletedRecords") if isinstance(answer, dict) else None
        ids = tuple(
            str(row["id"])
            for row in rows or ()
            if isinstance(row, dict) and isinstance(row.get("id"), str)
        )
        covered = _instant((answer or {}).get("latestDateCovered"))
        positions[key] = min(covered or now, now).isoformat()
        return ids

    def _restanding(
        self, crm_ids: Sequence[str], properties: Sequence[str], positions: dict[str, str]
    ) -> Iterator[Page]:
        """The leads and contacts whose Pardot score or grade moved without a change of
        their own, read by id so their records carry the new values."""
        by_object: dict[str, list[str]] = {}
        for crm_id in crm_ids:
            sobject = object_of(crm_id)
            if sobject is not None and sobject in self.objects:
                by_object.setdefault(sobject, []).append(crm_id)
            else:
                self._standings_sent([crm_id])  # a record crmbridge does not read
        for sobject, ids in by_object.items():
            columns, mapping = self._columns(sobject, properties)
            rows = rows_by_id(self.client, sobject, columns, ids)
            records, _ = self._records(sobject, rows, mapping, properties)
            if records:
                yield Page(tuple(records), _encode(positions))
            # Handed over (or gone from Salesforce): not read again for this change.
            self._standings_sent(ids)

    def _standings_sent(self, crm_ids: Iterable[str]) -> None:
        """The page holding these records was taken (stored): their Pardot score and
        grade went with them. Said only after the ``yield``, so a read stopped or
        failed before then hands them over next time."""
        if self.pardot is not None and self._standing:
            self.pardot.sent(crm_ids)

    def _activity_pages(
        self, positions: dict[str, str], starts: Mapping[str, LookbackCursor]
    ) -> Iterator[Page]:
        """Tasks and EmailMessages changed since the cursor, as pages of events."""
        for sobject in ACTIVITY_OBJECTS:
            try:
                described = self._describe(sobject)
            except (NotFound, MissingScope) as exc:
                if sobject not in self._reported:
                    self._reported.add(sobject)
                    log.warning("salesforce.activity_unreadable", object=sobject, error=str(exc))
                continue
            wanted = list(ACTIVITY_FIELDS[sobject])
            if sobject == TASK and self.reply_tasks.needs_description:
                wanted.append(DESCRIPTION)
            columns = [c for c in wanted if described.resolve(c) is not None]
            if "SystemModstamp" not in columns:
                continue
            position = starts[sobject]
            for rows, after in sweep(
                self.client,
                sobject,
                ["Id", *columns],
                position,
                window=self.settings.lookback,
                keep=self.settings.lookback_records,
                batch_size=self.settings.batch_size,
            ):
                positions[sobject] = after.encode()
                events = tuple(
                    event
                    for row in rows
                    for event in activity_events(sobject, row, self.reply_tasks)
                )
                yield Page((), _encode(positions), events)

    def _records(
        self,
        sobject: str,
        rows: Sequence[Mapping[str, Any]],
        mapping: Mapping[str, str],
        properties: Sequence[str],
    ) -> tuple[list[ContactRecord], tuple[str, ...]]:
        """The page's live records (survivors of merges and conversions read by id),
        and the ids deleted without a survivor."""
        live, survivors = sort_rows(rows)
        records = [self._record(row, mapping) for row in live]
        if survivors.merged:
            by_object: dict[str, list[str]] = {}
            for survivor in survivors.merged:
                target = object_of(survivor)
                if target is not None and target in self.objects:
                    by_object.setdefault(target, []).append(survivor)
            for target, ids in by_object.items():
                columns, target_mapping = self._columns(target, properties)
                for row in rows_by_id(self.client, target, columns, ids):
                    merged = survivors.merged.get(str(row["Id"]), ())
                    records.append(self._record(row, target_mapping, merged))
        return records, survivors.deleted

    def _record(
        self, row: Mapping[str, Any], mapping: Mapping[str, str], merged: Sequence[str] = ()
    ) -> ContactRecord:
        props = {}
        for name, sf_name in mapping.items():
            value = _text(row.get(sf_name))
            if value is not None:
                props[name] = value
        modified = _instant(row.get("SystemModstamp"))
        if self.pardot is not None and self._standing:
            standing = self.pardot.standing_of(str(row["Id"]))
            if standing is not None:
                for name, value in ((SCORE, standing.score), (GRADE, standing.grade)):
                    if value is not None:
                        props[name] = value
                # Pardot's values changed when its prospect did, maybe after the record:
                # the record's values are as of the later (the property history dates
                # changes by it, and must not date a new score before it was set).
                if standing.since is not None and modified is not None:
                    modified = max(modified, standing.since)
        email = row.get("Email")
        return ContactRecord(
            crm=self.name,
            id=str(row["Id"]),
            email=email if isinstance(email, str) else None,
            properties=props,
            updated_at=modified,
            merged_ids=tuple(merged),
        )

    def read_values(
        self, crm_ids: Sequence[str], properties: Sequence[str]
    ) -> dict[str, dict[str, str | None]]:
        """Current values of ``properties`` by id; unknown ids are left out."""
        by_object: dict[str, list[str]] = {}
        for crm_id in crm_ids:
            sobject = object_of(crm_id)
            if sobject is not None and sobject in self.objects:
                by_object.setdefault(sobject, []).append(crm_id)
        found: dict[str, dict[str, str | None]] = {}
        for sobject, ids in by_object.items():
            columns, mapping = self._columns(sobject, properties)
            for row in rows_by_id(self.client, sobject, columns, ids):
                found[str(row["Id"])] = {
                    name: _text(row.get(mapping[name])) if name in mapping else None
                    for name in properties
                }
        return found

    # -- writing ----------------------------------------------------------------------

    def write(self, batch: Sequence[Write]) -> list[WriteResult]:
        """Collections updates, 200 records a call, or Bulk 2.0 jobs above
        ``bulk_threshold`` records; one result per record."""
        if len(batch) > self.settings.bulk_threshold:
            return bulk_write(self.client, batch, self.fields)
        return collections_write(self.client, batch, self.fields)


def _restore(
    cursor: str | None, sobjects: Sequence[str]
) -> tuple[dict[str, str], dict[str, LookbackCursor], CorruptCursorError | None]:
    """The positions stored in ``cursor`` (safe ones in place of the unreadable) and
    each object's read position.

    A cursor that is no JSON object at all reads every object from the beginning; an
    object's unreadable position re-reads its look-back window
    (:meth:`~crmbridge.connector.LookbackCursor.restore`). The error says what was reset.
    """
    texts: dict[str, str] = {}
    reasons: list[str] = []
    try:
        data = json.loads(cursor) if cursor else {}
        if not isinstance(data, dict):
            raise TypeError(f"{type(data).__name__} where positions by object were expected")
        texts = {str(k): v for k, v in data.items() if isinstance(v, str)}
    except (ValueError, TypeError, RecursionError) as exc:
        reasons.append(
            f"the stored read position is unreadable ({type(exc).__name__}); "
            "read again from the beginning"
        )
    starts: dict[str, LookbackCursor] = {}
    for sobject in sobjects:
        starts[sobject], corrupt = LookbackCursor.restore(texts.get(sobject))
        if corrupt is not None:
            reasons.append(f"{sobject}: {corrupt.message}")
            texts[sobject] = starts[sobject].encode()
    return texts, starts, CorruptCursorError("; ".join(reasons)) if reasons else None


def _encode(positions: Mapping[str, str]) -> str:
    return json.dumps(positions, separators=(",", ":"))


def _instant(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return parse_instant(value)
    except ValueError:
        return None  # an unreadable time: treated as unknown


def _text(value: Any) -> str | None:
    """A Salesforce JSON value in crmbridge's canonical text form."""
    if value is None or value == "" or isinstance(value, dict | list):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value)
