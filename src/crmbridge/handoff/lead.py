"""What a hand-off step sees of one lead, and what it may ask for.

Steps are pure: they read a :class:`Lead` and add to a :class:`HandoffPlan`; the
rescorer applies the plan in the same transaction that stores the score, so a plan is
either wholly queued (outbox rows, state, clocks) or not at all.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from crmbridge.clock import parse_instant
from crmbridge.connector import Action, Owner
from crmbridge.i18n import ENGLISH, N_, Texts
from crmbridge.scoring.engine import BANT_LETTERS
from crmbridge.scoring.types import Event, Score


def day_key(moment: datetime) -> str:
    """A compact, stable form of an instant for idempotency keys (to the second)."""
    return moment.strftime("%Y%m%dT%H%M%SZ")


def short_hash(*parts: object) -> str:
    """A short digest of ``parts``, for keys built from free text (trigger names)."""
    return hashlib.sha256("\x1f".join(map(str, parts)).encode()).hexdigest()[:16]


def held_value(properties: Mapping[str, Any], crm_values: Mapping[str, Any], name: str) -> Any:
    """A CRM property as the CRM last held it: crmbridge's own values, then the inputs."""
    if name in crm_values and crm_values[name] not in (None, ""):
        return crm_values[name]
    return properties.get(name)


def is_blank(value: object) -> bool:
    """No answer: absent, empty or only white space."""
    return value is None or (isinstance(value, str) and not value.strip())


@dataclass(frozen=True, slots=True)
class PreviousScore:
    """The score stored before this one (None fields for a first scoring)."""

    total: int | None = None
    hot: bool = False
    stage: str | None = None
    #: The model that gave it and when: a scoring under another model applies a model
    #: edit, and what the edit alone moves is not a transition the lead made.
    model_version: str | None = None
    scored_at: datetime | None = None


@dataclass(slots=True)
class Lead:
    """One contact being rescored, with its hand-off state (``state`` is mutable)."""

    contact_id: int
    crm: str
    crm_id: str
    email: str | None
    properties: Mapping[str, Any]
    crm_values: Mapping[str, Any]
    events: Sequence[Event]
    score: Score
    previous: PreviousScore
    now: datetime
    state: dict[str, Any]
    #: The CRM's owner field (``[assignment] owner_property``), set by the planner.
    owner_property: str = "hubspot_owner_id"
    #: The language and time zone of the texts written for a person (set by the planner).
    texts: Texts = ENGLISH
    #: The next BANT question for the rep, "" when none (set by the BANT question step).
    bant_question: str = ""

    @property
    def name(self) -> str:
        """How a rep would name the lead in a task subject."""
        first = str(self.properties.get("firstname") or "").strip()
        last = str(self.properties.get("lastname") or "").strip()
        full = f"{first} {last}".strip()
        return (
            full or self.email or self.texts(N_("{crm} contact {id}"), crm=self.crm, id=self.crm_id)
        )

    def value(self, name: str) -> Any:
        """A CRM property as the CRM last held it (ours included)."""
        return held_value(self.properties, self.crm_values, name)

    @property
    def model_changed(self) -> bool:
        """Was the lead last scored with another model (this scoring applies an edit)?"""
        before = self.previous.model_version
        return before is not None and before != self.score.model_version

    def owner_id(self, owner_property: str | None = None) -> str | None:
        """The lead's owner: the CRM's owner field, else the one crmbridge gave.

        The CRM wins so that a rep's manual reassignment is followed; an owner given in
        this very cycle wins over it, as the CRM does not hold that one yet.
        """
        given = self.state.get("owner_id")
        if given and self.state.get("assigned_at") == self.now.isoformat():
            return str(given)
        held = self.value(owner_property or self.owner_property)
        if held not in (None, ""):
            return str(held)
        return str(given) if given else None

    def fill(self, template: str) -> str:
        """``{name}``, ``{email}``, ``{score}``, ``{stage}``, ``{grade}`` in ``template``
        (a default template in the configured language; the admin's own as written)."""
        template = self.texts(template)
        values = {
            "name": self.name,
            "email": self.email or "",
            "score": self.score.total,
            "stage": self.score.stage.stage,
            "grade": self.score.grade,
            "bant": self.score.bant.letters,
        }
        try:
            return template.format(**values)
        except (KeyError, IndexError, ValueError):
            # A template with an unknown field must not stop the hand-off.
            return template

    def summary(self) -> str:
        """Score, BANT and the top reasons: the body of every task crmbridge creates."""
        score, t = self.score, self.texts
        bant = t(N_("BANT {letters}"), letters=score.bant.letters)
        if score.bant.missing:
            missing = ", ".join(t(BANT_LETTERS[letter]) for letter in score.bant.missing)
            bant += t(N_(" — missing: {letters}"), letters=missing)
        lines = [
            t(
                N_("Score {total} (fit {fit}, engagement {engagement}), grade {grade}"),
                total=score.total,
                fit=score.fit,
                engagement=score.engagement + score.inactivity,
                grade=score.grade,
            ),
            bant,
            t(N_("Stage {stage}"), stage=score.stage.stage),
        ]
        if score.reasons:
            lines.append(t(N_("Top reasons:")))
            lines.extend(f"• {reason}" for reason in score.reasons[:5])
        if self.bant_question:
            lines.append(t(N_("Next question: {question}"), question=self.bant_question))
        return "\n".join(lines)


@dataclass
class HandoffPlan:
    """Everything the steps want for one lead; applied atomically by the rescorer."""

    #: CRM property values (diffed against what the CRM holds, like the score's).
    properties: dict[str, str] = field(default_factory=dict)
    actions: list[Action] = field(default_factory=list)
    #: (key, payload) of notifications to post to a Slack/generic webhook.
    webhooks: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    #: What a step counted as done without acting, one label per lead and step: the
    #: lead already qualified when a model edit or a rule just added reached it (shown
    #: by ``plan``'s summary, so the enrolments not made are visible too).
    baselines: list[str] = field(default_factory=list)
    #: Rows for the ``assignments`` table (owner_id, strategy).
    assignments: list[dict[str, Any]] = field(default_factory=list)
    #: SLA clocks to start: stage, owner_id, started_at, due_at.
    clocks_started: list[dict[str, Any]] = field(default_factory=list)
    #: Instant the owner first contacted the lead (stops the open clocks).
    contacted_at: datetime | None = None
    #: SLA clocks that breached: stage, started_at, breached_at, escalated_at (or None).
    clocks_breached: list[dict[str, Any]] = field(default_factory=list)
    #: Plain-words notes shown by ``plan`` and ``explain`` (e.g. why nothing happened).
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class OwnerPool:
    """The owners a lead can be given to, as the CRM lists them this cycle."""

    owners: tuple[Owner, ...] = ()
    #: Assignments already stored per rotation (``assignments.strategy``), so a
    #: round robin resumes where the last cycle (or another replica) left it.
    assigned: Mapping[str, int] = field(default_factory=dict)

    def get(self, owner_id: str) -> Owner | None:
        """The owner with this id, if the CRM lists it."""
        return next((o for o in self.owners if o.id == owner_id), None)


def want_recheck(state: dict[str, Any], at: datetime) -> None:
    """Ask for the lead to be rescored at ``at`` (the sooner of any pending request)."""
    pending = _instant(state.get("recheck_at"))
    if pending is None or at < pending:
        state["recheck_at"] = at.isoformat()


def drop_fired_recheck(state: dict[str, Any], now: datetime) -> None:
    """Forget a recheck request that has come due: the lead is being rescored now.

    Kept, a past request would make the lead due on every cycle from then on.
    """
    pending = _instant(state.get("recheck_at"))
    if "recheck_at" in state and (pending is None or pending <= now):
        del state["recheck_at"]


def _instant(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return parse_instant(value)
    except ValueError:
        return None
