"""The sandbox CRM's data: a thread-safe, in-memory HubSpot account.

Contacts (string property values, ``createdAt``/``updatedAt``, per-property history),
contact property definitions and groups, owners, tasks with their contact
associations, sequences and enrollments, static lists, plus what the sandbox observes
about its clients: a bounded request log and named counters.

Every method takes one re-entrant lock, so the HTTP app, the admin endpoints, the
webhook thread and a test can all use one :class:`SandboxState` at once. Readers get
frozen snapshots, never live rows. Contact changes are announced to subscribers
(the webhook dispatcher) after the lock is released.
"""

from __future__ import annotations

import threading
from collections import Counter, deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from crmbridge_hubspot.sandbox.companies import CompanyBook
from crmbridge_hubspot.sandbox.deals import DealBook
from crmbridge_hubspot.sandbox.indexlag import SearchIndex
from crmbridge_hubspot.sandbox.records import (
    AlreadyExistsError,
    ChangeSource,
    Contact,
    ContactChange,
    Enrollment,
    HistoryEntry,
    InvalidValuesError,
    NotFoundError,
    Owner,
    RefusedError,
    RequestRecord,
    SalesSequence,
    StaticList,
    Task,
)
from crmbridge_hubspot.sandbox.schema import (
    LIFECYCLE_STAGES,
    Issue,
    PropertyDef,
    PropertyGroup,
    check_values,
    default_contact_properties,
    default_groups,
    task_properties,
)
from crmbridge_hubspot.sandbox.timeutil import iso_ms, truncate_ms, utc_now

HISTORY_DEPTH = 20
REQUEST_LOG_SIZE = 10_000
_LIFECYCLE_ORDER = {o.value: o.display_order for o in LIFECYCLE_STAGES}
#: What a merge never copies from the merged record (identity and bookkeeping).
_MERGE_KEEPS = frozenset(
    {
        "hs_object_id",
        "createdate",
        "lastmodifieddate",
        "email",
        "hs_merged_object_ids",
        "hs_additional_emails",
    }
)
#: Writing a value here counts as "the contact replied" (HubSpot unenrolls them).
REPLY_PROPERTY = "hs_sales_email_last_replied"
#: Who writes a contact's primary company id when its association changes.
COMPANY_SOURCE = ChangeSource("CRM_UI", "associations")


@dataclass
class _Row:
    id: int
    properties: dict[str, str]
    created_at: datetime
    updated_at: datetime
    history: dict[str, list[HistoryEntry]] = field(default_factory=dict)
    #: The history-free copy search last took, with the ``updated_at`` it was taken at:
    #: every change moves ``updated_at`` on, so an equal one means the copy is current.
    _shown: tuple[datetime, Contact] | None = field(default=None, repr=False, compare=False)

    def search_copy(self) -> Contact:
        """The record as search reads it (no history), copied once per version."""
        if self._shown is None or self._shown[0] != self.updated_at:
            self._shown = (self.updated_at, self.snapshot(history=False))
        return self._shown[1]

    def snapshot(self, *, history: bool = True) -> Contact:
        return Contact(
            id=str(self.id),
            properties=dict(self.properties),
            created_at=self.created_at,
            updated_at=self.updated_at,
            # Search never shows history: copying it for every record would dominate.
            history={k: tuple(v) for k, v in self.history.items()} if history else {},
        )


@dataclass
class _List:
    list_id: str
    name: str
    processing_type: str
    created_at: datetime
    members: dict[str, datetime] = field(default_factory=dict)


Listener = Callable[[Sequence[ContactChange]], None]


class SandboxState:
    """The in-memory CRM. ``clock`` returns "now" (tests and the seed fix it)."""

    def __init__(
        self,
        *,
        clock: Callable[[], datetime] | None = None,
        first_contact_id: int = 1001,
    ) -> None:
        self._lock = threading.RLock()
        self._clock = clock or utc_now
        self._next_contact = first_contact_id
        self._next_task = 90_001
        self._next_enrollment = 7_001
        self._next_list = 1
        self._contacts: dict[int, _Row] = {}
        self._by_email: dict[str, int] = {}
        #: Ids of records merged away → the record they now are.
        self._aliases: dict[int, int] = {}
        self._properties: dict[str, PropertyDef] = {d.name: d for d in default_contact_properties()}
        self._groups: dict[str, PropertyGroup] = {g.name: g for g in default_groups()}
        self._task_properties = task_properties()
        self._owners: dict[str, Owner] = {}
        self._tasks: dict[str, Task] = {}
        self._sequences: dict[str, SalesSequence] = {}
        self._enrollments: list[Enrollment] = []
        self._lists: dict[str, _List] = {}
        self._log: deque[RequestRecord] = deque(maxlen=REQUEST_LOG_SIZE)
        self._counters: Counter[str] = Counter()
        self._listeners: list[Listener] = []
        #: Canonical events that go with the seeded contacts (see seed.py).
        self.demo_events: list[dict[str, Any]] = []
        #: What contact search shows while changes are being indexed (see indexlag.py).
        self.contact_index: SearchIndex[Contact] = SearchIndex()
        #: What task search shows while new tasks are being indexed.
        self.task_index: SearchIndex[Task] = SearchIndex()
        #: Companies and their associations with contacts (see companies.py).
        self.companies = CompanyBook(self.now)
        #: Deals and their contacts, for backtests (see deals.py).
        self.deals = DealBook(self.now)

    # ── time and observers ───────────────────────────────────────────────────────

    def now(self) -> datetime:
        """The CRM's current time, truncated to milliseconds."""
        return truncate_ms(self._clock())

    def subscribe(self, listener: Listener) -> None:
        """Call ``listener`` with every batch of contact changes (outside the lock)."""
        with self._lock:
            self._listeners.append(listener)

    def _announce(self, changes: Sequence[ContactChange]) -> None:
        if not changes:
            return
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            listener(changes)

    # ── request log and counters ─────────────────────────────────────────────────

    def record_request(
        self,
        method: str,
        path: str,
        query: str,
        status: int,
        duration_ms: float,
        body: str = "",
    ) -> None:
        """Append to the request log (``body``: a write's JSON) and count the status."""
        record = RequestRecord(method, path, query, status, self.now(), duration_ms, body)
        with self._lock:
            self._log.append(record)
            self._counters["requests"] += 1
            self._counters[f"status_{status}"] += 1

    def requests(self, limit: int | None = None) -> list[RequestRecord]:
        """The logged requests, oldest first (the last ``limit`` if given)."""
        with self._lock:
            records = list(self._log)
        return records[-limit:] if limit else records

    def count(self, name: str, amount: int = 1) -> None:
        """Add to a named counter."""
        with self._lock:
            self._counters[name] += amount

    def counters(self) -> dict[str, int]:
        """Every counter, sorted by name."""
        with self._lock:
            return dict(sorted(self._counters.items()))

    def reset_observations(self) -> None:
        """Forget the request log and counters (the CRM data stays)."""
        with self._lock:
            self._log.clear()
            self._counters.clear()

    # ── property definitions ─────────────────────────────────────────────────────

    def contact_properties(self, *, archived: bool = False) -> list[PropertyDef]:
        """Contact property definitions (archived ones only when asked)."""
        with self._lock:
            return [d for d in self._properties.values() if d.archived == archived]

    def contact_property(self, name: str) -> PropertyDef | None:
        """One definition, or None."""
        with self._lock:
            found = self._properties.get(name)
            return found if found and not found.archived else None

    def add_contact_property(self, definition: PropertyDef) -> PropertyDef:
        """Create a property; AlreadyExistsError when the name is taken."""
        with self._lock:
            if definition.name in self._properties:
                raise AlreadyExistsError(f"Property named '{definition.name}' already exists.")
            self._properties[definition.name] = definition
            return definition

    def replace_contact_property(self, definition: PropertyDef) -> None:
        """Put ``definition`` in place of the property of its name (label, description)."""
        with self._lock:
            self._properties[definition.name] = definition

    def groups(self) -> list[PropertyGroup]:
        """Contact property groups."""
        with self._lock:
            return list(self._groups.values())

    def group(self, name: str) -> PropertyGroup | None:
        """One group, or None."""
        with self._lock:
            return self._groups.get(name)

    def add_group(self, group: PropertyGroup) -> PropertyGroup:
        """Create a group; AlreadyExistsError when the name is taken."""
        with self._lock:
            if group.name in self._groups:
                raise AlreadyExistsError(f"A property group named '{group.name}' already exists.")
            self._groups[group.name] = group
            return group

    # ── contacts ────────────────────────────────────────────────────────────────

    def check_properties(
        self, values: Mapping[str, Any], *, as_user: bool = False
    ) -> tuple[dict[str, str], list[Issue]]:
        """Normalise written values; list every refused one (HubSpot reports them all).

        ``as_user`` is a person or HubSpot itself acting in the CRM (the admin
        endpoint): read-only values such as ``hs_sales_email_last_replied`` may then be
        set. System properties (``hs_object_id``, ``createdate``, ``lastmodifieddate``)
        are never writable. An empty string (or null) clears the value.
        """
        with self._lock:
            owner_ids = {o.id for o in self._owners.values() if not o.archived}
            return check_values(self._properties, values, owner_ids, allow_read_only=as_user)

    def create_contact(
        self,
        values: Mapping[str, Any],
        *,
        source: ChangeSource,
        as_user: bool = False,
        created_at: datetime | None = None,
        updated_at: datetime | None = None,
        notify: bool = True,
    ) -> Contact:
        """Create a contact; InvalidValuesError or AlreadyExistsError (same email)."""
        with self._lock:
            clean, issues = self.check_properties(values, as_user=as_user)
            if issues:
                raise InvalidValuesError(issues)
            email = clean.get("email", "").strip().lower()
            if email and email in self._by_email:
                existing = str(self._by_email[email])
                raise AlreadyExistsError(
                    f"Contact already exists. Existing ID: {existing}", existing
                )
            created = truncate_ms(created_at) if created_at else self.now()
            updated = max(truncate_ms(updated_at), created) if updated_at else created
            row = _Row(self._next_contact, {}, created, updated)
            self._next_contact += 1
            given = {k: v for k, v in clean.items() if v != ""}
            for name, value in given.items():
                row.properties[name] = value
                row.history[name] = [HistoryEntry(value, created, source)]
            row.properties["hs_object_id"] = str(row.id)
            row.properties["createdate"] = iso_ms(created)
            row.properties["lastmodifieddate"] = iso_ms(updated)
            self._contacts[row.id] = row
            if email:
                self._by_email[email] = row.id
            self._counters["contacts_created"] += 1
            snapshot = row.snapshot()
            self.contact_index.changed(
                str(row.id), None, snapshot, self.now(), self.contact_index.lag()
            )
        if notify:
            changes = [ContactChange(row.id, "creation", created, source)]
            changes += [
                ContactChange(row.id, "propertyChange", created, source, name, value)
                for name, value in given.items()
            ]
            self._announce(changes)
        return snapshot

    def get_contact(self, contact_id: str, *, id_property: str | None = None) -> Contact | None:
        """A contact by record id, or by ``email`` when ``id_property`` says so."""
        with self._lock:
            row = self._find(contact_id, id_property)
            return row.snapshot() if row else None

    def _find(self, key: str, id_property: str | None) -> _Row | None:
        if id_property == "email":
            number = self._by_email.get(key.strip().lower())
            return self._contacts.get(number) if number is not None else None
        if not key.strip().isdigit():
            return None
        number = int(key)
        # A merged record's id finds the record it was merged into.
        return self._contacts.get(self._aliases.get(number, number))

    def contacts(self) -> list[Contact]:
        """Every contact, by id."""
        with self._lock:
            return [self._contacts[k].snapshot() for k in sorted(self._contacts)]

    def searchable_contacts(self, modified_from: datetime | None = None) -> list[Contact]:
        """Every contact as search shows it now, by id (without property history):
        changes still being indexed show the version before them, and a contact just
        created not at all. ``modified_from`` leaves out the contacts last modified
        before it (what search shows of one is never newer than the contact)."""
        with self._lock:
            now = self.now()
            rows = self._contacts
            keys = sorted(
                rows
                if modified_from is None
                else (k for k, row in rows.items() if row.updated_at >= modified_from)
            )
            shown = (self.contact_index.shown(str(k), rows[k].search_copy(), now) for k in keys)
            return [contact for contact in shown if contact is not None]

    def contact_count(self) -> int:
        """How many contacts exist."""
        with self._lock:
            return len(self._contacts)

    def list_contacts(self, after: int | None, limit: int) -> tuple[list[Contact], str | None]:
        """A page by id: ids ≥ ``after``; the cursor is the next id to read."""
        with self._lock:
            ids = sorted(k for k in self._contacts if after is None or k >= after)
            page = [self._contacts[k].snapshot() for k in ids[:limit]]
            cursor = str(ids[limit]) if len(ids) > limit else None
            return page, cursor

    def update_contacts(
        self,
        inputs: Sequence[tuple[str, Mapping[str, Any]]],
        *,
        source: ChangeSource,
        id_property: str | None = None,
        as_user: bool = False,
        lifecycle_forward_only: bool = True,
    ) -> tuple[list[Contact], list[str]]:
        """Apply updates; returns (updated contacts, ids not found).

        Validation covers the whole request first: one refused value fails it all
        (InvalidValuesError), as HubSpot's batch update does. Each applied input bumps
        ``updatedAt``/``lastmodifieddate`` (strictly later than before). Through the
        API (not ``as_user``) ``lifecyclestage`` only moves forward: an earlier stage
        is silently ignored unless the value is cleared first.
        """
        changes: list[ContactChange] = []
        with self._lock:
            cleaned: list[tuple[str, dict[str, str]]] = []
            issues: list[Issue] = []
            for key, values in inputs:
                clean, found = self.check_properties(values, as_user=as_user)
                cleaned.append((key, clean))
                issues.extend(found)
            if issues:
                raise InvalidValuesError(issues)
            self._check_email_moves(cleaned, id_property)
            updated: list[Contact] = []
            missing: list[str] = []
            for key, clean in cleaned:
                row = self._find(key, id_property)
                if row is None:
                    missing.append(key)
                    continue
                forward_only = lifecycle_forward_only and not as_user
                lag = self.contact_index.lag()
                # What search showed before: kept only while the change is being indexed.
                before = row.snapshot() if lag else None
                changes.extend(self._apply(row, clean, source, forward_only))
                updated.append(row.snapshot())
                self.contact_index.changed(str(row.id), before, updated[-1], self.now(), lag)
            self._counters["contact_updates"] += len(updated)
        self._announce(changes)
        return updated, missing

    def _check_email_moves(
        self, cleaned: Sequence[tuple[str, Mapping[str, str]]], id_property: str | None
    ) -> None:
        for key, clean in cleaned:
            email = clean.get("email", "").strip().lower()
            if not email:
                continue
            owner = self._by_email.get(email)
            row = self._find(key, id_property)
            if owner is not None and row is not None and owner != row.id:
                message = f"A contact with email {email} already exists. Existing ID: {owner}"
                raise AlreadyExistsError(message, str(owner))

    def _apply(
        self, row: _Row, clean: Mapping[str, str], source: ChangeSource, forward_only: bool
    ) -> list[ContactChange]:
        now = max(self.now(), row.updated_at + timedelta(milliseconds=1))
        changes: list[ContactChange] = []
        for name, value in clean.items():
            old = row.properties.get(name, "")
            backward = _LIFECYCLE_ORDER.get(value, 0) < _LIFECYCLE_ORDER.get(old, 0)
            if name == "lifecyclestage" and forward_only and old and value and backward:
                self._counters["lifecycle_backward_ignored"] += 1
                continue
            if value == old:
                continue
            if name == "email":
                if old:
                    self._by_email.pop(old.strip().lower(), None)
                if value:
                    self._by_email[value.strip().lower()] = row.id
            if value:
                row.properties[name] = value
            else:
                row.properties.pop(name, None)
            entries = row.history.setdefault(name, [])
            entries.insert(0, HistoryEntry(value, now, source))
            del entries[HISTORY_DEPTH:]
            changes.append(ContactChange(row.id, "propertyChange", now, source, name, value))
            if name == REPLY_PROPERTY and value:
                self._finish_locked(str(row.id), "REPLIED", now, replies_only=True)
        row.updated_at = now
        row.properties["lastmodifieddate"] = iso_ms(now)
        return changes

    def associate_company(
        self,
        contact_id: str,
        company_id: str,
        *,
        primary: bool = False,
        source: ChangeSource = COMPANY_SOURCE,
    ) -> None:
        """Associate a contact with a company. As HubSpot does, a new primary company
        is written to the contact's ``associatedcompanyid`` (its modification time moves)."""
        if self.get_contact(contact_id) is None:
            raise KeyError(contact_id)
        self.companies.associate(contact_id, company_id, primary=primary)
        if primary:
            self.update_contacts(
                [(contact_id, {"associatedcompanyid": company_id})], source=source, as_user=True
            )

    def delete_contact(self, contact_id: str, *, source: ChangeSource) -> bool:
        """Archive a contact (the API's DELETE): it is gone from reads and searches."""
        with self._lock:
            row = self._find(contact_id, None)
            if row is None:
                return False
            del self._contacts[row.id]
            self.contact_index.forget(str(row.id))
            for email, number in list(self._by_email.items()):
                if number == row.id:
                    del self._by_email[email]
            self._counters["contacts_deleted"] += 1
        self._announce([ContactChange(row.id, "deletion", self.now(), source)])
        return True

    def merge_contacts(self, primary_id: str, merged_id: str, *, source: ChangeSource) -> Contact:
        """Merge two contacts into a new record, as HubSpot's merge does today.

        The result gets a new id; it takes the primary's values, and the other record's
        where the primary has none; ``hs_merged_object_ids`` lists every id folded into
        it (both records', and what they had folded before); the other record's email
        becomes an additional email. Both old ids still find the result (a read by an
        old id answers the new record). KeyError when either is missing or they are the
        same record.
        """
        with self._lock:
            primary, merged = self._find(primary_id, None), self._find(merged_id, None)
            if primary is None or merged is None or primary is merged:
                raise KeyError(merged_id if primary is not None else primary_id)
            now = max(self.now(), primary.updated_at + timedelta(milliseconds=1))
            values = dict(primary.properties)
            moved = 0
            for name, value in merged.properties.items():
                if name not in _MERGE_KEEPS and value and not values.get(name):
                    values[name] = value
                    moved += 1
            folded = [values.get("hs_merged_object_ids", ""), str(primary.id), str(merged.id)]
            folded.append(merged.properties.get("hs_merged_object_ids", ""))
            values["hs_merged_object_ids"] = ";".join(
                part for text in folded for part in text.split(";") if part
            )
            email = merged.properties.get("email", "")
            if email and not values.get("email"):
                values["email"] = email
            elif email and email != values["email"]:
                extra = values.get("hs_additional_emails", "")
                values["hs_additional_emails"] = ";".join(p for p in (extra, email) if p)
            row = _Row(self._next_contact, values, primary.created_at, now, dict(primary.history))
            self._next_contact += 1
            row.properties["hs_object_id"] = str(row.id)
            row.properties["lastmodifieddate"] = iso_ms(now)
            for old in (primary, merged):
                del self._contacts[old.id]
                self.contact_index.forget(str(old.id))
                self._aliases[old.id] = row.id
            for old_id, target in self._aliases.items():
                if target in (primary.id, merged.id):
                    self._aliases[old_id] = row.id
            self._contacts[row.id] = row
            for address, number in list(self._by_email.items()):
                if number in (primary.id, merged.id):
                    self._by_email[address] = row.id
            self._counters["contacts_merged"] += 1
            snapshot = row.snapshot()
            self.contact_index.changed(
                str(row.id), None, snapshot, self.now(), self.contact_index.lag()
            )
        change = ContactChange(
            row.id,
            "merge",
            now,
            source,
            merged_ids=(merged.id,),
            properties_moved=moved,
            primary_id=primary.id,
        )
        self._announce([change])
        return snapshot

    # ── owners ───────────────────────────────────────────────────────────────────

    def add_owner(
        self,
        owner_id: str,
        email: str,
        first_name: str,
        last_name: str,
        user_id: int,
        *,
        teams: Iterable[tuple[str, str]] = (),
    ) -> Owner:
        """Add an owner (a HubSpot user with a seat)."""
        now = self.now()
        owner = Owner(owner_id, email, first_name, last_name, user_id, now, now, tuple(teams))
        with self._lock:
            self._owners[owner_id] = owner
        return owner

    def owners(self, *, archived: bool = False) -> list[Owner]:
        """Owners by id."""
        with self._lock:
            found = [o for o in self._owners.values() if o.archived == archived]
        return sorted(found, key=lambda o: int(o.id) if o.id.isdigit() else 0)

    # ── tasks ────────────────────────────────────────────────────────────────────

    def create_task(self, values: Mapping[str, Any], contact_ids: Sequence[str]) -> Task:
        """Create a task associated with contacts; InvalidValuesError or NotFoundError."""
        with self._lock:
            refused = self._task_refusal(values, contact_ids)
            if refused is not None:
                raise refused
            return self._insert_task(values, contact_ids)

    def create_tasks(
        self,
        items: Sequence[tuple[Mapping[str, Any], Sequence[str]]],
        *,
        all_or_none: bool,
    ) -> list[Task | InvalidValuesError | NotFoundError]:
        """Create several tasks at once (batch create), one outcome per item in order.

        ``all_or_none``: the first refused item fails the whole batch (raised) and none
        is created, as HubSpot does without per-input trace ids; otherwise each valid
        item is created and each refused one answered with its error.
        """
        with self._lock:
            refusals = [self._task_refusal(values, ids) for values, ids in items]
            if all_or_none:
                first = next((r for r in refusals if r is not None), None)
                if first is not None:
                    raise first
            return [
                refusal if refusal is not None else self._insert_task(values, ids)
                for (values, ids), refusal in zip(items, refusals, strict=True)
            ]

    def _task_refusal(
        self, values: Mapping[str, Any], contact_ids: Sequence[str]
    ) -> InvalidValuesError | NotFoundError | None:
        owner_ids = {o.id for o in self._owners.values() if not o.archived}
        clean, issues = check_values(
            self._task_properties, values, owner_ids, allow_read_only=False
        )
        if not clean.get("hs_timestamp"):
            issues.append(
                Issue("hs_timestamp", "", "REQUIRED_PROPERTY", "hs_timestamp is required")
            )
        if issues:
            return InvalidValuesError(issues)
        unknown = [c for c in contact_ids if self._find(c, None) is None]
        if unknown:
            return NotFoundError("Some associated contacts do not exist.", unknown)
        return None

    def _insert_task(self, values: Mapping[str, Any], contact_ids: Sequence[str]) -> Task:
        owner_ids = {o.id for o in self._owners.values() if not o.archived}
        clean, _ = check_values(self._task_properties, values, owner_ids, allow_read_only=False)
        now = self.now()
        task_id = str(self._next_task)
        self._next_task += 1
        properties = {k: v for k, v in clean.items() if v != ""}
        properties["hs_object_id"] = task_id
        properties["hs_createdate"] = iso_ms(now)
        properties["hs_lastmodifieddate"] = iso_ms(now)
        task = Task(task_id, properties, tuple(dict.fromkeys(contact_ids)), now, now)
        self._tasks[task_id] = task
        self.task_index.changed(task_id, None, task, now, self.task_index.lag())
        self._counters["tasks_created"] += 1
        return task

    def task_properties(self) -> list[PropertyDef]:
        """Task property definitions."""
        with self._lock:
            return list(self._task_properties.values())

    def tasks(self) -> list[Task]:
        """Every task, oldest first."""
        with self._lock:
            return [self._tasks[k] for k in sorted(self._tasks, key=int)]

    def searchable_tasks(self) -> list[Task]:
        """Every task search shows now, oldest first: one just created only once its
        index lag has passed (see indexlag.py)."""
        with self._lock:
            now = self.now()
            shown = (
                self.task_index.shown(k, self._tasks[k], now) for k in sorted(self._tasks, key=int)
            )
            return [task for task in shown if task is not None]

    def get_task(self, task_id: str) -> Task | None:
        """One task, or None."""
        with self._lock:
            return self._tasks.get(task_id)

    # ── sequences ───────────────────────────────────────────────────────────────

    def add_sequence(
        self,
        sequence_id: str,
        name: str,
        user_id: int,
        *,
        unenroll_on_reply: bool = True,
        folder_id: str | None = None,
    ) -> SalesSequence:
        """Add a sequence owned by ``user_id``."""
        now = self.now()
        sequence = SalesSequence(sequence_id, name, user_id, now, now, folder_id, unenroll_on_reply)
        with self._lock:
            self._sequences[sequence_id] = sequence
        return sequence

    def sequences(self, user_id: int | None = None) -> list[SalesSequence]:
        """Sequences (of one user when ``user_id`` is given)."""
        with self._lock:
            found = list(self._sequences.values())
        return [s for s in found if user_id is None or s.user_id == user_id]

    def enroll(
        self, contact_id: str, sequence_id: str, sender_email: str, user_id: int
    ) -> Enrollment:
        """Enroll a contact; NotFoundError for an unknown contact/sequence, AlreadyExistsError
        when the contact is already actively enrolled (one sequence at a time)."""
        with self._lock:
            row = self._find(contact_id, None)
            if row is None:
                raise NotFoundError(f"Contact {contact_id} does not exist.", [contact_id])
            sequence = self._sequences.get(sequence_id)
            if sequence is None:
                raise NotFoundError(f"Sequence {sequence_id} does not exist.", [sequence_id])
            current = self._active_locked(contact_id)
            if current is not None:
                raise AlreadyExistsError(
                    f"Contact {contact_id} is already enrolled in sequence {current.sequence_id}.",
                    current.id,
                )
            now = self.now()
            enrollment = Enrollment(
                id=str(self._next_enrollment),
                contact_id=str(row.id),
                sequence_id=sequence_id,
                sequence_name=sequence.name,
                sender_email=sender_email,
                user_id=user_id,
                to_email=row.properties.get("email", ""),
                enrolled_at=now,
                updated_at=now,
            )
            self._next_enrollment += 1
            self._enrollments.append(enrollment)
            self._counters["enrollments_created"] += 1
            return enrollment

    def active_enrollment(self, contact_id: str) -> Enrollment | None:
        """The contact's running enrollment, or None."""
        with self._lock:
            return self._active_locked(contact_id)

    def _active_locked(self, contact_id: str) -> Enrollment | None:
        for enrollment in reversed(self._enrollments):
            if enrollment.contact_id == contact_id and enrollment.active:
                return enrollment
        return None

    def enrollments(self) -> list[Enrollment]:
        """Every enrollment ever made, oldest first."""
        with self._lock:
            return list(self._enrollments)

    def finish_enrollment(self, contact_id: str, reason: str) -> Enrollment | None:
        """End the contact's running enrollment as HubSpot does (reply, meeting...)."""
        with self._lock:
            return self._finish_locked(contact_id, reason, self.now(), replies_only=False)

    def _finish_locked(
        self, contact_id: str, reason: str, now: datetime, *, replies_only: bool
    ) -> Enrollment | None:
        for index in range(len(self._enrollments) - 1, -1, -1):
            enrollment = self._enrollments[index]
            if enrollment.contact_id != contact_id or not enrollment.active:
                continue
            sequence = self._sequences.get(enrollment.sequence_id)
            if replies_only and sequence is not None and not sequence.unenroll_on_reply:
                return None
            finished = _finished(enrollment, now, reason)
            self._enrollments[index] = finished
            self._counters["enrollments_finished"] += 1
            return finished
        return None

    # ── lists ────────────────────────────────────────────────────────────────────

    def create_list(self, name: str, processing_type: str = "MANUAL") -> StaticList:
        """Create a list (MANUAL or SNAPSHOT accept manual members; DYNAMIC does not)."""
        with self._lock:
            list_id = str(self._next_list)
            self._next_list += 1
            self._lists[list_id] = _List(list_id, name, processing_type, self.now())
            return self._list_snapshot(self._lists[list_id])

    def get_list(self, list_id: str) -> StaticList | None:
        """One list, or None."""
        with self._lock:
            found = self._lists.get(list_id)
            return self._list_snapshot(found) if found else None

    def lists(self) -> list[StaticList]:
        """Every list."""
        with self._lock:
            return [self._list_snapshot(v) for v in self._lists.values()]

    @staticmethod
    def _list_snapshot(item: _List) -> StaticList:
        return StaticList(
            item.list_id, item.name, item.processing_type, item.created_at, dict(item.members)
        )

    def add_to_list(self, list_id: str, record_ids: Sequence[str]) -> tuple[list[str], list[str]]:
        """Add records; returns (added, missing). Existing members are ignored."""
        with self._lock:
            target = self._lists.get(list_id)
            if target is None:
                raise NotFoundError(f"List {list_id} does not exist.", [list_id])
            if target.processing_type not in ("MANUAL", "SNAPSHOT"):
                raise RefusedError(
                    f"List {list_id} has processingType {target.processing_type}; "
                    "only MANUAL and SNAPSHOT lists accept manual memberships."
                )
            added: list[str] = []
            missing: list[str] = []
            now = self.now()
            for record_id in dict.fromkeys(record_ids):
                if self._find(record_id, None) is None:
                    missing.append(record_id)
                elif record_id not in target.members:
                    target.members[record_id] = now
                    added.append(record_id)
            self._counters["list_members_added"] += len(added)
            return added, missing


def _finished(enrollment: Enrollment, now: datetime, reason: str) -> Enrollment:
    return Enrollment(
        id=enrollment.id,
        contact_id=enrollment.contact_id,
        sequence_id=enrollment.sequence_id,
        sequence_name=enrollment.sequence_name,
        sender_email=enrollment.sender_email,
        user_id=enrollment.user_id,
        to_email=enrollment.to_email,
        enrolled_at=enrollment.enrolled_at,
        updated_at=now,
        finished_at=now,
        finish_reason=reason,
    )
