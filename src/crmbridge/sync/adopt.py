"""Adopt contacts whose crmbridge values another store wrote (``crmbridge adopt``).

A store that finds another store's mark on a contact holds it (see
:mod:`crmbridge.store.identity`). Adopting takes the CRM's current crmbridge values as
the baseline for the diff-only writer, recovers what the CRM shows of the other
store's hand-off (a hot lead already notified, sequences paused after a reply), and
says what cannot be recovered: events that lived only in the other store, and the
hand-off bookkeeping the CRM does not show.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from crmbridge.handoff.notification import HOT_SINCE, NOTIFIED
from crmbridge.handoff.replies import REPLY
from crmbridge.store.identity import UNMARKED, parse_mark, read_identity
from crmbridge.store.repository import Store
from crmbridge.sync.writeback import store_property

#: What an adoption can never bring back, said every time.
NOT_RECOVERABLE = (
    "SLA clocks, owner-assignment counts and trigger enrollments of the other store are "
    "not known here: they start afresh",
    "tasks the other store created stay in the CRM; before creating a task crmbridge "
    "searches for one with the same Ref, so the same hand-off is never tasked twice",
)
_CHUNK = 500


@dataclass
class AdoptionReport:
    """What ``adopt`` took over and what it could not recover."""

    adopted: int = 0
    #: Adopted contacts by the store id that wrote them.
    from_stores: dict[str, int] = field(default_factory=dict)
    #: Hot leads whose notification the other store already sent (not sent again).
    hot_recovered: int = 0
    #: Leads whose sequences the other store paused after a reply.
    paused_recovered: int = 0
    #: Contacts the CRM shows engagement points for but this store holds no event of.
    engagement_missing: int = 0
    #: Their engagement points in the CRM, together.
    engagement_points: int = 0
    not_recoverable: tuple[str, ...] = NOT_RECOVERABLE

    def lines(self) -> list[str]:
        """The report as sentences for a person."""
        if not self.adopted:
            return ["no contact is held: nothing to adopt"]
        stores = ", ".join(_origin(sid, n) for sid, n in self.from_stores.items())
        found = [f"adopted {self.adopted:,} contacts ({stores})"]
        if self.hot_recovered:
            found.append(
                f"{self.hot_recovered:,} hot leads were already notified by the other store: "
                "not notified again"
            )
        if self.paused_recovered:
            found.append(
                f"{self.paused_recovered:,} leads had their sequences paused after a reply: "
                "kept paused"
            )
        if self.engagement_missing:
            found.append(
                f"not recovered: {self.engagement_missing:,} contacts carry "
                f"{self.engagement_points:,} engagement points in the CRM from events this "
                "store never received (they lived only in the other store); their score is "
                "recomputed from the events stored here. Re-ingest the events "
                "(crmbridge ingest) to restore them"
            )
        found.extend(f"not recovered: {note}" for note in self.not_recoverable)
        return found

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


def adopt(store: Store, prefix: str, crm: str | None = None) -> AdoptionReport:
    """Take over every contact (of ``crm``, or all) written by another store.

    Covers contacts already held and those whose foreign mark was read but not yet
    rescored. They become due; the next rescoring diffs against the CRM's values.
    """
    report = AdoptionReport()
    mark_name = store_property(prefix)
    identity = read_identity(store.engine)
    after = 0
    while True:
        with store.session() as session:
            rows = store.contacts_after(session, after, _CHUNK, crm)
            if not rows:
                return report
            after = rows[-1].id
            foreign = [
                row
                for row in rows
                if row.held_by or identity.holds(row.crm_values or {}, mark_name, row.adopted_from)
            ]
            events = store.events_for(session, [row.id for row in foreign])
            adopted = [
                _adopt_one(row, mark_name, prefix, events.get(row.id, []), report)
                for row in foreign
            ]
            store.adopt_contacts(session, adopted)
            session.commit()


def _adopt_one(
    row: Any, mark_name: str, prefix: str, events: list[Any], report: AdoptionReport
) -> dict[str, Any]:
    """The adoption of one contact: its accepted mark and recovered hand-off state."""
    held = row.crm_values or {}
    # The mark the CRM shows now (as last read), not the one seen when it was held: the
    # other store may have written since, and adopting an older mark would keep it held.
    mark_text = str(held.get(mark_name) or "").strip()[:80] or UNMARKED
    mark = parse_mark(mark_text) if mark_text != UNMARKED else None
    report.adopted += 1
    origin = mark.store_id if mark is not None else UNMARKED
    report.from_stores[origin] = report.from_stores.get(origin, 0) + 1
    state = dict(row.handoff) if isinstance(row.handoff, dict) else {}
    if str(held.get(f"{prefix}_hot", "")).lower() == "true" and HOT_SINCE not in state:
        since = str(held.get(f"{prefix}_scored_at") or "") or "adopted"
        state[HOT_SINCE] = state[NOTIFIED] = since
        report.hot_recovered += 1
    if str(held.get(f"{prefix}_sequence_paused", "")).lower() == "true":
        replies = [e.occurred_at for e in events if e.type == REPLY]
        if replies and "reply_handled_at" not in state:
            state["reply_handled_at"] = _iso(max(replies))
        state["paused"] = True
        report.paused_recovered += 1
    engagement = _number(held.get(f"{prefix}_engagement_score"))
    if engagement > 0 and not events:
        report.engagement_missing += 1
        report.engagement_points += engagement
    return {"cid": row.id, "mark": mark_text or None, "handoff": state or None}


def _origin(store_id: str, count: int) -> str:
    if store_id == UNMARKED:
        return f"{count:,} written without a store mark (by a release before marks)"
    return f"{count:,} from store {store_id}"


def _iso(moment: datetime) -> str:
    return moment.isoformat()


def _number(value: object) -> int:
    """A CRM number as an int; anything else (absent, text, huge) counts as 0."""
    try:
        number = float(str(value)[:32])
    except ValueError:
        return 0
    return int(number) if 0 < number < 1e9 else 0
