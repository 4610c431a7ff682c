"""A sync loop is reported in ``[bridge] language``: the admin reads it and acts on it."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from crmbridge.i18n import Texts
from crmbridge.store.sync_loops import Loop
from crmbridge.sync.loops import loop_summaries

LOOP = Loop("hubspot", "crmbridge_score", "salesforce", "101", "80", "75" * 100)


def test_english_names_the_property_both_crms_both_values_and_the_fix() -> None:
    (line,) = loop_summaries([LOOP, LOOP])
    assert line.startswith("crmbridge_score in hubspot: crmbridge wrote '80', then salesforce's")
    assert 'set [writeback.owners] crmbridge_score = "salesforce" (or "hubspot")' in line
    # The other side's value is cut: a megabyte of it must not reach the terminal.
    assert "75" * 40 in line and "75" * 41 not in line


def test_spanish_says_the_same() -> None:
    (line,) = loop_summaries([LOOP], Texts("es", ZoneInfo("Europe/Madrid")))
    assert line.startswith("crmbridge_score en hubspot: crmbridge escribió '80' y luego volvió")
    assert 'ponga [writeback.owners] crmbridge_score = "salesforce" (o "hubspot")' in line
