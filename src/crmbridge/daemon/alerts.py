"""Alerts for the person on call: a Slack-compatible webhook (``[alerts] webhook_url``).

Three incidents, each announced once when it starts and once when it ends:

- ``auth:<connector>`` — the CRM refused crmbridge's credentials (a read or a write);
  over when a poll of that connector gets through;
- ``dead`` — outbox rows gave up (``dead``); over when none is left (``outbox retry``
  or ``forget``);
- ``stale:<connector>`` — no poll of that connector has succeeded for
  ``[alerts] stale_after`` poll intervals; over at the next successful poll.

A post is ``{"text": ...}`` (Slack's incoming webhooks, and most chat tools, take it),
with a timeout. A failed post is logged and not retried — the incident stays announced
— and never stops a cycle. The URL is a secret: it is never logged, and an error names
only the kind of failure.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

import requests

from crmbridge.logging import get_logger
from crmbridge.settings import AlertSettings
from crmbridge.sync.pipeline import CycleSummary

#: Posts ``{"text": ...}`` to the URL with a timeout (seconds); the HTTP status.
Post = Callable[[str, str, float], int]


def post_text(url: str, text: str, timeout: float) -> int:
    """Post one Slack-compatible message."""
    return requests.post(url, json={"text": text}, timeout=timeout).status_code


class Alerts:
    """Open and close incidents from what cycles report, posting each change once."""

    def __init__(
        self,
        settings: AlertSettings,
        connectors: Sequence[str],
        poll_interval: timedelta,
        started: datetime,
        *,
        post: Post = post_text,
    ) -> None:
        self._url = settings.webhook_url
        self._timeout = settings.timeout.total_seconds()
        self._stale_after = poll_interval * settings.stale_after
        self._intervals = settings.stale_after
        self._post = post
        self._lock = threading.Lock()
        self._open: set[str] = set()
        self._last_ok = dict.fromkeys(connectors, started)

    def __repr__(self) -> str:
        return f"Alerts(open={sorted(self._open)})"

    @property
    def open_incidents(self) -> list[str]:
        """The incidents announced and not yet over."""
        with self._lock:
            return sorted(self._open)

    def after_cycle(
        self, summary: CycleSummary, *, polled: str | None, dead: int, now: datetime
    ) -> None:
        """Update the incidents from one cycle (``polled``: the connector a poll read)."""
        refused = {f.connector for f in summary.failures if f.kind == "auth"}
        for name in refused:
            self._start(
                f"auth:{name}",
                f"crmbridge cannot authenticate with {name}: renew or check its token "
                "(writes wait in the outbox until then)",
            )
        if polled is not None and polled not in refused:
            self._end(f"auth:{polled}", f"crmbridge authenticates with {polled} again")
            if not any(f.connector == polled for f in summary.failures):
                with self._lock:
                    self._last_ok[polled] = now
                self._end(f"stale:{polled}", f"{polled} syncs again: a cycle succeeded")
        if dead:
            rows = "1 CRM write" if dead == 1 else f"{dead:,} CRM writes"
            self._start(
                "dead",
                f"{rows} gave up after retries (dead outbox rows): see `crmbridge outbox "
                "list`, fix the cause, then `crmbridge outbox retry`",
            )
        else:
            self._end("dead", "no dead CRM writes are left in the outbox")
        self.check_stale(now)

    def check_stale(self, now: datetime) -> None:
        """Open a ``stale`` incident for each connector without a recent successful poll."""
        with self._lock:
            late = [(n, at) for n, at in self._last_ok.items() if now - at >= self._stale_after]
        for name, at in late:
            minutes = int((now - at).total_seconds() // 60)
            self._start(
                f"stale:{name}",
                f"no sync cycle of {name} has succeeded for {minutes} min "
                f"({self._intervals} poll intervals)",
            )

    def _start(self, key: str, text: str) -> None:
        with self._lock:
            if key in self._open:
                return
            self._open.add(key)
        self._send(key, "opened", f":rotating_light: {text}")

    def _end(self, key: str, text: str) -> None:
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
            status = self._post(self._url.get_secret_value(), text, self._timeout)
        except requests.RequestException as exc:
            # The exception's text can hold the URL, which is a secret.
            log.warning("alert.post_failed", incident=key, error=type(exc).__name__)
            return
        if status >= 300:
            log.warning("alert.post_failed", incident=key, error=f"HTTP {status}")
