"""Drain the outbox through a connector: batched, per-record results, crash-safe."""

from __future__ import annotations

import threading
from collections import defaultdict
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from crmbridge import clock
from crmbridge.connector import (
    Action,
    CompanyWriter,
    Connector,
    HandoffConnector,
    Write,
    WriteResult,
    company_reader,
    company_writer,
)
from crmbridge.errors import AuthError, CrmbridgeError, MissingScope, RateLimited, RetryLater
from crmbridge.logging import get_logger
from crmbridge.settings import OutboxSettings
from crmbridge.store import outbox
from crmbridge.store.controls import writes_state
from crmbridge.store.crm_values import remember_crm_values
from crmbridge.store.handoff_state import handoff_state, save_handoff_state
from crmbridge.store.repository import Store
from crmbridge.store.session import Session
from crmbridge.sync.attempts import mark_failed
from crmbridge.sync.failures import CycleFailure, FailureKind, describe, failure_kind, render
from crmbridge.sync.lease import kept_claim
from crmbridge.sync.notify import WEBHOOK, Notifier
from crmbridge.sync.progress import SENT, WRITTEN, Progress
from crmbridge.sync.shadow import ShadowLog
from crmbridge.sync.writeback import same_value

#: Action kinds a CRM connector performs (and can be asked about after a crash).
CRM_ACTIONS = ("task", "enroll", "list_add")
#: Why a queued enrollment is dropped: the lead replied after it was planned.
PAUSED_SKIP = "not sent: the lead replied (sequences paused) after it was planned"
ALREADY_THERE = "not sent again: the CRM already holds it (an earlier attempt or store made it)"
#: Why a task waits: it is never created before the CRM was asked for one with its Ref.
UNCHECKED = "not created yet: the CRM could not be asked whether the task already exists"
#: Why draining stopped when the process is stopping (a graceful stop, not a failure).
SHUTTING_DOWN = "shutting down"
#: One at a time: a claim's lease must outlast the calls made under it. Kinds the
#: connector batches (``HandoffConnector.batch_sizes``) are claimed a batch at a time,
#: the claim renewed before each call made under it.
ACTION_CLAIM = 1
#: Why a batch waits for a later cycle: its send failed without an answer and the CRM
#: could not be asked (in time) which of its actions it applied.
AMBIGUOUS = (
    "not settled: the CRM did not answer the batch and could not be asked in time which "
    "of it was applied; it is asked again before anything is sent"
)
#: How often an ambiguous batch is asked about and the rest sent again in one cycle.
SETTLE_ROUNDS = 3


@dataclass
class DrainResult:
    """Records written and failed, and why draining stopped early if it did."""

    written: int = 0
    actions: int = 0
    #: Companies whose properties (the account score) were written.
    companies: int = 0
    #: Records (or actions) whose write failed, ``dead`` of them for good.
    failed: int = 0
    dead: int = 0
    calls: int = 0
    reconciled: int = 0
    #: Why draining stopped before the outbox was empty (shutting down, or a failure
    #: of the connector as a whole, which ``failures`` holds typed).
    stopped: str | None = None
    #: Why nothing (more) was sent although nothing failed: shadow mode or a pause.
    held: str | None = None
    written_ids: list[str] = field(default_factory=list)
    #: What failed, typed: the connector as a whole (a batch, a stop), or one record.
    failures: list[CycleFailure] = field(default_factory=list)

    @property
    def errors(self) -> list[str]:
        """The failures as lines for people."""
        return render(self.failures)

    def stop(self, connector: str, exc: BaseException) -> None:
        """Draining stops on a failure of the connector as a whole (auth, rate limit)."""
        failure = CycleFailure.of(connector, "write", exc)
        self.failures.append(failure)
        self.stopped = describe(failure)


class Drainer:
    """Sends due outbox rows of one connector in batches of its maximum size."""

    def __init__(
        self,
        store: Store,
        connector: Connector,
        settings: OutboxSettings,
        *,
        stop: threading.Event | None = None,
        notifier: Notifier | None = None,
        shadow: ShadowLog | None = None,
        progress: Progress | None = None,
    ) -> None:
        self.store = store
        self.connector = connector
        self.settings = settings
        self.stop = stop
        self.notifier = notifier
        self.shadow = shadow
        self.progress = progress

    def recover(self, now: datetime, *, all_in_flight: bool) -> int:
        """Settle rows a dead process left in flight, asking the CRM what it holds.

        A row whose value the CRM already holds is done (it was applied before the
        crash); any other goes back to pending. ``all_in_flight`` is right only when no
        other process can be draining (SQLite, single replica).
        """
        # Claims are stamped with the wall clock; ``now`` may be fixed in the past for
        # scoring (--now), so the later of the two measures the lease.
        older_than = None if all_in_flight else max(now, clock.now()) - self.settings.lease
        with self.store.session() as session:
            found = outbox.orphaned(session, self.connector.name, older_than)
            if not found:
                return 0
            companies = [row for row in found if row.kind == outbox.COMPANY_PROPERTY]
            recovered = self._recover_companies(session, companies)
            actions = [
                row for row in found if not row.is_property and row.kind != outbox.COMPANY_PROPERTY
            ]
            settled, unknown = self._settle_actions(actions)
            outbox.mark_done(session, settled)
            # Not found: sent again, but counted as attempted so the CRM is asked once
            # more right before (see _drain_actions).
            outbox.release(
                session,
                [row for row in actions if row not in settled and row not in unknown],
                attempted=True,
            )
            rows = [row for row in found if row.is_property]
            if not rows:
                session.commit()
                return len(settled) + recovered
            by_record: dict[str, list[outbox.Queued]] = defaultdict(list)
            for row in rows:
                by_record[row.crm_id].append(row)
            names = sorted({row.target for row in rows})
            held = self.connector.read_values(list(by_record), names)
            applied = [
                row
                for row in rows
                if same_value(row.value, held.get(row.crm_id, {}).get(row.target))
            ]
            outbox.mark_done(session, applied)
            self._remember(session, applied)
            outbox.release(session, [row for row in rows if row not in applied])
            session.commit()
            return len(applied) + len(settled) + recovered

    def _recover_companies(self, session: Session, rows: list[outbox.Queued]) -> int:
        """Company rows left in flight: done when the company holds the value (read
        back), else pending again (setting a property twice is harmless). How many
        were done."""
        reader = company_reader(self.connector)
        if not rows or reader is None:
            outbox.release(session, rows)
            return 0
        names = sorted({row.target for row in rows})
        try:
            records = reader.read(sorted({row.crm_id for row in rows}), names)
        except CrmbridgeError as exc:
            # Sent again instead (setting a property twice is harmless): an unreadable
            # company must not hold up the recovery of everything else.
            get_logger(connector=self.connector.name).warning(
                "account_score.unverified", count=len(rows), error=str(exc)
            )
            outbox.release(session, rows)
            return 0
        held = {record.id: record.properties for record in records}
        applied = [
            row for row in rows if same_value(row.value, held.get(row.crm_id, {}).get(row.target))
        ]
        outbox.mark_done(session, applied)
        outbox.release(session, [row for row in rows if row not in applied])
        return len(applied)

    def _settle_actions(
        self, rows: list[outbox.Queued]
    ) -> tuple[list[outbox.Queued], list[outbox.Queued]]:
        """Interrupted actions the CRM already holds, and those it could not be asked
        about now (left in flight for the next recovery). A webhook post cannot be asked.
        """
        settled: list[outbox.Queued] = []
        unknown: list[outbox.Queued] = []
        handoff = self.connector.handoff
        batched = _batched_kinds(self.connector)
        grouped = [row for row in rows if row.kind in batched]
        if grouped and handoff is not None:
            # A crash mid-batch leaves up to a batch in flight: asked about together.
            try:
                held = handoff.performed_batch([_action(row) for row in grouped])
            except CrmbridgeError as exc:
                get_logger(connector=self.connector.name).warning(
                    "action.unverified", kind="batch", count=len(grouped), error=str(exc)
                )
                unknown.extend(grouped)
            else:
                settled.extend(row for row in grouped if row.target in held)
        for row in rows:
            if row.kind in batched:
                continue
            answer = self._performed(row)
            if answer is None and row.kind in CRM_ACTIONS:
                unknown.append(row)
            elif answer:
                settled.append(row)
        return settled, unknown

    def _performed(self, row: outbox.Queued, *, wait_for_index: bool = True) -> bool | None:
        """Does the CRM hold this action already? None when it cannot say."""
        handoff = self.connector.handoff
        if row.kind not in CRM_ACTIONS or handoff is None:
            return False
        try:
            return handoff.performed(_action(row), wait_for_index=wait_for_index)
        except CrmbridgeError as exc:
            get_logger(connector=self.connector.name).warning(
                "action.unverified", kind=row.kind, crm_id=row.crm_id, error=str(exc)
            )
            return None

    def drain(self, now: datetime) -> DrainResult:
        """Send every due row; stop early on auth or rate-limit trouble, or a pause.

        In shadow mode nothing is sent: the waiting rows are logged and stay pending.
        """
        if self.shadow is not None:
            waiting = self.shadow.report(self.store, self.connector.name)
            return DrainResult(held=f"shadow mode ([bridge] write = false): {waiting} waiting")
        if self.progress is not None:
            with self.store.session() as session:
                rows, records = outbox.due_counts(session, self.connector.name, now)
            self.progress(SENT, 0, rows)
            self.progress(WRITTEN, 0, records)
        result = self._drain_properties(now)
        writer = company_writer(self.connector)
        if writer is not None and result.stopped is None and result.held is None:
            self._drain_companies(writer, now, result)
        if result.stopped is None and result.held is None:
            self._drain_actions(now, result)
        return result

    def drain_full(self, now: datetime) -> DrainResult:
        """Send the property writes that fill whole batches, nothing else: while a cycle
        is still reading, a part-filled batch would spend a call the rest of the read
        fills. What is left goes with the cycle's final :meth:`drain`."""
        if self.shadow is not None:
            return DrainResult()
        return self._drain_properties(now, full=True)

    def _halted(self, result: DrainResult) -> bool:
        """Stop before the next batch: shutting down, or writes paused (checked each time,
        so a pause takes effect between two batches of a long drain)."""
        if self.stop is not None and self.stop.is_set():
            result.stopped = SHUTTING_DOWN
            return True
        with self.store.session() as session:
            state = writes_state(session)
        if state.paused:
            by = f" by {state.by}" if state.by else ""
            result.held = f"writes paused{by}" + (f": {state.reason}" if state.reason else "")
            return True
        return False

    def _drain_actions(self, now: datetime, result: DrainResult) -> None:
        """Send due hand-off actions: the kinds the connector batches a batch a call,
        the others one by one (each is its own CRM call)."""
        name = self.connector.name
        batched = _batched_kinds(self.connector)
        for batch_kind, size in batched.items():
            self._drain_batches(batch_kind, size, now, result)
            if result.stopped is not None or result.held is not None:
                return
        while True:
            if self._halted(result):
                return
            with self.store.session() as session, ExitStack() as claim:
                rows = outbox.claim_actions(
                    session, name, ACTION_CLAIM, now, exclude=(*batched, outbox.COMPANY_PROPERTY)
                )
                if not rows:
                    return
                # Asking the CRM first (with a wait for its index) and sending: two calls.
                claim.enter_context(kept_claim(self.store, rows, self.settings.lease))
                for index, row in enumerate(rows):
                    if row.kind == "enroll" and _paused(session, row.contact_id):
                        outbox.mark_skipped(session, [row], PAUSED_SKIP)
                        _forget_enrollment(session, row)
                        session.commit()
                        continue
                    if row.attempts > 0 or row.kind == "task":
                        # Before a task's first creation: another store (a deleted or
                        # restored one) may have created it already. After an attempt
                        # that failed ambiguously (a timeout after the CRM had created
                        # it), the search index is given time to show it.
                        there = self._performed(row, wait_for_index=row.attempts > 0)
                        if there:
                            outbox.mark_skipped(session, [row], ALREADY_THERE)
                            session.commit()
                            continue
                        if there is None and row.kind == "task":
                            unchecked = WriteResult(row.crm_id, False, UNCHECKED, retriable=True)
                            self._refused(
                                session, [row], unchecked, now, result, row.kind, "unavailable"
                            )
                            session.commit()
                            continue
                    kind: FailureKind = "bad_record"
                    try:
                        result.calls += 1
                        outcome = self._perform(row)
                    # The CRM said when to come back: the rows wait, no attempt counted.
                    except (RateLimited, RetryLater) as exc:
                        self._postpone(
                            session, rows[index:], now + timedelta(seconds=exc.retry_after)
                        )
                        result.stop(name, exc)
                        return
                    except MissingScope as exc:
                        # A scope this action needs is missing: this action cannot
                        # succeed, the others (and property writes) still can.
                        outcome = WriteResult(row.crm_id, False, str(exc), retriable=False)
                        kind = failure_kind(exc)
                    except AuthError as exc:
                        outbox.release(session, rows[index:])
                        session.commit()
                        result.stop(name, exc)
                        return
                    except CrmbridgeError as exc:
                        outcome = WriteResult(row.crm_id, False, str(exc), retriable=True)
                        kind = failure_kind(exc)
                    if outcome.ok:
                        outbox.mark_done(session, [row])
                        result.actions += 1
                    else:
                        self._refused(session, [row], outcome, now, result, row.kind, kind)
                    # Each outcome is committed at once: a crash loses at most the one
                    # action in flight, which recovery settles by asking the CRM.
                    session.commit()
                    self._tell(SENT, 1)

    def _drain_batches(self, kind: str, size: int, now: datetime, result: DrainResult) -> None:
        """Send due actions of a batched ``kind``, ``size`` a call."""
        handoff = self.connector.handoff
        if handoff is None:
            return
        while True:
            if self._halted(result):
                return
            with self.store.session() as session:
                rows = outbox.claim_actions(session, self.connector.name, size, now, kinds=(kind,))
                if not rows:
                    return
                with kept_claim(self.store, rows, self.settings.lease):
                    self._send_batch(session, handoff, rows, now, result)
                    # Committed before the renewals end: on SQLite a renewal waiting
                    # for this write would otherwise hold up their end.
                    session.commit()
                self._tell(SENT, len(rows))
            if result.stopped is not None:
                return

    def _send_batch(
        self,
        session: Session,
        handoff: HandoffConnector,
        rows: list[outbox.Queued],
        now: datetime,
        result: DrainResult,
    ) -> None:
        """Ask, send, and settle one claimed batch; every row ends done, failed or released.

        Exactly once, per action key (a task carries it as its Ref):

        - Before a first send the CRM is asked once for the whole batch (its search
          batches the Refs): only another store (a restored backup, a deleted and
          recreated one) could have created them, and such a copy is older than this
          batch, so the search shows it without waiting for the index.
        - An ambiguous send (no answer: a timeout, a 5xx) is settled in the cycle: the
          CRM is asked again once its search has caught up (``index_lag_s``, the wait
          ``performed_batch`` makes for what it does not find at once); what it holds is
          done and only the rest is sent again, at most ``SETTLE_ROUNDS`` times.
        - If the CRM cannot be asked in time (its search fails too), nothing is sent
          again in this cycle: the rows wait with the attempt counted, and a row with
          an attempt behind it is always asked about, with the wait, before a send.
        - A crash in between leaves the rows in flight; recovery asks the same way.
        """
        name = self.connector.name
        attempted = any(row.attempts > 0 for row in rows)
        try:
            held = handoff.performed_batch([_action(row) for row in rows], wait_for_index=attempted)
        # The CRM said when to come back: the rows wait, no attempt counted.
        except (RateLimited, RetryLater) as exc:
            self._postpone(session, rows, now + timedelta(seconds=exc.retry_after))
            result.stop(name, exc)
            return
        except AuthError as exc:
            outbox.release(session, rows)
            result.stop(name, exc)
            return
        except CrmbridgeError as exc:
            get_logger(connector=name).warning(
                "action.unverified", kind="batch", count=len(rows), error=str(exc)
            )
            unchecked = WriteResult("", False, UNCHECKED, retriable=True)
            self._refused(session, rows, unchecked, now, result, kind="unavailable")
            return
        outbox.mark_skipped(session, [row for row in rows if row.target in held], ALREADY_THERE)
        pending = [row for row in rows if row.target not in held]
        for _ in range(SETTLE_ROUNDS):
            if not pending:
                return
            outbox.renew(session, pending)
            try:
                result.calls += 1
                outcomes = handoff.perform_batch([_action(row) for row in pending])
            except (RateLimited, RetryLater) as exc:
                # Refused before anything was applied (429, locked, migrating): the rows
                # wait until the CRM said, no attempt counted.
                self._postpone(session, pending, now + timedelta(seconds=exc.retry_after))
                result.stop(name, exc)
                return
            except MissingScope as exc:
                refusal = WriteResult("", False, str(exc), retriable=False)
                self._refused(session, pending, refusal, now, result, kind=failure_kind(exc))
                return
            except AuthError as exc:
                outbox.release(session, pending)
                result.stop(name, exc)
                return
            except CrmbridgeError as exc:
                rest = self._settle(session, handoff, pending, exc, now, result)
                if rest is None:
                    return
                pending = rest
                continue
            for row, outcome in zip(pending, outcomes, strict=True):
                if outcome.ok:
                    outbox.mark_done(session, [row])
                    result.actions += 1
                else:
                    self._refused(session, [row], outcome, now, result, row.kind)
            return
        if pending:
            self._defer(session, pending, now, result)

    def _settle(
        self,
        session: Session,
        handoff: HandoffConnector,
        pending: list[outbox.Queued],
        exc: CrmbridgeError,
        now: datetime,
        result: DrainResult,
    ) -> list[outbox.Queued] | None:
        """After an ambiguous send: what the CRM holds is done; the rest, to send again.

        None when the CRM could not be asked (the rows are deferred to a later cycle).
        """
        log = get_logger(connector=self.connector.name)
        log.warning("action.ambiguous", kind="batch", count=len(pending), error=str(exc))
        outbox.renew(session, pending)
        try:
            held = handoff.performed_batch([_action(row) for row in pending], wait_for_index=True)
        except CrmbridgeError as asked:
            log.warning("action.unverified", kind="batch", count=len(pending), error=str(asked))
            self._defer(session, pending, now, result)
            return None
        made = [row for row in pending if row.target in held]
        outbox.mark_done(session, made)
        result.actions += len(made)
        return [row for row in pending if row.target not in held]

    def _defer(
        self, session: Session, rows: list[outbox.Queued], now: datetime, result: DrainResult
    ) -> None:
        """Not sent again in this cycle: the attempt is counted, so the CRM is asked
        (after its index lag) before any later send."""
        unsettled = WriteResult("", False, AMBIGUOUS, retriable=True)
        self._refused(session, rows, unsettled, now, result, kind="unavailable")

    def _tell(self, counter: str, done: int) -> None:
        if self.progress is not None:
            self.progress(counter, done, 0)

    def _perform(self, row: outbox.Queued) -> WriteResult:
        if row.kind == WEBHOOK:
            if self.notifier is None:
                return WriteResult(row.crm_id, False, "no notification webhook is configured")
            return self.notifier.send(row.crm_id, row.target, dict(row.payload or {}))
        handoff = self.connector.handoff
        if handoff is None:
            return WriteResult(
                row.crm_id, False, f"the {self.connector.name} connector has no hand-off actions"
            )
        return handoff.perform(_action(row))

    def _drain_properties(self, now: datetime, *, full: bool = False) -> DrainResult:
        result = DrainResult()
        name = self.connector.name
        after = 0
        while True:
            if self._halted(result):
                return result
            with self.store.session() as session:
                size = self.connector.max_batch_size
                rows = outbox.claim(session, name, size, now, after, full=full)
                if not rows:
                    return result
                after = max(row.id for row in rows)
                by_record: dict[str, list[outbox.Queued]] = defaultdict(list)
                for row in rows:
                    by_record[row.crm_id].append(row)
                if full and self.progress is not None:
                    # drain() counts what is due when it starts; these were not due then.
                    self.progress(SENT, 0, len(rows))
                    self.progress(WRITTEN, 0, len(by_record))
                batch = [
                    Write(crm_id, {r.target: r.value for r in group})
                    for crm_id, group in by_record.items()
                ]
                try:
                    result.calls += 1
                    # Splitting a batch to isolate a bad record makes several calls.
                    with kept_claim(self.store, rows, self.settings.lease):
                        outcomes = self.connector.write(batch)
                # The CRM said when to come back: the rows wait, no attempt counted.
                except (RateLimited, RetryLater) as exc:
                    self._postpone(session, rows, now + timedelta(seconds=exc.retry_after))
                    result.stop(name, exc)
                    return result
                except (AuthError, MissingScope) as exc:
                    # No contact can be written without the credentials or the write
                    # scope: the rows wait, their attempts untouched, until they are fixed.
                    outbox.release(session, rows)
                    session.commit()
                    result.stop(name, exc)
                    return result
                except CrmbridgeError as exc:
                    dead = mark_failed(
                        session, rows, str(exc), retriable=True, settings=self.settings, now=now
                    )
                    session.commit()
                    result.failed += len(by_record)
                    result.dead += len(dead)
                    result.failures.append(CycleFailure.of(name, "write", exc))
                    self._tell(SENT, len(rows))
                    continue
                written_before = result.written
                done, written = self._settle_writes(
                    session, by_record, outcomes, now, result, "record"
                )
                result.written += len(written)
                result.written_ids.extend(written)
                outbox.mark_done(session, done)
                self._remember(session, done)
                session.commit()
                self._tell(SENT, len(rows))
                self._tell(WRITTEN, result.written - written_before)

    def _drain_companies(self, writer: CompanyWriter, now: datetime, result: DrainResult) -> None:
        """Send due company property rows, a batch of companies a call.

        Each row is marked done in the transaction that holds its claim: a crash after
        the send leaves it in flight, and recovery reads the company back. Sending a
        value again (after an ambiguous failure) sets the same property once more.
        """
        name = self.connector.name
        while True:
            if self._halted(result):
                return
            with self.store.session() as session:
                rows = outbox.claim_actions(
                    session, name, writer.write_batch_size, now, kinds=(outbox.COMPANY_PROPERTY,)
                )
                if not rows:
                    return
                # A value retried after a newer one of its company would put it back.
                stale = outbox.superseded_company_rows(session, rows)
                if stale:
                    outbox.mark_skipped(session, stale, "superseded by a newer value")
                    session.commit()
                    rows = [row for row in rows if row not in stale]
                    if not rows:
                        continue
                by_company: dict[str, list[outbox.Queued]] = defaultdict(list)
                for row in rows:
                    by_company[row.crm_id].append(row)
                batch = [
                    Write(company, {r.target: r.value for r in group})
                    for company, group in by_company.items()
                ]
                try:
                    result.calls += 1
                    with kept_claim(self.store, rows, self.settings.lease):
                        outcomes = writer.write(batch)
                except (RateLimited, RetryLater) as exc:
                    self._postpone(session, rows, now + timedelta(seconds=exc.retry_after))
                    result.stop(name, exc)
                    return
                except (AuthError, MissingScope) as exc:
                    outbox.release(session, rows)
                    session.commit()
                    result.stop(name, exc)
                    return
                except CrmbridgeError as exc:
                    dead = mark_failed(
                        session, rows, str(exc), retriable=True, settings=self.settings, now=now
                    )
                    session.commit()
                    result.failed += len(by_company)
                    result.dead += len(dead)
                    result.failures.append(CycleFailure.of(name, "write", exc))
                    continue
                done, written = self._settle_writes(
                    session, by_company, outcomes, now, result, "company"
                )
                result.companies += len(written)
                outbox.mark_done(session, done)
                session.commit()
                self._tell(SENT, len(rows))

    def _settle_writes(
        self,
        session: Session,
        by_record: dict[str, list[outbox.Queued]],
        outcomes: list[WriteResult],
        now: datetime,
        result: DrainResult,
        subject: str,
    ) -> tuple[list[outbox.Queued], list[str]]:
        """Settle a batch's records by their outcomes: the rows to mark done and the
        records written; refused ones retry or die. A record the connector did not
        report on is not known to be written: it is retried."""
        done: list[outbox.Queued] = []
        written: list[str] = []
        for outcome in outcomes:
            group = by_record.pop(outcome.crm_id, [])
            if outcome.ok:
                done.extend(group)
                written.append(outcome.crm_id)
            else:
                self._refused(session, group, outcome, now, result, subject)
        leftover = [row for group in by_record.values() for row in group]
        unreported = mark_failed(
            session, leftover, "no result reported", retriable=True, settings=self.settings, now=now
        )
        result.dead += len(unreported)
        result.failed += len(by_record)
        return done, written

    def _refused(
        self,
        session: Session,
        rows: list[outbox.Queued],
        outcome: WriteResult,
        now: datetime,
        result: DrainResult,
        subject: str | None = None,
        kind: FailureKind = "bad_record",
    ) -> None:
        """The CRM refused a record or an action (``subject``: "record", "task"...):
        retry later or declare it dead.

        Without ``subject``, a whole batch of actions failed the same way: one failure
        per action, but one attempt recorded for them all, so they are retried together
        (one backoff draw), as one batch again, not each after a delay of its own.
        """
        message = outcome.error or "rejected"
        dead = mark_failed(
            session, rows, message, retriable=outcome.retriable, settings=self.settings, now=now
        )
        if subject is None:
            failed = [(row.crm_id, row.kind, {row.crm_id}) for row in rows]
        else:
            failed = [(outcome.crm_id, subject, {row.crm_id for row in rows})]
        for crm_id, what, records in failed:
            result.failed += 1
            result.dead += 1 if dead & records else 0
            result.failures.append(
                CycleFailure(
                    self.connector.name, "write", kind, message, crm_id=crm_id, subject=what
                )
            )

    def _postpone(self, session: Session, rows: list[outbox.Queued], when: datetime) -> None:
        outbox.release(session, rows, not_before=when)
        session.commit()

    def _remember(self, session: Session, rows: list[outbox.Queued]) -> None:
        """What the CRM now holds is the baseline of the next diff."""
        written: dict[int, dict[str, str]] = {}
        for row in rows:
            if row.contact_id is not None and row.kind == "property":
                written.setdefault(row.contact_id, {})[row.target] = row.value
        remember_crm_values(session, written)


def _batched_kinds(connector: Connector) -> dict[str, int]:
    """The action kinds the connector sends several to a call, and how many at most."""
    handoff = connector.handoff
    if handoff is None:
        return {}
    return {kind: size for kind, size in handoff.batch_sizes.items() if size > 1}


def _action(row: outbox.Queued) -> Action:
    """The hand-off action an outbox row stands for (kind ``task``, ``enroll``, ...)."""
    payload = dict(row.payload or {})
    return Action(kind=row.kind, crm_id=row.crm_id, key=row.target, payload=payload)  # type: ignore[arg-type]


def _paused(session: Session, contact_id: int | None) -> bool:
    """Has the lead replied since its enrollment was planned (``handoff.paused``)?

    Planning never enrolls a paused lead, but an enrollment queued before the reply
    (a drain cut short by a shutdown, a rate limit or a crash) must not go out after it.
    """
    if contact_id is None:
        return False
    state = handoff_state(session, contact_id)
    return isinstance(state, dict) and bool(state.get("paused"))


def _forget_enrollment(session: Session, row: outbox.Queued) -> None:
    """The lead was not enrolled after all: once it resumes, a trigger may enroll it."""
    if row.contact_id is None:
        return
    state = handoff_state(session, row.contact_id)
    if not isinstance(state, dict) or not isinstance(state.get("enrolled"), dict):
        return
    enrolled = dict(state["enrolled"])
    enrolled.pop(str((row.payload or {}).get("sequence_id")), None)
    save_handoff_state(session, row.contact_id, {**state, "enrolled": enrolled})
