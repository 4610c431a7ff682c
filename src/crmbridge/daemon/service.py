"""``crmbridge run``: the long-running daemon — scheduler, HTTP server, graceful stop.

Jobs (APScheduler 3, in-process, coalescing, one instance each, with a misfire grace):

- ``poll:<connector>`` every ``daemon.poll_interval``: read changes, rescore, write back;
  under a Postgres advisory lock so one replica polls each connector per tick;
- ``drain`` every ``daemon.drain_interval``: rescore what events and webhooks marked
  dirty and send the outbox (replicas share it through ``FOR UPDATE SKIP LOCKED``);
- ``rescore`` daily at 03:00 (business timezone): the time-based boundaries (inactivity
  periods, decay, reactivation) are also checked on every drain, this is the backstop.

A webhook or an event batch nudges ``poll``/``drain`` to run at once. SIGTERM/SIGINT stop
intake, let the in-flight batch finish (or release it) and exit within 30 s of the
signal, even when a CRM call hangs (the process then exits 1); a second signal exits at
once — the outbox guarantees nothing is lost either way. A signal during the start-up
checks ends the start at once (exit 0).

The listening socket is bound before the start-up checks, so a host or port it cannot
use is refused like any other bad setting (exit 2) rather than after minutes of work.
"""

from __future__ import annotations

import errno
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from functools import partial
from types import FrameType
from typing import Any

import uvicorn
from apscheduler.schedulers.background import BackgroundScheduler

# Health is measured in real time (``Daemon.clock`` may be fixed for scoring).
from crmbridge.clock import now as wall_clock
from crmbridge.config import CrmbridgeConfig
from crmbridge.connector import Connector, PacesSearches, SharesDailyCount
from crmbridge.connector.rate_governor import RateGovernor
from crmbridge.daemon import metrics
from crmbridge.daemon.alerts import Alerts
from crmbridge.daemon.sync_health import SyncHealth
from crmbridge.errors import (
    ConfigError,
    ConfigProblem,
    RateLimited,
    TransientError,
    safe_description,
)
from crmbridge.logging import get_logger
from crmbridge.report.weekly import make_weekly_report
from crmbridge.store import outbox
from crmbridge.store.budget import DailyCount, SharedBudget
from crmbridge.store.identity import bind_account
from crmbridge.store.locks import SqliteGuard, singleton
from crmbridge.store.probe import StoreProbe, forbid_recreation
from crmbridge.store.repository import Store
from crmbridge.sync.failures import ALL_CONNECTORS, CycleFailure, FailureKind, failure_kind
from crmbridge.sync.pipeline import CycleSummary, Pipeline

SHUTDOWN_GRACE_S = 30.0
#: Left of the grace period for closing the store and flushing the logs.
EXIT_MARGIN_S = 2.0
#: The HTTP server's share of the grace period for requests in progress.
HTTP_GRACE_S = 5
MISFIRE_GRACE_S = 60
#: On Postgres, another replica may be running a cycle: only older "running" rows are stale.
STALE_RUN_AFTER = timedelta(hours=6)

log = get_logger(component="daemon")


def _budget_of(governor: RateGovernor) -> Callable[[], int]:
    """The governor's current budget (the CRM's advertised limit once it answered)."""
    return lambda: governor.budget


class _StartInterrupted(BaseException):
    """A signal arrived during the start-up checks.

    A BaseException, like KeyboardInterrupt: the CRM clients turn every Exception of a
    call into a retriable error, and this must end the call instead.
    """


def bind_listener(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port`` (listening starts when the server serves).

    A host that does not resolve or is not this machine's, a port in use or reserved:
    a :class:`ConfigError` naming the setting.
    """
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise _listen_error("daemon.host", f"cannot listen on {host!r}: {reason}") from None
    family, kind, proto, _name, address = found[0]
    listener = socket.socket(family, kind, proto)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(address)
    except OSError as exc:
        listener.close()
        if exc.errno == errno.EADDRINUSE:
            raise _listen_error("daemon.port", f"port {port} is already in use") from None
        if exc.errno == errno.EACCES:
            raise _listen_error(
                "daemon.port", f"not allowed to listen on port {port} (below 1024 needs root)"
            ) from None
        raise _listen_error(
            "daemon.host", f"cannot listen on {host!r}: {exc.strerror or exc}"
        ) from None
    return listener


def _listen_error(path: str, message: str) -> ConfigError:
    hint = 'an address of this machine: "127.0.0.1" for local use, "0.0.0.0" for all'
    return ConfigError([ConfigProblem(path, message, hint)], source="start-up checks")


class _Server(uvicorn.Server):
    """uvicorn, telling the daemon about signals at once and when it listens."""

    def __init__(
        self,
        config: uvicorn.Config,
        on_signal: Callable[[int], None],
        on_listening: Callable[[], None],
    ) -> None:
        super().__init__(config)
        self._on_signal = on_signal
        self._on_listening = on_listening

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        # Not re-raised after serving (uvicorn's default): the daemon handled it here.
        self._on_signal(sig)
        self.should_exit = True

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if not self.should_exit:
            self._on_listening()


class Daemon:
    """Owns the pipeline, the scheduler and the HTTP server of one replica."""

    def __init__(
        self,
        config: CrmbridgeConfig,
        store: Store,
        connectors: dict[str, Connector],
        *,
        clock: Callable[[], datetime] = wall_clock,
        serve_http: bool = True,
    ) -> None:
        self.config = config
        self.store = store
        self.connectors = connectors
        self.clock = clock
        self.stopping = threading.Event()
        self.pipeline = Pipeline(store, config, connectors)
        self.scheduler = BackgroundScheduler(timezone=config.bridge.timezone)
        self.guard = SqliteGuard(config.bridge.database_url) if store.is_sqlite else None
        self.probe = StoreProbe(store)
        forbid_recreation(store)
        self.health = SyncHealth(
            connectors,
            poll_interval=config.daemon.poll_interval,
            unhealthy_after_cycles=config.daemon.unhealthy_after_cycles,
            started_at=wall_clock(),
        )
        self.alerts = Alerts(config.alerts, self.health, store, wall=wall_clock)
        self.server: uvicorn.Server | None = None
        self.serve_http = serve_http
        self.listener: socket.socket | None = None
        self._signals = 0
        #: Connectors whose CRM did not answer the start-up check (checked by their poll).
        self._unchecked: set[str] = set()
        #: Connectors not yet read by a poll of this process. Their drains wait: a
        #: restored backup must read the CRM's newer marks (and take its own id) before
        #: it rescores and writes anything.
        self._unpolled: set[str] = set(connectors)
        self._signalled_at: float | None = None
        self._starting = True
        # The HTTP app adds the outbox gauge to this registry when it starts.
        self.metrics = metrics.install(metrics.Metrics().with_process_metrics())
        if not store.is_sqlite:
            self._share_rate_budgets()

    def _share_rate_budgets(self) -> None:
        """Replicas on one Postgres stay together under each CRM's request budget."""
        for name, connector in self.connectors.items():
            governor = connector.rate_governor
            if governor is not None:
                # The governor's budget, not its configured maximum: the CRM's headers
                # (e.g. a lower limit) tighten it once the first answer arrives.
                budget = SharedBudget(
                    self.store.engine, name, _budget_of(governor), governor.interval_s
                )
                governor.shared = budget.take
            if isinstance(connector, PacesSearches):
                # Searches have their own per-second limit, counted apart from the
                # window: each replica pacing alone would send several times it.
                search = connector.search_governor
                shared = SharedBudget(
                    self.store.engine,
                    f"{name[:24]}:search",
                    _budget_of(search),
                    search.interval_s,
                )
                search.shared = shared.take
            if isinstance(connector, SharesDailyCount):
                # A daily limit (Salesforce): crmbridge's share is every replica's.
                connector.share_daily_count(DailyCount(self.store.engine, f"{name}:day"))

    # -- start-up -------------------------------------------------------------------

    def preflight(self) -> None:
        """Refuse to start when something is wrong: replicas on SQLite, CRM access, schema."""
        if self.guard is not None:
            self.guard.acquire()
        # A cycle that was running when the previous process died is over.
        stale_before = None if self.store.is_sqlite else self.clock() - STALE_RUN_AFTER
        closed = self.store.close_stale_runs(stale_before)
        if closed:
            log.warning("cycle.aborted_by_previous_process", runs=closed)
        problems: list[ConfigProblem] = []
        for name, connector in self.connectors.items():
            report = connector.check()
            if not report.reachable:
                # A CRM that does not answer now must not keep intake down: start, and
                # let its polls check and prepare it once it answers.
                self._unchecked.add(name)
                self._unreachable(name, report.problems)
                continue
            problems.extend(ConfigProblem(f"connectors.{name}", p) for p in report.problems)
            if report.account_id:
                # A store serves one CRM account per connector: refused before any write.
                bind_account(self.store.engine, name, report.account_id, report.account)
            if report.ok:
                self.health.authenticated(name)
            for limitation in report.limitations:
                log.info("connector.limitation", connector=name, note=limitation)
        if problems:
            self.alerts.start_refused([str(p) for p in problems])
            raise ConfigError(problems, source="start-up checks")
        self.alerts.started()
        for name in [n for n in self.connectors if n not in self._unchecked]:
            try:
                self.pipeline.prepare(only=[name])
            except (TransientError, RateLimited) as exc:
                self._unchecked.add(name)
                self._unreachable(name, [str(exc)], failure_kind(exc))
        # What a previous process left in flight is recovered by each connector's first
        # poll (see :meth:`poll`), not by a drain here: a drain rescores and writes, and
        # must not before the CRM was read (a restored backup would write its own mark
        # over the newer ones its original wrote, and no longer know them).

    def schedule(self) -> None:
        """Register the jobs."""
        every = self.config.daemon.poll_interval.total_seconds()
        common: dict[str, Any] = {
            "coalesce": True,
            "max_instances": 1,
            "misfire_grace_time": MISFIRE_GRACE_S,
        }
        for name in self.connectors:
            self.scheduler.add_job(
                self.poll,
                "interval",
                seconds=every,
                id=f"poll:{name}",
                args=[name],
                next_run_time=self.clock(),
                **common,
            )
        self.scheduler.add_job(
            self.drain,
            "interval",
            seconds=self.config.daemon.drain_interval.total_seconds(),
            id="drain",
            **common,
        )
        self.scheduler.add_job(self.drain, "cron", hour=3, id="rescore", **common)
        if self.config.report.enabled:
            # Hourly: the week's report is made at the first run once it is due.
            self.scheduler.add_job(self.weekly_report, "cron", minute=5, id="report", **common)
        self.scheduler.add_job(
            self.check_alerts,
            "interval",
            seconds=self.config.daemon.drain_interval.total_seconds(),
            id="alerts",
            **common,
        )

    # -- jobs -----------------------------------------------------------------------

    @contextmanager
    def _lock(self, name: str) -> Iterator[bool]:
        with singleton(self.store.engine, name) as held:
            yield held

    def poll(self, name: str) -> None:
        """Read one connector's changes, rescore, write back.

        The first poll of this process on SQLite (one replica) also puts back whatever
        a previous process left in flight; until a poll has read the CRM, the
        connector's drains wait and a poll whose read fails rescores and writes nothing.
        """
        if name in self._unchecked and not self._late_check(name):
            return
        first = name in self._unpolled

        def cycle() -> CycleSummary:
            summary = self.pipeline.run_once(
                self.clock(),
                only=name,
                guard=self._lock,
                stop=self.stopping,
                recover_all=first and self.store.is_sqlite,
                must_read=first,
            )
            read_failed = any(f.connector == name and f.stage == "read" for f in summary.failures)
            if not (read_failed or summary.interrupted):
                self._unpolled.discard(name)
            return summary

        self._job(cycle, polled=[name])

    def _late_check(self, name: str) -> bool:
        """The start-up check of a connector whose CRM did not answer then; True once passed.

        A CRM that answers and refuses the token is an auth failure, not a refusal to
        run: intake goes on and ``/healthz`` says so.
        """
        if self.stopping.is_set():
            return False
        try:
            report = self.connectors[name].check()
            if report.reachable and report.account_id:
                # As at start: a store serves one CRM account per connector.
                bind_account(self.store.engine, name, report.account_id, report.account)
            if report.ok:
                self.pipeline.prepare(only=[name])
        except ConfigError as exc:
            # Another account than the store's: this connector stays stopped.
            log.error("connector.refused", connector=name, problems=[str(exc)])
            failure = CycleFailure.of(name, "check", exc)
            self.health.record(wall_clock(), [failure], polled=[name])
            return False
        except (TransientError, RateLimited) as exc:
            self._unreachable(name, [str(exc)], failure_kind(exc))
            return False
        except Exception as exc:
            log.exception("connector.check_failed", connector=name, error=type(exc).__name__)
            failure = CycleFailure.of(name, "check", exc)
            self.health.record(wall_clock(), [failure], polled=[name])
            return False
        if not report.reachable:
            self._unreachable(name, report.problems)
            return False
        if not report.ok:
            message = "; ".join(report.problems)
            log.error("connector.refused", connector=name, problems=list(report.problems))
            failure = CycleFailure(name, "check", "auth", message)
            self.health.record(wall_clock(), [failure], polled=[name])
            return False
        self._unchecked.discard(name)
        self.health.authenticated(name)
        log.info("connector.checked", connector=name)
        return True

    def _unreachable(
        self, name: str, problems: Iterable[str], kind: FailureKind = "unavailable"
    ) -> None:
        message = "; ".join(problems) or "no answer"
        log.warning("connector.unreachable", connector=name, error=message)
        failure = CycleFailure(name, "check", kind, message)
        self.health.record(wall_clock(), [failure], polled=[name])

    def weekly_report(self) -> None:
        """Write (and send) last week's report once it is due, on one replica only."""
        if self.stopping.is_set():
            return
        with self._lock("weekly-report") as held:
            if not held:
                return
            try:
                path = make_weekly_report(self.store, self.config, self.clock())
            except Exception as exc:
                # A report never stops the daemon; the next hourly run tries again.
                log.error("report.failed", error=safe_description(exc))
                return
        if path is not None:
            log.info("report.written", path=str(path), mailed=bool(self.config.report.email_to))

    def drain(self) -> None:
        """Rescore what is due and send the outbox, without reading the CRMs.

        A connector not checked yet (its CRM did not answer at start) is left out: its
        properties may not exist until its poll has checked and prepared it. So is one
        no poll of this process has read yet (see :attr:`_unpolled`).
        """
        for only in self._drain_targets():
            self._job(partial(self._drain_once, only), polled=[])

    def _drain_targets(self) -> list[str | None]:
        """One drain of every connector (None), or one per checked and polled connector."""
        waiting = self._unchecked | self._unpolled
        if not waiting:
            return [None]
        return [name for name in self.connectors if name not in waiting]

    def _drain_once(self, only: str | None) -> CycleSummary:
        return self.pipeline.run_once(
            self.clock(),
            only=only,
            read=False,
            guard=self._lock,
            stop=self.stopping,
            recover_all=False,
        )

    def _job(self, cycle: Callable[[], CycleSummary], polled: list[str]) -> None:
        """Run a cycle unless stopping or the store is gone; record how it went."""
        if self.stopping.is_set():
            return
        gone = self.probe.gone()
        if gone is not None:
            # Cycles on a deleted store would send writes nobody remembers.
            log.error("cycle.skipped", reason=gone)
            return
        try:
            summary = cycle()
        except Exception as exc:
            # The scheduler would print a bare traceback; this is a log line, and the
            # failure counts against the connectors' health.
            log.exception("cycle.crashed", error=safe_description(exc))
            failure = CycleFailure.of(ALL_CONNECTORS, "cycle", exc)
            self.health.record(wall_clock(), [failure], polled=polled, involved=self.connectors)
            return
        self._observe(summary, polled)
        self._alert(summary, polled=polled[0] if polled else None)

    def _alert(self, summary: CycleSummary, *, polled: str | None) -> None:
        """Tell the alert hook what the cycle found; an alert never fails a cycle."""
        try:
            with self.store.session() as session:
                dead = outbox.depth(session).get(outbox.DEAD, 0)
            self.alerts.after_cycle(summary, polled=polled, dead=dead)
        except Exception as exc:
            log.warning("alert.check_failed", error=type(exc).__name__)

    def check_alerts(self) -> None:
        """Open a stale-sync incident even when no cycle finishes at all."""
        self.alerts.check_stale()

    def _observe(self, summary: CycleSummary, polled: Iterable[str]) -> None:
        metrics.observe_cycle(summary.duration_s)
        metrics.record_scores_computed(summary.scored)
        for name, counts in summary.writes_by_status.items():
            for status, count in counts.items():
                metrics.record_writes(name, status, count)
        for name, ids in summary.written_ids.items():
            self.metrics.observe_written(name, ids)
        if not summary.interrupted:
            self.health.record(
                wall_clock(), summary.failures, polled=polled, involved=summary.writes_by_status
            )
        for name, connector in self.connectors.items():
            governor = connector.rate_governor
            if governor is not None:
                metrics.set_rate_budget(name, governor.budget)

    def nudge(self, *, poll: bool = False) -> None:
        """Run the drain (and the polls) now: a webhook or new events arrived."""
        now = wall_clock()
        for job in self.scheduler.get_jobs():
            if job.id == "drain" or (poll and job.id.startswith("poll:")):
                job.modify(next_run_time=now)

    # -- running and stopping ---------------------------------------------------------

    def run(self) -> None:
        """Start everything and block until a signal stops the daemon."""
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        try:
            if self.serve_http:
                self.listener = bind_listener(self.config.daemon.host, self.config.daemon.port)
            self.preflight()
            self._starting = False
        except _StartInterrupted:
            self._close_listener()
            self.shutdown()
            return
        except BaseException:
            self._close_listener()
            raise
        self.schedule()
        self.scheduler.start()
        try:
            if self.serve_http:
                self._serve_http()
            else:
                self._announce()
                self.stopping.wait()
        finally:
            self.shutdown()

    def _announce(self) -> None:
        """The one line saying the daemon is up (and where it listens)."""
        listening = None
        if self.serve_http:
            listening = f"http://{_url_host(self.config.daemon.host)}:{self.config.daemon.port}"
        log.info(
            "daemon.started",
            listening_on=listening,
            connectors=sorted(self.connectors),
            pid=os.getpid(),
        )

    def _serve_http(self) -> None:
        from crmbridge.daemon.http import create_app

        app = create_app(
            self.store,
            self.config,
            on_change=lambda: self.nudge(poll=True),
            metrics=self.metrics,
            health=self.health,
            probe=self.probe,
            stopping=self.stopping.is_set,
        )
        config = uvicorn.Config(
            app,
            host=self.config.daemon.host,
            port=self.config.daemon.port,
            log_level="warning",
            # uvicorn's loggers propagate to the root logger, which crmbridge renders.
            log_config=None,
            access_log=False,
            timeout_graceful_shutdown=HTTP_GRACE_S,
        )
        self.server = _Server(config, lambda sig: self._on_signal(sig, None), self._announce)
        # A signal since the start-up checks (before there was a server to tell) counts.
        self.server.should_exit = self.stopping.is_set()
        assert self.listener is not None
        self.server.run(sockets=[self.listener])

    def _close_listener(self) -> None:
        if self.listener is not None:
            self.listener.close()
            self.listener = None

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        self._signals += 1
        if self._signals > 1:
            log.warning("daemon.killed", signal=signum)
            os._exit(1)
        log.info("daemon.stopping", signal=signum)
        self._signalled_at = time.monotonic()
        self.stopping.set()
        if self.server is not None:
            self.server.should_exit = True
        if self._starting:
            # The start-up checks may be waiting on a CRM: do not wait for them.
            raise _StartInterrupted

    def shutdown(self) -> None:
        """Stop intake, let running jobs finish their batch (bounded), release locks."""
        self.stopping.set()
        finished = threading.Event()

        def stop_scheduler() -> None:
            if self.scheduler.running:
                self.scheduler.shutdown(wait=True)
            finished.set()

        threading.Thread(target=stop_scheduler, name="scheduler-stop", daemon=True).start()
        # The grace period runs from the signal, not from when the HTTP server let go.
        since = self._signalled_at if self._signalled_at is not None else time.monotonic()
        left = since + SHUTDOWN_GRACE_S - EXIT_MARGIN_S - time.monotonic()
        timed_out = not finished.wait(max(0.0, left))
        if timed_out:
            log.warning("daemon.shutdown_timeout", grace_s=SHUTDOWN_GRACE_S)
        if self.guard is not None:
            self.guard.release()
        log.info("daemon.stopped")
        if timed_out:
            # The job still running would hold the interpreter at exit (worker threads
            # are joined then); the outbox makes leaving it unfinished safe.
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(1)


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
