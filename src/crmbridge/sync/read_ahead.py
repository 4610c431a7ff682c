"""``plan``'s read of a CRM no cycle has read yet, so that a first sync can be previewed.

The connector reads through its usual path (its rate governor included) and the pages
are stored as a cycle would store them, but the cursor stays unset: the next cycle
reads the same contacts again, as if none had been read. The read runs under the lock
a cycle's read takes (the SQLite file lock, or the replicas' ``poll:`` lock), so a
daemon starting meanwhile never has its newer values overwritten by older ones; when a
daemon holds it the store is about to be synced and ``plan`` shows the store as it is.
"""

from __future__ import annotations

from dataclasses import dataclass

from crmbridge.connector import Connector
from crmbridge.errors import ConfigError, CrmbridgeError
from crmbridge.store.identity import bind_account
from crmbridge.store.locks import SqliteGuard, singleton
from crmbridge.sync.pipeline import CONTACTS_STREAM, CycleSummary, Pipeline
from crmbridge.sync.progress import Progress

BUSY = "a crmbridge daemon is syncing this store now; the plan shows the store as it is"


@dataclass(frozen=True)
class ReadAhead:
    """What ``plan`` read from one connector's CRM (or why it read nothing)."""

    connector: str
    contacts: int = 0
    api_calls: int = 0
    #: Why nothing (or not everything) was read; empty when the read went through.
    problem: str = ""
    #: The CRM failed to answer (not merely a daemon syncing the store meanwhile).
    failed: bool = False


def read_unsynced(pipeline: Pipeline, progress: Progress | None = None) -> list[ReadAhead]:
    """Read every connector that has never synced into the store, leaving its cursor.

    Each connector's account is bound first (a store of another account is refused
    with a ConfigError, as a cycle would refuse it). A connector that fails to read is
    reported and the others still read. ``progress`` counts the contacts read.
    """
    unsynced = pipeline.unsynced()
    if not unsynced:
        return []
    store = pipeline.store
    if not store.is_sqlite:
        return [_read_locked(pipeline, connector, progress) for connector in unsynced]
    guard = SqliteGuard(pipeline.config.bridge.database_url)
    try:
        guard.acquire()
    except ConfigError:
        return [ReadAhead(connector.name, problem=BUSY) for connector in unsynced]
    try:
        return [_read(pipeline, connector, progress) for connector in unsynced]
    finally:
        guard.release()


def _read_locked(pipeline: Pipeline, connector: Connector, progress: Progress | None) -> ReadAhead:
    with singleton(pipeline.store.engine, f"poll:{connector.name}") as held:
        if not held:
            return ReadAhead(connector.name, problem=BUSY)
        return _read(pipeline, connector, progress)


def _read(pipeline: Pipeline, connector: Connector, progress: Progress | None) -> ReadAhead:
    summary = CycleSummary()
    try:
        report = connector.check()
        if report.account_id:
            bind_account(pipeline.store.engine, connector.name, report.account_id, report.account)
        if pipeline.store.get_cursor(connector.name, CONTACTS_STREAM) is None:
            pipeline.read(connector, summary, progress=progress, move_cursor=False)
    except ConfigError:
        raise
    except CrmbridgeError as exc:
        return ReadAhead(connector.name, summary.read, summary.api_calls, str(exc), failed=True)
    return ReadAhead(connector.name, summary.read, summary.api_calls)
