"""Alerts for the person on call: a Slack-compatible webhook (``[alerts] webhook_url``).

Four incidents, each announced once when it starts and once when it ends:

- ``start`` — the start-up checks refused to start the daemon (a token refused, a
  scope missing, another CRM account); over when a start passes them;
- ``auth:<connector>`` — the CRM refused crmbridge's credentials, or they lack a
  permission a read or every write needs (failure kinds ``auth`` and ``missing_scope``;
  a scope only some hand-off actions need costs those actions, not an alert); over
  when a poll of that connector gets through;
- ``dead`` — outbox rows gave up (``dead``); over when none is left (``outbox retry``
  or ``forget``);
- ``stale:<connector>`` — no poll of that connector has succeeded for
  ``daemon.unhealthy_after_cycles`` poll intervals (when ``/healthz`` turns 503: the
  same measure, :class:`~crmbridge.daemon.sync_health.SyncHealth`); over at the next
  successful poll.

All but the stale sync are kept in the store, so replicas and restarts (a container
restarting in a loop) announce each one once; a stale sync is judged by each replica's
own health.

A post is ``{"text": ...}`` (Slack's incoming webhooks, and most chat tools, take it),
with a timeout. A failed post is logged and not retried — the incident stays announced
— and never stops a cycle. The URL is a secret: it is never logged, and an error names
only the kind of failure.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime

import requests

from crmbridge.clock import resolve_now
from crmbridge.daemon.sync_health import SyncHealth
from crmbridge.logging import get_logger
from crmbridge.settings import AlertSettings
from crmbridge.store.controls import close_incident, incidents, open_incident
from crmbridge.store.repository import Store
from crmbridge.sync.failures import CycleFailure
from crmbridge.sync.pipeline import CycleSummary

#: Incidents every replica sees alike, kept in the store (a stale sync is each one's own).
SHARED = ("auth:", "dead", "start")
#: How much of the start-up problems a post quotes.
MAX_PROBLEMS_TEXT = 600


def post_text(url: str, text: str, timeout: float) -> int:
    """Post one Slack-compatible message."""
    return requests.post(url, json={"text": text}, timeout=timeout).status_code


class Alerts:
    """Open and close incidents from what cycles report, posting each change once."""

    def __init__(
        self,
        settings: AlertSettings,
        health: SyncHealth,
        store: Store,
        *,
        wall: Callable[[], datetime] = lambda: resolve_now(None),
    ) -> None:
        self._url = settings.webhook_url
        self._timeout = settings.timeout.total_seconds()
        self._health = health
        self._store = store
        self._wall = wall
        self._lock = threading.Lock()
        self._open: set[str] = set()

    def __repr__(self) -> str:
        return f"Alerts(open={sorted(self._open)})"

    @property
    def open_incidents(self) -> list[str]:
        """The incidents announced and not yet over."""
        with self._store.session() as session:
            shared = incidents(session)
        with self._lock:
            return sorted({*shared, *self._open})

    def after_cycle(self, summary: CycleSummary, *, polled: str | None, dead: int) -> None:
        """Update the incidents from one cycle (``polled``: the connector a poll read)."""
        refused = {
            f.connector: f
            for f in summary.failures
            if f.kind in ("auth", "missing_scope") and not f.of_record
        }
        for name, failure in sorted(refused.items()):
            self._start(f"auth:{name}", _access_text(name, failure))
        if polled is not None and polled not in refused:
            self._end(f"auth:{polled}", f"crmbridge authenticates with {polled} again")
        if dead:
            rows = "1 CRM write" if dead == 1 else f"{dead:,} CRM writes"
            self._start(
                "dead",
                f"{rows} gave up after retries (dead outbox rows): see `crmbridge outbox "
                "list`, fix the cause, then `crmbridge outbox retry`",
            )
        else:
            self._end("dead", "no dead CRM writes are left in the outbox")
        self.check_stale()

    def start_refused(self, problems: list[str]) -> None:
        """The start-up checks refused to start (a restart loop posts this once)."""
        shown = "; ".join(problems[:3])[:MAX_PROBLEMS_TEXT]
        self._start("start", f"crmbridge refuses to start: {shown}")

    def started(self) -> None:
        """The start-up checks passed."""
        self._end("start", "crmbridge started: its start-up checks pass again")

    def check_stale(self) -> None:
        """Open or close a ``stale`` incident per connector, as the sync health says."""
        health = self._health
        late = set(health.stale(self._wall()))
        for name in health.report(self._wall())["connectors"]:
            if name in late:
                self._start(
                    f"stale:{name}",
                    f"no sync cycle of {name} has succeeded for "
                    f"{health.unhealthy_after_cycles} poll intervals "
                    f"({_minutes(health.allowed_gap.total_seconds())})",
                )
            else:
                self._end(f"stale:{name}", f"{name} syncs again: a cycle succeeded")

    def _start(self, key: str, text: str) -> None:
        if key.startswith(SHARED):
            with self._store.engine.begin() as connection:
                opened = open_incident(connection, key, self._wall())
            if not opened:
                return
        else:
            with self._lock:
                if key in self._open:
                    return
                self._open.add(key)
        self._send(key, "opened", f":rotating_light: {text}")

    def _end(self, key: str, text: str) -> None:
        if key.startswith(SHARED):
            with self._store.engine.begin() as connection:
                closed = close_incident(connection, key)
            if not closed:
                return
        else:
            with self._lock:
                if key not in self._open:
                    return
                self._open.discard(key)
        self._send(key, "closed", f":white_check_mark: {text}")

    def _send(self, key: str, change: str, text: str) -> None:
        log = get_logger(component="alerts")
        log.warning("alert." + change, incident=key, text=text)
        if self._url is None:
            return
        try:
            status = post_text(self._url.get_secret_value(), text, self._timeout)
        except requests.RequestException as exc:
            # The exception's text can hold the URL, which is a secret.
            log.warning("alert.post_failed", incident=key, error=type(exc).__name__)
            return
        if status >= 300:
            log.warning("alert.post_failed", incident=key, error=f"HTTP {status}")


def _access_text(name: str, failure: CycleFailure) -> str:
    """What the on-call person reads when ``name`` refuses crmbridge's access."""
    if failure.kind == "missing_scope":
        return (
            f"crmbridge lacks a permission in {name} to {failure.stage}: {failure.message} "
            "(writes wait in the outbox until then)"
        )
    return (
        f"crmbridge cannot authenticate with {name}: renew or check its token "
        "(writes wait in the outbox until then)"
    )


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:g} min" if seconds >= 60 else f"{seconds:g} s"
