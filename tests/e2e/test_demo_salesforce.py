"""`crmbridge demo --crm salesforce`: the demo against the Salesforce sandbox, through
the Salesforce connector and the real simple-salesforce."""

from __future__ import annotations

from pathlib import Path

from crmbridge import clock
from crmbridge.demo import _activity, _cycle, _ingest, run_demo, running_demo


def test_demo_syncs_scores_into_salesforce_and_settles(tmp_path: Path) -> None:
    lines: list[str] = []
    report = run_demo(str(tmp_path / "demo.db"), say=lines.append, crm="salesforce")

    first, after_activity, quiet = report.cycles
    # A converted lead is read as its contact (and again in the Contact sweep).
    assert first.read >= 200 and first.scored == first.changed == first.written >= 200
    assert first.failed == 0 and not first.errors
    # New activity for a few leads (pricing visits, a reply): only those are rescored
    # (a converted lead shares its contact's events but is never written again).
    assert 3 <= after_activity.written <= after_activity.changed <= after_activity.scored <= 4
    assert after_activity.failed == 0 and not after_activity.errors
    # Nothing new: the echoes of our own writes are read back and nothing is written.
    assert quiet.written == 0 and quiet.changed == 0
    assert quiet.failed == 0 and not quiet.errors
    assert len(report.leads) >= 200
    assert {lead.stage for lead in report.leads} >= {"lead", "mql"}
    # The example model, in Salesforce's field names: IT directors of large companies fit.
    assert any(lead.hot for lead in report.leads), report.leads[:5]
    assert any("IT director" in lead.reason for lead in report.leads)
    assert all(lead.grade in "ABCD" for lead in report.leads)
    # Collections: every lead in a handful of calls, not one call per lead.
    assert 1 <= report.api_calls["update records"] <= 5, report.api_calls
    assert any("Salesforce sandbox" in line for line in lines), lines[:5]


def test_the_reply_made_after_the_first_sync_gains_its_lead_points(tmp_path: Path) -> None:
    fields = ["crmbridge_score", "crmbridge_reasons", "crmbridge_sequence_paused"]
    with running_demo(str(tmp_path / "demo.db"), crm="salesforce") as (sandbox, pipeline, crm):
        _ingest(pipeline, sandbox.demo_events())
        pipeline.prepare()
        _cycle(pipeline, clock.now(), lambda _: None, "first sync")
        # The demo's replier: the first contact by id (here a converted lead's contact).
        replier = min(c.crm_id for c in sandbox.contacts())
        (before,) = crm.read_values([replier], fields).values()
        _activity(sandbox, pipeline, clock.now(), lambda _: None)
        _cycle(pipeline, clock.now(), lambda _: None, "after new activity")
        (after,) = crm.read_values([replier], fields).values()

    assert "Reply to a sales email" not in (before["crmbridge_reasons"] or "")
    assert "+20 Reply to a sales email" in (after["crmbridge_reasons"] or "")
    assert int(after["crmbridge_score"] or 0) > int(before["crmbridge_score"] or 0)
    assert after["crmbridge_sequence_paused"] == "true"
