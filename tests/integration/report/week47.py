"""A small fixed store for the report's tests, with every figure worked out by hand.

Europe/Madrid (UTC+1 in November), business hours 09:00-18:00 local (08:00-17:00 UTC),
Friday 2026-11-20 a holiday; SLA: MQL 2 business days (18 h), SQL 4 h. The report is
for 2026-W47 (Mon 16 to Sun 22 November), compared with W46, run on Wed 25 November
12:00 UTC.

=====  ========  =====================  ==========================  =====================
lead   created   stages (UTC)           first sales activity        owner
=====  ========  =====================  ==========================  =====================
A 1    16 09:00  lead 16 09:00,         16 13:00 → 3 h              Ana (o1) from 16 10:00
                 mql 16 10:00, sql 18
B 2    09 09:00  lead 09 09:00,         18 09:00 → 1 h Tue + 1 h    Bruno (o2)
                 mql 17 16:00           Wed = 2 h
C 3    19 09:00  mql 19 16:30           Mon 23 08:30 → 0.5 h Thu,   Ana (o1)
                                        holiday, weekend, 0.5 h
                                        Mon = 1 h
D 4    16 07:00  lead 16 07:00,         16 08:00, before its MQL:   Bruno (o2); breached
                 mql 17 09:00           not contacted (48 h so far)  19 12:00
E 5    18 08:00  sql 18 10:00 (straight 18 16:00 → 6 h, SQL SLA    nobody
                 to SQL)                4 h: missed
F 6    10 09:00  mql 10 10:00, sql 11   10 12:00 → 2 h (W46)        Ana; breach 12 (W46)
G 7    May       reactivation 17,       —                           —
                 archived 21
H 8    June      mql in June,           —                           —
                 re-engaged 18
=====  ========  =====================  ==========================  =====================

W47: 4 new leads (A, C, D, E), 5 MQLs (A-E), 2 SQLs (A, E), period conversion 40 %,
cohort 2/5 (window open until late December); contacted 4: 1, 2, 3, 6 h → median
(nearest rank) 2 h, p90 6 h; SLA: A, B, C within, D and E not → 3/5 = 60 %.
W46: 2 new leads (B, F), 1 MQL, 1 SQL, F contacted in 2 h.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert

from benchmarks.weekly_report import score_row
from crmbridge.store.repository import Store
from crmbridge.store.tables import AssignmentRow, ContactRow, EventRow, ScoreRow, SlaClockRow

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
NOW_TEXT = "2026-11-25T12:00:00Z"


def at(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    """An instant of 2026 in UTC."""
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


CONTACTS = {
    1: at(11, 16, 9),
    2: at(11, 9, 9),
    3: at(11, 19, 9),
    4: at(11, 16, 7),
    5: at(11, 18, 8),
    6: at(11, 10, 9),
    7: at(5, 1, 9),
    8: at(6, 1, 9),
}

#: (contact, stage, transition, scored at, total)
SCORES = [
    (1, "lead", "entered", at(11, 16, 9), 30),
    (1, "mql", "advanced", at(11, 16, 10), 60),
    (1, "sql", "advanced", at(11, 18, 10), 85),
    (2, "lead", "entered", at(11, 9, 9), 20),
    (2, "mql", "advanced", at(11, 17, 16), 62),
    (3, "mql", "entered", at(11, 19, 16, 30), 55),
    (4, "lead", "entered", at(11, 16, 7), 25),
    (4, "mql", "advanced", at(11, 17, 9), 58),
    (5, "sql", "entered", at(11, 18, 10), 91),
    (6, "mql", "entered", at(11, 10, 10), 61),
    (6, "sql", "advanced", at(11, 11, 10), 80),
    (7, "lead", "entered", at(5, 1, 9), 40),
    (7, "reactivation", "went_quiet", at(11, 17, 3), 10),
    (7, "archived", "no_response", at(11, 21, 3), 5),
    (8, "mql", "entered", at(6, 1, 9), 70),
    (8, "reactivation", "went_quiet", at(10, 1, 3), 30),
    (8, "mql", "reengaged", at(11, 18, 11), 64),
]

#: (contact, type, occurred at, properties)
EVENTS: list[tuple[int, str, datetime, dict[str, Any]]] = [
    (1, "sales_activity", at(11, 16, 13), {}),
    (2, "sales_activity", at(11, 18, 9), {}),
    (3, "sales_activity", at(11, 23, 8, 30), {}),
    (4, "sales_activity", at(11, 16, 8), {}),
    (5, "sales_activity", at(11, 18, 16), {}),
    (6, "sales_activity", at(11, 10, 12), {}),
    (
        4,
        "sales_feedback",
        at(11, 19, 10),
        {"status": "not_qualified", "reason": "No budget this year"},
    ),
    (2, "sales_feedback", at(11, 20, 10), {"status": "bad_timing"}),
    (1, "sales_feedback", at(11, 16, 14), {"status": "contacted"}),
    (6, "sales_feedback", at(11, 12, 10), {"status": "not_qualified", "reason": "=cmd"}),
]

#: (contact, owner, assigned at)
ASSIGNMENTS = [
    (1, "o1", at(11, 16, 10)),
    (3, "o1", at(11, 19, 16, 30)),
    (2, "o2", at(11, 17, 16)),
    (4, "o2", at(11, 17, 9)),
    (6, "o1", at(11, 10, 10)),
]

HANDOFF = {
    4: {"objection": {"class": "price"}},
    2: {"objection": {"class": "none"}},
    1: {"objection": {"class": "trust"}},
    6: {"objection": {"class": "price"}},
}

CONFIG = """\
[bridge]
database_url = "{url}"
timezone = "Europe/Madrid"
language = "{language}"

[sla]
holidays = [2026-11-20]

[[assignment.owners]]
id = "o1"
name = "Ana García"

[[assignment.owners]]
id = "o2"
name = "Bruno <b>Díaz</b>"
"""


def seed(store: Store) -> None:
    """Write the data set above into an empty store."""
    with store.session() as session:
        session.execute(
            insert(ContactRow.__table__),  # type: ignore[attr-defined]
            [
                {
                    "id": cid,
                    "crm": "hubspot",
                    "crm_id": str(cid),
                    "email": f"l{cid}@example.com",
                    "properties": {},
                    "crm_values": {},
                    "created_at": created,
                    "updated_at": created,
                    "dirty": False,
                    "handoff": HANDOFF.get(cid),
                }
                for cid, created in CONTACTS.items()
            ],
        )
        session.execute(
            insert(ScoreRow.__table__),  # type: ignore[attr-defined]
            [score_row(cid, stage, move, when, total) for cid, stage, move, when, total in SCORES],
        )
        session.execute(
            insert(EventRow.__table__),  # type: ignore[attr-defined]
            [
                {
                    "dedupe_key": f"e{n}",
                    "type": kind,
                    "occurred_at": when,
                    "contact_id": cid,
                    "properties": props,
                }
                for n, (cid, kind, when, props) in enumerate(EVENTS)
            ],
        )
        session.execute(
            insert(AssignmentRow.__table__),  # type: ignore[attr-defined]
            [
                {"contact_id": c, "owner_id": o, "strategy": "round_robin", "assigned_at": a}
                for c, o, a in ASSIGNMENTS
            ],
        )
        session.execute(
            insert(SlaClockRow.__table__),  # type: ignore[attr-defined]
            [
                {
                    "contact_id": 4,
                    "stage": "mql",
                    "owner_id": "o2",
                    "started_at": at(11, 17, 9),
                    "due_at": at(11, 19, 9),
                    "breached_at": at(11, 19, 12),
                },
                {
                    "contact_id": 6,
                    "stage": "sql",
                    "owner_id": "o1",
                    "started_at": at(11, 11, 10),
                    "due_at": at(11, 11, 14),
                    "breached_at": at(11, 12, 9),
                },
            ],
        )
        session.commit()
