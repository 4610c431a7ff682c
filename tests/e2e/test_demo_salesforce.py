"""`crmbridge demo --crm salesforce`: the demo against the Salesforce sandbox, through
the Salesforce connector and the real simple-salesforce."""

from __future__ import annotations

from pathlib import Path

from crmbridge.demo import run_demo


def test_demo_syncs_scores_into_salesforce_and_settles(tmp_path: Path) -> None:
    lines: list[str] = []
    report = run_demo(str(tmp_path / "demo.db"), say=lines.append, crm="salesforce")

    first, after_activity, quiet = report.cycles
    # A converted lead is read as its contact (and again in the Contact sweep).
    assert first.read >= 200 and first.scored == first.changed == first.written >= 200
    assert first.failed == 0 and not first.errors
    # New activity for a few leads (pricing visits, a reply): only those are rescored.
    assert 3 <= after_activity.changed <= after_activity.scored <= 4
    assert after_activity.failed == 0 and not after_activity.errors
    # Nothing new: the echoes of our own writes are read back and nothing is written.
    assert quiet.written == 0 and quiet.changed == 0
    assert quiet.failed == 0 and not quiet.errors
    assert len(report.leads) >= 200
    assert {lead.stage for lead in report.leads} >= {"lead", "mql"}
    assert all(lead.grade in "ABCD" for lead in report.leads)
    # Collections: every lead in a handful of calls, not one call per lead.
    assert 1 <= report.api_calls["update records"] <= 5, report.api_calls
    assert any("Salesforce sandbox" in line for line in lines), lines[:5]
