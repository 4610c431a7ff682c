"""A stored read position that cannot be read: reported once, nothing skipped."""

from __future__ import annotations

import json

import pytest

from connectors.salesforce.tests.conftest import SandboxHandle
from crmbridge.connector import CorruptCursorError, Page

from .salesforce_harness import connector_for
from .test_salesforce_sandbox_connector import seed_leads


@pytest.mark.parametrize(
    "cursor",
    ["not json {", "[1, 2]", json.dumps({"Lead": '{"at": "yesterday", "seen": 7}'})],
    ids=["no-json", "no-object", "lead-position-mangled"],
)
def test_a_corrupt_cursor_is_reset_reported_once_and_every_lead_read(
    salesforce_sandbox: SandboxHandle, cursor: str
) -> None:
    ids = seed_leads(salesforce_sandbox, 3)
    connector = connector_for(salesforce_sandbox.server)
    pages: list[Page] = []

    with pytest.raises(CorruptCursorError) as corrupt:
        for page in connector.read_changes(cursor, ["LastName"]):
            pages.append(page)

    assert "unreadable" in corrupt.value.message and "read again from" in corrupt.value.message
    # The safe position comes first (stored at once), then every lead is read.
    assert pages[0].records == ()
    assert [r.id for page in pages for r in page.records] == ids
    # The stored position is readable now: the next poll fails no more.
    again = list(connector.read_changes(pages[0].cursor, ["LastName"]))
    assert [r.id for page in again for r in page.records] == ids
