"""``[account_score]``: its defaults, its bounds (path-labelled problems), the roll-up."""

from __future__ import annotations

import pytest

from crmbridge.config import parse_config
from crmbridge.errors import ConfigError
from crmbridge.settings import AccountScoreSettings
from crmbridge.sync.account_score import account_property, roll_up


def problem_paths(text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, source="test.toml")
    return [p.path for p in caught.value.problems]


def test_off_by_default_and_named_after_the_prefix() -> None:
    config = parse_config('[writeback]\nprefix = "acme"\n', source="test.toml").config
    assert config.account_score.enabled is False
    assert account_property(config.account_score, "acme") == "acme_account_score"
    named = AccountScoreSettings(property="abm_score")
    assert account_property(named, "acme") == "abm_score"


@pytest.mark.parametrize(
    ("line", "path"),
    [
        ('method = "average"', "account_score.method"),
        ("top_n = 0", "account_score.top_n"),
        ("top_n = 101", "account_score.top_n"),
        ('property = "Account Score"', "account_score.property"),
        ("enable = true", "account_score"),  # an unknown key: named in the message
    ],
)
def test_a_bad_value_is_reported_at_its_path(line: str, path: str) -> None:
    assert problem_paths(f"[account_score]\n{line}\n") == [path]


@pytest.mark.parametrize(
    ("method", "top_n", "totals", "expected"),
    [
        ("max", 3, [10, 50, 30], 50),
        ("sum_top_n", 3, [10, 50, 30, 10], 90),
        ("sum_top_n", 3, [30], 30),
        ("sum_top_n", 1, [10, 50], 50),
        ("max", 3, [-5, -20], -5),
        ("max", 3, [], 0),
    ],
)
def test_the_roll_up(method: str, top_n: int, totals: list[int], expected: int) -> None:
    settings = AccountScoreSettings(method=method, top_n=top_n)  # type: ignore[arg-type]
    assert roll_up(totals, settings) == expected
