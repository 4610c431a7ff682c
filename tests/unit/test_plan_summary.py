"""The figures at the top of ``crmbridge plan``: counts, stage moves, histogram, rules."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import given
from hypothesis import strategies as st

from crmbridge.sync.plan_summary import NEW, Before, PlanSummary


@dataclass(frozen=True)
class Change:
    crm: str
    crm_id: str
    name: str


def test_counts_writes_per_property_actions_per_kind_and_contacts_once() -> None:
    summary = PlanSummary()
    summary.add_changes(
        [
            Change("hubspot", "1", "crmbridge_score"),
            Change("hubspot", "1", "crmbridge_hot"),
            Change("hubspot", "1", "action:task"),
            Change("hubspot", "2", "crmbridge_score"),
            Change("salesforce", "1", "action:webhook"),
        ]
    )

    assert summary.contacts_changing == 3
    assert dict(summary.writes) == {"crmbridge_score": 2, "crmbridge_hot": 1}
    assert dict(summary.actions) == {"task": 1, "webhook": 1}


def test_stage_moves_hot_before_after_and_new_leads() -> None:
    summary = PlanSummary()
    summary.add_lead(Before(40, False, "lead"), 70, True, "mql", [])
    summary.add_lead(Before(75, True, "mql"), 75, True, "mql", [])
    summary.add_lead(Before(), 10, False, "subscriber", [])

    data = summary.as_dict()
    assert data["hot"] == {"before": 1, "after": 2}
    assert data["new_leads"] == 1
    assert data["contacts_rescored"] == 3
    assert data["stage_moves"] == [
        {"from": "lead", "to": "mql", "contacts": 1},
        {"from": "mql", "to": "mql", "contacts": 1},
        {"from": NEW, "to": "subscriber", "contacts": 1},
    ]


def test_rules_matching_nobody_are_flagged_in_model_order() -> None:
    summary = PlanSummary(rules=["Director", "Pricing page", "Demo booked"])
    summary.add_lead(Before(), 50, False, "lead", ["Director", "Pricing page", "Pricing page"])
    summary.add_lead(Before(), 20, False, "lead", ["Pricing page"])

    assert summary.as_dict()["rule_matches"] == {
        "Director": 1,
        "Pricing page": 2,
        "Demo booked": 0,
    }
    assert summary.unmatched_rules == ["Demo booked"]


def test_no_rule_is_flagged_when_nobody_is_rescored() -> None:
    assert PlanSummary(rules=["Director"]).unmatched_rules == []


def test_histogram_shares_one_range_before_and_after() -> None:
    summary = PlanSummary()
    summary.add_lead(Before(5, False, "lead"), 55, False, "mql", [])
    summary.add_lead(Before(-12, False, "lead"), 0, False, "lead", [])

    buckets = summary.histogram()

    assert [b.label for b in buckets] == [
        "-20–-11",
        "-10–-1",
        "0–9",
        "10–19",
        "20–29",
        "30–39",
        "40–49",
        "50–59",
    ]
    assert [(b.before, b.after) for b in buckets if b.before or b.after] == [
        (1, 0),
        (1, 1),
        (0, 1),
    ]


@given(st.lists(st.tuples(st.integers(-500, 10_000), st.integers(-500, 10_000)), max_size=60))
def test_histogram_counts_every_score_once_in_a_bounded_number_of_bars(
    pairs: list[tuple[int, int]],
) -> None:
    summary = PlanSummary()
    for before, after in pairs:
        summary.add_lead(Before(before, False, "lead"), after, False, "lead", [])

    buckets = summary.histogram()

    assert sum(b.before for b in buckets) == len(pairs)
    assert sum(b.after for b in buckets) == len(pairs)
    assert len(buckets) <= 13
    assert all(b.low <= b.high for b in buckets)
