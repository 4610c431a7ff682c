"""A storm of ``REQUEST_LIMIT_EXCEEDED`` on writes: the outbox keeps every write, the
cycle says why it stopped, and once Salesforce allows again every lead ends as an
undisturbed run leaves it, each written once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from connectors.salesforce.tests.conftest import SandboxHandle
from crmbridge.config import example_config_text, parse_config
from crmbridge.store.repository import Store
from crmbridge.sync.pipeline import Pipeline
from crmbridge.sync.writeback import score_property_names
from crmbridge_salesforce.errors import LIMIT_PROBE_S
from crmbridge_salesforce.sandbox import SandboxServer

from .salesforce_harness import connector_for
from .test_salesforce_sandbox_connector import seed_leads

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
SCORES = [n for n in score_property_names("crmbridge") if n != "crmbridge_scored_at"]


def final_values(
    sandbox: SandboxHandle, tmp_path: Path, storm: int
) -> tuple[dict[str, dict[str, str | None]], int, list[list[str]]]:
    """Score every lead with ``storm`` limit refusals on the writes; what the org holds,
    the record writes it applied and each cycle's failure kinds."""
    ids = seed_leads(sandbox, 30)
    config = parse_config(example_config_text()).config
    store = Store.open(f"sqlite:///{tmp_path / f'storm-{storm}.db'}")
    connector = connector_for(sandbox.server)
    pipeline = Pipeline(store, config, {connector.name: connector})
    pipeline.prepare()
    sandbox.faults.add("limit", count=storm, path_prefix="composite")
    kinds = []
    try:
        now = NOW
        for _ in range(storm + 2):
            summary = pipeline.run_once(now)
            kinds.append(sorted({f.kind for f in summary.failures}))
            # Writes wait for the limit's probe interval; a cycle that late tries again.
            now += timedelta(seconds=LIMIT_PROBE_S + 1)
    finally:
        store.engine.dispose()
    held = connector.read_values(ids, SCORES)
    applied = sum(
        1
        for r in sandbox.request_log()
        if r.path.endswith("/composite/sobjects") and r.status == 200
    )
    return {sandbox.admin.record("Lead", i)["Email"]: held[i] for i in ids}, applied, kinds


def test_a_limit_storm_loses_nothing_and_ends_as_an_undisturbed_run(
    salesforce_sandbox: SandboxHandle, tmp_path: Path
) -> None:
    stormy, applied, kinds = final_values(salesforce_sandbox, tmp_path, storm=3)

    assert kinds[:3] == [["rate_limited"]] * 3, kinds
    assert kinds[3:] == [[], []]
    assert applied == 1, "the 30 leads went out in one Collections call, once"
    assert all(values["crmbridge_score"] is not None for values in stormy.values())


def test_the_storm_leaves_the_same_values_as_a_calm_run(
    salesforce_sandbox: SandboxHandle, tmp_path: Path
) -> None:
    stormy, _, _ = final_values(salesforce_sandbox, tmp_path, storm=2)
    with SandboxServer(certificates=salesforce_sandbox.server.certificates) as calm_server:
        calm, _, _ = final_values(SandboxHandle(calm_server), tmp_path, storm=0)

    assert stormy == calm
