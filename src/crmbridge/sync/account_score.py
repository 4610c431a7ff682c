"""The account score: a roll-up of a company's contacts' scores, queued for its company.

After a cycle's rescoring, the companies of the contacts scored since the last roll-up
(a cursor on the score rows, ``account_score``, per connector) get their roll-up
recomputed from the current scores of all their contacts: the best one (``max``) or
the sum of the ``top_n`` best (``sum_top_n``). A value is queued in the outbox only
when it differs from the company's newest row of the property (the baseline: what was
last written, or is about to be). The cursor moves after the rows are committed: a
crash in between recomputes the same companies, whose values are then found queued.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from crmbridge.connector import FieldSpec
from crmbridge.settings import AccountScoreSettings
from crmbridge.store import outbox
from crmbridge.store.account_scores import companies_of, current_scores, rescored_companies
from crmbridge.store.repository import Store
from crmbridge.sync.rescore import PlannedChange

ACCOUNT_STREAM = "account_score"
#: Score rows read per step (their companies are rolled up together).
SCORE_BATCH = 5000


def account_property(settings: AccountScoreSettings, prefix: str) -> str:
    """The company property the account score is written to."""
    return settings.property or f"{prefix}_account_score"


def account_field(settings: AccountScoreSettings, prefix: str) -> FieldSpec:
    """The company property as ``crmbridge check`` creates it."""
    return FieldSpec(account_property(settings, prefix), "Account score", "number")


def roll_up(totals: Sequence[int], settings: AccountScoreSettings) -> int:
    """The account score of contacts scored ``totals`` (in any order)."""
    if not totals:
        return 0
    if settings.method == "max":
        return max(totals)
    return sum(sorted(totals, reverse=True)[: settings.top_n])


def update_account_scores(
    store: Store, crm: str, settings: AccountScoreSettings, prefix: str, now: datetime
) -> int:
    """Queue the changed account scores of ``crm``'s companies whose contacts were
    scored since the last call; how many companies were queued."""
    target = account_property(settings, prefix)
    cursor = store.get_cursor(crm, ACCOUNT_STREAM)
    after = int(cursor) if cursor and cursor.isdigit() else 0
    queued = 0
    while True:
        with store.session() as session:
            companies, last = rescored_companies(session, crm, after, SCORE_BATCH)
            if last == after:
                return queued
            totals = current_scores(session, crm, companies)
            values = {
                company: str(roll_up(list(found.values()), settings))
                for company, found in totals.items()
            }
            queued += outbox.queue_company_values(session, crm, target, values, now)
            session.commit()
        store.put_cursor(crm, ACCOUNT_STREAM, str(last))
        after = last


def requeue_regrouped(
    store: Store,
    crm: str,
    settings: AccountScoreSettings,
    prefix: str,
    companies: Sequence[str],
    now: datetime,
) -> int:
    """Roll up again the companies contacts left or joined (a contact's score may not
    change when it moves, and score rows name only its new company); a company left
    without a scored contact scores 0. How many were queued."""
    target = account_property(settings, prefix)
    with store.session() as session:
        totals = current_scores(session, crm, companies)
        values = {c: str(roll_up(list(totals.get(c, {}).values()), settings)) for c in companies}
        # Found while reading, whose time is the wall clock's: due at whatever time
        # the cycle's drain runs (``--now`` may set it in the past).
        queued = outbox.queue_company_values(session, crm, target, values, now, due=False)
        session.commit()
    return queued


def planned_account_scores(
    store: Store,
    crm: str,
    settings: AccountScoreSettings,
    prefix: str,
    changes: Sequence[PlannedChange],
) -> list[PlannedChange]:
    """The account scores the next cycle would write, given the contacts' planned score
    changes (``plan``): one change per company, named ``company.<property>``, ``old``
    its last queued or written value. Reads the store only."""
    score = f"{prefix}_score"
    planned = {c.crm_id: int(float(c.new)) for c in changes if c.crm == crm and c.name == score}
    if not planned:
        return []
    target = account_property(settings, prefix)
    with store.session() as session:
        members = companies_of(session, crm, list(planned))
        companies = sorted({company for _, company in members.values()})
        totals = current_scores(session, crm, companies)
        last = outbox.last_company_values(session, crm, target, companies)
    for crm_id, (contact_id, company) in members.items():
        totals.setdefault(company, {})[contact_id] = planned[crm_id]
    found: list[PlannedChange] = []
    for company in companies:
        value = str(roll_up(list(totals[company].values()), settings))
        before = last.get(company)
        if before is None or before.value != value:
            old = before.value if before is not None else None
            found.append(PlannedChange(crm, company, None, f"company.{target}", old, value))
    return found
