"""Sync-loop detection: a crmbridge property written into a CRM by crmbridge and by
another CRM's sync.

A read that finds crmbridge's value replaced (see
:class:`~crmbridge.store.repository.Overwrite`) by exactly the value the same person's
record holds in another CRM has found a sync carrying that property across (HubSpot's
Salesforce integration, for one). crmbridge would write its value back, the sync would
carry the other one over again: the value flaps and every flap costs API calls. The
fix is to let one CRM own the property (``[writeback.owners]``): crmbridge then writes
it there only and the sync carries it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from crmbridge.i18n import ENGLISH, N_, Texts
from crmbridge.logging import get_logger
from crmbridge.settings import WritebackSettings
from crmbridge.store.repository import Overwrite, Store
from crmbridge.store.sync_loops import Loop, other_records, record_loops
from crmbridge.sync.writeback import same_value, store_property


def fix_hint(loop: Loop, texts: Texts = ENGLISH) -> str:
    """How to end ``loop``: make one CRM the property's system of record."""
    return texts(
        N_(
            'set [writeback.owners] {property} = "{other}" (or "{crm}"): crmbridge then '
            "writes it into that CRM only and the sync carries it to the other"
        ),
        property=loop.property,
        other=loop.other,
        crm=loop.connector,
    )


def loop_summaries(loops: Sequence[Loop], texts: Texts = ENGLISH) -> list[str]:
    """One line per property and pair of CRMs, for a cycle's report (in ``texts``'s
    language: the report is read by the admin)."""
    seen = {(lp.connector, lp.property, lp.other): lp for lp in loops}
    return [
        texts(
            N_(
                "{property} in {crm}: crmbridge wrote {ours}, then {other}'s value {theirs} "
                "came back (a sync between the CRMs); {fix}"
            ),
            property=lp.property,
            crm=lp.connector,
            ours=repr(lp.ours[:80]),
            other=lp.other,
            theirs=repr(lp.theirs[:80]),
            fix=fix_hint(lp, texts),
        )
        for lp in seen.values()
    ]


def find_loops(
    connector: str,
    overwritten: Sequence[Overwrite],
    others: Mapping[str, list[tuple[str, dict[str, Any]]]],
) -> list[Loop]:
    """The overwrites that carry the value another CRM's record of the person holds."""
    loops: list[Loop] = []
    for change in overwritten:
        if not change.email or same_value(change.after, change.before):
            continue
        for other, values in others.get(change.email, []):
            theirs = values.get(change.name)
            if theirs is not None and same_value(change.after, theirs):
                loops.append(
                    Loop(connector, change.name, other, change.crm_id, change.before, change.after)
                )
                break
    return loops


def detect_loops(
    store: Store,
    connector: str,
    overwritten: Sequence[Overwrite],
    writeback: WritebackSettings,
    now: datetime,
) -> list[Loop]:
    """Find, record and log the sync loops among a page's ``overwritten`` values."""
    prefix, mark = writeback.prefix, store_property(writeback.prefix)
    # Only what crmbridge itself writes into this CRM can flap between two writers;
    # a property owned by the other CRM arrives through its sync by design.
    ours = [
        o
        for o in overwritten
        if o.name != mark
        and o.name.startswith(f"{prefix}_")
        and writeback.writes_to(o.name, connector)
    ]
    if not ours:
        return []
    with store.session() as session:
        others = other_records(session, (o.email for o in ours if o.email), connector)
        loops = find_loops(connector, ours, others)
        if loops:
            record_loops(session, loops, now)
            session.commit()
    for loop in {(lp.property, lp.other): lp for lp in loops}.values():
        get_logger(connector=connector).warning(
            "sync.loop",
            property=loop.property,
            other=loop.other,
            contact=loop.crm_id,
            ours=loop.ours[:80],
            theirs=loop.theirs[:80],
            fix=fix_hint(loop),
        )
    return loops
