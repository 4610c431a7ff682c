"""Rescore the contacts that need it and plan their CRM writes into the outbox.

A contact is due when its inputs changed (``dirty``) or when time alone moved its score
(``recheck_at``). A batch of them is first marked clean (a change arriving meanwhile
marks its contact dirty again), then read; for each, the new score is stored (history
only when something a person would see changed) and the CRM write-back is diffed
against what the CRM holds and what is already queued — all in one transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from crmbridge.clock import parse_instant
from crmbridge.errors import safe_description
from crmbridge.handoff.lead import HandoffPlan, Lead, PreviousScore
from crmbridge.handoff.notification import HOT_SINCE, NOTIFIED
from crmbridge.handoff.planner import HandoffPlanner
from crmbridge.logging import get_logger
from crmbridge.scoring import Score, ScoringEngine
from crmbridge.scoring.boundaries import next_change_at
from crmbridge.scoring.properties import company_properties, contact_with_company
from crmbridge.scoring.types import Contact, Event
from crmbridge.settings import WritebackSettings
from crmbridge.store import outbox
from crmbridge.store.companies import company_values
from crmbridge.store.handoff_state import apply_records
from crmbridge.store.identity import UNMARKED, Identity, advance_generation, read_identity
from crmbridge.store.lead_links import partners
from crmbridge.store.repository import Store
from crmbridge.store.selection import Selection
from crmbridge.store.session import Session
from crmbridge.sync import lead_merge
from crmbridge.sync.failures import FailureKind, failure_kind
from crmbridge.sync.handoff_switches import Waiver
from crmbridge.sync.notify import WEBHOOK
from crmbridge.sync.plan_summary import Before, PlanSummary
from crmbridge.sync.progress import SCORED, Progress
from crmbridge.sync.writeback import (
    desired_values,
    diff,
    same_value,
    score_property,
    store_property,
)

BATCH = 500
#: The hand-off state of a hot episode: when it began, and whether sales were told.
EPISODE = (HOT_SINCE, NOTIFIED)
#: How long a lead whose scoring failed waits before it is tried again.
FAILED_RETRY = timedelta(hours=1)


@dataclass(frozen=True)
class PlannedChange:
    """One property the next drain will write: what the CRM holds and what it will hold."""

    crm: str
    crm_id: str
    email: str | None
    name: str
    old: str | None
    new: str
    #: The lead's records in other CRMs (``crm:id``), when it is one lead with them.
    linked: tuple[str, ...] = ()


@dataclass(frozen=True)
class ScoreFailure:
    """A lead whose scoring raised: it keeps its last score and is tried again later."""

    crm: str
    crm_id: str
    email: str | None
    error: str
    kind: FailureKind = "internal"


@dataclass
class RescoreResult:
    """Counts and the planned changes of one rescoring pass."""

    scored: int = 0
    changed: int = 0
    #: Contacts found written by another store in this pass (held, not scored).
    held: int = 0
    changes: list[PlannedChange] = field(default_factory=list)
    failed: list[ScoreFailure] = field(default_factory=list)
    #: The contacts (store ids) scored, and those with something to write: a cycle
    #: that rescores in rounds while it reads counts each contact once.
    scored_ids: set[int] = field(default_factory=set)
    changed_ids: set[int] = field(default_factory=set)


def _score_values(contact_id: int, score: Score) -> dict[str, Any]:
    return {
        "contact_id": contact_id,
        "is_current": True,
        "model_version": score.model_version,
        "scored_at": score.scored_at,
        "total": score.total,
        "fit": score.fit,
        "engagement": score.engagement + score.inactivity,
        "grade": score.grade,
        "hot": score.hot,
        "bant": score.bant.letters,
        "stage": score.stage.stage,
        "stage_transition": score.stage.transition,
        "reasons": score.reasons_text,
        "detail": score.as_dict(),
    }


_SEEN = ("model_version", "total", "fit", "engagement", "grade", "hot", "bant", "stage", "reasons")


def _same_score(row: Any, new: dict[str, Any]) -> bool:
    """Nothing a person would see changed (so no history row is added)."""
    return row is not None and all(getattr(row, name) == new[name] for name in _SEEN)


class Rescorer:
    """Scores due contacts and turns score changes into outbox rows."""

    def __init__(
        self,
        store: Store,
        engine: ScoringEngine,
        prefix: str,
        planners: Mapping[str, HandoffPlanner] | None = None,
    ) -> None:
        self.store = store
        self.engine = engine
        self.prefix = prefix
        #: The hand-off planner of each CRM (by connector name); none = scores only.
        self.planners = dict(planners or {})
        #: For a CRM without its own planner (``plan`` runs with no connector built).
        self.default_planner: HandoffPlanner | None = None
        #: Told every lead scored and every change planned (``plan``'s summary), if set.
        self.summary: PlanSummary | None = None
        #: For a dry run: the hand-off state the next cycle's catch-up would leave.
        self.waive: Waiver | None = None
        self._issued = self._writing = Identity("", 0)
        #: CRMs whose records of one person are one lead (none: every record alone).
        self.linked_crms: frozenset[str] = frozenset()
        #: Which CRM each crmbridge property is written to (None: every CRM).
        self.ownership: WritebackSettings | None = None
        #: The batch's leads: each linked contact's records, by contact id.
        self._leads: dict[int, tuple[int, ...]] = {}
        #: Whether the model reads ``company.`` properties (then each batch reads them);
        #: the pipeline sets it when only a trigger does.
        self.reads_companies = bool(
            company_properties(engine.scoring, engine.bant_model, engine.lifecycle_model)
        )

    def run(
        self,
        now: datetime,
        *,
        dry_run: bool = False,
        progress: Progress | None = None,
        where: Selection | None = None,
        most: int | None = None,
        same_pass: bool = False,
    ) -> RescoreResult:
        """Rescore every due contact; with ``dry_run`` compute the plan and store nothing.

        ``progress`` is told the contacts of each batch once it is stored. ``where``
        (dry runs only) selects the contacts instead of their being due. ``most`` ends
        the pass after the batch that reaches that many contacts (the rest stay due);
        with ``same_pass`` this run goes on with the last one's pass (a cycle that
        rescores in rounds while it reads writes at one generation, as a cycle that
        rescores once does).
        """
        if where is not None and not dry_run:
            raise ValueError("a selection is previewed only: mark its contacts dirty to rescore")
        result = RescoreResult()
        after = seen = 0
        done: set[int] = set()
        with self.store.engine.begin() as connection:
            issued = read_identity(connection)
        #: Writes planned in this pass carry the next generation; it is issued (stored)
        #: with the first batch that plans one.
        going_on = (
            same_pass
            and issued.store_id == self._writing.store_id
            and issued.generation <= self._writing.generation
        )
        self._issued = issued
        if not going_on:
            self._writing = replace(issued, generation=issued.generation + 1)
        while True:
            # A batch holds its contacts until committed: a merge or a deletion waits.
            holding = nullcontext() if dry_run else self.store.identity.scoring()
            with holding, self.store.session() as session:
                if dry_run:
                    batch = self.store.due_contacts(session, now, after, BATCH, where)
                else:
                    batch = self.store.take_due(session, now, after, BATCH)
                if not batch:
                    return result
                after = batch[-1].id or after
                count = len(batch)
                batch = self._with_partners(session, batch, now, dry_run=dry_run)
                # A record scored with its lead earlier in this pass is not scored again.
                batch = [row for row in batch if row.id not in done]
                done.update(row.id for row in batch if row.id in self._leads)
                self._score_batch(session, batch, now, result)
                if dry_run:
                    session.rollback()
                else:
                    session.commit()
                if progress is not None:
                    progress(SCORED, len(batch), 0)
            seen += count
            if most is not None and seen >= most:
                return result

    def _with_partners(
        self, session: Session, batch: list[Any], now: datetime, *, dry_run: bool
    ) -> list[Any]:
        """``batch`` with the other records of its linked leads (taken as due, so a
        lead is scored once, all its records together), and the batch's leads noted."""
        self._leads = {}
        if not self.linked_crms:
            return batch
        ids = [row.id for row in batch if row.crm in self.linked_crms]
        found = partners(session, ids)
        if not found:
            return batch
        have = {row.id for row in batch}
        missing = sorted({o for others in found.values() for o in others} - have)
        if missing:
            batch = [*batch, *self.store.contacts_by_id(session, missing, now, take=not dry_run)]
        crm_of = {row.id: row.crm for row in batch}
        for cid, others in found.items():
            members = tuple(sorted(m for m in (cid, *others) if crm_of.get(m) in self.linked_crms))
            if len(members) > 1:
                self._leads.update(dict.fromkeys(members, members))
        return batch

    def _score_batch(
        self, session: Session, batch: list[Any], now: datetime, result: RescoreResult
    ) -> None:
        ids = [row.id for row in batch]
        events = self.store.events_for(session, ids)
        current = self.store.current_scores(session, ids)
        companies = company_values(session, ids) if self.reads_companies else {}
        queued: dict[tuple[str, str], list[outbox.Queued]] = {}
        changes = outbox.Batch(now)
        for crm in {row.crm for row in batch}:
            crm_ids = [row.crm_id for row in batch if row.crm == crm]
            for crm_id, rows in outbox.queued_rows(session, crm, crm_ids).items():
                queued[(crm, crm_id)] = rows
        new_scores: list[dict[str, Any]] = []
        superseded: list[int] = []
        updates: list[dict[str, Any]] = []
        handoffs: list[tuple[int, HandoffPlan]] = []
        held: list[dict[str, Any]] = []
        released: list[int] = []
        mark_name = store_property(self.prefix)
        by_id = {row.id: row for row in batch}
        scored_leads: dict[tuple[int, ...], _LeadScore | Exception] = {}
        for row in batch:
            ours = written_here(row.crm_values or {}, row.crm, self.ownership, self.prefix)
            # Judged on the values the CRM showed at the last read, held or not: a hold
            # follows them (a read that finds them changed makes the contact due).
            if self._issued.holds(ours, mark_name, row.adopted_from):
                # Another store wrote this contact's crmbridge values: writing ours over
                # them would drop what that store knew (events, hand-off state).
                mark = str(ours.get(mark_name) or "").strip()[:80] or UNMARKED
                held.append({"cid": row.id, "held_by": mark, "seen": row.crm_updated_at})
                result.held += not row.held_by
                continue
            if row.held_by:
                released.append(row.id)
            members = self._leads.get(row.id)
            first = members is None or members not in scored_leads
            if members is None:
                lead = self._score_alone(row, events, companies, now)
            elif members in scored_leads:
                lead = scored_leads[members]
            else:
                records = [by_id[m] for m in members]
                lead = self._score_lead(records, events, companies, now)
                scored_leads[members] = lead
                if not isinstance(lead, Exception):
                    # One lead, scored once, however many CRMs hold it.
                    result.scored += 1
                    result.scored_ids.add(lead.home)
            if isinstance(lead, Exception):  # one lead never stops its batch, nor the cycle
                updates.append(self._failed(row, now, lead, result))
                continue
            score, recheck, contact_events = lead.score, lead.recheck, lead.events
            row_properties = lead.properties
            if members is None:
                result.scored += 1
                result.scored_ids.add(row.id)
            values = _score_values(row.id, score)
            old = current.get(row.id)
            if not _same_score(old, values):
                new_scores.append(values)
                if old is not None:
                    superseded.append(old.id)
            saved = row.handoff if isinstance(row.handoff, dict) else {}
            if self.waive is not None:
                saved = self.waive(old is not None and bool(old.hot), row.stage, saved)
            state = dict(saved)
            if members is not None and lead.home == row.id:
                state = _with_lead_episode(state, row.id, members, by_id)
            handoff = (
                self._handoff(row, score, old, contact_events, now, state, row_properties)
                if lead.home == row.id
                else None  # the lead's hand-off runs in its home CRM only
            )
            if handoff is None:
                state = dict(saved)  # a failed plan leaves the state as it was
            planned = self._plan(
                row, score, queued.get((row.crm, row.crm_id), []), changes, handoff
            )
            if handoff is not None:
                handoffs.append((row.id, handoff))
                for action in handoff.actions:
                    changes.add_action(
                        row.crm, row.id, action.kind, row.crm_id, action.key, action.payload
                    )
                    planned.append(
                        PlannedChange(
                            row.crm,
                            row.crm_id,
                            row.email,
                            f"action:{action.kind}",
                            None,
                            action.describe(),
                        )
                    )
                for key, payload in handoff.webhooks:
                    changes.add_action(row.crm, row.id, WEBHOOK, row.crm_id, key, payload)
                    planned.append(
                        PlannedChange(
                            row.crm,
                            row.crm_id,
                            row.email,
                            "action:webhook",
                            None,
                            str(payload.get("channel")),
                        )
                    )
            if members is not None:
                others = tuple(f"{by_id[m].crm}:{by_id[m].crm_id}" for m in members if m != row.id)
                planned = [replace(change, linked=others) for change in planned]
            if planned:
                result.changed += 1
                result.changed_ids.add(row.id)
                result.changes.extend(planned)
            if self.summary is not None:
                if first:  # a lead in several CRMs counts once
                    self._tell_lead(self.summary, row, old, score, linked=members is not None)
                self.summary.add_changes(planned)
                if handoff is not None:
                    self.summary.baselines.update(handoff.baselines)
            updates.append(
                {
                    "cid": row.id,
                    "stage": score.stage.stage,
                    "recheck_at": _earliest(recheck, state.get("recheck_at")),
                    "handoff": state or None,
                }
            )
        self.store.save_scores(session, new_scores, superseded, updates)
        self.store.hold_contacts(session, held)
        self.store.release_contacts(session, released)
        writes = changes.inserts or changes.updates or changes.actions
        if writes and self._issued.generation < self._writing.generation:
            self._issued = advance_generation(session.connection(), self._issued)
        changes.apply(session)
        apply_records(session, handoffs, now)

    def _score_alone(
        self,
        row: Any,
        events: Mapping[int, list[Event]],
        companies: Mapping[int, Any],
        now: datetime,
    ) -> _LeadScore | Exception:
        """A record that is a lead of its own."""
        contact = contact_with_company(self.store.as_contact(row), companies.get(row.id))
        return self._score(contact, events.get(row.id, []), row.stage, row.id, now)

    def _score_lead(
        self,
        records: list[Any],
        events: Mapping[int, list[Event]],
        companies: Mapping[int, Any],
        now: datetime,
    ) -> _LeadScore | Exception:
        """A person's records in several CRMs, merged (see :mod:`crmbridge.sync.lead_merge`)."""
        owner = self.ownership.owner_of(score_property(self.prefix)) if self.ownership else ""
        first, contact, merged = lead_merge.lead_inputs(records, events, companies, owner)
        return self._score(contact, merged, first.stage, first.id, now)

    def _score(
        self, contact: Contact, events: list[Event], stage: str | None, home: int, now: datetime
    ) -> _LeadScore | Exception:
        model = self.engine
        try:
            score = model.score(contact, events, now, stage)
            recheck = next_change_at(
                model.scoring, model.lifecycle_model, events, score.last_engagement_at, now
            )
        except Exception as exc:  # reported per record by the caller
            return exc
        return _LeadScore(score, recheck, events, dict(contact.properties or {}), home)

    @staticmethod
    def _tell_lead(summary: PlanSummary, row: Any, old: Any, score: Score, *, linked: bool) -> None:
        before = (
            Before(old.total, bool(old.hot), old.stage)
            if old is not None
            else Before(stage=row.stage)
        )
        rules = [c.rule for c in score.contributions if c.kind in ("fit", "engagement")]
        summary.add_lead(before, score.total, score.hot, score.stage.stage, rules, linked=linked)

    @staticmethod
    def _failed(row: Any, now: datetime, exc: Exception, result: RescoreResult) -> dict[str, Any]:
        """Record a lead that could not be scored; it is tried again after a pause.

        Its stored score, stage and hand-off state stay as they were, so nothing is
        written for it meanwhile; the error names it for whoever reads the log.
        """
        error = safe_description(exc)
        get_logger(crm=row.crm, contact=row.crm_id).error("score.failed", error=error)
        result.failed.append(ScoreFailure(row.crm, row.crm_id, row.email, error, failure_kind(exc)))
        return {
            "cid": row.id,
            "stage": row.stage,
            "recheck_at": now + FAILED_RETRY,
            "handoff": row.handoff,
        }

    def _handoff(
        self,
        row: Any,
        score: Score,
        old: Any,
        events: list[Event],
        now: datetime,
        state: dict[str, Any],
        properties: Mapping[str, Any],
    ) -> HandoffPlan | None:
        planner = self.planners.get(row.crm, self.default_planner)
        if planner is None:
            return None
        previous = (
            PreviousScore(old.total, bool(old.hot), old.stage, old.model_version, old.scored_at)
            if old is not None
            else PreviousScore(stage=row.stage)
        )
        lead = Lead(
            contact_id=row.id,
            crm=row.crm,
            crm_id=row.crm_id,
            email=row.email,
            properties=dict(properties),
            crm_values=row.crm_values or {},
            events=events,
            score=score,
            previous=previous,
            now=now,
            state=state,
        )
        try:
            return planner.plan(lead)
        except Exception as exc:  # one lead's hand-off never stops the batch
            # The score is still stored and written; the hand-off is tried again when
            # the lead is next rescored (the error says what to fix).
            get_logger(crm=row.crm, contact=row.crm_id).error(
                "handoff.failed", error=f"{type(exc).__name__}: {exc}"
            )
            return None

    def _plan(
        self,
        row: Any,
        score: Score,
        queued: list[outbox.Queued],
        batch: outbox.Batch,
        handoff: HandoffPlan | None,
    ) -> list[PlannedChange]:
        desired = desired_values(score, self.prefix)
        desired[store_property(self.prefix)] = self._writing.mark()
        if handoff is not None:
            desired.update(handoff.properties)
        if self.ownership is not None:
            desired = owned_here(desired, row.crm, self.ownership, self.prefix)
        # Fields crmbridge does not own (an owner, enriched facts) are held in properties.
        held = {**(row.properties or {}), **row.crm_values}
        flying = {r.target: r.value for r in queued if r.status == outbox.IN_FLIGHT}
        waiting = {r.target: r for r in queued if r.status in outbox.RETRYABLE}
        # A queued write the CRM no longer needs (it already holds the wanted value) is
        # dropped; the diff baseline is what the CRM will hold once the rest lands.
        settled = [
            r
            for name, r in waiting.items()
            if name in desired and name not in flying and same_value(desired[name], held.get(name))
        ]
        if self.ownership is not None:
            # A write queued before its property's owner moved to another CRM.
            settled += [
                r
                for name, r in waiting.items()
                if name.startswith(f"{self.prefix}_")
                and name not in desired
                and not self.ownership.writes_to(name, row.crm)
            ]
        batch.drop(settled)
        still = {name: r.value for name, r in waiting.items() if r not in settled}
        changes = diff(desired, {**held, **still, **flying}, self.prefix)
        for name, value in changes.items():
            write = outbox.PropertyWrite(row.id, row.crm_id, name, value)
            pending = waiting.get(name)
            batch.put(row.crm, write, pending if pending not in settled else None)
        return [
            PlannedChange(row.crm, row.crm_id, row.email, name, _text(held.get(name)), value)
            for name, value in changes.items()
        ]


@dataclass(frozen=True)
class _LeadScore:
    """A lead's score and what it was computed from (shared by its records)."""

    score: Score
    recheck: datetime | None
    events: list[Event]
    properties: dict[str, Any]
    #: The record (contact id) the lead's hand-off runs on.
    home: int


def _with_lead_episode(
    state: dict[str, Any], home: int, members: tuple[int, ...], by_id: Mapping[int, Any]
) -> dict[str, Any]:
    """The home record's hand-off state with the lead's hot episode: a record of the
    lead told to sales while it was home (before the records were linked, or before
    the home moved) has it, and the lead is not told again in its new home."""
    if any(key in state for key in EPISODE):
        return state
    for member in members:
        other = by_id[member].handoff if member != home else None
        if isinstance(other, dict) and other.get(NOTIFIED):
            return {**state, **{key: other[key] for key in EPISODE if key in other}}
    return state


def written_here(
    values: Mapping[str, Any], crm: str, ownership: WritebackSettings | None, prefix: str
) -> Mapping[str, Any]:
    """The crmbridge values of a record in ``crm`` that tell who wrote it: those of the
    properties crmbridge writes into ``crm``, and the store mark.

    A property another CRM owns is never written here by any crmbridge store: its value
    was carried over by a sync between the CRMs (HubSpot's Salesforce integration), so
    it must not make the record look written by another store and hold it.
    """
    if ownership is None:
        return values
    mark = store_property(prefix)
    return {
        name: value
        for name, value in values.items()
        if name == mark or not name.startswith(f"{prefix}_") or ownership.writes_to(name, crm)
    }


def owned_here(
    desired: Mapping[str, str], crm: str, ownership: WritebackSettings, prefix: str
) -> dict[str, str]:
    """The values ``crm`` is the system of record of (the store mark only with some)."""
    mark = store_property(prefix)
    kept = {
        name: value
        for name, value in desired.items()
        if name != mark and (not name.startswith(f"{prefix}_") or ownership.writes_to(name, crm))
    }
    if mark in desired and any(name.startswith(f"{prefix}_") for name in kept):
        kept[mark] = desired[mark]
    return kept


def _earliest(recheck: datetime | None, wanted: object) -> datetime | None:
    """The sooner of the scoring's recheck and a hand-off step's (an SLA deadline)."""
    if not isinstance(wanted, str) or not wanted:
        return recheck
    try:
        moment = parse_instant(wanted)
    except ValueError:
        return recheck
    return moment if recheck is None or moment < recheck else recheck


def _text(value: object) -> str | None:
    return None if value is None else str(value)
