"""Drain the outbox through a connector: batched, per-record results, crash-safe."""

from __future__ import annotations

import threading
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import bindparam, update
from sqlalchemy import select as sa_select
from sqlmodel import Session

from connectors.base import Connector, Write
from crmbridge.errors import AuthError, CrmbridgeError, RateLimited
from crmbridge.settings import OutboxSettings
from crmbridge.store.repository import Store
from crmbridge.store.tables import ContactRow, utcnow
from crmbridge.sync import outbox
from crmbridge.sync.writeback import same_value


@dataclass
class DrainResult:
    """Records written and failed, and why draining stopped early if it did."""

    written: int = 0
    failed: int = 0
    calls: int = 0
    reconciled: int = 0
    stopped: str | None = None
    errors: list[str] = field(default_factory=list)
    written_ids: list[str] = field(default_factory=list)


class Drainer:
    """Sends due outbox rows of one connector in batches of its maximum size."""

    def __init__(
        self,
        store: Store,
        connector: Connector,
        settings: OutboxSettings,
        *,
        stop: threading.Event | None = None,
    ) -> None:
        self.store = store
        self.connector = connector
        self.settings = settings
        self.stop = stop

    def recover(self, now: datetime, *, all_in_flight: bool) -> int:
        """Settle rows a dead process left in flight, asking the CRM what it holds.

        A row whose value the CRM already holds is done (it was applied before the
        crash); any other goes back to pending. ``all_in_flight`` is right only when no
        other process can be draining (SQLite, single replica).
        """
        # Claims are stamped with the wall clock; ``now`` may be fixed in the past for
        # scoring (--now), so the later of the two measures the lease.
        older_than = None if all_in_flight else max(now, utcnow()) - self.settings.lease
        with self.store.session() as session:
            rows = outbox.orphaned(session, self.connector.name, older_than)
            if not rows:
                return 0
            by_record: dict[str, list[outbox.Queued]] = defaultdict(list)
            for row in rows:
                by_record[row.crm_id].append(row)
            names = sorted({row.target for row in rows})
            held = self.connector.read_values(list(by_record), names)
            applied = [
                row
                for row in rows
                if same_value(row.value, held.get(row.crm_id, {}).get(row.target))
            ]
            outbox.mark_done(session, applied)
            self._remember(session, applied)
            outbox.release(session, [row for row in rows if row not in applied])
            session.commit()
            return len(applied)

    def drain(self, now: datetime) -> DrainResult:
        """Send every due row; stop early on auth or rate-limit trouble."""
        result = DrainResult()
        name = self.connector.name
        after = 0
        while True:
            if self.stop is not None and self.stop.is_set():
                result.stopped = "shutting down"
                return result
            with self.store.session() as session:
                rows = outbox.claim(session, name, self.connector.max_batch_size, now, after)
                if not rows:
                    return result
                after = max(row.id for row in rows)
                by_record: dict[str, list[outbox.Queued]] = defaultdict(list)
                for row in rows:
                    by_record[row.crm_id].append(row)
                batch = [
                    Write(crm_id, {r.target: r.value for r in group})
                    for crm_id, group in by_record.items()
                ]
                try:
                    result.calls += 1
                    outcomes = self.connector.write(batch)
                except RateLimited as exc:
                    self._postpone(session, rows, now + timedelta(seconds=exc.retry_after))
                    result.stopped = f"rate limited: {exc}"
                    return result
                except AuthError as exc:
                    outbox.release(session, rows)
                    session.commit()
                    result.stopped = f"authentication failed: {exc}"
                    result.errors.append(result.stopped)
                    return result
                except CrmbridgeError as exc:
                    outbox.mark_failed(
                        session, rows, str(exc), retriable=True, settings=self.settings, now=now
                    )
                    session.commit()
                    result.failed += len(by_record)
                    result.errors.append(f"{name}: batch failed: {exc}")
                    continue
                done: list[outbox.Queued] = []
                for outcome in outcomes:
                    group = by_record.pop(outcome.crm_id, [])
                    if outcome.ok:
                        done.extend(group)
                        result.written += 1
                        result.written_ids.append(outcome.crm_id)
                    else:
                        outbox.mark_failed(
                            session,
                            group,
                            outcome.error or "rejected",
                            retriable=outcome.retriable,
                            settings=self.settings,
                            now=now,
                        )
                        result.failed += 1
                        result.errors.append(f"{name} record {outcome.crm_id}: {outcome.error}")
                # A record the connector did not report on is not known to be written.
                leftover = [row for group in by_record.values() for row in group]
                outbox.mark_failed(
                    session,
                    leftover,
                    "no result reported",
                    retriable=True,
                    settings=self.settings,
                    now=now,
                )
                outbox.mark_done(session, done)
                self._remember(session, done)
                session.commit()

    def _postpone(self, session: Session, rows: list[outbox.Queued], when: datetime) -> None:
        outbox.release(session, rows, not_before=when)
        session.commit()

    def _remember(self, session: Session, rows: list[outbox.Queued]) -> None:
        """What the CRM now holds is the baseline of the next diff."""
        written: dict[int, dict[str, str]] = {}
        for row in rows:
            if row.contact_id is not None and row.kind == "property":
                written.setdefault(row.contact_id, {})[row.target] = row.value
        if not written:
            return
        table = ContactRow.__table__  # type: ignore[attr-defined]
        current = session.execute(
            sa_select(table.c.id, table.c.crm_values).where(table.c.id.in_(list(written)))
        )
        session.execute(
            update(table)
            .where(table.c.id == bindparam("cid"))
            .values(crm_values=bindparam("values")),
            [{"cid": cid, "values": {**(held or {}), **written[cid]}} for cid, held in current],
        )
