"""memcrm: a whole CRM plugin in one module, holding its contacts in memory.

It exists to prove that a CRM is a plugin and nothing more: tests/integration/
test_extra_plugin.py copies this file into a temporary folder beside a
``crmbridge_memcrm-0.1.dist-info`` whose ``entry_points.txt`` registers it in the
``crmbridge.connectors`` group, puts the folder on ``PYTHONPATH`` and runs crmbridge on
it, unchanged. It imports only what docs/architecture.md allows a plugin: the connector
contract and the public helpers.

:class:`MemoryCrm` plays the vendor's API (an account key, a rolling request limit,
injected server errors, a request log); :class:`MemCrmConnector` is the plugin's side of
it, written as a connector for a real API would be: it paces itself, retries what is
transient, maps the API's failures onto :mod:`crmbridge.errors` and pages with
:class:`~crmbridge.connector.TieCursor`.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from pydantic import Field, SecretStr

from crmbridge import clock
from crmbridge.connector import (
    CheckReport,
    ConnectorPlugin,
    ConnectorSettings,
    FieldSpec,
    Page,
    TieCursor,
    Write,
    WriteResult,
)
from crmbridge.connector.rate_governor import RateGovernor
from crmbridge.connector.retry import call_with_retries
from crmbridge.errors import AuthError, RateLimited, TransientError
from crmbridge.records import ContactRecord

T = TypeVar("T")

NAME = "memcrm"
KEY_SETTING = f"connectors.{NAME}.api_key"
#: The contact fields every account has; custom ones are created by ``ensure_schema``.
STANDARD_FIELDS = ("email", "firstname", "lastname", "company", "jobtitle", "numemployees")


# -- the vendor's side ------------------------------------------------------------------


class Refused(Exception):  # noqa: N818 - what the API answered, like an HTTP status
    """The API refused the key (its 401)."""


class TooMany(Exception):  # noqa: N818
    """The API's rolling request limit is spent (its 429)."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"rate limit: retry after {retry_after:.2f} s")
        self.retry_after = retry_after


class ServerFault(Exception):  # noqa: N818
    """The API failed on its side (its 5xx), possibly after applying the request."""


@dataclass
class StoredContact:
    """One contact as the CRM keeps it."""

    id: str
    properties: dict[str, str | None]
    updated_at: datetime


@dataclass
class MemoryCrm:
    """The CRM's API and data, in memory, shared by every connector made for it."""

    api_key: str
    contacts: dict[str, StoredContact] = field(default_factory=dict)
    #: Field name → its spec; values of an enumeration must be one of its options.
    fields: dict[str, FieldSpec] = field(
        default_factory=lambda: {n: FieldSpec(n, n, "string") for n in STANDARD_FIELDS}
    )
    #: (kind, status) of every request answered: kind is "read", "write" or "schema".
    requests: list[tuple[str, int]] = field(default_factory=list)
    limit: tuple[int, float] | None = None
    fault_rate: float = 0.0
    fault_after_apply: bool = False
    _rng: random.Random = field(default_factory=random.Random)
    _sent: deque[float] = field(default_factory=deque)
    _lock: threading.RLock = field(default_factory=threading.RLock)
    _next_id: int = 1001

    # -- what a test does to the CRM (not requests) ------------------------------------

    def add(self, properties: Mapping[str, str], updated_at: datetime) -> str:
        """Create a contact as an import would; its new id."""
        with self._lock:
            crm_id = str(self._next_id)
            self._next_id += 1
            self.contacts[crm_id] = StoredContact(crm_id, dict(properties), updated_at)
            return crm_id

    def edit(self, crm_id: str, properties: Mapping[str, str]) -> None:
        """Change a contact as a person in the CRM would."""
        with self._lock:
            contact = self.contacts[crm_id]
            contact.properties.update(properties)
            contact.updated_at = clock.now()

    def set_limit(self, max_requests: int, interval_s: float) -> None:
        """Allow ``max_requests`` per rolling ``interval_s``, from an empty window."""
        with self._lock:
            self.limit = (max_requests, interval_s)
            self._sent.clear()

    def set_faults(self, rate: float, *, seed: int = 0, after_apply: bool = False) -> None:
        """Fail a seeded fraction of requests (after applying them, if asked)."""
        with self._lock:
            self.fault_rate, self.fault_after_apply = rate, after_apply
            self._rng = random.Random(seed)

    # -- the API ------------------------------------------------------------------------

    def _request(self, key: str, kind: str, apply: Callable[[], T]) -> T:
        """Answer one request: key, limit and faults first, as a web API would."""
        with self._lock:
            if key != self.api_key:
                self.requests.append((kind, 401))
                raise Refused("unknown api key")
            now = time.monotonic()
            if self.limit is not None:
                most, window = self.limit
                while self._sent and now - self._sent[0] >= window:
                    self._sent.popleft()
                if len(self._sent) >= most:
                    self.requests.append((kind, 429))
                    raise TooMany(window - (now - self._sent[0]))
                self._sent.append(now)
            if self.fault_rate and self._rng.random() < self.fault_rate:
                if self.fault_after_apply:
                    apply()
                self.requests.append((kind, 503))
                raise ServerFault("internal error")
            self.requests.append((kind, 200))
            return apply()

    def whoami(self, key: str) -> str:
        """The account the key belongs to."""
        return self._request(key, "read", lambda: "memcrm account 1")

    def search(
        self,
        key: str,
        after: tuple[datetime | None, frozenset[str]],
        limit: int,
        properties: Sequence[str],
    ) -> list[StoredContact]:
        """Contacts modified after ``after`` (an instant, and ids already read at it),
        oldest first, ``limit`` at most, with ``properties`` only."""
        at, seen = after

        def found() -> list[StoredContact]:
            rows = sorted(self.contacts.values(), key=lambda c: (c.updated_at, int(c.id)))
            later = [
                c
                for c in rows
                if at is None or c.updated_at > at or (c.updated_at == at and c.id not in seen)
            ]
            return [
                StoredContact(c.id, {p: c.properties.get(p) for p in properties}, c.updated_at)
                for c in later[:limit]
            ]

        return self._request(key, "read", found)

    def values(
        self, key: str, crm_ids: Sequence[str], properties: Sequence[str]
    ) -> dict[str, dict[str, str | None]]:
        """``properties`` of each of ``crm_ids`` that exists."""

        def held() -> dict[str, dict[str, str | None]]:
            return {
                i: {p: self.contacts[i].properties.get(p) for p in properties}
                for i in crm_ids
                if i in self.contacts
            }

        return self._request(key, "read", held)

    def create_fields(self, key: str, specs: Sequence[FieldSpec]) -> list[str]:
        """Create the fields that do not exist yet; their names."""

        def create() -> list[str]:
            new = [spec for spec in specs if spec.name not in self.fields]
            self.fields.update((spec.name, spec) for spec in new)
            return [spec.name for spec in new]

        return self._request(key, "schema", create)

    def update(
        self, key: str, batch: Sequence[tuple[str, Mapping[str, str | None]]]
    ) -> dict[str, str | None]:
        """Apply each record's values, or none of them: crm id → the error, or None."""

        def apply() -> dict[str, str | None]:
            errors: dict[str, str | None] = {}
            for crm_id, values in batch:
                errors[crm_id] = self._refusal(crm_id, values)
                if errors[crm_id] is None:
                    contact = self.contacts[crm_id]
                    contact.properties.update(values)
                    contact.updated_at = clock.now()
            return errors

        return self._request(key, "write", apply)

    def _refusal(self, crm_id: str, values: Mapping[str, str | None]) -> str | None:
        if crm_id not in self.contacts:
            return f"no contact {crm_id}"
        for name, value in values.items():
            spec = self.fields.get(name)
            if spec is None:
                return f"no field {name}"
            if value is not None and spec.type == "enumeration" and value not in spec.options:
                return f"{value!r} is not an option of {name}"
        return None


# -- the plugin's side ------------------------------------------------------------------


class MemCrmSettings(ConnectorSettings):
    """``[connectors.memcrm]``: the account key, and where the in-memory CRM starts from."""

    api_key: SecretStr
    contacts_file: str | None = Field(
        default=None, description="JSON list of contacts the CRM holds at start."
    )
    dump_file: str | None = Field(
        default=None, description="Where the CRM's contacts are saved after each write."
    )
    page_size: int = Field(default=100, ge=1, le=1000)
    max_requests: int = Field(default=100, ge=2, description="The API's budget per window.")
    interval_s: float = Field(default=1.0, gt=0)


class MemCrmConnector:
    """A :class:`crmbridge.connector.Connector` for :class:`MemoryCrm`."""

    name = NAME
    max_batch_size = 50

    def __init__(self, crm: MemoryCrm, settings: MemCrmSettings) -> None:
        self.crm = crm
        self.settings = settings
        self._governor = RateGovernor(settings.max_requests, settings.interval_s)

    @property
    def handoff(self) -> None:
        """memcrm has no owners, tasks or sequences: crmbridge plans no action for it."""
        return None

    @property
    def companies(self) -> None:
        """memcrm keeps no companies: ``company.`` rules never match."""
        return None

    @property
    def rate_governor(self) -> RateGovernor:
        """Paces every request to the API's budget (and shares it between replicas)."""
        return self._governor

    @classmethod
    def from_settings(cls, settings: MemCrmSettings) -> MemCrmConnector:
        """The connector crmbridge builds from ``[connectors.memcrm]``."""
        crm = MemoryCrm(settings.api_key.get_secret_value())
        if settings.contacts_file:
            for item in json.loads(Path(settings.contacts_file).read_text("utf-8")):
                crm.add(item["properties"], clock.parse_instant(item["updated_at"]))
        return cls(crm, settings)

    def _call(self, request: Callable[[str], T]) -> T:
        """One API request: paced, retried while transient, its failures mapped."""
        key = self.settings.api_key.get_secret_value()

        def attempt() -> T:
            self._governor.acquire()
            try:
                return request(key)
            except Refused:
                raise AuthError(
                    f"memcrm refused the API key: set {KEY_SETTING} to a valid key"
                ) from None
            except TooMany as exc:
                self._governor.pause(exc.retry_after)
                raise RateLimited("memcrm rate limit", retry_after=exc.retry_after) from None
            except ServerFault as exc:
                raise TransientError("memcrm failed on its side", detail=str(exc)) from None

        return call_with_retries(attempt, attempts=8, initial_wait=0.01, max_wait=0.2)

    def check(self) -> CheckReport:
        """Is the key accepted?"""
        try:
            account = self._call(self.crm.whoami)
        except AuthError as exc:
            return CheckReport(ok=False, problems=(str(exc),))
        return CheckReport(ok=True, account=account, account_id="1")

    def ensure_schema(self, fields: Sequence[FieldSpec]) -> list[str]:
        """Create crmbridge's fields where missing (one request)."""
        return self._call(lambda key: self.crm.create_fields(key, fields))

    def property_names(self) -> frozenset[str] | None:
        """``None``: memcrm stores any property a contact carries, so none is missing."""
        return None

    def read_changes(self, cursor: str | None, properties: Sequence[str]) -> Iterator[Page]:
        """Pages of contacts changed since ``cursor``, each a request of its own."""
        position = TieCursor.decode(cursor)
        wanted = sorted({*properties, "email"})
        limit = self.settings.page_size
        while True:
            after = (position.at, position.ids)
            rows = self._call(partial(self.crm.search, after=after, limit=limit, properties=wanted))
            if not rows:
                return
            position = position.advance([(row.updated_at, row.id) for row in rows])
            yield Page(tuple(self._record(row) for row in rows), position.encode())
            if len(rows) < limit:
                return

    def _record(self, row: StoredContact) -> ContactRecord:
        values = {k: v for k, v in row.properties.items() if v is not None}
        email = values.get("email")
        return ContactRecord(
            crm=self.name, id=row.id, email=email, properties=values, updated_at=row.updated_at
        )

    def read_values(
        self, crm_ids: Sequence[str], properties: Sequence[str]
    ) -> dict[str, dict[str, str | None]]:
        """What the CRM holds now (one request)."""

        return self._call(lambda key: self.crm.values(key, crm_ids, properties))

    def write(self, batch: Sequence[Write]) -> list[WriteResult]:
        """One request for the batch; a refused record fails alone."""
        items = [(item.crm_id, dict(item.properties)) for item in batch]
        errors = self._call(lambda key: self.crm.update(key, items))
        if self.settings.dump_file:
            self._dump(Path(self.settings.dump_file))
        return [
            WriteResult(item.crm_id, errors[item.crm_id] is None, errors[item.crm_id])
            for item in batch
        ]

    def _dump(self, path: Path) -> None:
        """Save every contact, so whoever started crmbridge sees what it wrote."""
        snapshot: dict[str, Any] = {
            c.id: {"properties": c.properties, "updated_at": c.updated_at.isoformat()}
            for c in self.crm.contacts.values()
        }
        path.write_text(json.dumps(snapshot, indent=1), "utf-8")


plugin = ConnectorPlugin(
    name=NAME,
    title="memcrm (in memory)",
    settings=MemCrmSettings,
    build=MemCrmConnector.from_settings,
)
