"""Model B: the documented file applies to the example model; mistakes are refused."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from crmbridge.backtest.compare import describe, model_b, read_overrides
from crmbridge.config import load_config
from crmbridge.errors import ConfigError

DOC = Path(__file__).resolve().parents[3] / "docs" / "backtest.md"
MODEL = load_config(None).config.scoring


def test_the_documented_model_b_changes_only_what_it_names() -> None:
    (block,) = re.findall(r"```toml\n(.*?)```", DOC.read_text("utf-8"), re.S)
    overrides = read_overrides(block, "what-if.toml")
    changed = model_b(MODEL, overrides, "what-if.toml")
    points = {rule.name: rule.points for rule in changed.engagement}
    assert points["Pricing page visit"] == 25
    assert changed.hot_threshold == 110 and changed.mql_threshold == 50
    before = {rule.name: rule.points for rule in MODEL.engagement}
    assert {k: v for k, v in points.items() if k != "Pricing page visit"} == {
        k: v for k, v in before.items() if k != "Pricing page visit"
    }
    assert MODEL.hot_threshold == 100  # the configured model is untouched
    assert ("Pricing page visit", 25) in describe(overrides)


def test_an_unknown_rule_is_refused_with_the_nearest_name() -> None:
    overrides = read_overrides('[points]\n"Pricing page visits" = 25\n', "b.toml")
    with pytest.raises(ConfigError, match='did you mean "Pricing page visit"'):
        model_b(MODEL, overrides, "b.toml")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("hot_treshold = 90", 'hot_treshold: unknown key \\(did you mean "hot_threshold"'),
        ('hot_threshold = "high"', "hot_threshold: expected a number"),
        ("points = 3", "points: expected a table"),
        ('[points]\n"Pricing page visit" = nan', "expected a number"),
        ("[points", "not valid TOML"),
    ],
)
def test_a_malformed_file_is_refused_with_the_path(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        read_overrides(text, "b.toml")
