"""Nurture triggers: ``[[triggers]]`` rules that act when a lead matches.

A rule's ``when`` is tested with the scoring package's own condition matching (the
same operators as the scoring model): on the score's total, the stage, hotness, the
contact's properties and, optionally, an event of a type whose properties match. Its
``then`` does one thing: enroll in a sequence, set properties, give the owner a task,
or add the lead to a list.

A rule fires once per lead; a rule that names an event fires once per matching event
(its key carries the event's id). Whatever asks, a lead is never enrolled twice in the
same sequence (``state["enrolled"]``) and never while paused by a reply
(``state["paused"]``, set by the reply step, which runs first).

A model edit changes scores and stages without the leads doing anything: a lead that
starts matching a rule's score, hotness or stage part in the rescoring that applies the
edit (its previous score, from the old model, did not) meets the rule as a baseline, as
for a rule just added. That rescoring cannot separate the edit from a change the lead
made meanwhile (such a lead is counted as done too); an event newer than the lead's
last scoring still fires: that is news, not the edit.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import timedelta

from crmbridge.connector import Action
from crmbridge.handoff.lead import HandoffPlan, Lead, OwnerPool, short_hash
from crmbridge.handoff.settings import EventCondition, ReactivationSettings, Trigger
from crmbridge.i18n import N_
from crmbridge.scoring.conditions import (
    CompiledCondition,
    CompiledWhen,
    compile_condition,
    compile_when,
)
from crmbridge.scoring.types import Event

#: Hand-off state: the added rules (see ``TriggerStep.added``) this lead has met.
KNOWN = "triggers_known"
#: How many fired marks a lead keeps (per-event rules add one per event).
MAX_FIRED = 500
TASK_DUE_IN = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Enrollment:
    """Who enrolls a lead: the owner (a HubSpot user) and the sender address."""

    owners: OwnerPool
    default_sender: str | None

    def plan(self, lead: Lead, plan: HandoffPlan, sequence_id: str, key: str, why: str) -> bool:
        """Queue an enrollment unless paused, already enrolled there, or ownerless.

        True when the lead is (or already was) enrolled: the asker may count it done.
        """
        enrolled: dict[str, str] = lead.state.get("enrolled") or {}
        if sequence_id in enrolled:
            plan.notes.append(
                lead.texts(
                    N_("{why}: already enrolled in sequence {sequence}"),
                    why=why,
                    sequence=sequence_id,
                )
            )
            return True
        if lead.state.get("paused"):
            plan.notes.append(
                lead.texts(
                    N_("{why}: not enrolled in sequence {sequence} (replied, paused)"),
                    why=why,
                    sequence=sequence_id,
                )
            )
            return False
        owner_id = lead.owner_id()
        if owner_id is None:
            # HubSpot enrolls on behalf of a user: without an owner it waits for one.
            plan.notes.append(
                lead.texts(
                    N_("{why}: sequence {sequence} waits for an owner"),
                    why=why,
                    sequence=sequence_id,
                )
            )
            return False
        owner = self.owners.get(owner_id)
        sender = (owner.email if owner and owner.email else None) or self.default_sender or ""
        payload = {"sequence_id": sequence_id, "owner_id": owner_id, "sender_email": sender}
        plan.actions.append(Action("enroll", lead.crm_id, key, payload))
        lead.state["enrolled"] = {**enrolled, sequence_id: lead.now.isoformat()}
        plan.notes.append(
            lead.texts(N_("{why} → enroll in sequence {sequence}"), why=why, sequence=sequence_id)
        )
        return True


@dataclass(frozen=True, slots=True)
class _Rule:
    """A trigger with its conditions compiled once."""

    trigger: Trigger
    mark: str
    score: CompiledCondition | None
    stage: CompiledCondition | None
    properties: CompiledWhen
    event_where: CompiledWhen | None

    @classmethod
    def compile(cls, trigger: Trigger) -> _Rule:
        when = trigger.when
        return cls(
            trigger=trigger,
            mark=trigger_mark(trigger),
            score=compile_condition(when.score) if when.score else None,
            stage=compile_condition(when.stage) if when.stage else None,
            properties=compile_when(when.properties),
            event_where=compile_when(when.event.where) if when.event else None,
        )

    def lead_matches(self, lead: Lead) -> bool:
        """Every part of ``when`` except the event holds."""
        score = lead.score
        if not self.score_matches(score.total, score.hot, score.stage.stage):
            return False
        values = {name: lead.value(name) for name in self.trigger.when.properties}
        return self.properties(values)

    def score_matches(self, total: int | None, hot: bool, stage: str | None) -> bool:
        """The parts of ``when`` the scoring model decides hold for these values."""
        when = self.trigger.when
        if when.hot is not None and hot is not when.hot:
            return False
        if self.score is not None and (total is None or not self.score(total)):
            return False
        return self.stage is None or (stage is not None and bool(self.stage(stage)))

    def moved_by_model(self, lead: Lead) -> bool:
        """Does the lead match only because a model edit changed its score or stage?"""
        before = lead.previous
        return lead.model_changed and not self.score_matches(before.total, before.hot, before.stage)

    def events(self, lead: Lead) -> list[Event]:
        """The lead's events matching the rule's event part, oldest first."""
        wanted = self.trigger.when.event
        if wanted is None or self.event_where is None:
            return []
        return sorted(
            (e for e in lead.events if _event_matches(e, wanted, self.event_where, lead)),
            key=lambda e: e.occurred_at,
        )


def _event_matches(event: Event, wanted: EventCondition, where: CompiledWhen, lead: Lead) -> bool:
    if event.type != wanted.type or event.occurred_at > lead.now:
        return False
    days = wanted.within_days
    if days is not None and lead.now - event.occurred_at > timedelta(days=days):
        return False
    return where(event.properties)


def trigger_mark(trigger: Trigger) -> str:
    """The short id a rule's fired marks carry (from its name)."""
    return short_hash(trigger.name)


def event_mark(event: Event) -> str:
    """A short, stable name for one event (its id, else its type and instant)."""
    return short_hash(event.event_id or f"{event.type}@{event.occurred_at.isoformat()}")


class TriggerStep:
    """Plans the ``then`` of every ``[[triggers]]`` rule a lead newly matches."""

    def __init__(
        self,
        triggers: Sequence[Trigger],
        reactivation: ReactivationSettings,
        owners: OwnerPool | None = None,
        added: Collection[str] = (),
    ) -> None:
        self.rules = [_Rule.compile(trigger) for trigger in triggers]
        self.enrollment = Enrollment(owners or OwnerPool(), reactivation.sender_email)
        #: Marks of the rules added to a running installation (see :func:`trigger_mark`):
        #: a lead scored before meets them first as a baseline.
        self.added = frozenset(added)

    def plan(self, lead: Lead, plan: HandoffPlan) -> None:
        """Fire the rules that match and have not fired for this lead (or event) yet."""
        if not self.rules:
            return
        fired: list[str] = list(lead.state.get("triggers_fired") or [])
        known: list[str] = list(lead.state.get(KNOWN) or [])
        for rule in self.rules:
            added = (
                rule.mark in self.added
                and rule.mark not in known
                and lead.previous.total is not None
            )
            if rule.mark in self.added and rule.mark not in known:
                known.append(rule.mark)
            if not rule.lead_matches(lead):
                continue
            if added or rule.moved_by_model(lead):
                # Added while this lead already matched, or matched only since a model
                # edit moved its score: what it matches now counts as done (no mass
                # enrolment); only what changes from here on fires.
                if self._baseline(lead, rule, fired, plan, only_before=not added):
                    plan.baselines.append(f'trigger "{rule.trigger.name}" already matched')
                if added or rule.trigger.when.event is None:
                    continue
            if rule.trigger.when.event is None:
                self._fire(lead, plan, rule, None, fired)
                continue
            for event in rule.events(lead):
                self._fire(lead, plan, rule, event_mark(event), fired)
        if fired:
            lead.state["triggers_fired"] = fired[-MAX_FIRED:]
        if known:
            lead.state[KNOWN] = known

    @staticmethod
    def _baseline(
        lead: Lead, rule: _Rule, fired: list[str], plan: HandoffPlan, *, only_before: bool
    ) -> bool:
        """Count what the lead matches now as done (True when that is anything not done
        yet). With ``only_before`` (a model edit) an event newer than the lead's last
        scoring is left to fire: it is new."""
        if rule.trigger.when.event is None:
            marks = [rule.mark]
        else:
            before = lead.previous.scored_at
            marks = [
                f"{rule.mark}:{event_mark(event)}"
                for event in rule.events(lead)
                if not only_before or before is None or event.occurred_at <= before
            ]
        new = [mark for mark in marks if mark not in fired]
        fired.extend(new)
        if new:
            plan.notes.append(
                lead.texts(
                    N_('trigger "{name}": counted as done (baseline)'), name=rule.trigger.name
                )
            )
        return bool(new)

    def _fire(
        self, lead: Lead, plan: HandoffPlan, rule: _Rule, event: str | None, fired: list[str]
    ) -> None:
        mark = f"{rule.mark}:{event}" if event else rule.mark
        if mark in fired:
            return
        key = f"trigger:{rule.mark}:{lead.crm_id}" + (f":{event}" if event else "")
        if self._then(lead, plan, rule.trigger, key):
            fired.append(mark)

    def _then(self, lead: Lead, plan: HandoffPlan, trigger: Trigger, key: str) -> bool:
        """Plan the rule's one action; False when it must wait (paused, no owner)."""
        then, why = trigger.then, lead.texts(N_('trigger "{name}"'), name=trigger.name)
        if then.enroll_sequence is not None:
            return self.enrollment.plan(lead, plan, then.enroll_sequence, key, why)
        if then.set_property is not None:
            plan.properties.update(then.set_property)
            plan.notes.append(
                lead.texts(
                    N_("{why} → set {properties}"),
                    why=why,
                    properties=", ".join(sorted(then.set_property)),
                )
            )
        elif then.notify is not None:
            payload = {
                "subject": lead.fill(then.notify),
                "body": lead.texts(N_('Why: trigger "{trigger}" matched.'), trigger=trigger.name)
                + "\n\n"
                + lead.summary(),
                "due_at": (lead.now + TASK_DUE_IN).isoformat(),
                "priority": "MEDIUM",
                "owner_id": lead.owner_id(),
            }
            plan.actions.append(Action("task", lead.crm_id, key, payload))
            plan.notes.append(lead.texts(N_("{why} → task for the owner"), why=why))
        elif then.add_to_list is not None:
            plan.actions.append(Action("list_add", lead.crm_id, key, {"list_id": then.add_to_list}))
            plan.notes.append(
                lead.texts(N_("{why} → add to list {list}"), why=why, list=then.add_to_list)
            )
        return True
