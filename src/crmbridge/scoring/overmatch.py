"""Warnings about ``contains`` needles so short they likely match inside other words.

``contains`` finds text anywhere in a value, so ``{ contains = "cio" }`` also scores
"Jefe de Operaciones" and ``"cto"`` scores "Director". The rule: a ``contains`` /
``contains_any`` needle that, once normalised, is purely alphabetic and shorter than
:data:`SHORT_NEEDLE_CHARS` characters gets a warning that suggests the whole-word
operator. Needles with a digit, a space or punctuation (``"/pricing"``, ``"b2b"``,
``"it "``) are left alone: they were evidently written as fragments on purpose.

The check walks any validated configuration, so conditions in ``[scoring]``, ``[bant]``,
``[lifecycle]`` and the hand-off triggers are all covered.
"""

from __future__ import annotations

from collections.abc import Iterator

from pydantic import BaseModel

from crmbridge.scoring.model import SUBSTRING_OPERATORS, Condition
from crmbridge.scoring.text import normalize_text

#: Alphabetic needles shorter than this are likely to over-match as substrings.
SHORT_NEEDLE_CHARS = 5

_WORD_OPERATOR = {"contains": "contains_word", "contains_any": "contains_any_word"}

Path = tuple[str | int, ...]


def is_short_needle(needle: str) -> bool:
    """True for a needle that the over-match warning names (see the module docstring)."""
    text = normalize_text(needle)
    return 0 < len(text) < SHORT_NEEDLE_CHARS and text.isalpha()


def overmatch_warnings(config: BaseModel) -> list[tuple[Path, str]]:
    """One warning per operator with short substring needles in ``config``, with its path."""
    warnings: list[tuple[Path, str]] = []
    for path, condition in _conditions(config, ()):
        for op in SUBSTRING_OPERATORS:
            argument = getattr(condition, op)
            needles = [argument] if isinstance(argument, str) else (argument or [])
            short = [n for n in needles if is_short_needle(n)]
            if short:
                shown = ", ".join(f'"{n}"' for n in short)
                warnings.append(
                    (
                        (*path, op),
                        f"{shown}: {op} finds short text inside longer words too "
                        '("cio" in "Operaciones"); '
                        f"use {_WORD_OPERATOR[op]} to match whole words only",
                    )
                )
    return warnings


def _conditions(node: object, path: Path) -> Iterator[tuple[Path, Condition]]:
    if isinstance(node, Condition):
        yield path, node
    elif isinstance(node, BaseModel):
        for name, field in type(node).model_fields.items():
            yield from _conditions(getattr(node, name), (*path, field.alias or name))
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from _conditions(value, (*path, str(key)))
    elif isinstance(node, list | tuple):
        for i, value in enumerate(node):
            yield from _conditions(value, (*path, i))
