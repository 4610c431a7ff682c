"""``crmbridge run``: the long-running daemon — scheduler, HTTP server, graceful stop.

Jobs (APScheduler 3, in-process, coalescing, one instance each, with a misfire grace):

- ``poll:<connector>`` every ``daemon.poll_interval``: read changes, rescore, write back;
  under a Postgres advisory lock so one replica polls each connector per tick;
- ``drain`` every ``daemon.drain_interval``: rescore what events and webhooks marked
  dirty and send the outbox (replicas share it through ``FOR UPDATE SKIP LOCKED``);
- ``rescore`` daily at 03:00 (business timezone): the time-based boundaries (inactivity
  periods, decay, reactivation) are also checked on every drain, this is the backstop.

A webhook or an event batch nudges ``poll``/``drain`` to run at once. SIGTERM/SIGINT stop
intake, let the in-flight batch finish (or release it) and exit within 30 s; a second
signal exits at once — the outbox guarantees nothing is lost either way.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from types import FrameType
from typing import Any

import uvicorn
from apscheduler.schedulers.background import BackgroundScheduler

from connectors.base import Connector
from connectors.rate_governor import RateGovernor
from crmbridge.config import CrmbridgeConfig
from crmbridge.daemon import metrics
from crmbridge.daemon.alerts import Alerts
from crmbridge.daemon.locks import SqliteGuard, singleton
from crmbridge.errors import ConfigError, ConfigProblem
from crmbridge.logging import get_logger
from crmbridge.store.budget import SharedBudget
from crmbridge.store.identity import bind_account
from crmbridge.store.repository import Store
from crmbridge.sync import outbox
from crmbridge.sync.pipeline import CycleSummary, Pipeline

SHUTDOWN_GRACE_S = 30.0
MISFIRE_GRACE_S = 60

log = get_logger(component="daemon")


def _budget_of(governor: RateGovernor) -> Callable[[], int]:
    """The governor's current budget (the CRM's advertised limit once it answered)."""
    return lambda: governor.budget


class Daemon:
    """Owns the pipeline, the scheduler and the HTTP server of one replica."""

    def __init__(
        self,
        config: CrmbridgeConfig,
        store: Store,
        connectors: dict[str, Connector],
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
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
        self.ready: dict[str, bool] = dict.fromkeys(connectors, False)
        self.alerts = Alerts(config.alerts, list(connectors), config.daemon.poll_interval, clock())
        self.server: uvicorn.Server | None = None
        self.serve_http = serve_http
        self._signals = 0
        # The HTTP app adds the outbox gauge to this registry when it starts.
        self.metrics = metrics.install(metrics.Metrics().with_process_metrics())
        if not store.is_sqlite:
            self._share_rate_budgets()

    def _share_rate_budgets(self) -> None:
        """Replicas on one Postgres stay together under each CRM's request budget."""
        for name, connector in self.connectors.items():
            governor = getattr(getattr(connector, "client", None), "governor", None)
            if isinstance(governor, RateGovernor):
                # The governor's budget, not its configured maximum: the CRM's headers
                # (e.g. a lower limit) tighten it once the first answer arrives.
                budget = SharedBudget(
                    self.store.engine, name, _budget_of(governor), governor.interval_s
                )
                governor.shared = budget.take

    # -- start-up -------------------------------------------------------------------

    def preflight(self) -> None:
        """Refuse to start when something is wrong: replicas on SQLite, CRM access, schema."""
        if self.guard is not None:
            self.guard.acquire()
        problems: list[ConfigProblem] = []
        for name, connector in self.connectors.items():
            report = connector.check()
            problems.extend(ConfigProblem(f"connectors.{name}", p) for p in report.problems)
            if report.account_id:
                # A store serves one CRM account per connector: refused before any write.
                bind_account(self.store.engine, name, report.account_id, report.account)
            self.ready[name] = report.ok
            for limitation in report.limitations:
                log.info("connector.limitation", connector=name, note=limitation)
        if problems:
            raise ConfigError(problems, source="start-up checks")
        self.pipeline.prepare()
        if self.store.is_sqlite:
            # Single replica: whatever is in flight was left by a previous process.
            self.pipeline.run_once(self.clock(), read=False, recover_all=True, stop=self.stopping)

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
        """Read one connector's changes, rescore, write back."""
        if self.stopping.is_set():
            return
        summary = self.pipeline.run_once(
            self.clock(),
            only=name,
            guard=self._lock,
            stop=self.stopping,
            recover_all=False,
        )
        self.ready[name] = not any("authentication" in e for e in summary.errors)
        self._alert(summary, polled=name)

    def drain(self) -> None:
        """Rescore what is due and send the outbox, without reading the CRMs."""
        if self.stopping.is_set():
            return
        summary = self.pipeline.run_once(
            self.clock(), read=False, guard=self._lock, stop=self.stopping, recover_all=False
        )
        self._observe(summary)
        self._alert(summary, polled=None)

    def _alert(self, summary: CycleSummary, *, polled: str | None) -> None:
        """Tell the alert hook what the cycle found; an alert never fails a cycle."""
        try:
            with self.store.session() as session:
                dead = outbox.depth(session).get(outbox.DEAD, 0)
            self.alerts.after_cycle(summary, polled=polled, dead=dead, now=self.clock())
        except Exception as exc:
            log.warning("alert.check_failed", error=type(exc).__name__)

    def check_alerts(self) -> None:
        """Open a stale-sync incident even when no cycle finishes at all."""
        self.alerts.check_stale(self.clock())

    def _observe(self, summary: CycleSummary) -> None:
        metrics.observe_cycle(summary.duration_s)
        metrics.record_scores_computed(summary.scored)
        for name, ids in summary.written_ids.items():
            metrics.record_writes(name, "done", len(ids))
            self.metrics.observe_written(name, ids)
        for name, connector in self.connectors.items():
            client = getattr(connector, "client", None)
            governor = getattr(client, "governor", None)
            if isinstance(governor, RateGovernor):
                metrics.set_rate_budget(name, governor.budget)

    def nudge(self, *, poll: bool = False) -> None:
        """Run the drain (and the polls) now: a webhook or new events arrived."""
        now = datetime.now(UTC)
        for job in self.scheduler.get_jobs():
            if job.id == "drain" or (poll and job.id.startswith("poll:")):
                job.modify(next_run_time=now)

    # -- running and stopping ---------------------------------------------------------

    def run(self) -> None:
        """Start everything and block until a signal stops the daemon."""
        self.preflight()
        self.schedule()
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        self.scheduler.start()
        log.info("daemon.started", connectors=sorted(self.connectors), pid=os.getpid())
        try:
            if self.serve_http:
                self._serve_http()
            else:
                self.stopping.wait()
        finally:
            self.shutdown()

    def _serve_http(self) -> None:
        from crmbridge.daemon.http import create_app

        app = create_app(
            self.store,
            self.config,
            readiness=lambda: dict(self.ready),
            on_change=lambda: self.nudge(poll=True),
            metrics=self.metrics,
        )
        config = uvicorn.Config(
            app,
            host=self.config.daemon.host,
            port=self.config.daemon.port,
            log_level="warning",
            access_log=False,
        )
        self.server = uvicorn.Server(config)
        # uvicorn captures SIGTERM/SIGINT while serving, stops accepting requests, then
        # re-raises the signal to our handler, which stops the scheduler.
        self.server.run()

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        self._signals += 1
        if self._signals > 1:
            log.warning("daemon.killed", signal=signum)
            os._exit(1)
        log.info("daemon.stopping", signal=signum)
        self.stopping.set()
        if self.server is not None:
            self.server.should_exit = True

    def shutdown(self) -> None:
        """Stop intake, let running jobs finish their batch (bounded), release locks."""
        self.stopping.set()
        finished = threading.Event()

        def stop_scheduler() -> None:
            if self.scheduler.running:
                self.scheduler.shutdown(wait=True)
            finished.set()

        threading.Thread(target=stop_scheduler, name="scheduler-stop", daemon=True).start()
        timed_out = not finished.wait(SHUTDOWN_GRACE_S - 2)
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
