"""Recording CRM webhook deliveries: receipts, dirty marks, reply events, erasures.

One delivery is recorded in one short transaction (see :func:`record_changes`):

- a row in ``webhook_receipts`` per notification (unique per connector): a replayed
  delivery is recognised and stores nothing new;
- the named contacts marked ``dirty`` when already known, so the next drain rescores
  them; records crmbridge does not hold yet are read by the next poll, which the daemon
  starts at once (polls read by modification time, so nothing is noted for them);
- the canonical events the notifications carry (e.g. HubSpot's ``email_reply``, with
  the stable id the poller derives too, so the two never duplicate);
- records deleted in the CRM forgotten, and merged ones folded into the survivor, when
  the notification names the connector's bound account.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from crmbridge.connector.webhook import Gone, WebhookChange
from crmbridge.logging import get_logger
from crmbridge.store.chunks import CHUNK, chunks
from crmbridge.store.erasure import find_records, follow_merge, forget
from crmbridge.store.identity import bound_account
from crmbridge.store.repository import Store
from crmbridge.store.tables import ContactRow, WebhookReceiptRow

_RECEIPTS = WebhookReceiptRow.__table__  # type: ignore[attr-defined]
_CONTACTS = ContactRow.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class RecordResult:
    """What one delivery changed in the store."""

    accepted: int = 0
    replayed: int = 0
    crm_ids: tuple[str, ...] = ()
    contacts_marked: int = 0
    events_stored: int = 0
    #: Notifications from another CRM account than the connector's: receipted only.
    ignored: int = 0

    def as_dict(self) -> dict[str, int]:
        """JSON-ready counts (the webhook response body)."""
        return {
            "accepted": self.accepted,
            "replayed": self.replayed,
            "ignored": self.ignored,
            "records": len(self.crm_ids),
            "contacts_marked": self.contacts_marked,
            "events_stored": self.events_stored,
        }


def _insert(dialect: str) -> Any:
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


def record_changes(
    store: Store, connector: str, changes: Sequence[WebhookChange], now: datetime
) -> RecordResult:
    """Store receipts, mark contacts dirty, add events, forget or fold gone records.

    Replays (a receipt already stored, or twice in one delivery) change nothing. Events
    go in first — they are idempotent by their stable ids — so a failure after them
    leaves the delivery unreceipted and its retry completes the work.
    """
    unique: dict[str, WebhookChange] = {}
    for change in changes:
        unique.setdefault(change.receipt, change)
    if not unique:
        return RecordResult()
    keys = list(unique)
    with store.engine.connect() as connection:
        known = {
            key
            for chunk in chunks(keys)
            for key in connection.execute(
                select(_RECEIPTS.c.event_id).where(
                    _RECEIPTS.c.connector == connector, _RECEIPTS.c.event_id.in_(chunk)
                )
            ).scalars()
        }
        bound = bound_account(connection, connector)
    foreign = {k for k in keys if _foreign(unique[k], bound)}
    kept = [k for k in keys if k not in foreign]
    events = [e for k in kept if k not in known for e in unique[k].events]
    stored = store.insert_events(events).inserted if events else 0
    # A merge or a deletion waits for a rescoring batch holding contacts (see
    # crmbridge.store.identity_lock); other deliveries need not.
    folds = any(unique[k].gone for k in kept)
    ordered = store.identity.changing(connector) if folds else nullcontext()
    with ordered, store.engine.begin() as connection:
        fresh = _insert_receipts(connection, store.dialect, connector, keys, known, now)
        followed = [unique[k] for k in kept if k in fresh]
        kept_gone = _follow_identity(connection, connector, followed, bound)
        named = (i for change in followed for i in change.crm_ids)
        ids = tuple(dict.fromkeys([*named, *kept_gone]))
        marked = _mark_dirty(connection, connector, ids)
    ignored = len(foreign & fresh)
    if ignored:
        get_logger(connector=connector).warning(
            "webhook.foreign_account",
            notifications=ignored,
            accounts=sorted({str(unique[k].account) for k in foreign}),
            bound_account=bound,
            note="notifications of another CRM account are receipted and ignored",
        )
    return RecordResult(
        accepted=len(fresh) - ignored,
        replayed=len(changes) - len(fresh),
        crm_ids=ids,
        contacts_marked=marked,
        events_stored=stored,
        ignored=ignored,
    )


def _foreign(change: WebhookChange, bound: str | None) -> bool:
    """Does the notification name another CRM account than the connector's?"""
    return change.account is not None and bound is not None and change.account != bound


def _follow_identity(
    connection: Connection, connector: str, changes: Sequence[WebhookChange], bound: str | None
) -> list[str]:
    """Records merged into another are folded into it; deleted ones are forgotten (all
    of a delivery at once: one pass over the outbox however many were deleted).

    Only a notification that names the connector's bound account may erase or fold:
    without a bound account (the connector never started) or without an account in
    the notification, the records are kept and returned, to be marked dirty.
    """
    log = get_logger(connector=connector)
    unverified = [
        change
        for change in changes
        if change.gone_because is not None and (bound is None or change.account != bound)
    ]
    if unverified:
        log.warning(
            "contact.identity_unverified",
            kinds=sorted({change.kind for change in unverified}),
            crm_ids=[i for change in unverified for i in change.gone],
            bound_account=bound,
            note="kept and marked dirty: the notification's account is not the "
            "connector's bound account",
        )
    changes = [change for change in changes if change not in unverified]
    for change in changes:
        if change.gone_because is Gone.MERGED and change.crm_ids and change.gone:
            folded = follow_merge(connection, connector, change.crm_ids[0], change.gone)
            log.info(
                "contact.merged", survivor=change.crm_ids[0], merged=change.gone, folded=folded
            )
    deleted = [i for change in changes if change.gone_because is Gone.DELETED for i in change.gone]
    if deleted:
        erased = forget(connection, find_records(connection, connector, deleted))
        log.info("contact.forgotten", crm_ids=deleted, **erased.as_dict())
    return [i for change in unverified for i in (*change.crm_ids, *change.gone)]


def _insert_receipts(
    connection: Connection,
    dialect: str,
    connector: str,
    keys: Sequence[str],
    known: set[str],
    now: datetime,
) -> set[str]:
    rows = [{"connector": connector, "event_id": k, "received_at": now} for k in keys]
    rows = [r for r in rows if r["event_id"] not in known]
    fresh: set[str] = set()
    # Three parameters a row.
    for chunk in chunks(rows, CHUNK // 3):
        statement = (
            _insert(dialect)(_RECEIPTS)
            .values(chunk)
            .on_conflict_do_nothing(index_elements=["connector", "event_id"])
            .returning(_RECEIPTS.c.event_id)
        )
        fresh.update(connection.execute(statement).scalars())
    return fresh


def _mark_dirty(connection: Connection, connector: str, ids: Sequence[str]) -> int:
    marked = 0
    for chunk in chunks(ids):
        result = connection.execute(
            update(_CONTACTS)
            .where(_CONTACTS.c.crm == connector, _CONTACTS.c.crm_id.in_(chunk))
            .values(dirty=True)
        )
        marked += int(result.rowcount or 0)
    return marked
