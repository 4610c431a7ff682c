"""``company.<property>`` in the model: parsing, config errors, check warnings, and
scoring with whatever a CRM's company holds (absurd values included)."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from textwrap import dedent

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crmbridge.cli.rule_properties import company_property_warnings
from crmbridge.config import parse_config
from crmbridge.connector import CompanyPage, CompanyRecord
from crmbridge.errors import ConfigError, ConfigProblem, TransientError
from crmbridge.records import storable_properties
from crmbridge.scoring import ScoringEngine
from crmbridge.scoring.model import BantModel, LifecycleModel
from crmbridge.scoring.properties import (
    company_path_problem,
    company_properties,
    company_property,
    read_properties,
    with_company,
)
from crmbridge.scoring.types import Contact
from crmbridge.sync.pipeline import model_properties

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
MODEL = """
[[scoring.fit]]
name = "Large company"
when = { "company.numberofemployees" = { gte = 500 }, jobtitle = { contains = "cio" } }
points = 40

[bant.budget]
property = "company.annualrevenue"
qualified = { gt = 1000000 }
"""


def problems_of(text: str) -> list[ConfigProblem]:
    with pytest.raises(ConfigError) as caught:
        parse_config(dedent(text), source="test.toml")
    return caught.value.problems


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("company.numberofemployees", "numberofemployees"),
        ("company.NumberOfEmployees", "NumberOfEmployees"),
        ("company.Tier__c", "Tier__c"),
        ("company.", None),
        ("company.a.b", None),
        ("company.1st", None),
        ("company.name with space", None),
        ("Company.industry", None),
        ("companyindustry", None),
        ("jobtitle", None),
        ("company." + "x" * 101, None),
    ],
)
def test_a_company_path_names_one_property(name: str, expected: str | None) -> None:
    assert company_property(name) == expected


def test_malformed_company_paths_are_config_errors_naming_the_rule() -> None:
    problems = problems_of(
        """
        [[scoring.fit]]
        name = "empty"
        when = { "company." = 1 }
        points = 1

        [[scoring.fit]]
        name = "deep"
        when = { "company.owner.name" = "Ana" }
        points = 1

        [lifecycle]
        customer_when = { "company.lifecycle stage" = "customer" }
        """
    )
    by_path = {p.path: p.message for p in problems}
    assert "names no company property" in by_path['scoring.fit[0].when."company."']
    assert "deeper than one level" in by_path['scoring.fit[1].when."company.owner.name"']
    assert "not a property name" in by_path['lifecycle.customer_when."company.lifecycle stage"']
    assert len(by_path) == 3


def test_the_model_lists_company_properties_apart_from_contact_ones() -> None:
    config = parse_config(MODEL, source="test").config

    company = company_properties(config.scoring, config.bant, config.lifecycle)
    contact = read_properties(config.scoring, config.bant, config.lifecycle)

    assert sorted(name for _, name in company) == ["annualrevenue", "numberofemployees"]
    assert ("bant.budget.property", "annualrevenue") in company
    assert all(not name.startswith("company.") for _, name in contact)
    # The contact read never asks the CRM for a "company." property of the contact.
    assert not [n for n in model_properties(config) if n.startswith("company.")]


class Companies:
    """A CRM's company side that knows a few properties (or cannot say)."""

    link_properties: tuple[str, ...] = ()

    def __init__(self, names: frozenset[str] | None, fail: bool = False) -> None:
        self.names = names
        self.fail = fail

    def property_names(self) -> frozenset[str] | None:
        if self.fail:
            raise TransientError("HubSpot answered 502")
        return self.names

    def links(self, contact_ids: Sequence[str]) -> dict[str, str | None]:
        return {}

    def read(self, company_ids: Sequence[str], properties: Sequence[str]) -> list[CompanyRecord]:
        return []

    def changes(self, cursor: str | None, properties: Sequence[str]) -> Iterator[CompanyPage]:
        return iter(())


def test_check_warns_about_company_properties_the_crm_lacks() -> None:
    config = parse_config(MODEL, source="test").config

    lines = company_property_warnings(
        config, Companies(frozenset({"numberofemployees", "annual_revenue"}))
    )
    none = company_property_warnings(config, None)
    unknown = company_property_warnings(config, Companies(None))
    failed = company_property_warnings(config, Companies(None, fail=True))

    assert lines == [
        'bant.budget.property: the CRM has no company property "annualrevenue": '
        'did you mean "company.annual_revenue"?'
    ]
    assert len(none) == 1 and "reads no companies" in none[0]
    assert unknown == []
    assert len(failed) == 1 and "502" in failed[0]


ENGINE = ScoringEngine(
    parse_config(MODEL, source="test").config.scoring, BantModel(), LifecycleModel()
)

absurd = st.one_of(
    st.text(max_size=50),
    st.integers(min_value=-(10**400), max_value=10**400),
    st.floats(allow_nan=True, allow_infinity=True),
    st.just("1" + "0" * 400),
    st.just("NaN"),
    st.text(min_size=1, max_size=3).map(lambda s: s * 50_000),
    st.none(),
    st.booleans(),
    st.lists(st.integers(), max_size=3),
)


@settings(deadline=None)
@given(size=absurd, industry=absurd, title=st.text(max_size=40))
def test_any_company_value_scores_without_raising(
    size: object, industry: object, title: str
) -> None:
    company = storable_properties({"numberofemployees": size, "industry": industry})
    contact = Contact("1", with_company({"jobtitle": title}, company), crm="hubspot")

    score = ENGINE.score(contact, [], NOW)

    assert math.isfinite(score.total)
    assert score.fit in (0, 40)


def test_the_company_rule_reads_the_company_not_the_contact() -> None:
    own = {"jobtitle": "CIO", "numberofemployees": "9000"}

    alone = ENGINE.score(Contact("1", own), [], NOW)
    small = ENGINE.score(Contact("1", with_company(own, {"numberofemployees": "12"})), [], NOW)
    large = ENGINE.score(Contact("1", with_company(own, {"numberofemployees": "1200"})), [], NOW)

    assert (alone.fit, small.fit, large.fit) == (0, 0, 40)


def test_a_malformed_path_is_described() -> None:
    assert company_path_problem("jobtitle") is None
    assert company_path_problem("company.industry") is None
    assert "names no company" in (company_path_problem("company.") or "")
