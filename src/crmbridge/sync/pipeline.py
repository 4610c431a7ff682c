"""One cycle of the daemon: read → store → score → plan → outbox → write.

Each stage persists before the next starts, so a crash anywhere loses nothing: the
next cycle resumes from the stored cursor, the dirty flags and the outbox.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from functools import partial
from typing import Any

from crmbridge import clock
from crmbridge.config import CrmbridgeConfig
from crmbridge.connector import (
    Connector,
    HandoffConnector,
    Owner,
    company_reader,
    company_writer,
)
from crmbridge.errors import CrmbridgeError
from crmbridge.handoff.feedback import feedback_events
from crmbridge.handoff.lead import OwnerPool
from crmbridge.handoff.planner import HandoffPlanner, handoff_properties
from crmbridge.i18n import ENGLISH, Texts
from crmbridge.logging import get_logger
from crmbridge.scoring import ScoringEngine
from crmbridge.scoring.properties import COMPANY_PREFIX
from crmbridge.store import property_history
from crmbridge.store.handoff_state import assignment_counts
from crmbridge.store.identity import fork_if_restored
from crmbridge.store.repository import Store
from crmbridge.store.selection import (
    Selection,
    count_selected,
    either,
    everyone,
    mark_dirty,
    outdated,
)
from crmbridge.sync import cross_crm
from crmbridge.sync.account_score import (
    account_field,
    planned_account_scores,
    requeue_regrouped,
    update_account_scores,
)
from crmbridge.sync.adopt import AdoptionReport, adopt
from crmbridge.sync.companies import CompanySync, company_reads
from crmbridge.sync.cross_crm import linked_crms
from crmbridge.sync.drain import SHUTTING_DOWN, Drainer
from crmbridge.sync.failures import ALL_CONNECTORS, CycleFailure, Stage, render
from crmbridge.sync.handoff_switches import (
    added_triggers,
    apply_switches,
    pending,
    track_triggers,
    waiver,
)
from crmbridge.sync.identity import follow_merges, forget_deleted
from crmbridge.sync.loops import detect_loops, loop_summaries
from crmbridge.sync.notify import Notifier
from crmbridge.sync.overlap import Background, Either, Flag
from crmbridge.sync.plan_summary import PlanSummary
from crmbridge.sync.progress import READ, Progress
from crmbridge.sync.property_map import PropertyMap
from crmbridge.sync.rescore import PlannedChange, Rescorer, RescoreResult
from crmbridge.sync.shadow import ShadowLog
from crmbridge.sync.writeback import own_fields, own_property_names, store_property

CONTACTS_STREAM = "contacts"
#: How long the CRM's owner list is reused (owners change rarely; planners every tick).
OWNERS_TTL_S = 300.0
#: The counts a cycle records in its ``sync_runs`` row.
RUN_COUNTS = ("read", "stored", "scored", "changed", "written", "failed", "duration_s")
Guard = Callable[[str], AbstractContextManager[bool]]
#: While the read goes on and nothing was left to score (or to write, for the write
#: thread), how long to let it store more before looking again.
ROUND_WAIT_S = 0.2
#: Threads writing while the read goes on: one would wait for each batch's answer before
#: claiming the next (a record is never in two batches in flight: see outbox.claim).
WRITERS = 2
#: Contacts rescored in a round while the read goes on: between rounds the cycle's
#: thread looks whether the read has ended or the process is stopping.
ROUND_MOST = 200


@contextmanager
def _always(_name: str) -> Iterator[bool]:
    yield True


#: Shown next to scores in tables; read even though no rule needs them.
DISPLAY_PROPERTIES = ("email", "firstname", "lastname", "company", "lifecyclestage")


@dataclass
class CycleSummary:
    """What one cycle did (printed by ``run --once``, stored in ``sync_runs``)."""

    read: int = 0
    stored: int = 0
    scored: int = 0
    changed: int = 0
    written: int = 0
    #: Hand-off actions carried out (tasks, enrollments, list additions, posts).
    actions: int = 0
    #: Companies whose account score was written.
    companies_written: int = 0
    failed: int = 0
    #: Of the failed writes, those declared dead (no more retries).
    dead: int = 0
    #: Contacts held because another store wrote their crmbridge values (by connector).
    held_contacts: dict[str, int] = field(default_factory=dict)
    api_calls: int = 0
    duration_s: float = 0.0
    #: What ``run --adopt`` took over and could not recover.
    adoption: AdoptionReport | None = field(default=None, repr=False)
    #: Why writes were held back (shadow mode, paused), per connector; not a failure.
    held: list[str] = field(default_factory=list)
    #: crmbridge properties found flapping between two CRMs in this cycle's read (see
    #: :mod:`crmbridge.sync.loops`): one line each, with the fix.
    sync_loops: list[str] = field(default_factory=list)
    written_ids: dict[str, list[str]] = field(default_factory=dict, repr=False)
    #: The contacts behind ``scored`` and ``changed`` (a contact rescored in two rounds
    #: of one cycle counts once).
    scored_ids: set[int] = field(default_factory=set, repr=False)
    changed_ids: set[int] = field(default_factory=set, repr=False)
    #: Record writes by connector and outcome (done, failed, dead), for the metrics.
    writes_by_status: dict[str, dict[str, int]] = field(default_factory=dict, repr=False)
    #: What failed, typed: a connector's stage, or one record (``errors`` renders them).
    failures: list[CycleFailure] = field(default_factory=list)
    #: The cycle ended early because the process is stopping (not a failure).
    interrupted: bool = False

    def absorb(self, other: CycleSummary) -> None:
        """Count what ``other`` did (a part of the cycle run on its own thread) here."""
        for name in (
            "read",
            "stored",
            "written",
            "actions",
            "companies_written",
            "failed",
            "dead",
            "api_calls",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.scored_ids |= other.scored_ids
        self.changed_ids |= other.changed_ids
        self.scored = len(self.scored_ids)
        self.changed = len(self.changed_ids)
        self.held.extend(other.held)
        self.sync_loops.extend(line for line in other.sync_loops if line not in self.sync_loops)
        self.failures.extend(other.failures)
        for crm, ids in other.written_ids.items():
            self.written_ids.setdefault(crm, []).extend(ids)
        for crm, counts in other.writes_by_status.items():
            mine = self.writes_by_status.setdefault(crm, {})
            for status, count in counts.items():
                mine[status] = mine.get(status, 0) + count
        self.interrupted |= other.interrupted

    @property
    def ok(self) -> bool:
        """True when nothing failed."""
        return self.failed == 0 and not self.failures

    @property
    def errors(self) -> list[str]:
        """The failures as lines for people (``run --once``, the log, ``sync_runs``)."""
        return render(self.failures)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form: the failures typed, and as ``errors`` lines."""
        data = asdict(self)
        data.pop("written_ids")
        data.pop("scored_ids")
        data.pop("changed_ids")
        data.pop("writes_by_status")
        data.pop("adoption")
        data["failures"] = [failure.as_dict() for failure in self.failures]
        data["errors"] = self.errors
        if self.adoption is not None:
            data["adoption"] = {**self.adoption.as_dict(), "summary": self.adoption.lines()}
        return {**data, "ok": self.ok}


@dataclass(frozen=True)
class Forecast:
    """What ``plan`` previews: the changes, their summary, and what limits them."""

    changes: list[PlannedChange]
    summary: PlanSummary
    #: Contacts found written by another store (held, nothing planned for them).
    held: int = 0
    #: Connectors whose owner list could not be read, and why (assignment waits).
    owners_unavailable: dict[str, str] = field(default_factory=dict)
    #: Leads whose scoring raised (they keep their last score).
    failed: int = 0


def rule_names(config: CrmbridgeConfig) -> list[str]:
    """The model's fit and engagement rules by name, in order, each once."""
    fit = [rule.name for rule in config.scoring.fit]
    names = [*fit, *(rule.name for rule in config.scoring.engagement)]
    return list(dict.fromkeys(names))


def model_properties(config: CrmbridgeConfig) -> list[str]:
    """Every CRM property the model reads, plus crmbridge's own and display fields."""
    names: set[str] = set(DISPLAY_PROPERTIES)
    for rule in config.scoring.fit:
        names.update(rule.when)
    bant = config.bant
    for criterion in (bant.budget, bant.authority, bant.need, bant.timeline):
        if criterion is not None:
            names.add(criterion.property)
    if bant.committee is not None:
        names.add(bant.committee.property)
    names.update(config.lifecycle.opportunity_when)
    names.update(config.lifecycle.customer_when)
    names.update(own_property_names(config.writeback.prefix))
    names.update(handoff_properties(config))
    # company.<property> is read from the contact's company, not from the contact.
    return sorted(name for name in names if not name.startswith(COMPANY_PREFIX))


class Pipeline:
    """Runs cycles for a set of connectors over one store and one scoring model."""

    def __init__(
        self, store: Store, config: CrmbridgeConfig, connectors: Mapping[str, Connector]
    ) -> None:
        self.store = store
        self.config = config
        self.connectors = dict(connectors)
        self.engine = ScoringEngine(
            config.scoring, config.bant, config.lifecycle, language=config.bridge.language
        )
        self.prefix = config.writeback.prefix
        self.rescorer = Rescorer(store, self.engine, self.prefix)
        self.rescorer.linked_crms = linked_crms(config)
        self.rescorer.ownership = config.writeback
        #: The company properties the model reads (none: no company is ever read).
        self.company_reads = company_reads(config)
        self.rescorer.reads_companies = bool(self.company_reads)
        notifications = config.notifications
        self._owner_cache: dict[str, tuple[float, tuple[Owner, ...]]] = {}
        self.notifier = Notifier(notifications.slack_webhook_url, notifications.webhook_url)
        #: Set in shadow mode: the drain logs the writes instead of sending them.
        self.shadow = None if config.bridge.write else ShadowLog()
        #: Contacts this process flagged because they were scored with another model
        #: (None until the first cycle that rescores has looked).
        self.outdated_marked: int | None = None
        #: Why a CRM's owner list could not be read when the planners were last built.
        self.owners_unavailable: dict[str, str] = {}

    def planners(self, *, fetch_owners: bool = True) -> dict[str, HandoffPlanner]:
        """A hand-off planner per connector, with the owners the CRM lists now.

        The owner list is read only when assignment is on; a failure to read it leaves
        the pool empty for this cycle (assignment then waits) rather than failing it.
        """
        found: dict[str, HandoffPlanner] = {}
        self.owners_unavailable.clear()
        added = added_triggers(self.store, self.config) if self.config.triggers else set()
        for name, connector in self.connectors.items():
            pool = OwnerPool()
            handoff = connector.handoff
            if handoff is not None and fetch_owners and self.config.assignment.enabled:
                try:
                    with self.store.session() as session:
                        assigned = assignment_counts(session, name)
                    pool = OwnerPool(self._owners(name, handoff), assigned)
                except CrmbridgeError as exc:
                    self.owners_unavailable[name] = str(exc)
                    get_logger(connector=name).warning("owners.unavailable", error=str(exc))
            found[name] = HandoffPlanner(
                self.config,
                pool,
                can_pause=handoff is not None and handoff.can_pause_sequences,
                pause_note=None if handoff is None else handoff.pause_note,
                can_act=handoff is not None,
                added_triggers=added,
            )
        return found

    def _owners(self, name: str, handoff: HandoffConnector) -> tuple[Owner, ...]:
        """The CRM's owners, read at most every OWNERS_TTL_S (planners are built per tick)."""
        cached = self._owner_cache.get(name)
        if cached is not None and time.monotonic() - cached[0] < OWNERS_TTL_S:
            return cached[1]
        owners = tuple(handoff.owners())
        self._owner_cache[name] = (time.monotonic(), owners)
        return owners

    def prepare(self, only: Sequence[str] | None = None) -> None:
        """Create crmbridge's custom properties in every CRM (or those named; idempotent).

        Not in shadow mode, which sends nothing to a CRM: the properties are created
        when writes are turned on (the next start, or ``crmbridge check``).
        """
        if self.shadow is not None:
            get_logger().info("schema.skipped", reason="shadow mode ([bridge] write = false)")
            return
        fields = own_fields(self.prefix, Texts(self.config.bridge.language, ENGLISH.zone))
        for name, connector in self.connectors.items():
            if only is None or name in only:
                connector.ensure_schema(fields)
                writer = company_writer(connector)
                if self.config.account_score.enabled and writer is not None:
                    writer.ensure_property(account_field(self.config.account_score, self.prefix))

    def read(
        self,
        connector: Connector,
        summary: CycleSummary,
        stop: Flag | None = None,
        progress: Progress | None = None,
        *,
        move_cursor: bool = True,
    ) -> None:
        """Store every page changed since the cursor, moving the cursor with each page.

        ``stop`` ends the read between pages (the next one resumes from the cursor);
        set before it begins, nothing is asked of the CRM.
        Without ``move_cursor`` the pages are stored and the cursor stays (``plan``'s
        read of a CRM never synced: the next cycle reads them again, as if unread).
        """
        if stop is not None and stop.is_set():
            return
        cursor = self.store.get_cursor(connector.name, CONTACTS_STREAM)
        companies = self._companies(connector)
        if companies is not None:
            companies.follow_changes(clock.now())
        own = own_property_names(self.prefix)
        mark = store_property(self.prefix)
        status_key = self.config.lifecycle.feedback_property
        wanted = model_properties(self.config)
        if companies is not None:
            wanted = sorted({*wanted, *companies.reader.link_properties})
        with self.store.session() as session:
            # A property read from now on is unknown before: the backtest must not
            # take it for empty then.
            property_history.note_read(session, connector.name, wanted, clock.now())
            session.commit()
        names = self.property_map(connector.name)
        for page in connector.read_changes(cursor, names.crm_names(wanted)):
            if names:
                page = replace(page, records=tuple(names.record(r) for r in page.records))
            events = [*page.events, *feedback_events(page.records, self.config.sla, status_key)]
            if events:
                # Before the page: once its cursor is stored these would not be read again.
                self.store.insert_events(events)
            # Before the page: a restored copy takes its own id before anything is planned.
            fork_if_restored(self.store.engine, (r.properties.get(mark) for r in page.records))
            if companies is not None:
                companies.contacts_read(page.records)
            result = self.store.store_page(
                connector.name,
                CONTACTS_STREAM,
                page.records,
                page.cursor if move_cursor else None,
                own,
            )
            if result.overwritten:
                loops = detect_loops(
                    self.store,
                    connector.name,
                    result.overwritten,
                    self.config.writeback,
                    clock.now(),
                )
                texts = Texts(self.config.bridge.language, ENGLISH.zone)
                for line in loop_summaries(loops, texts):
                    if line not in summary.sync_loops:
                        summary.sync_loops.append(line)
            merges = [(r.id, r.merged_ids) for r in page.records if r.merged_ids]
            if merges:
                follow_merges(self.store, connector.name, merges)
            if page.gone:
                forget_deleted(self.store, connector.name, page.gone)
            summary.read += len(page.records)
            if progress is not None:
                progress(READ, len(page.records), 0)
            summary.stored += result.stored
            summary.api_calls += 1
            if stop is not None and stop.is_set():
                return
        if companies is not None:
            companies.link(clock.now())

    def property_map(self, name: str) -> PropertyMap:
        """How connector ``name`` names the model's properties."""
        settings = self.config.connectors.tables().get(name)
        return PropertyMap(settings.property_map if settings is not None else {})

    def _rolls_up(self, connector: Connector) -> bool:
        return self.config.account_score.enabled and company_writer(connector) is not None

    def _links_companies(self, connector: Connector) -> bool:
        """Whether a read of ``connector`` links its contacts to their companies."""
        # The account score needs the links even when no rule reads a company.
        wanted = bool(self.company_reads) or self._rolls_up(connector)
        return wanted and company_reader(connector) is not None

    def _companies(self, connector: Connector) -> CompanySync | None:
        """The company steps of a read, when the model reads companies the CRM has."""
        reader = company_reader(connector)
        rolled_up = self._rolls_up(connector)
        if reader is None or not self._links_companies(connector):
            return None
        settings = self.config.account_score

        def regrouped(companies: Sequence[str], crm: str = connector.name) -> None:
            requeue_regrouped(self.store, crm, settings, self.prefix, companies, clock.now())

        return CompanySync(
            self.store,
            connector.name,
            reader,
            self.company_reads,
            on_regrouped=regrouped if rolled_up else None,
        )

    def unsynced(self) -> list[Connector]:
        """The connectors whose contacts no cycle has read yet (no stored cursor)."""
        return [
            connector
            for name, connector in self.connectors.items()
            if self.store.get_cursor(name, CONTACTS_STREAM) is None
        ]

    def plan(self, now: datetime) -> list[PlannedChange]:
        """What the next cycle would write for what is already stored. Stores nothing."""
        return self.forecast(now).changes

    def forecast(self, now: datetime, chosen: Selection | None = None) -> Forecast:
        """What the next cycle would write and do for what is stored, with the summary
        (``chosen``: for those contacts instead, as ``rescore --dry-run`` previews).

        The owners assignment would choose from are read from each connector's CRM
        (read only); the store is left as it was.
        """
        if chosen is None:
            due = either(Store.due_clause(now), outdated(self.engine.version))
            catch_up = pending(self.store, self.config)
            if cross_crm.changed(self.store, self.config):
                catch_up = everyone()
            where = due if catch_up is None else either(due, catch_up)
        else:
            where = chosen
        summary = PlanSummary(rules=rule_names(self.config))
        self.rescorer.summary = summary
        self.rescorer.waive = waiver(self.store, self.config, now)
        try:
            result = self.preview(now, where, fetch_owners=True)
        finally:
            self.rescorer.summary = None
            self.rescorer.waive = None
        return Forecast(
            [*result.changes, *self._planned_accounts(result.changes)],
            summary,
            result.held,
            dict(self.owners_unavailable),
            len(result.failed),
        )

    def preview(
        self, now: datetime, where: Selection, *, fetch_owners: bool = False
    ) -> RescoreResult:
        """Rescore the contacts ``where`` selects without storing or writing anything
        (``fetch_owners``: with the owners each CRM lists now, as a cycle would)."""
        self.rescorer.planners = self.planners(fetch_owners=fetch_owners)
        self.rescorer.default_planner = HandoffPlanner(
            self.config, added_triggers=added_triggers(self.store, self.config)
        )
        return self.rescorer.run(now, dry_run=True, where=where)

    def catch_up(self, now: datetime) -> int:
        """Once per process (a configuration edit takes a restart): flag for rescoring
        every contact scored with another model version, and bring the leads already
        qualifying under a hand-off step turned on since the last run (see
        :mod:`crmbridge.sync.handoff_switches`). How many contacts were outdated."""
        if self.outdated_marked is not None:
            return 0
        version = self.engine.version
        marked = mark_dirty(self.store, outdated(version))
        if marked:
            get_logger().info("rescore.model_changed", model_version=version, outdated=marked)
        apply_switches(self.store, self.config, now)
        if cross_crm.changed(self.store, self.config):
            # Leads of several CRMs merge or split, values move to their owner: every
            # contact is rescored (only what changes is written).
            flagged = mark_dirty(self.store, everyone())
            get_logger().info("cross_crm.changed", contacts=flagged)
        cross_crm.record(self.store, self.config)
        added = track_triggers(self.store, self.config)
        if added:
            # Every lead meets the new triggers now, as a baseline: none is enrolled for
            # what it already matched (see crmbridge.handoff.triggers).
            flagged = mark_dirty(self.store, everyone())
            get_logger().info("handoff.triggers_added", triggers=len(added), leads=flagged)
        self.outdated_marked = marked
        return marked

    def run_once(
        self,
        now: datetime,
        *,
        recover_all: bool | None = None,
        only: str | None = None,
        read: bool = True,
        guard: Guard | None = None,
        stop: threading.Event | None = None,
        progress: Progress | None = None,
        adopt_held: bool = False,
        must_read: bool = False,
    ) -> CycleSummary:
        """One cycle; every failure is recorded, none stops the other connectors.

        ``only`` limits it to one connector, ``read=False`` skips reading the CRM (a
        drain tick), ``guard`` wraps the singleton steps (each connector's read, and
        rescoring) in a lock shared by replicas, and ``stop`` ends writing between
        batches for a graceful shutdown. ``progress`` is told how far the cycle has got
        (see :mod:`crmbridge.sync.progress`). ``adopt_held`` takes over, after reading,
        the contacts another store wrote (see :mod:`crmbridge.sync.adopt`). With
        ``must_read`` a failed read ends the cycle before anything is rescored or
        written (a daemon's first poll: a restored backup must see the CRM's newer
        marks before it writes).
        """
        started = time.monotonic()
        summary = CycleSummary()
        run_id = self.store.start_run(clock.now())
        try:
            self._cycle(
                summary,
                now,
                recover_all,
                only,
                read,
                guard,
                stop,
                progress,
                adopt_held,
                must_read=must_read,
            )
        except BaseException as exc:
            # Whatever ends the cycle (a bug, a signal), its row must not stay "running".
            summary.failures.append(CycleFailure.of(ALL_CONNECTORS, "cycle", exc))
            self._finish(run_id, summary, started, "aborted")
            raise
        if stop is not None and stop.is_set():
            summary.interrupted = True
        status = "ok" if summary.ok else "failed"
        self._finish(run_id, summary, started, "stopped" if summary.interrupted else status)
        return summary

    def _cycle(
        self,
        summary: CycleSummary,
        now: datetime,
        recover_all: bool | None,
        only: str | None,
        read: bool,
        guard: Guard | None,
        stop: threading.Event | None,
        progress: Progress | None,
        adopt_held: bool = False,
        *,
        must_read: bool = False,
    ) -> None:
        recover_everything = self.store.is_sqlite if recover_all is None else recover_all
        lock = guard or _always
        chosen = [c for name, c in self.connectors.items() if only in (None, name)]
        drainers = [self._drainer(connector, stop, progress) for connector in chosen]
        recovered: set[str] = set()
        rounds = 0  # rescoring rounds while the read goes on (one pass for the cycle)

        # The read counts apart: it may run on its own thread (merged once it ends).
        reading_summary = CycleSummary()

        def read_all(halt: threading.Event | None) -> None:
            ended = Either(halt, stop)
            for connector in chosen:
                if ended.is_set():
                    return  # not even a page of the connectors left
                with lock(f"poll:{connector.name}") as held:
                    if held:
                        self._guard(
                            reading_summary,
                            connector.name,
                            "read",
                            lambda c=connector: self.read(c, reading_summary, ended, progress),
                        )

        # Contacts are linked to their companies when the whole read has been stored
        # (batched link and company reads): scored before that, a lead would be scored,
        # and maybe written, without its company's data first.
        # So are a person's records in several CRMs: scored before the other CRM's read,
        # a record would be scored, and written, alone first.
        whole_read_first = (
            must_read
            or any(self._links_companies(c) for c in chosen)
            or len(self.rescorer.linked_crms & {c.name for c in chosen}) > 1
        )
        if read and whole_read_first:
            read_all(stop)
            summary.absorb(reading_summary)
            if must_read and any(f.stage == "read" for f in summary.failures):
                return
        elif read:
            # What is stored is scored while the rest is read, and what is scored is
            # written meanwhile, each on threads of their own (see crmbridge.sync.overlap):
            # a write mostly waits for the CRM, the time rounds of scoring fill.
            writers = [CycleSummary() for _ in range(WRITERS)]
            recovering = threading.Lock()

            def write_full(halt: threading.Event, part: CycleSummary) -> None:
                with recovering:  # every writer waits for what was in flight to be settled
                    for drainer in drainers:
                        self._recover(part, drainer, now, lock, recover_everything, recovered)
                # Whole batches only until the read and its scoring end: a part-filled
                # batch would spend a call the rest of the read fills.
                while not halt.is_set():
                    wrote = sum(self._write(part, d, now, full=True) for d in drainers)
                    if not wrote:
                        halt.wait(ROUND_WAIT_S)

            try:
                with ExitStack() as threads:
                    reading = threads.enter_context(Background(read_all, stop, "crmbridge-read"))
                    writing = [
                        threads.enter_context(
                            Background(partial(write_full, part=part), stop, f"crmbridge-write-{i}")
                        )
                        for i, part in enumerate(writers, 1)
                    ]
                    busy = True
                    while reading.running(0 if busy else ROUND_WAIT_S):
                        scored = self._rescore(
                            summary, now, lock, progress, ROUND_MOST, same_pass=rounds > 0
                        )
                        busy = bool(scored)
                        rounds += scored is not None
                    for writer in writing:
                        writer.halt.set()
            finally:
                for part in (reading_summary, *writers):
                    summary.absorb(part)
        with lock("rescore") as held:
            if held and adopt_held:
                summary.adoption = adopt(self.store, self.prefix, only)
        # The account scores roll up what the whole cycle scored, once.
        self._rescore(
            summary,
            now,
            lock,
            progress,
            same_pass=rounds > 0,
            then=lambda: self._account_scores(summary, chosen, now),
        )
        for drainer in drainers:
            self._recover(summary, drainer, now, lock, recover_everything, recovered)
            self._write(summary, drainer, now)
        self._count_held(summary, chosen, tell=read)

    def _rescore(
        self,
        summary: CycleSummary,
        now: datetime,
        lock: Guard,
        progress: Progress | None,
        most: int | None = None,
        *,
        same_pass: bool = False,
        then: Callable[[], None] | None = None,
    ) -> int | None:
        """Rescore the due contacts (once the model is caught up; about ``most`` of
        them if set; ``same_pass`` goes on with the cycle's pass), then run ``then``
        under the same lock; how many were scored, None when another replica holds the
        rescoring."""
        with lock("rescore") as held:
            if not held:
                return None
            marked = self.catch_up(now)
            self.rescorer.planners = self.planners()
            rescored = self.rescorer.run(now, progress=progress, most=most, same_pass=same_pass)
            if marked:
                get_logger().info(
                    "rescore.model_applied",
                    model_version=self.engine.version,
                    scored=rescored.scored,
                    changed=rescored.changed,
                    outdated=count_selected(self.store, outdated(self.engine.version)),
                )
            summary.scored_ids |= rescored.scored_ids
            summary.changed_ids |= rescored.changed_ids
            summary.scored = len(summary.scored_ids)
            summary.changed = len(summary.changed_ids)
            summary.failures.extend(
                CycleFailure(lead.crm, "rescore", lead.kind, lead.error, crm_id=lead.crm_id)
                for lead in rescored.failed
            )
            if then is not None:
                then()
            return rescored.scored

    def _drainer(
        self, connector: Connector, stop: threading.Event | None, progress: Progress | None
    ) -> Drainer:
        return Drainer(
            self.store,
            connector,
            self.config.outbox,
            stop=stop,
            notifier=self.notifier,
            shadow=self.shadow,
            progress=progress,
        )

    def _recover(
        self,
        summary: CycleSummary,
        drainer: Drainer,
        now: datetime,
        lock: Guard,
        everything: bool,
        recovered: set[str],
    ) -> None:
        """Settle the rows a stopped process left in flight, once a cycle, before the
        connector's first write."""
        name = drainer.connector.name
        if name in recovered:
            return
        recovered.add(name)
        # One recovery at a time (replicas, and this process's jobs): two would both
        # put an orphaned row back while the first one's drain already resent it.
        with lock(f"recover:{name}") as held:
            if held:
                self._guard(
                    summary,
                    name,
                    "recover",
                    lambda: drainer.recover(now, all_in_flight=everything),
                )

    def _write(
        self, summary: CycleSummary, drainer: Drainer, now: datetime, *, full: bool = False
    ) -> int:
        """Drain the connector's outbox (only whole batches of property writes when
        ``full``); how many records were written."""
        before = summary.written
        self._guard(
            summary,
            drainer.connector.name,
            "write",
            lambda: self._drain(drainer, now, summary, full=full),
        )
        return summary.written - before

    def _planned_accounts(self, changes: Sequence[PlannedChange]) -> list[PlannedChange]:
        """The account scores the planned score changes would make the next cycle write."""
        settings = self.config.account_score
        if not settings.enabled:
            return []
        return [
            change
            for name, connector in self.connectors.items()
            if company_writer(connector) is not None
            for change in planned_account_scores(self.store, name, settings, self.prefix, changes)
        ]

    def _account_scores(
        self, summary: CycleSummary, chosen: Sequence[Connector], now: datetime
    ) -> None:
        """Queue the account scores of the companies whose contacts were just scored."""
        settings = self.config.account_score
        if not settings.enabled:
            return
        for connector in chosen:
            if company_writer(connector) is None:
                continue
            self._guard(
                summary,
                connector.name,
                "rescore",
                lambda c=connector: update_account_scores(
                    self.store, c.name, settings, self.prefix, now
                ),
            )

    def _count_held(
        self, summary: CycleSummary, chosen: Sequence[Connector], *, tell: bool
    ) -> None:
        """Count the contacts held for another store; ``tell`` logs them (once per poll,
        not on every drain tick in between)."""
        names = {connector.name for connector in chosen}
        held = {n: count for n, count in self.store.held_counts().items() if n in names}
        summary.held_contacts = held
        for name, count in held.items() if tell else ():
            get_logger(connector=name).warning(
                "contacts.held",
                contacts=count,
                reason="written by another crmbridge store; crmbridge adopt takes them over",
            )

    def _finish(self, run_id: int, summary: CycleSummary, started: float, status: str) -> None:
        """Log the cycle's outcome and close its ``sync_runs`` row with ``status``."""
        summary.duration_s = round(time.monotonic() - started, 3)
        log = get_logger(cycle=run_id)
        errors = summary.errors
        for message in errors[:20]:
            log.warning("cycle.error", error=message)
        done = {k: v for k, v in summary.as_dict().items() if k not in ("errors", "failures")}
        log.info("cycle.done", status=status, **done)
        counts = {k: getattr(summary, k) for k in RUN_COUNTS}
        self.store.finish_run(
            run_id,
            finished_at=clock.now(),
            status=status,
            errors={"messages": errors[:100]},
            **counts,
        )

    def _drain(
        self, drainer: Drainer, now: datetime, summary: CycleSummary, *, full: bool = False
    ) -> None:
        result = drainer.drain_full(now) if full else drainer.drain(now)
        summary.written += result.written
        summary.actions += result.actions
        summary.companies_written += result.companies
        summary.written_ids.setdefault(drainer.connector.name, []).extend(result.written_ids)
        summary.failed += result.failed
        summary.dead += result.dead
        summary.api_calls += result.calls
        summary.failures.extend(result.failures)
        counts = summary.writes_by_status.setdefault(drainer.connector.name, {})
        for status, count in (
            ("done", result.written),
            ("failed", result.failed - result.dead),
            ("dead", result.dead),
        ):
            counts[status] = counts.get(status, 0) + count
        if result.held:
            summary.held.append(f"{drainer.connector.name}: {result.held}")
        if result.stopped == SHUTTING_DOWN:
            # A graceful stop leaves the rest to the next start: not a failure.
            summary.interrupted = True

    @staticmethod
    def _guard(summary: CycleSummary, name: str, stage: Stage, action: Any) -> None:
        try:
            action()
        except CrmbridgeError as exc:
            summary.failures.append(CycleFailure.of(name, stage, exc))


def summarize_changes(changes: Sequence[PlannedChange]) -> dict[str, list[PlannedChange]]:
    """Planned changes grouped by contact (``crm:id``), in plan order."""
    grouped: dict[str, list[PlannedChange]] = {}
    for change in changes:
        grouped.setdefault(f"{change.crm}:{change.crm_id}", []).append(change)
    return grouped
