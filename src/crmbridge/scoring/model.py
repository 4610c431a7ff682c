"""The scoring model an admin writes in TOML: rule types and their validation.

These pydantic models are the admin-facing contract (docs/scoring.md describes it). They
only describe and validate; :mod:`crmbridge.scoring.engine` compiles them into fast
predicates once and scores with them.
"""

from __future__ import annotations

import difflib
import math
import re
from typing import Annotated, Any, Literal

from pydantic import (
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from crmbridge.config_upgrades import renamed_operator
from crmbridge.errors import ConfigProblem
from crmbridge.strict import Strict

OPERATORS = (
    "eq",
    "in",
    "contains",
    "contains_any",
    "contains_word",
    "contains_any_word",
    "gt",
    "gte",
    "lt",
    "lte",
    "exists",
    "regex",
)
#: Operators that test for a piece of text anywhere in the value (substring match).
SUBSTRING_OPERATORS = ("contains", "contains_any")
#: The event types crmbridge knows (docs/events.md lists what each means). The last
#: three come from Account Engagement (Pardot): a visit (a session of page views), a
#: click on a tracked redirect link, a webinar registration.
CANONICAL_EVENT_TYPES = (
    "page_view",
    "form_submit",
    "content_download",
    "webinar_attended",
    "email_open",
    "email_click",
    "email_reply",
    "meeting_booked",
    "sales_feedback",
    "site_visit",
    "link_click",
    "webinar_registered",
)
LADDER = ("subscriber", "lead", "mql", "sql", "opportunity", "customer")
SIDE_STATES = ("nurture", "reactivation", "archived")
STAGES = LADDER + SIDE_STATES
COMMITTEE_ROLES = ("economic_buyer", "technical", "user", "influencer")

Scalar = str | int | float | bool

#: The largest number of points, threshold or cap a model may hold, either sign. Far
#: above any real model (scores live in the tens and hundreds) and far below where sums
#: of floats lose whole points; it also keeps ``inf`` and ``1e308`` out of the engine.
MAX_POINTS = 1_000_000
#: The longest period, in days, a rule may look back or wait: ten years.
MAX_DAYS = 3650

#: Points, thresholds and caps: finite and within ±MAX_POINTS.
Points = Annotated[float, Field(allow_inf_nan=False, ge=-MAX_POINTS, le=MAX_POINTS)]
#: A number of days: finite, more than zero and at most MAX_DAYS.
Days = Annotated[float, Field(allow_inf_nan=False, gt=0, le=MAX_DAYS)]
#: A whole number of days: at least one and at most MAX_DAYS.
WholeDays = Annotated[int, Field(ge=1, le=MAX_DAYS)]
#: A value a condition compares with: any finite number (NaN never compares true).
Finite = Annotated[float, Field(allow_inf_nan=False)]

# Words admins reach for instead of an operator; difflib alone maps "greater" to "gte".
_OPERATOR_SYNONYMS = {
    "greater": "gt",
    "greater_than": "gt",
    "more_than": "gt",
    "above": "gt",
    ">": "gt",
    ">=": "gte",
    "less": "lt",
    "less_than": "lt",
    "below": "lt",
    "<": "lt",
    "<=": "lte",
    "equals": "eq",
    "equal": "eq",
    "is": "eq",
    "=": "eq",
    "==": "eq",
    "one_of": "in",
    "any_of": "in",
    "match": "regex",
    "matches": "regex",
    "like": "contains",
    "includes": "contains",
    "has": "contains",
    "substring": "contains",
    "word": "contains_word",
    "has_word": "contains_word",
    "whole_word": "contains_word",
    "contains_words": "contains_any_word",
    "contains_whole_word": "contains_word",
    "contains_any_words": "contains_any_word",
    "any_word": "contains_any_word",
}


def suggest(word: str, choices: tuple[str, ...] | list[str], *, cutoff: float = 0.5) -> str | None:
    """The closest valid spelling of ``word``, for "did you mean" hints.

    ``cutoff`` is difflib's similarity ratio (0–1) below which nothing is suggested;
    long open-ended lists (a CRM's property names) need a stricter one than a short
    closed list of keywords.
    """
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=cutoff)
    return close[0] if close else None


def did_you_mean(word: str, choices: tuple[str, ...] | list[str]) -> str:
    """A hint naming the closest choice, or listing them all when none is close."""
    best = suggest(word, choices)
    if best:
        return f'did you mean "{best}"?'
    return "expected one of: " + ", ".join(choices)


def _operator_hint(word: str) -> str:
    renamed = renamed_operator(word)
    if renamed:
        return renamed
    synonym = _OPERATOR_SYNONYMS.get(word.lower())
    if synonym:
        return f'did you mean "{synonym}"?'
    return did_you_mean(word.lower(), OPERATORS)


class Condition(Strict):
    """A test on one value. A bare scalar means ``eq``; a bare list means ``in``."""

    eq: Scalar | None = None
    in_: list[Scalar] | None = Field(default=None, alias="in")
    contains: str | None = None
    contains_any: list[str] | None = None
    contains_word: str | None = None
    contains_any_word: list[str] | None = None
    gt: Finite | None = None
    gte: Finite | None = None
    lt: Finite | None = None
    lte: Finite | None = None
    exists: bool | None = None
    regex: str | None = None

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        populate_by_name=True,
        json_schema_extra={"description": "A bare value means eq; a bare list means in."},
    )

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        if isinstance(data, list):
            return {"in": data}
        if not isinstance(data, dict):
            return {"eq": data}
        unknown = [key for key in data if key not in OPERATORS and key != "in_"]
        if unknown:
            key = unknown[0]
            raise PydanticCustomError(
                "unknown_operator",
                'unknown operator "{operator}"',
                {"operator": key, "hint": _operator_hint(key)},
            )
        if not data:
            raise PydanticCustomError(
                "empty_condition",
                "empty condition",
                {"hint": "name at least one operator, e.g. { gt = 500 }"},
            )
        return data

    @field_validator("eq", "in_")
    @classmethod
    def _finite(cls, value: Scalar | list[Scalar] | None) -> Scalar | list[Scalar] | None:
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, float) and not math.isfinite(item):
                raise PydanticCustomError(
                    "not_finite", "should be a finite number (got {value})", {"value": item}
                )
        return value

    @field_validator("regex")
    @classmethod
    def _valid_regex(cls, pattern: str | None) -> str | None:
        if pattern is not None:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise PydanticCustomError(
                    "bad_regex", "invalid regular expression: {error}", {"error": str(exc)}
                ) from None
        return pattern

    def operators(self) -> dict[str, Any]:
        """The operators that are set, by their TOML names."""
        return {k: v for k, v in self.model_dump(by_alias=True).items() if v is not None}


Conditions = dict[str, Condition]


class FitRule(Strict):
    """Profile points: ``points`` when every condition in ``when`` holds."""

    name: str = Field(min_length=1, description="Shown to reps in the score reasons.")
    when: Conditions = Field(min_length=1, description="Contact property -> condition; all hold.")
    points: Points


class EngagementRule(Strict):
    """Behaviour points: ``points`` per matching event, optionally capped and decayed."""

    name: str = Field(min_length=1)
    event: str | list[str] = Field(description="Event type(s) this rule counts.")
    where: Conditions = Field(default_factory=dict, description="Event property -> condition.")
    points: Points
    max_points: Points | None = Field(default=None, gt=0, description="Cap for this rule.")
    group: str | None = Field(default=None, description="Name of a [scoring.groups] cap.")
    window_days: Days | None = Field(default=None, description="Only events this recent.")
    half_life_days: Days | None = Field(
        default=None, description="Points halve every this many days."
    )

    @property
    def event_types(self) -> tuple[str, ...]:
        """The event types as a tuple, whether one or several were written."""
        return (self.event,) if isinstance(self.event, str) else tuple(self.event)


class GroupCap(Strict):
    """A cap shared by every engagement rule that names this group."""

    max_points: Points = Field(gt=0)


class Inactivity(Strict):
    """Negative points for each full ``after_days`` period without engagement."""

    after_days: WholeDays
    points: Points = Field(lt=0)
    floor: Points = Field(default=0, description="Inactivity never pulls the total below this.")


class Grades(Strict):
    """Minimum fit points for each grade; anything lower is D."""

    A: Points = 50
    B: Points = 30
    C: Points = 15

    @model_validator(mode="after")
    def _ordered(self) -> Grades:
        if not self.A > self.B > self.C:
            raise PydanticCustomError(
                "grades_order",
                "grade thresholds must fall from A to C, but A = {A}, B = {B}, C = {C}",
                {
                    "A": f"{self.A:g}",
                    "B": f"{self.B:g}",
                    "C": f"{self.C:g}",
                    "hint": "each grade needs more fit points than the next: A > B > C",
                },
            )
        return self


class ScoringModel(Strict):
    """The ``[scoring]`` table: thresholds and every fit and engagement rule."""

    mql_threshold: Points = 60
    hot_threshold: Points = 100
    grades: Grades = Field(default_factory=Grades)
    groups: dict[str, GroupCap] = Field(default_factory=dict)
    custom_events: list[str] = Field(
        default_factory=list, description="Event types beyond the canonical ones that rules use."
    )
    fit: list[FitRule] = Field(default_factory=list)
    engagement: list[EngagementRule] = Field(default_factory=list)
    inactivity: Inactivity | None = None
    reasons_shown: int = Field(default=5, ge=1, le=20)


class BantCriterion(Strict):
    """One BANT letter: which property holds it and which values qualify."""

    property: str
    qualified: Condition


class Committee(Strict):
    """Buying-committee role, read from a property and kept as data."""

    property: str = "hs_buying_role"
    roles: dict[Literal["economic_buyer", "technical", "user", "influencer"], list[str]] = Field(
        default_factory=dict
    )


class BantModel(Strict):
    """The ``[bant]`` table: all four letters → SQL, three → MQL that needs nurture."""

    budget: BantCriterion | None = None
    authority: BantCriterion | None = None
    need: BantCriterion | None = None
    timeline: BantCriterion | None = None
    committee: Committee | None = None


class LifecycleModel(Strict):
    """The ``[lifecycle]`` table: CRM signals and timings of the stage machine."""

    opportunity_when: Conditions = Field(
        default_factory=lambda: {"lifecyclestage": Condition(eq="opportunity")}
    )
    customer_when: Conditions = Field(
        default_factory=lambda: {"lifecyclestage": Condition(eq="customer")}
    )
    feedback_property: str = Field(
        default="status", description="sales_feedback event property that holds the verdict."
    )
    nurture_feedback: list[str] = Field(
        default_factory=lambda: ["not_qualified", "bad_timing", "no_budget"]
    )
    reactivation_after_days: WholeDays = 90
    archive_after_days: WholeDays = 30


def model_problems(scoring: ScoringModel) -> list[ConfigProblem]:
    """Checks that span several keys: references, duplicates, thresholds."""
    problems: list[ConfigProblem] = []
    known_events = (*CANONICAL_EVENT_TYPES, *scoring.custom_events)
    named: tuple[tuple[str, list[str]], ...] = (
        ("fit", [r.name for r in scoring.fit]),
        ("engagement", [r.name for r in scoring.engagement]),
    )
    for kind, names in named:
        seen: set[str] = set()
        for i, name in enumerate(names):
            if name in seen:
                problems.append(
                    ConfigProblem(
                        f"scoring.{kind}[{i}].name",
                        f'duplicate rule name "{name}"',
                        "names must be unique: reps read them in the score reasons",
                    )
                )
            seen.add(name)
    for i, rule in enumerate(scoring.engagement):
        for event_type in rule.event_types:
            if event_type not in known_events:
                hint = did_you_mean(event_type, known_events)
                hint += " " if hint.endswith("?") else ". "
                problems.append(
                    ConfigProblem(
                        f"scoring.engagement[{i}].event",
                        f'unknown event type "{event_type}"',
                        hint + "Custom types must be listed in scoring.custom_events",
                    )
                )
        if rule.group is not None and rule.group not in scoring.groups:
            groups = list(scoring.groups)
            problems.append(
                ConfigProblem(
                    f"scoring.engagement[{i}].group",
                    f'unknown group "{rule.group}"',
                    did_you_mean(rule.group, groups)
                    if groups
                    else f"define it as [scoring.groups.{rule.group}] with max_points",
                )
            )
    if scoring.hot_threshold < scoring.mql_threshold:
        problems.append(
            ConfigProblem(
                "scoring.hot_threshold",
                f"hot_threshold ({scoring.hot_threshold:g}) is below "
                f"mql_threshold ({scoring.mql_threshold:g})",
                "a hot lead must at least be an MQL",
            )
        )
    return problems
