"""``crmbridge check`` against the HubSpot sandbox warns about rules on contact
properties the portal does not have, naming the rule's path and the likely spelling."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from connectors.hubspot.tests.connector.hubspot_harness import TOKEN, sandbox
from crmbridge_hubspot.sandbox.server import SandboxServer

from .helpers import cli

MODEL = """
[[scoring.fit]]
name = "Decision maker"
when = {{ {title} = {{ contains_any_word = ["cio", "cto"] }} }}
points = 20

[bant.budget]
property = "{budget}"
qualified = {{ exists = true }}

[[triggers]]
name = "Big company"
when = {{ properties = {{ numemployees = {{ gte = 500 }} }} }}
then = {{ set_property = {{ crmbridge_big = "yes" }} }}
"""


@pytest.fixture
def crm() -> Iterator[SandboxServer]:
    with sandbox() as server:
        yield server


def _check(tmp_path: Path, store_url: str, crm: SandboxServer, model: str) -> tuple[int, str]:
    config = tmp_path / "crmbridge.toml"
    config.write_text(
        f'[connectors.hubspot]\nenabled = true\naccess_token = "{TOKEN}"\n'
        f'base_url = "{crm.url}"\n{model}',
        "utf-8",
    )
    result = cli(store_url, "--config", str(config), "check")
    return result.exit_code, " ".join(result.output.split())


def test_check_names_a_rule_on_a_misspelt_property_and_its_likely_spelling(
    tmp_path: Path, store_url: str, crm: SandboxServer
) -> None:
    model = MODEL.format(title="jobtitel", budget="industy")

    code, output = _check(tmp_path, store_url, crm, model)

    assert code == 0, output
    assert (
        'scoring.fit[0].when.jobtitel: the CRM has no contact property "jobtitel": '
        'did you mean "jobtitle"?' in output
    )
    assert (
        'bant.budget.property: the CRM has no contact property "industy": '
        'did you mean "industry"?' in output
    )
    assert "numemployees" not in output and "crmbridge_big" not in output


def test_check_says_nothing_about_a_model_on_existing_properties(
    tmp_path: Path, store_url: str, crm: SandboxServer
) -> None:
    code, output = _check(
        tmp_path, store_url, crm, MODEL.format(title="jobtitle", budget="industry")
    )

    assert code == 0, output
    assert "has no contact property" not in output


def test_check_names_a_rule_on_a_company_property_the_portal_lacks(
    tmp_path: Path, store_url: str, crm: SandboxServer
) -> None:
    model = """
[[scoring.fit]]
name = "Large company"
when = { "company.numberofemploys" = { gte = 500 }, "company.industry" = "Software" }
points = 20
"""

    code, output = _check(tmp_path, store_url, crm, model)

    assert code == 0, output
    assert (
        "scoring.fit[0].when.company.numberofemploys: the CRM has no company property "
        '"numberofemploys": did you mean "company.numberofemployees"?' in output
    )
    assert "industry" not in output
