"""What crmbridge writes back into the CRM, and the diff against what the CRM holds."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime

from crmbridge.clock import parse_instant
from crmbridge.connector import FieldSpec
from crmbridge.i18n import ENGLISH, N_, Texts
from crmbridge.scoring.model import STAGES
from crmbridge.scoring.types import Score
from crmbridge.store.identity import same_store

#: The property naming the store that wrote a contact's crmbridge values (see
#: :mod:`crmbridge.store.identity`); written in the same batch as the values.
STORE_SUFFIX = "store"
#: (suffix, label, type, options) of every property crmbridge owns; the labels are
#: catalog messages (see :func:`own_fields`).
_FIELDS: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("score", N_("Lead score"), "number", ()),
    ("fit_score", N_("Fit score"), "number", ()),
    ("engagement_score", N_("Engagement score"), "number", ()),
    ("grade", N_("Lead grade"), "enumeration", ("A", "B", "C", "D")),
    ("bant", N_("BANT"), "string", ()),
    ("stage", N_("Lead stage"), "enumeration", STAGES),
    ("hot", N_("Hot lead"), "bool", ()),
    ("reasons", N_("Score reasons"), "string", ()),
    ("scored_at", N_("Scored at"), "datetime", ()),
    ("sequence_paused", N_("Sequence paused (replied)"), "bool", ()),
    ("next_question", N_("Next question to ask"), "string", ()),
    ("bant_question", N_("Next BANT question for sales"), "string", ()),
    ("objection", N_("Objection type"), "enumeration", ("price", "trust", "authority", "none")),
    ("objection_confidence", N_("Objection confidence"), "number", ()),
    ("enrichment_source", N_("Enrichment source"), "string", ()),
    (STORE_SUFFIX, N_("crmbridge store (which store wrote these values)"), "string", ()),
)
#: Fields crmbridge creates for sales to fill in: inputs, so they are never echo-suppressed.
_INPUT_FIELDS: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    (
        "sales_feedback",
        N_("Sales feedback"),
        "enumeration",
        (
            "contacted",
            "meeting_booked",
            "qualified",
            "not_qualified",
            "bad_timing",
            "no_budget",
        ),
    ),
    ("feedback_reason", N_("Sales feedback reason"), "string", ()),
    ("sales_notes", N_("Sales notes"), "string", ()),
)
_SCORE_SUFFIXES = (
    "score",
    "fit_score",
    "engagement_score",
    "grade",
    "bant",
    "stage",
    "hot",
    "reasons",
    "scored_at",
)
#: Written only together with another change: it alone never justifies a CRM call.
_PASSENGERS = ("scored_at",)


def own_fields(prefix: str, t: Texts = ENGLISH) -> list[FieldSpec]:
    """The custom properties crmbridge needs in the CRM, labelled and described in the
    language of ``t`` (``[bridge] language``)."""
    written = [(field, N_("Written by crmbridge: {label}.")) for field in _FIELDS]
    read = [
        (field, N_("Filled in by sales; crmbridge reads it: {label}.")) for field in _INPUT_FIELDS
    ]
    return [
        FieldSpec(
            f"{prefix}_{suffix}",
            t(label),
            kind,  # type: ignore[arg-type]
            options,
            t(description, label=t(label)),
        )
        for (suffix, label, kind, options), description in (*written, *read)
    ]


def own_property_names(prefix: str) -> list[str]:
    """Names of the properties crmbridge owns (they never trigger a rescore)."""
    return [f"{prefix}_{suffix}" for suffix, *_ in _FIELDS]


def score_property_names(prefix: str) -> list[str]:
    """The properties every scoring writes (the hand-off's own are written when needed)."""
    return [f"{prefix}_{suffix}" for suffix in _SCORE_SUFFIXES]


def score_property(prefix: str) -> str:
    """The property holding the lead score (its owner is the lead's home CRM)."""
    return f"{prefix}_score"


def store_property(prefix: str) -> str:
    """The property that carries the writing store's mark."""
    return f"{prefix}_{STORE_SUFFIX}"


def desired_values(score: Score, prefix: str) -> dict[str, str]:
    """The canonical string form of every property for this score."""
    values = {
        "score": str(score.total),
        "fit_score": str(score.fit),
        "engagement_score": str(score.engagement + score.inactivity),
        "grade": score.grade,
        "bant": score.bant.letters,
        "stage": score.stage.stage,
        "hot": "true" if score.hot else "false",
        "reasons": score.reasons_text[:1000],
        "scored_at": score.scored_at.isoformat().replace("+00:00", "Z"),
    }
    return {f"{prefix}_{key}": value for key, value in values.items()}


def same_value(desired: str, held: object) -> bool:
    """Does the CRM already hold ``desired``? Numbers compare numerically ("105" == "105.0")."""
    if held is None or held == "":
        # An empty value clears a property in the CRM: it then reads back as absent.
        return desired == ""
    text = str(held)
    if text == desired:
        return True
    try:
        return float(text) == float(desired)
    except ValueError:
        pass
    held_at, desired_at = _instant(text), _instant(desired)
    if held_at is not None and desired_at is not None:
        # The CRM keeps datetimes to the millisecond ("…:25.985Z" for "…:25.985123Z").
        return _to_ms(held_at) == _to_ms(desired_at)
    return text.strip().lower() == desired.strip().lower()


_ISO_INSTANT = re.compile(r"^\s*\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


def _instant(text: str) -> datetime | None:
    """An ISO-8601 date and time (naive ones taken as UTC), else None."""
    if not _ISO_INSTANT.match(text):
        return None
    try:
        return parse_instant(text)
    except ValueError:
        return None


def _to_ms(moment: datetime) -> datetime:
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def diff(desired: Mapping[str, str], held: Mapping[str, object], prefix: str) -> dict[str, str]:
    """Properties to write: those the CRM does not hold, plus passengers if any change.

    The store mark rides along with every change (so the CRM always names the store
    that wrote its values) and is written alone only when the CRM names no store or
    another one; a newer generation of the same store is not a change.
    """
    passengers = {f"{prefix}_{p}" for p in _PASSENGERS}
    mark = store_property(prefix)
    changes = {
        name: value
        for name, value in desired.items()
        if name not in passengers and name != mark and not same_value(value, held.get(name))
    }
    if mark in desired and (changes or not same_store(desired[mark], held.get(mark))):
        changes[mark] = desired[mark]
    if changes:
        changes.update({p: desired[p] for p in passengers if p in desired})
    return changes
