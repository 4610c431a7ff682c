"""The share of the org's daily API requests is every replica's together: two
processes' budgets count in one store and stop together at the share."""

from __future__ import annotations

import pytest

from crmbridge.errors import RateLimited
from crmbridge.store.budget import DailyCount
from crmbridge.store.repository import Store
from crmbridge_salesforce.limits import ApiBudget

#: 10% of a 40-call day: 4 calls for crmbridge, whichever replica makes them.
HEADER = "api-usage=10/40"


def test_two_replicas_share_one_daily_share_through_the_store(store_url: str) -> None:
    engines = [Store.open(store_url).engine for _ in range(2)]
    now = [1_800_000_000.0]
    try:
        first, second = budgets = [ApiBudget(0.1) for _ in engines]
        for budget, engine in zip(budgets, engines, strict=True):
            budget.shared = DailyCount(engine, "salesforce:day", clock=lambda: now[0])

        for budget in (first, second, first):
            budget.observe(HEADER)
        second.admit_write()  # 3 of 4 used between them

        second.observe(HEADER)
        for budget in budgets:
            with pytest.raises(RateLimited) as held:
                budget.admit_write()
            assert "share (10%)" in held.value.message

        # A day (and the hour being counted) later, the calls have left the window.
        now[0] += 25 * 3600
        first.admit_write()
    finally:
        for engine in engines:
            engine.dispose()
