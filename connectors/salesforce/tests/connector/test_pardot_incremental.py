"""The headline of Account Engagement reads: 10,000 visitor activities read
incrementally through the real HTTP stack, many sharing one ``updatedAt`` across page
boundaries, some updated while the read goes on and some shown late by v5's cache:
every activity becomes exactly one event, none is lost."""

from __future__ import annotations

import itertools
import math
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from connectors.salesforce.tests.conftest import SandboxHandle
from crmbridge_salesforce.pardot.activities import EVENT_TYPES

from .pardot_harness import pardot_connector, pardot_of, pardot_requests

TOTAL = 10_000
BATCHES = 4
PAGE = 200


@pytest.mark.parametrize("remembered", [2000, 300])
def test_ten_thousand_activities_read_incrementally_lose_and_double_nothing(
    salesforce_sandbox: SandboxHandle, remembered: int
) -> None:
    """``remembered`` (lookback_records) below a block of ties still loses nothing."""
    sandbox = salesforce_sandbox
    pardot = pardot_of(sandbox.server)
    leads = [
        sandbox.seed(
            "Lead", {"LastName": f"L{n}", "Company": "Acme", "Email": f"l{n}@acme.example"}
        )
        for n in range(20)
    ]
    prospects = [pardot.add_prospect(email=f"l{n}@acme.example", salesforce_id=lead)
                 for n, lead in enumerate(leads)]  # fmt: skip
    prospects += [pardot.add_prospect(email=f"web{n}@acme.example") for n in range(20)]
    codes = itertools.cycle(sorted(EVENT_TYPES))
    owners = itertools.cycle(prospects)
    base = datetime.now(UTC) - timedelta(hours=3)
    expected: set[int] = set()
    connector = pardot_connector(sandbox.server, page_size=PAGE, lookback_records=remembered)
    cursor: str | None = None
    emitted: Counter[str] = Counter()
    touched = 0

    def poll(*, disturb: datetime | None) -> None:
        """One read; with ``disturb`` (the sandbox's "now"), activities change during it."""
        nonlocal cursor, touched
        for number, page in enumerate(connector.read_changes(cursor, ["LastName"])):
            emitted.update(e.event_id or "" for e in page.events)
            cursor = page.cursor
            if disturb is not None and number == 3:
                # While the read goes on: activities read and not yet read change, and
                # v5's cache shows some new ones late, with an earlier updatedAt.
                every = sorted(expected)
                for aid in every[:: max(1, len(every) // 150)]:
                    pardot.touch_activity(aid, disturb)
                    touched += 1
                late = disturb - timedelta(seconds=90)
                expected.update(pardot.add_activities(
                    [{"type": next(codes), "prospect_id": next(owners), "at": late}
                     for _ in range(50)], staged=True))  # fmt: skip

    per_batch = TOTAL // BATCHES
    for batch in range(BATCHES):
        rows = []
        for n in range(per_batch):
            # Ties: the first 700 activities of a batch share one second (four pages),
            # the rest come 17 to a second (page boundaries fall inside the ties).
            offset = 0 if n < 700 else 1 + (n - 700) // 17
            at = base + timedelta(minutes=40 * batch, seconds=offset)
            rows.append({"type": next(codes), "prospect_id": next(owners), "at": at})
        expected.update(pardot.add_activities(rows))
        # Pardot's clock during the read: after this batch, before the next.
        now = base + timedelta(minutes=40 * batch + 30)
        poll(disturb=now if batch in (1, 2) else None)
        pardot.commit()
    poll(disturb=None)
    poll(disturb=None)

    ids = {f"pardot:activity:{aid}" for aid in expected}
    assert len(ids) == TOTAL + 100
    assert set(emitted) == ids, f"lost {len(ids - set(emitted))}"
    assert max(emitted.values()) == 1, "an activity became two events"
    assert touched >= 200
    calls = pardot_requests(sandbox.server)
    # The look-back re-reads some pages; never as much again as reading everything once.
    assert calls <= 2 * math.ceil(len(ids) / PAGE)
    print(f"\n{len(emitted)} events, {calls} v5 calls, {touched} activities updated mid-read")
