"""Compile :class:`~crmbridge.scoring.model.Condition` objects into fast predicates.

Compilation happens once per model; each predicate is a plain closure over
pre-normalised constants, so scoring a million contacts never re-parses a rule.
"""

from __future__ import annotations

import operator
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from crmbridge.i18n import N_
from crmbridge.scoring.model import Condition, Scalar
from crmbridge.scoring.text import (
    MAX_SCORED_CHARS,
    normalize_text,
    parse_number,
    plain_text,
    shown,
    to_text,
)

Check = Callable[[Any], bool]

_COMPARE: dict[str, Callable[[float, float], bool]] = {
    "gt": operator.gt,
    "gte": operator.ge,
    "lt": operator.lt,
    "lte": operator.le,
}


def _present(value: Any) -> bool:
    return value is not None and not (isinstance(value, str) and not value.strip())


def _equals(expected: Scalar) -> Check:
    if isinstance(expected, int | float) and not isinstance(expected, bool):
        number = float(expected)
        return lambda value: _present(value) and parse_number(value) == number
    text = to_text(expected)

    def check(value: Any) -> bool:
        if not _present(value):
            return False
        if isinstance(value, str) and ";" in value:
            # HubSpot multi-select values arrive as "A;B": equal to any selected option.
            options = value[:MAX_SCORED_CHARS].split(";")
            return any(to_text(part) == text for part in options)
        return to_text(value) == text

    return check


def _one_of(choices: list[Scalar]) -> Check:
    checks = [_equals(choice) for choice in choices]
    return lambda value: any(check(value) for check in checks)


def _needles(needles: list[str]) -> list[str]:
    """Normalised, distinct, non-empty needles, longest first (a blank needle matches nothing)."""
    return sorted({normalize_text(n) for n in needles if n.strip()}, key=len, reverse=True)


def _word_pattern(needles: list[str]) -> re.Pattern[str]:
    """One regex for all needles; an alphanumeric edge must sit on a word boundary.

    So "cio" finds "CIO" and "CIO / CTO" but not "Operaciones", while "/pricing"
    still finds ".../pricing?utm=x".
    """
    parts = []
    for needle in _needles(needles):
        left = r"(?<![0-9a-z])" if needle[0].isalnum() else ""
        right = r"(?![0-9a-z])" if needle[-1].isalnum() else ""
        parts.append(f"{left}{re.escape(needle)}{right}")
    return re.compile("|".join(parts) or r"(?!x)x")


def _contains_any(needles: list[str]) -> Check:
    """Substring test on the normalised value, as ``contains`` is in the CRMs admins know.

    ``str.__contains__`` is linear in the (bounded) value for each needle; no regex is
    involved, so this is also the cheapest text test there is.
    """
    wanted = tuple(_needles(needles))
    if len(wanted) == 1:
        (needle,) = wanted
        return lambda value: _present(value) and needle in to_text(value)

    def check(value: Any) -> bool:
        if not _present(value):
            return False
        text = to_text(value)
        # A plain loop: any() over a generator costs twice as much for a few needles.
        for needle in wanted:  # noqa: SIM110
            if needle in text:
                return True
        return False

    return check


def _contains_any_word(needles: list[str]) -> Check:
    search = _word_pattern(needles).search
    return lambda value: _present(value) and search(to_text(value)) is not None


def _compare(op: str, bound: float) -> Check:
    compare = _COMPARE[op]

    def check(value: Any) -> bool:
        number = parse_number(value)
        return number is not None and compare(number, bound)

    return check


def _regex(pattern: str) -> Check:
    compiled = re.compile(pattern, re.IGNORECASE)
    # The normalised value has no accents, so it is searched with an accent-free pattern
    # ("tecnología" must find "Tecnologia"); case is left to IGNORECASE, since case-folding
    # a pattern would turn \D into \d.
    decomposed = unicodedata.normalize("NFKD", pattern)
    try:
        folded = re.compile(
            "".join(ch for ch in decomposed if not unicodedata.combining(ch)), re.IGNORECASE
        )
    except re.error:  # a pattern that quantifies or brackets a bare accent
        folded = compiled

    def check(value: Any) -> bool:
        if not _present(value):
            return False
        raw = plain_text(value)[:MAX_SCORED_CHARS]
        return compiled.search(raw) is not None or folded.search(to_text(raw)) is not None

    return check


def _exists(expected: bool) -> Check:
    return lambda value: _present(value) is expected


def _build(op: str, argument: Any) -> Check:
    if op == "eq":
        return _equals(argument)
    if op == "in":
        return _one_of(argument)
    if op == "contains":
        return _contains_any([argument])
    if op == "contains_any":
        return _contains_any(argument)
    if op == "contains_word":
        return _contains_any_word([argument])
    if op == "contains_any_word":
        return _contains_any_word(argument)
    if op in _COMPARE:
        return _compare(op, float(argument))
    if op == "regex":
        return _regex(argument)
    if op == "exists":
        return _exists(bool(argument))
    raise ValueError(f"unknown operator {op!r}")  # unreachable: the model validates operators


@dataclass(frozen=True, slots=True)
class CompiledCondition:
    """A condition ready to run: every operator it names must hold."""

    checks: tuple[Check, ...]
    numeric: bool

    def __call__(self, value: Any) -> bool:
        return all(check(value) for check in self.checks)

    def unreadable(self, value: Any) -> bool:
        """True when a numeric test failed only because the value is not a number."""
        return self.numeric and _present(value) and parse_number(value) is None


def compile_condition(condition: Condition) -> CompiledCondition:
    """Turn one validated condition into a predicate."""
    ops = condition.operators()
    checks = tuple(_build(op, arg) for op, arg in ops.items())
    return CompiledCondition(checks=checks, numeric=any(op in _COMPARE for op in ops))


@dataclass(frozen=True, slots=True)
class CompiledWhen:
    """Several conditions keyed by property name; all must hold."""

    items: tuple[tuple[str, CompiledCondition], ...]

    @property
    def numeric(self) -> bool:
        """True when some condition compares numbers (only those can find a value unreadable)."""
        return any(cond.numeric for _, cond in self.items)

    def __call__(self, properties: Mapping[str, Any]) -> bool:
        get = properties.get
        return all(cond(get(name)) for name, cond in self.items)

    def unreadable(
        self, properties: Mapping[str, Any], translate: Callable[[str], str] = str
    ) -> list[str]:
        """Properties that could not be read as numbers, formatted for the reasons
        (``translate``: the catalog's ``gettext``)."""
        message = translate(N_("{name} {value} is not a number"))
        return [
            message.format(name=name, value=shown(properties.get(name)))
            for name, cond in self.items
            if cond.unreadable(properties.get(name))
        ]


def compile_when(conditions: Mapping[str, Condition]) -> CompiledWhen:
    """Compile a ``when``/``where`` table."""
    return CompiledWhen(tuple((name, compile_condition(c)) for name, c in conditions.items()))
