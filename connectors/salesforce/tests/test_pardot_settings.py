"""``[connectors.salesforce.pardot]`` is checked when the file loads: every problem at
once, each with its path."""

from __future__ import annotations

import pytest

from crmbridge.config import example_config_text, parse_config
from crmbridge.errors import ConfigError

TABLE = "connectors.salesforce.pardot"


def problems(lines: str) -> dict[str, str]:
    with pytest.raises(ConfigError) as refused:
        parse_config(example_config_text() + f"\n[{TABLE}]\n{lines}\n")
    return {p.path: p.message for p in refused.value.problems}


def test_enabled_without_a_business_unit_is_refused() -> None:
    found = problems("enabled = true")
    assert "business_unit_id is required" in found[TABLE]


def test_every_bad_key_is_named_with_its_path() -> None:
    found = problems(
        'business_unit_id = "0Uv12"\nbase_url = "http://pi.pardot.com/api"\n'
        "page_size = 5000\ndaily_limit = true\nlimit = 3"
    )
    assert set(found) >= {
        f"{TABLE}.business_unit_id",
        f"{TABLE}.base_url",
        f"{TABLE}.page_size",
        f"{TABLE}.daily_limit",
    }
    assert 'unknown key "limit"' in found[TABLE]


def test_a_demo_host_and_business_unit_load() -> None:
    text = example_config_text() + (
        f'\n[{TABLE}]\nenabled = true\nbusiness_unit_id = "0Uv5f000000AbCdEFG"\n'
        'base_url = "https://pi.demo.pardot.com/"\nlookback = "2m"\n'
    )
    pardot = parse_config(text).config.connectors.salesforce.pardot
    assert (pardot.base_url, pardot.lookback.total_seconds()) == ("https://pi.demo.pardot.com", 120)
