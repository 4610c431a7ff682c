"""A fake CRM connector backed by files, for pipeline and crash-safety tests.

The CRM's contacts live in ``contacts.json``; every write it applies is appended to
``writes.jsonl`` *before* it is acknowledged, so a test can count applied writes, and
the CRM's state is always the seed folded with that log (consistent even after SIGKILL).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from crmbridge.clock import now, parse_instant
from crmbridge.connector import (
    CheckReport,
    FieldSpec,
    HandoffConnector,
    Page,
    TieCursor,
    Write,
    WriteResult,
)
from crmbridge.connector.companies import CompanyReader
from crmbridge.connector.rate_governor import RateGovernor
from crmbridge.records import ContactRecord


class FakeConnector:
    """A file-backed CRM with the :class:`crmbridge.connector.Connector` interface.

    It performs no hand-off action (``handoff`` is ``None``). Given a ``rate_governor``,
    every read page and every write batch waits for it, as a real connector's requests
    do; without one (the default) nothing is paced.
    """

    max_batch_size = 100
    handoff: HandoffConnector | None = None
    #: No companies: ``company.`` rules never match against the fake CRM.
    companies: CompanyReader | None = None

    def __init__(
        self,
        folder: Path,
        *,
        name: str = "fake",
        page_size: int = 50,
        reject_ids: frozenset[str] = frozenset(),
        write_delay: float = 0.0,
        rate_governor: RateGovernor | None = None,
    ) -> None:
        self.name = name
        self.rate_governor = rate_governor
        self.folder = folder
        self.page_size = page_size
        self.reject_ids = reject_ids
        self.write_delay = write_delay
        self.write_calls = 0
        self.read_calls = 0
        # A cycle writes on two threads: each call and each logged line counts once.
        self._writing = threading.Lock()
        self._seed_cache: tuple[float, list[dict[str, Any]]] | None = None

    @property
    def log_path(self) -> Path:
        """The append-only log of applied writes."""
        return self.folder / "writes.jsonl"

    @staticmethod
    def seed(folder: Path, contacts: Sequence[dict[str, Any]]) -> None:
        """Create the fake CRM's contact list."""
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "contacts.json").write_text(json.dumps(list(contacts)))

    def applied_writes(self) -> list[dict[str, Any]]:
        """Every write applied so far, in order."""
        if not self.log_path.exists():
            return []
        lines = self.log_path.read_text().splitlines()
        return [json.loads(line) for line in lines if line.strip()]

    def _seeded(self) -> list[dict[str, Any]]:
        path = self.folder / "contacts.json"
        mtime = path.stat().st_mtime
        if self._seed_cache is None or self._seed_cache[0] != mtime:
            self._seed_cache = (mtime, json.loads(path.read_text()))
        return self._seed_cache[1]

    def state(self) -> dict[str, dict[str, Any]]:
        """The CRM's current records: seed properties with every applied write folded in."""
        records = {str(c["id"]): dict(c) for c in self._seeded()}
        for write in self.applied_writes():
            record = records[write["crm_id"]]
            record["properties"] = {**record.get("properties", {}), **write["properties"]}
            record["updated_at"] = max(record["updated_at"], write["at"], key=parse_instant)
        return records

    def _pace(self) -> None:
        """One request of the budget: wait for the governor, when there is one."""
        if self.rate_governor is not None:
            self.rate_governor.acquire()

    def check(self) -> CheckReport:
        """Always passes: there are no credentials."""
        return CheckReport(ok=True, account=f"fake CRM in {self.folder}")

    def ensure_schema(self, fields: Sequence[FieldSpec]) -> list[str]:
        """Nothing to create: the fake accepts any property."""
        return []

    def property_names(self) -> frozenset[str] | None:
        """``None``: the fake accepts any property, so none is missing."""
        return None

    def read_changes(self, cursor: str | None, properties: Sequence[str]) -> Iterator[Page]:
        """Contacts ordered by (updated_at, id), in pages, past a tie-safe cursor."""
        position = TieCursor.decode(cursor)
        rows = sorted(
            ((parse_instant(r["updated_at"]), str(r["id"]), r) for r in self.state().values()),
            key=lambda item: (item[0], item[1]),
        )
        pending = [(at, rid, r) for at, rid, r in rows if position.admits(at, rid)]
        for start in range(0, len(pending), self.page_size):
            chunk = pending[start : start + self.page_size]
            self._pace()
            self.read_calls += 1
            position = position.advance([(at, rid) for at, rid, _ in chunk])
            records = tuple(
                ContactRecord.model_validate({**r, "crm": self.name}) for _, _, r in chunk
            )
            yield Page(records, position.encode())

    def read_values(
        self, crm_ids: Sequence[str], properties: Sequence[str]
    ) -> dict[str, dict[str, str | None]]:
        """Current values straight from the folded state."""
        state = self.state()
        return {
            i: {p: state[i].get("properties", {}).get(p) for p in properties}
            for i in crm_ids
            if i in state
        }

    def write(self, batch: Sequence[Write]) -> list[WriteResult]:
        """Apply each write, logging it before acknowledging; rejected ids fail alone."""
        self._pace()
        with self._writing:
            self.write_calls += 1
        known = {str(c["id"]) for c in self._seeded()}
        results = []
        with self.log_path.open("a") as log:
            for item in batch:
                if item.crm_id in self.reject_ids or item.crm_id not in known:
                    results.append(WriteResult(item.crm_id, False, "PROPERTY_DOESNT_EXIST"))
                    continue
                if self.write_delay:
                    time.sleep(self.write_delay)
                entry = {
                    "crm_id": item.crm_id,
                    "properties": dict(item.properties),
                    "at": now().isoformat(),
                }
                with self._writing:
                    log.write(json.dumps(entry) + "\n")
                    log.flush()
                results.append(WriteResult(item.crm_id, True))
        return results
