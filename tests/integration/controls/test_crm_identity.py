"""Contacts merged or deleted in HubSpot are followed: a merged record folds into the
survivor (by the poll's ``hs_merged_object_ids`` or the ``contact.merge`` webhook), a
deleted one is forgotten (``contact.deletion``)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import select

from crmbridge.store.identity import bind_account
from crmbridge.store.tables import ContactRow, EventRow, OutboxRow
from crmbridge_hubspot.sandbox.config import SandboxConfig
from crmbridge_hubspot.sandbox.server import SandboxServer
from crmbridge_hubspot.sandbox.webhooks import WebhookDispatcher
from tests.integration.daemon.daemon_helpers import WriteLog
from tests.integration.handoff.harness import (
    APP_SECRET,
    TOKEN,
    WEBHOOK_URL,
    Bridge,
    LeadSpec,
    add_leads,
    make_sandbox,
    pricing_visits,
    prop,
)
from tests.integration.helpers import snapshot

from .helpers import bridge_on, config_with

T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=6)
SCORE = "crmbridge_score"


@pytest.fixture
def crm() -> Iterator[SandboxServer]:
    with make_sandbox() as server:
        yield server


def _api(server: SandboxServer, method: str, path: str, **body: Any) -> requests.Response:
    return requests.request(
        method,
        f"{server.url}/crm/v3/objects/contacts{path}",
        json=body or None,
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=10,
    )


def _stored(bridge: Bridge) -> dict[str, list[Any]]:
    with bridge.store.session() as session:
        contacts = session.exec(select(ContactRow.crm_id, ContactRow.id)).all()
        events = session.exec(select(EventRow.contact_crm_id, EventRow.contact_id)).all()
        rows = session.exec(select(OutboxRow.crm_id, OutboxRow.status)).all()
    return {"contacts": list(contacts), "events": list(events), "outbox": list(rows)}


def _mentions(bridge: Bridge, crm_id: str) -> list[str]:
    """Rows naming the record, but the stream cursor's tie-break ids (a position only)."""
    return [
        f"{table}: {row!r}"[:160]
        for table, rows in snapshot(bridge.store.engine).items()
        for row in rows
        if (f"'{crm_id}'" in repr(row) or f'"{crm_id}"' in repr(row))
        and not (table == "cursors" and row[1] == "contacts")
    ]


def test_a_merge_read_by_the_poll_folds_both_records_into_the_new_one(
    crm: SandboxServer, tmp_path: Path
) -> None:
    primary, merged = add_leads(
        crm.state, [LeadSpec(1, jobtitle="Analyst", employees="20"), LeadSpec(2)], T0
    )
    writes = WriteLog(crm.state)
    with bridge_on(crm, tmp_path, config_with()) as bridge:
        bridge.post_events(pricing_visits(merged, T0, count=3))
        bridge.cycle(T0 + timedelta(minutes=1))
        before = int(prop(crm.state, primary, SCORE) or 0)
        assert int(prop(crm.state, merged, SCORE) or 0) > before

        # HubSpot merges into a new record; both old ids now read as it.
        answer = _api(crm, "POST", "/merge", primaryObjectId=primary, objectIdToMerge=merged)
        assert answer.status_code == 200, answer.text
        survivor = answer.json()["id"]
        assert survivor not in (primary, merged)
        held = _api(crm, "GET", f"/{merged}?properties=hs_merged_object_ids").json()
        assert held["id"] == survivor
        assert held["properties"]["hs_merged_object_ids"] == f"{primary};{merged}"
        written_before = len(writes.writes())
        bridge.cycle(T0 + timedelta(minutes=6))
        stored = _stored(bridge)

    # Both records' history is the new record's: the merged one's pricing visits count.
    assert [crm_id for crm_id, _ in stored["contacts"]] == [survivor]
    survivor_row = stored["contacts"][0][1]
    assert {ref for ref, _ in stored["events"]} == {survivor}
    assert {cid for _, cid in stored["events"]} == {survivor_row}
    assert int(prop(crm.state, survivor, SCORE) or 0) > before
    assert all(crm_id == survivor for crm_id, _ in stored["outbox"] if _ != "done")
    late = writes.writes()[written_before:]
    assert late and {w.contact_id for w in late} == {survivor}


def test_deletion_and_merge_webhooks_forget_and_fold_at_once(
    crm: SandboxServer, tmp_path: Path
) -> None:
    primary, merged, deleted = add_leads(crm.state, [LeadSpec(1), LeadSpec(2), LeadSpec(3)], T0)
    with bridge_on(crm, tmp_path, config_with()) as bridge:
        # The sandbox's own dispatcher signs and delivers to the daemon's HTTP app.
        config = SandboxConfig(
            app_secret=APP_SECRET, webhook_url=WEBHOOK_URL, webhook_batch_window_s=0.01
        )

        def via_app(url: str, *, data: bytes, headers: dict[str, str], timeout: float) -> Any:
            return bridge.http.post(url, content=data, headers=headers)

        # As the daemon's start does: the connector is bound to the portal it reaches
        # (only that portal's notifications may erase or fold).
        bind_account(bridge.store.engine, "hubspot", str(config.portal_id), "sandbox")
        dispatcher = WebhookDispatcher(config, post=via_app)
        crm.state.subscribe(dispatcher.notify)
        bridge.post_events(
            [*pricing_visits(merged, T0, count=2), *pricing_visits(deleted, T0, count=2)]
        )
        bridge.cycle(T0 + timedelta(minutes=1))
        assert _mentions(bridge, deleted)
        dispatcher.start()
        try:
            assert _api(crm, "DELETE", f"/{deleted}").status_code == 204
            merge = _api(crm, "POST", "/merge", primaryObjectId=primary, objectIdToMerge=merged)
            assert merge.status_code == 200, merge.text
            survivor = merge.json()["id"]
            assert dispatcher.wait_idle(10)
        finally:
            dispatcher.stop()
        assert dispatcher.failed_events == 0
        stored = _stored(bridge)
        assert _mentions(bridge, deleted) == []
        assert sorted(crm_id for crm_id, _ in stored["contacts"]) == [survivor]
        assert {ref for ref, _ in stored["events"]} == {survivor}
        # The survivor is rescored with what it inherited; nothing goes to the gone ids.
        summary = bridge.cycle(T0 + timedelta(minutes=6))
        assert summary.errors == []
        stored = _stored(bridge)
    assert {crm_id for crm_id, status in stored["outbox"] if status != "done"} <= {survivor}
