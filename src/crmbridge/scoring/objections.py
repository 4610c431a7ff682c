"""Classify a price objection as real price, trust or authority, with the cues behind it.

"Too expensive" means different things. A buyer who asks about ROI, wants a detailed
comparison with a competitor or names a decision date is negotiating (**price**). One
who avoids talking about results, names no alternative and postpones without a date is
not convinced (**trust**). One who must ask a boss does not hold the budget
(**authority**; BANT's missing authority letter adds to it).

Rules are cue phrases per class, matched on whole words after the same normalisation as
every other text rule (case and accents never matter; ``#`` in a cue matches a number).
Each matched cue adds its class's points once, however often it occurs. The class with
the most points wins; ties go to the earlier class of :data:`CLASSES`. The confidence is
the winner's share of all points, 0-100. Pure: same texts and flags, same answer.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from crmbridge.scoring.text import normalize_text

#: The classes, in tie-break order.
CLASSES: tuple[str, ...] = ("price", "trust", "authority")
NONE = "none"
#: How the missing BANT authority letter is named among the cues.
BANT_CUE = "BANT: no budget authority"

_NOT_WORD = re.compile(r"[^\w#]+")
_NUMBER = r"\d+(?:[.,]\d+)?"


def _words(text: str) -> str:
    """Normalised text as space-separated words (punctuation and apostrophes dropped)."""
    return _NOT_WORD.sub(" ", normalize_text(text).replace("#", " ")).strip()


@lru_cache(maxsize=4096)
def cue_pattern(phrase: str) -> re.Pattern[str] | None:
    """The whole-word pattern of a cue phrase, or None when it holds no word at all."""
    tokens = _NOT_WORD.sub(" ", normalize_text(phrase)).split()
    parts = [_NUMBER if token == "#" else re.escape(token) for token in tokens if token]
    if not any(token != "#" for token in tokens):
        return None
    return re.compile(r"(?<!\w)" + " ".join(parts) + r"(?!\w)")


@dataclass(frozen=True, slots=True)
class Cue:
    """One cue phrase of one class, worth ``points``."""

    phrase: str
    kind: str
    points: float
    pattern: re.Pattern[str]


@dataclass(frozen=True, slots=True)
class Objection:
    """The verdict: a class (or ``none``), its confidence and the cues that decided it."""

    kind: str
    confidence: int
    cues: tuple[str, ...] = ()
    points: Mapping[str, float] = field(default_factory=dict)

    def as_state(self) -> dict[str, Any]:
        """What the hand-off keeps in the lead's state (and the report counts)."""
        return {"class": self.kind, "confidence": self.confidence, "cues": list(self.cues)}

    def describe(self) -> str:
        """Plain words for ``plan`` / ``explain``: ``price 75% (roi, in # days)``."""
        if not self.cues:
            return f"{self.kind}: no cue found"
        return f"{self.kind} {self.confidence}% ({', '.join(self.cues)})"


class ObjectionClassifier:
    """Cue phrases per class → a deterministic, explainable verdict."""

    def __init__(
        self,
        cues: Mapping[str, Sequence[tuple[str, float]]],
        *,
        bant_points: float = 0.5,
        min_confidence: int = 0,
    ) -> None:
        """``cues``: class → (phrase, points). Phrases without any word are ignored."""
        self.cues: tuple[Cue, ...] = tuple(
            Cue(phrase, kind, points, pattern)
            for kind in CLASSES
            for phrase, points in cues.get(kind, ())
            if (pattern := cue_pattern(phrase)) is not None
        )
        self.bant_points = bant_points
        self.min_confidence = min_confidence

    def classify(self, texts: Iterable[str], *, lacks_authority: bool = False) -> Objection:
        """Classify what sales wrote about a lead (feedback reasons, notes).

        ``lacks_authority``: BANT's authority letter does not qualify. It counts for
        the authority class only when the texts carry an objection cue at all.
        """
        prepared = [_words(text) for text in texts if text and text.strip()]
        matched = [cue for cue in self.cues if any(cue.pattern.search(t) for t in prepared)]
        points = dict.fromkeys(CLASSES, 0.0)
        for cue in matched:
            points[cue.kind] += cue.points
        names = [cue.phrase for cue in matched]
        if matched and lacks_authority and self.bant_points > 0:
            points["authority"] += self.bant_points
            names.append(BANT_CUE)
        total = sum(points.values())
        if total <= 0:
            return Objection(NONE, 0, tuple(names), points)
        # max() keeps the first of equal maxima: CLASSES order is the tie-break.
        winner = max(CLASSES, key=lambda kind: points[kind])
        confidence = int(points[winner] * 100 / total + 0.5)
        if confidence < self.min_confidence:
            return Objection(NONE, 0, tuple(names), points)
        return Objection(winner, confidence, tuple(names), points)
