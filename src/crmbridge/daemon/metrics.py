"""Prometheus metrics of the daemon, served at ``GET /metrics``.

Each HTTP app owns a :class:`Metrics` with its own ``CollectorRegistry`` (tests stay
isolated); :func:`install` makes one the process's current set, which the small
``record_*`` / ``observe_*`` functions below update. Other modules call those functions
and never touch prometheus-client themselves; with no app installed they update a
default set nobody scrapes.

| metric                                          | type      | labels            |
| ----------------------------------------------- | --------- | ----------------- |
| ``crmbridge_events_ingested_total``             | counter   | source            |
| ``crmbridge_scores_computed_total``             | counter   |                   |
| ``crmbridge_writes_total``                      | counter   | connector, status |
| ``crmbridge_api_calls_total``                   | counter   | connector         |
| ``crmbridge_api_rate_budget_remaining``         | gauge     | connector         |
| ``crmbridge_webhook_events_total``              | counter   | connector, outcome|
| ``crmbridge_outbox_depth``                      | gauge     | status            |
| ``crmbridge_rescore_outdated``                  | gauge     |                   |
| ``crmbridge_cycle_duration_seconds``            | histogram |                   |
| ``crmbridge_webhook_to_write_seconds``          | histogram | connector         |
| ``crmbridge_last_success_timestamp_seconds``    | gauge     | connector         |
| ``crmbridge_cycle_failures_total``              | counter   | connector, kind   |

The outbox depth, and the contacts still scored with another model version than the
running one (a model edit rescores them: see :mod:`crmbridge.store.selection`), are read
from the store at scrape time (the latter counted at most every
:data:`OUTDATED_REFRESH_S`). The webhook-to-write latency
is measured from :func:`note_webhook_change` (a webhook named a record) to
:func:`observe_written` (a write of that record landed in the CRM). Writes are counted
by status: ``done``, ``failed`` (to be retried) and ``dead`` (given up); cycle failures
by kind (:data:`~crmbridge.sync.failures.FAILURE_KINDS`: ``auth``, ``missing_scope``,
``rate_limited``, ``unavailable``, ``bad_record``, ``schema``, ``config``, ``store``,
``internal``), a failed stage of a connector or one record the CRM refused.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from crmbridge.logging import get_logger
from crmbridge.store.outbox import STATUSES, depth
from crmbridge.store.repository import Store
from crmbridge.store.selection import count_selected, outdated
from crmbridge.sync.failures import FAILURE_KINDS, FailureKind

CONTENT_TYPE = CONTENT_TYPE_LATEST
#: Webhook changes remembered for the latency histogram (oldest dropped first).
MAX_PENDING_LATENCIES = 10_000
CYCLE_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800)
LATENCY_BUCKETS = (0.5, 1, 2.5, 5, 10, 15, 30, 60, 120, 300, 600, 1800, 3600)
#: Seconds a count of the outdated contacts is served before it is taken again.
OUTDATED_REFRESH_S = 30.0

log = get_logger(component="metrics")


class OutboxDepthCollector(Collector):
    """``crmbridge_outbox_depth{status}``, counted in the store when scraped."""

    NAME = "crmbridge_outbox_depth"
    HELP = "Outbox rows by status (read from the store at scrape time)."

    def __init__(self, store: Store) -> None:
        self.store = store

    def describe(self) -> Iterable[Metric]:
        return [GaugeMetricFamily(self.NAME, self.HELP, labels=["status"])]

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily(self.NAME, self.HELP, labels=["status"])
        try:
            with self.store.session() as session:
                counts = depth(session)
        except Exception as exc:  # a scrape must never fail because the database did
            log.warning("metrics.outbox_depth_failed", error=type(exc).__name__)
            yield family
            return
        for status in (*STATUSES, *sorted(set(counts) - set(STATUSES))):
            family.add_metric([status], counts.get(status, 0))
        yield family


class OutdatedCollector(Collector):
    """``crmbridge_rescore_outdated``: contacts scored with another model version.

    Counting them reads the whole scores table (about a second at 1,000,000 contacts on
    SQLite, see ``benchmarks/outdated_gauge.py``), so the count is kept and taken again
    at the first scrape after ``refresh_s``: other scrapes cost nothing. The gauge runs
    at most that far behind, which a rescore lasting minutes to hours does not notice.
    """

    NAME = "crmbridge_rescore_outdated"
    HELP = (
        "Contacts whose current score was computed with another model version than the "
        "running one (rescored after a model edit; counted in the store at most every "
        f"{OUTDATED_REFRESH_S:g} s)."
    )

    def __init__(self, store: Store, version: str, refresh_s: float = OUTDATED_REFRESH_S) -> None:
        self.store = store
        self.version = version
        self.refresh_s = refresh_s
        self._lock = threading.Lock()
        self._count: int | None = None
        self._counted_at = 0.0

    def describe(self) -> Iterable[Metric]:
        return [GaugeMetricFamily(self.NAME, self.HELP)]

    def collect(self) -> Iterator[Metric]:
        remaining = self._current()
        if remaining is None:
            yield GaugeMetricFamily(self.NAME, self.HELP, labels=[])
            return
        yield GaugeMetricFamily(self.NAME, self.HELP, value=remaining)

    def _current(self) -> int | None:
        """The kept count, taken again when it is older than ``refresh_s`` (one scrape
        counts while concurrent ones wait for it; a failed count keeps the last one)."""
        with self._lock:
            if self._count is not None and time.monotonic() - self._counted_at < self.refresh_s:
                return self._count
            try:
                self._count = count_selected(self.store, outdated(self.version))
                self._counted_at = time.monotonic()
            except Exception as exc:  # a scrape must never fail because the database did
                log.warning("metrics.rescore_outdated_failed", error=type(exc).__name__)
            return self._count


class Metrics:
    """One registry and the daemon's metrics in it."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.events_ingested = Counter(
            "crmbridge_events_ingested",
            "Canonical events stored (new, not duplicates).",
            ["source"],
            registry=r,
        )
        self.scores_computed = Counter(
            "crmbridge_scores_computed", "Contacts scored by the engine.", registry=r
        )
        self.writes = Counter(
            "crmbridge_writes",
            "CRM record writes by outcome (done, failed, dead, ...).",
            ["connector", "status"],
            registry=r,
        )
        self.api_calls = Counter(
            "crmbridge_api_calls", "Calls made to a CRM API.", ["connector"], registry=r
        )
        self.rate_budget = Gauge(
            "crmbridge_api_rate_budget_remaining",
            "Requests left in the CRM's current rate-limit window, as last reported.",
            ["connector"],
            registry=r,
        )
        self.webhook_events = Counter(
            "crmbridge_webhook_events",
            "Webhook notifications by outcome (accepted, replayed, rejected).",
            ["connector", "outcome"],
            registry=r,
        )
        self.cycle_duration = Histogram(
            "crmbridge_cycle_duration_seconds",
            "Duration of one sync cycle (read, score, plan, write).",
            buckets=CYCLE_BUCKETS,
            registry=r,
        )
        self.webhook_to_write = Histogram(
            "crmbridge_webhook_to_write_seconds",
            "Time from a webhook naming a record to crmbridge's write of it landing.",
            ["connector"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.last_success = Gauge(
            "crmbridge_last_success_timestamp_seconds",
            "When a cycle of the connector last succeeded (Unix time).",
            ["connector"],
            registry=r,
        )
        self.cycle_failures = Counter(
            "crmbridge_cycle_failures",
            "Cycle failures (a connector's stage, or one refused record) by kind: "
            + ", ".join(FAILURE_KINDS)
            + ".",
            ["connector", "kind"],
            registry=r,
        )
        self._pending: OrderedDict[tuple[str, str], float] = OrderedDict()
        self._lock = threading.Lock()

    def with_process_metrics(self) -> Metrics:
        """Also export the process's CPU, memory and Python runtime metrics."""
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        return self

    def watch_outbox(self, store: Store) -> Metrics:
        """Report the outbox depth of ``store`` at every scrape."""
        self.registry.register(OutboxDepthCollector(store))
        return self

    def watch_outdated(
        self, store: Store, version: str, refresh_s: float = OUTDATED_REFRESH_S
    ) -> Metrics:
        """Report the contacts of ``store`` not scored with ``version`` (counted at most
        every ``refresh_s``)."""
        self.registry.register(OutdatedCollector(store, version, refresh_s))
        return self

    def render(self) -> bytes:
        """The text exposition of every metric in the registry."""
        return generate_latest(self.registry)

    # -- webhook-to-write latency ---------------------------------------------------------

    def note_webhook_change(
        self, connector: str, crm_ids: Iterable[str], at: float | None = None
    ) -> None:
        """Remember when a webhook named these records (the first notice counts)."""
        moment = time.monotonic() if at is None else at
        with self._lock:
            for crm_id in crm_ids:
                self._pending.setdefault((connector, crm_id), moment)
            while len(self._pending) > MAX_PENDING_LATENCIES:
                self._pending.popitem(last=False)

    def observe_written(
        self, connector: str, crm_ids: Iterable[str], at: float | None = None
    ) -> int:
        """Observe the latency of each written record a webhook had named; how many."""
        moment = time.monotonic() if at is None else at
        with self._lock:
            started = [self._pending.pop((connector, i), None) for i in crm_ids]
        seen = [s for s in started if s is not None]
        child = self.webhook_to_write.labels(connector)
        for start in seen:
            child.observe(max(0.0, moment - start))
        return len(seen)


_current = Metrics()
_current_lock = threading.Lock()


def install(metrics: Metrics) -> Metrics:
    """Make ``metrics`` the set the module functions update; returns it."""
    global _current
    with _current_lock:
        _current = metrics
    return metrics


def current() -> Metrics:
    """The set the module functions update."""
    return _current


def record_events_ingested(count: int, source: str = "http") -> None:
    """``count`` new events were stored (source: http, cli, crm, webhook)."""
    if count > 0:
        _current.events_ingested.labels(source).inc(count)


def record_scores_computed(count: int = 1) -> None:
    """The engine scored ``count`` contacts."""
    if count > 0:
        _current.scores_computed.inc(count)


def record_writes(connector: str, status: str, count: int = 1) -> None:
    """``count`` record writes to ``connector`` ended with ``status``."""
    if count > 0:
        _current.writes.labels(connector, status).inc(count)


def record_api_call(connector: str, remaining: int | None = None, count: int = 1) -> None:
    """A CRM API call was made; ``remaining`` is the rate budget its response reported."""
    if count > 0:
        _current.api_calls.labels(connector).inc(count)
    if remaining is not None:
        _current.rate_budget.labels(connector).set(remaining)


def set_rate_budget(connector: str, remaining: float) -> None:
    """The requests left in ``connector``'s rate-limit window."""
    _current.rate_budget.labels(connector).set(remaining)


def record_webhook_events(connector: str, outcome: str, count: int = 1) -> None:
    """Webhook notifications were accepted, replayed or rejected."""
    if count > 0:
        _current.webhook_events.labels(connector, outcome).inc(count)


def observe_cycle(seconds: float) -> None:
    """One sync cycle took ``seconds``."""
    _current.cycle_duration.observe(seconds)


def note_webhook_change(connector: str, crm_ids: Sequence[str]) -> None:
    """A webhook named these records: start their webhook-to-write clocks."""
    _current.note_webhook_change(connector, crm_ids)


def observe_written(connector: str, crm_ids: Sequence[str]) -> int:
    """Writes of these records landed: stop their clocks (records no webhook named are skipped)."""
    return _current.observe_written(connector, crm_ids)


def record_cycle_failure(connector: str, kind: FailureKind) -> None:
    """A cycle stage of ``connector``, or one of its records, failed with ``kind``."""
    _current.cycle_failures.labels(connector, kind).inc()


def set_last_success(connector: str, when: datetime) -> None:
    """A cycle of ``connector`` succeeded at ``when``."""
    _current.last_success.labels(connector).set(when.timestamp())
