"""Feedback read from a CRM's own field (Salesforce's Lead Status): only the values
mapped to verdicts count, matched without regard to case; a bad mapping or reading the
field crmbridge writes is a configuration problem naming its path."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crmbridge.config import parse_config
from crmbridge.errors import ConfigError
from crmbridge.handoff.feedback import feedback_events
from crmbridge.records import ContactRecord

from .helpers import config

STATUS = """
[assignment]
owner_property = "OwnerId"

[sla]
feedback_property = "Status"
feedback_reason_property = "Unqualified_Reason__c"
feedback_values = { "Unqualified" = "not_qualified", "Working - Contacted" = "contacted" }
"""
AT = datetime(2026, 12, 1, 10, tzinfo=UTC)


def record(crm_id: str, **properties: str) -> ContactRecord:
    return ContactRecord(
        crm="salesforce", id=crm_id, email=None, properties=properties, updated_at=AT
    )


def test_mapped_statuses_are_verdicts_and_the_others_are_none() -> None:
    loaded = config(STATUS)
    records = [
        record("00Q1", Status="Unqualified", Unqualified_Reason__c="No budget this year"),
        record("00Q2", Status="working - contacted"),
        record("00Q3", Status="Open - Not Contacted"),
        record("00Q4"),
    ]

    events = feedback_events(records, loaded.sla, loaded.lifecycle.feedback_property)

    assert [(e.contact.id, dict(e.properties)) for e in events] == [
        ("00Q1", {"status": "not_qualified", "reason": "No budget this year"}),
        ("00Q2", {"status": "contacted"}),
    ]
    again = feedback_events(records[:1], loaded.sla, loaded.lifecycle.feedback_property)
    assert again[0].event_id == events[0].event_id, "read again: the same event"


def test_without_a_mapping_the_value_is_the_verdict() -> None:
    loaded = config("")
    [event] = feedback_events(
        [record("1", crmbridge_sales_feedback="bad_timing")], loaded.sla, "status"
    )
    assert event.properties["status"] == "bad_timing"


@pytest.mark.parametrize(
    ("toml", "path"),
    [
        ('[sla]\nfeedback_values = { "Unqualified" = "Not Qualified!" }', "sla.feedback_values"),
        ('[sla]\nfeedback_values = { "" = "not_qualified" }', "sla.feedback_values"),
        (
            '[assignment]\nowner_property = "OwnerId"\n[sla]\nfeedback_property = "ownerid"',
            "sla.feedback_property",
        ),
    ],
)
def test_bad_settings_name_their_path(toml: str, path: str) -> None:
    with pytest.raises(ConfigError) as refused:
        parse_config(toml, source="test")
    assert path in str(refused.value)


@given(st.dictionaries(st.text(max_size=300), st.text(max_size=60), max_size=5))
def test_any_mapping_is_accepted_or_refused_never_a_crash(values: dict[str, str]) -> None:
    lines = ", ".join(f"{_quoted(k)} = {_quoted(v)}" for k, v in values.items())
    try:
        loaded = parse_config(f"[sla]\nfeedback_values = {{ {lines} }}", source="fuzz")
    except ConfigError as exc:
        assert "feedback_values" in str(exc) or "TOML" in str(exc)
        return
    events = feedback_events(
        [record(str(i), crmbridge_sales_feedback=k) for i, k in enumerate(values)],
        loaded.config.sla,
        "status",
    )
    assert {e.properties["status"] for e in events} <= set(values.values())


def _quoted(text: str) -> str:
    return (
        '"'
        + "".join(f"\\u{ord(c):04x}" if ord(c) < 0x10000 else f"\\U{ord(c):08x}" for c in text)
        + '"'
    )
