"""The in-memory Salesforce org: records, field-level security, API usage and the request log.

Every record is a dict of field name to Python value (str, bool, int, float, date,
datetime or None) keyed by its 18-character id. Writes stamp ``LastModifiedDate``,
``SystemModstamp`` and ``LastModifiedById``; ``SystemModstamp`` also moves on system
updates (:meth:`OrgState.touch`). A record can be *staged*: written with a
``SystemModstamp`` of its own but invisible to queries until :meth:`OrgState.commit`,
which is how a transaction that commits late looks to a reader. All methods are
thread-safe (one lock).
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from crmbridge import clock
from crmbridge_salesforce.sandbox.schema import OPPORTUNITY_STAGES, Schema

_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_CHECKSUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
#: How many requests the log keeps (the oldest are dropped).
LOG_SIZE = 5_000


def id18(id15: str) -> str:
    """The 18-character, case-insensitive-safe form of a 15-character Salesforce id."""
    suffix = ""
    for chunk in range(3):
        bits = 0
        for position, char in enumerate(id15[chunk * 5 : chunk * 5 + 5]):
            if "A" <= char <= "Z":
                bits |= 1 << position
        suffix += _CHECKSUM[bits]
    return id15 + suffix


def _hour() -> int:
    """The sandbox's current hour, counted from the epoch."""
    return int(clock.now().timestamp()) // 3600


def now_ms() -> datetime:
    """The sandbox's current instant, at Salesforce's millisecond precision."""
    moment = clock.now().astimezone(UTC)
    return moment.replace(microsecond=(moment.microsecond // 1000) * 1000)


def _stamp_completion(sobject: str, record: dict[str, Any], stamp: datetime) -> None:
    """Fields Salesforce derives: a task's CompletedDateTime when its status becomes
    Completed; an opportunity's IsClosed and IsWon from its stage."""
    if sobject == "Task":
        done = record.get("Status") == "Completed"
        record["CompletedDateTime"] = (record.get("CompletedDateTime") or stamp) if done else None
    elif sobject == "Opportunity":
        closed, won = OPPORTUNITY_STAGES.get(str(record.get("StageName")), (False, False))
        record.update(IsClosed=closed, IsWon=won)


@dataclass(frozen=True, slots=True)
class LoggedRequest:
    """One API request as the sandbox saw it (never its credentials or body)."""

    method: str
    path: str
    query: str
    status: int
    ms: float
    #: Headers of interest: Sforce-Query-Options, Sforce-Auto-Assign, Content-Type.
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Users:
    """The org's fixed users: the integration user crmbridge signs in as, and a rep."""

    integration: str
    rep: str
    assignment_owner: str


#: ``listener(object, record id, values changed, author's user id)``.
UpdateListener = Callable[[str, str, Mapping[str, Any], str], None]


class OrgState:
    """One sandbox org. Create it empty; seed with :meth:`insert`."""

    def __init__(self, org_id: str = "00D5g000004SbxQEAS") -> None:
        self.lock = threading.RLock()
        self.org_id = org_id
        self.schema = Schema()
        self.records: dict[str, dict[str, dict[str, Any]]] = {o: {} for o in self.schema.objects}
        self.staged: dict[str, str] = {}  # record id -> object, invisible until committed
        self.deleted: dict[str, list[tuple[str, datetime]]] = {o: [] for o in self.schema.objects}
        #: Fields the integration user cannot see, as "Object.Field" (field-level security).
        self.hidden: set[str] = set()
        #: Objects of features the org does not have (Sales Engagement's when it is off).
        self.absent: set[str] = set()
        #: API calls by hour (hours since the epoch): the org's count covers 24 hours.
        self._calls_by_hour: dict[int, int] = {}
        self.log: list[LoggedRequest] = []
        self._serial = itertools.count(1)
        self.users = Users(
            integration=self._new_id("User"), rep=self._new_id("User"),
            assignment_owner=self._new_id("User"),
        )  # fmt: skip
        self.integration_permission_set = ""
        #: Told of every update (object, id, values, author), as an org's own
        #: automation or a CRM-to-CRM sync sees it (see :meth:`subscribe`).
        self._listeners: list[UpdateListener] = []
        self._seed_org()

    def _new_id(self, sobject: str) -> str:
        number = next(self._serial)
        digits = ""
        while number:
            number, rest = divmod(number, 62)
            digits = _BASE62[rest] + digits
        return id18(self.schema.prefix(sobject) + "5g" + digits.rjust(10, "0"))

    def _seed_org(self) -> None:
        people = (
            (self.users.integration, "crmbridge", "Integration", "integration@sandbox.example"),
            (self.users.rep, "Riley", "Rep", "riley.rep@sandbox.example"),
            (self.users.assignment_owner, "Lead", "Queue Owner", "queue@sandbox.example"),
        )
        for user_id, first, last, email in people:
            self.insert(
                "User",
                {"Username": email, "FirstName": first, "LastName": last,
                 "Name": f"{first} {last}", "Email": email, "IsActive": True},
                record_id=user_id,
            )  # fmt: skip
        self.insert(
            "Organization",
            {"Name": "crmbridge Sandbox Org", "OrganizationType": "Developer Edition",
             "IsSandbox": True, "InstanceName": "LOCAL1"},
            record_id=self.org_id,
        )  # fmt: skip
        # The permission set an admin made for crmbridge and assigned to its user.
        self.integration_permission_set = self.insert(
            "PermissionSet", {"Name": "Crmbridge_Integration", "Label": "crmbridge integration"}
        )
        self.insert(
            "PermissionSetAssignment",
            {"AssigneeId": self.users.integration,
             "PermissionSetId": self.integration_permission_set},
        )  # fmt: skip

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the org's lock (for a multi-step change that must look atomic)."""
        with self.lock:
            yield

    # -- records -------------------------------------------------------------------

    def insert(
        self,
        sobject: str,
        values: Mapping[str, Any],
        *,
        by: str | None = None,
        modstamp: datetime | None = None,
        record_id: str | None = None,
        staged: bool = False,
    ) -> str:
        """Create a record of ``sobject`` with ``values`` (canonical field names).

        ``modstamp`` sets its SystemModstamp (default now); ``staged`` keeps it out of
        queries until :meth:`commit`. Returns the new id.
        """
        with self.lock:
            new_id = record_id or self._new_id(sobject)
            stamp = modstamp or now_ms()
            author = by or self.users.rep
            record: dict[str, Any] = {f.name: None for f in self.schema.fields(sobject)}
            record.update(
                Id=new_id, IsDeleted=False, CreatedDate=stamp, CreatedById=author,
                LastModifiedDate=stamp, LastModifiedById=author, SystemModstamp=stamp,
            )  # fmt: skip
            for fdef in self.schema.fields(sobject):
                if fdef.type == "boolean" and record[fdef.name] is None:
                    record[fdef.name] = False
            record.update(values)
            _stamp_completion(sobject, record, stamp)
            self.records[sobject][new_id] = record
            if staged:
                self.staged[new_id] = sobject
            return new_id

    def commit(self, record_id: str) -> None:
        """Make a staged record visible, keeping the SystemModstamp it was written with."""
        with self.lock:
            self.staged.pop(record_id, None)

    def get(self, sobject: str, record_id: str) -> dict[str, Any] | None:
        """The record (deleted ones included), or None; staged records are not found."""
        with self.lock:
            if record_id in self.staged:
                return None
            return self.records[sobject].get(record_id)

    def object_name(self, name: str) -> str | None:
        """The canonical name of ``name`` if the org has that object (features included)."""
        sobject = self.schema.object_name(name)
        return None if sobject in self.absent else sobject

    def find(self, record_id: str) -> tuple[str, dict[str, Any]] | None:
        """The object and record of ``record_id`` (15 or 18 characters), or None."""
        sobject = self.schema.sobject_of_id(record_id)
        if sobject is None:
            return None
        full = record_id if len(record_id) == 18 else id18(record_id)
        record = self.get(sobject, full)
        return None if record is None else (sobject, record)

    def update(
        self,
        sobject: str,
        record_id: str,
        values: Mapping[str, Any],
        *,
        by: str | None = None,
        modstamp: datetime | None = None,
    ) -> None:
        """Change fields of a record as ``by`` (default: the rep) and stamp it."""
        with self.lock:
            record = self.records[sobject][record_id]
            stamp = modstamp or now_ms()
            record.update(values)
            record.update(
                LastModifiedDate=stamp, SystemModstamp=stamp,
                LastModifiedById=by or self.users.rep,
            )  # fmt: skip
            _stamp_completion(sobject, record, stamp)
            listeners = list(self._listeners)
        for listener in listeners:  # outside the lock: a listener may write back
            listener(sobject, record_id, dict(values), by or self.users.rep)

    def subscribe(self, listener: UpdateListener) -> None:
        """Call ``listener(object, id, values, author)`` after every record update
        (tests play HubSpot's Salesforce sync with it)."""
        with self.lock:
            self._listeners.append(listener)

    def touch(self, sobject: str, record_id: str, modstamp: datetime | None = None) -> None:
        """A system update: SystemModstamp moves, LastModifiedDate does not."""
        with self.lock:
            self.records[sobject][record_id]["SystemModstamp"] = modstamp or now_ms()

    def delete(self, sobject: str, record_id: str, *, merged_into: str | None = None) -> None:
        """Move a record to the recycle bin (``IsDeleted``), as a merge loser if
        ``merged_into`` names the surviving record."""
        with self.lock:
            record = self.records[sobject][record_id]
            stamp = now_ms()
            record.update(IsDeleted=True, SystemModstamp=stamp, MasterRecordId=merged_into)
            self.deleted[sobject].append((record_id, stamp))

    def empty_recycle_bin(self, sobject: str, record_id: str) -> None:
        """Remove a deleted record for good (as the recycle bin does after 15 days, or
        an admin emptying it): queries no longer see it, ``getDeleted`` still lists it."""
        with self.lock:
            if not self.records[sobject][record_id]["IsDeleted"]:
                raise ValueError(f"{record_id} is not in the recycle bin")
            del self.records[sobject][record_id]

    def convert_lead(
        self,
        lead_id: str,
        opportunity: Mapping[str, Any] | None = None,
        *,
        contact_role: bool = True,
    ) -> str:
        """Convert a lead: a contact (and account) is created and the lead is locked.

        With ``opportunity`` (its fields) an opportunity is created too, with the new
        contact as its primary contact role (``contact_role=False``: as if the role was
        deleted since), and the lead names it in ``ConvertedOpportunityId``.
        """
        with self.lock:
            lead = self.records["Lead"][lead_id]
            account = self.insert("Account", {"Name": lead.get("Company") or "Unknown"})
            contact = self.insert(
                "Contact",
                {key: lead.get(key) for key in ("FirstName", "LastName", "Email", "Title")}
                | {"AccountId": account, "OwnerId": lead.get("OwnerId")},
            )
            converted: dict[str, Any] = {
                "IsConverted": True,
                "ConvertedContactId": contact,
                "ConvertedAccountId": account,
                "ConvertedDate": now_ms().date(),
            }
            if opportunity is not None:
                deal = self.insert("Opportunity", {"AccountId": account, **opportunity})
                if contact_role:
                    self.insert(
                        "OpportunityContactRole",
                        {"OpportunityId": deal, "ContactId": contact, "IsPrimary": True},
                    )
                converted["ConvertedOpportunityId"] = deal
            self.update("Lead", lead_id, converted)
            return contact

    def visible(self, sobject: str, *, include_deleted: bool) -> list[dict[str, Any]]:
        """The records a query sees (a snapshot of each, so later writes do not leak)."""
        with self.lock:
            return [
                dict(r)
                for rid, r in self.records[sobject].items()
                if rid not in self.staged and (include_deleted or not r["IsDeleted"])
            ]

    # -- field-level security ------------------------------------------------------

    def can_read(self, sobject: str, field_name: str) -> bool:
        """Whether the integration user sees ``sobject.field_name`` (canonical names)."""
        fdef = self.schema.field(sobject, field_name)
        if fdef is None:
            return False
        if not fdef.permissionable:
            return True
        key = f"{sobject}.{fdef.name}"
        if fdef.custom:
            return self._granted(key, "PermissionsRead")
        return key not in self.hidden

    def can_edit(self, sobject: str, field_name: str) -> bool:
        """Whether the integration user may write the field (FLS and the field itself)."""
        fdef = self.schema.field(sobject, field_name)
        if fdef is None or not self.can_read(sobject, field_name):
            return False
        if fdef.custom:
            return self._granted(f"{sobject}.{fdef.name}", "PermissionsEdit")
        return True

    def _granted(self, key: str, permission: str) -> bool:
        """Whether a permission set assigned to the integration user grants it."""
        with self.lock:
            assigned = {
                row["PermissionSetId"]
                for row in self.records["PermissionSetAssignment"].values()
                if row["AssigneeId"] == self.users.integration and not row["IsDeleted"]
            }
            return any(
                row["Field"] == key
                and row[permission]
                and row["ParentId"] in assigned
                and not row["IsDeleted"]
                for row in self.records["FieldPermissions"].values()
            )

    # -- API usage and the request log --------------------------------------------

    @property
    def api_used(self) -> int:
        """API calls of the last 24 hours, as Salesforce counts them (a rolling day:
        calls older than that no longer count)."""
        hour = _hour()
        with self.lock:
            for old in [h for h in self._calls_by_hour if h <= hour - 24]:
                del self._calls_by_hour[old]
            return sum(self._calls_by_hour.values())

    @api_used.setter
    def api_used(self, used: int) -> None:
        """Set the count of the last 24 hours (all of it made this hour)."""
        with self.lock:
            self._calls_by_hour = {_hour(): used}

    def count_call(self, daily_limit: int) -> bool:
        """Count one API call; False (not counted) when the daily limit is reached."""
        with self.lock:
            if self.api_used >= daily_limit:
                return False
            hour = _hour()
            self._calls_by_hour[hour] = self._calls_by_hour.get(hour, 0) + 1
            return True

    def record_request(self, entry: LoggedRequest) -> None:
        """Append to the request log, dropping the oldest beyond :data:`LOG_SIZE`."""
        with self.lock:
            self.log.append(entry)
            if len(self.log) > LOG_SIZE:
                del self.log[: len(self.log) - LOG_SIZE]
