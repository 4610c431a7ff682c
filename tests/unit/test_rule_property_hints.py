"""``crmbridge check``'s hints for rules on properties the CRM lacks: a likely spelling
when one is close, and no far-off guess when none is."""

from __future__ import annotations

from pathlib import Path

from crmbridge.cli.rule_properties import missing_property_warnings
from crmbridge.config import load_config

# A typical CRM's names, crmbridge's own among them, none of them close to "budget".
CRM = frozenset(
    {
        "email",
        "lifecyclestage",
        "jobtitle",
        "industry",
        "numemployees",
        "crmbridge_hot",
        "crmbridge_score",
    }
)


def _warnings(tmp_path: Path, fit_property: str) -> list[str]:
    config = tmp_path / "crmbridge.toml"
    config.write_text(
        "[[scoring.fit]]\n"
        'name = "Rule"\n'
        f"when = {{ {fit_property} = {{ exists = true }} }}\n"
        "points = 5\n",
        "utf-8",
    )
    return missing_property_warnings(load_config(config).config, CRM)


def test_a_misspelling_gets_its_likely_spelling(tmp_path: Path) -> None:
    assert _warnings(tmp_path, "jobtitel") == [
        'scoring.fit[0].when.jobtitel: the CRM has no contact property "jobtitel": '
        'did you mean "jobtitle"?'
    ]


def test_a_property_close_to_nothing_gets_no_far_off_guess(tmp_path: Path) -> None:
    # difflib's default cutoff would offer "crmbridge_hot" here (ratio 0.53).
    assert _warnings(tmp_path, "budget") == [
        'scoring.fit[0].when.budget: the CRM has no contact property "budget"'
    ]
