"""Model B: the configured model with a few changes, to backtest side by side.

A model-B file is TOML with any of::

    hot_threshold = 90          # the hot threshold B is measured at
    mql_threshold = 50

    [points]                    # rule name → points (a fit or engagement rule)
    "Pricing page visit" = 25

Only what is named changes; every other rule, cap and window is the configured one.
A rule name the model lacks is refused with a did-you-mean, as is any other key.
"""

from __future__ import annotations

import math
import tomllib
from typing import Any

from pydantic import ValidationError

from crmbridge.errors import ConfigError, ConfigProblem
from crmbridge.scoring.model import ScoringModel, did_you_mean

_KEYS = ("hot_threshold", "mql_threshold", "points")
#: Largest points or threshold accepted, as in the model itself.
_LIMIT = 10_000


def read_overrides(text: str, source: str) -> dict[str, Any]:
    """The overrides of a model-B file, checked for shape (not yet against a model)."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([ConfigProblem("", f"not valid TOML: {exc}")], source=source) from None
    problems = []
    for key, value in document.items():
        if key not in _KEYS:
            problems.append(ConfigProblem(key, "unknown key", did_you_mean(key, _KEYS)))
        elif key == "points":
            if not isinstance(value, dict):
                problems.append(ConfigProblem(key, "expected a table of rule name = points"))
                continue
            for name, points in value.items():
                if not _is_points(points):
                    problems.append(
                        ConfigProblem(f'points."{name}"', f"expected a number, got {points!r}")
                    )
        elif not _is_points(value):
            problems.append(ConfigProblem(key, f"expected a number, got {value!r}"))
    if problems:
        raise ConfigError(problems, source=source)
    return document


def _is_points(value: object) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and abs(value) <= _LIMIT
    )


def model_b(model: ScoringModel, overrides: dict[str, Any], source: str) -> ScoringModel:
    """``model`` with the overrides applied; unknown rule names are refused."""
    fit = [rule.name for rule in model.fit]
    engagement = [rule.name for rule in model.engagement]
    points: dict[str, Any] = overrides.get("points", {})
    problems = [
        ConfigProblem(
            f'points."{name}"',
            "no rule of the model has this name",
            did_you_mean(name, fit + engagement),
        )
        for name in points
        if name not in fit and name not in engagement
    ]
    if problems:
        raise ConfigError(problems, source=source)
    changed = model.model_copy(
        update={
            "fit": [
                rule.model_copy(update={"points": points.get(rule.name, rule.points)})
                for rule in model.fit
            ],
            "engagement": [
                rule.model_copy(update={"points": points.get(rule.name, rule.points)})
                for rule in model.engagement
            ],
            **{
                key: overrides[key]
                for key in ("hot_threshold", "mql_threshold")
                if key in overrides
            },
        }
    )
    try:
        return ScoringModel.model_validate(changed.model_dump(by_alias=True))
    except ValidationError as exc:
        refused = [
            ConfigProblem(".".join(str(part) for part in error["loc"]), error["msg"])
            for error in exc.errors()
        ]
        raise ConfigError(refused, source=source) from None


def describe(overrides: dict[str, Any]) -> list[tuple[str, float]]:
    """The changes as (what, value) pairs, for the report's heading."""
    named: list[tuple[str, float]] = [
        (key, overrides[key]) for key in ("hot_threshold", "mql_threshold") if key in overrides
    ]
    named.extend(overrides.get("points", {}).items())
    return named
