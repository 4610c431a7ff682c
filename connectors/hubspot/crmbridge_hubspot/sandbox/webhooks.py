"""Signed webhook delivery (HubSpot v3 signatures) of contact changes.

Contact changes made through the API or the admin endpoints are queued without
blocking the request, then a background thread POSTs them to ``config.webhook_url``
as a JSON array of at most 100 events in HubSpot's payload shape. Each request carries
``X-HubSpot-Signature-v3`` = base64(HMAC-SHA256(app secret, method + full URI + raw
body + timestamp)) and ``X-HubSpot-Request-Timestamp`` (ms), plus the legacy v1
signature headers. A failed delivery (connection error, timeout, any 4xx/5xx) is
retried up to ``webhook_max_attempts`` times with ``attemptNumber`` increasing and a
fresh timestamp and signature each time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import requests

from crmbridge import clock
from crmbridge_hubspot.sandbox.config import SandboxConfig
from crmbridge_hubspot.sandbox.records import ContactChange
from crmbridge_hubspot.sandbox.timeutil import to_ms

MAX_EVENTS_PER_REQUEST = 100
DELIVERY_TIMEOUT_S = 5.0
USER_AGENT = "HubSpot Connect 2.0 (http://dev.hubspot.com/) - crmbridge sandbox"


def sign_v3(secret: str, method: str, uri: str, body: bytes, timestamp: str) -> str:
    """HubSpot's v3 signature of one request."""
    source = method.encode() + uri.encode() + body + timestamp.encode()
    digest = hmac.new(secret.encode(), source, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def sign_v1(secret: str, body: bytes) -> str:
    """HubSpot's legacy v1 signature (sha256 hex of secret + body)."""
    return hashlib.sha256(secret.encode() + body).hexdigest()


@dataclass(frozen=True, slots=True)
class Delivery:
    """One delivery attempt, for the admin view and tests."""

    url: str
    attempt: int
    events: int
    status: int | None
    error: str | None
    at_ms: int

    def to_json(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "url": self.url,
            "attempt": self.attempt,
            "events": self.events,
            "status": self.status,
            "error": self.error,
            "at_ms": self.at_ms,
        }


class WebhookDispatcher:
    """Queues contact changes and delivers them on its own thread."""

    def __init__(
        self,
        config: SandboxConfig,
        *,
        post: Callable[..., requests.Response] | None = None,
        wall_ms: Callable[[], int] | None = None,
    ) -> None:
        self._config = config
        self._post = post or requests.post
        self._wall_ms = wall_ms or (lambda: int(clock.now().timestamp() * 1000))
        self._queue: queue.Queue[ContactChange] = queue.Queue()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._busy = threading.Event()
        self._deliveries: deque[Delivery] = deque(maxlen=1_000)
        self._lock = threading.Lock()
        self._event_ids = itertools.count(start=1_000_001)
        self._subscription_ids: dict[tuple[str, str | None], int] = {}
        self.delivered_events = 0
        self.failed_events = 0

    # ── producer side (request threads) ─────────────────────────────────────────

    def notify(self, changes: Sequence[ContactChange]) -> None:
        """Queue the subscribed changes; returns at once."""
        config = self._config
        if not config.webhook_url:
            return
        for change in changes:
            kind = f"contact.{change.kind}"
            if kind not in config.webhook_subscriptions:
                continue
            wanted = config.webhook_properties
            is_change = kind == "contact.propertyChange"
            if is_change and wanted is not None and change.property_name not in wanted:
                continue
            self._queue.put(change)

    # ── lifecycle ────────────────────────────────────────────────────────────────

    def start(self) -> None:
        """Start the delivery thread (idempotent)."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="sandbox-webhooks", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the thread after the batch in flight."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self._thread = None

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until the queue is empty and no delivery is running (for tests)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._queue.empty() and not self._busy.is_set():
                return True
            time.sleep(0.01)
        return False

    def deliveries(self) -> list[Delivery]:
        """Recent delivery attempts, oldest first."""
        with self._lock:
            return list(self._deliveries)

    def pending(self) -> int:
        """Changes waiting to be sent."""
        return self._queue.qsize()

    # ── consumer side (delivery thread) ─────────────────────────────────────────

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                first = self._queue.get(timeout=0.05)
            except queue.Empty:
                continue
            self._busy.set()
            try:
                batch = [first]
                deadline = time.monotonic() + self._config.webhook_batch_window_s
                while len(batch) < MAX_EVENTS_PER_REQUEST:
                    remaining = deadline - time.monotonic()
                    try:
                        batch.append(self._queue.get(timeout=max(remaining, 0.0)))
                    except queue.Empty:
                        break
                self._deliver(batch)
            finally:
                self._busy.clear()

    def _deliver(self, batch: Sequence[ContactChange]) -> None:
        config = self._config
        url = config.webhook_url
        if not url:
            return
        events = [self._event(c) for c in batch]
        attempts = max(1, config.webhook_max_attempts)
        for attempt in range(attempts):
            for event in events:
                event["attemptNumber"] = attempt
            status, error = self._send(url, events)
            with self._lock:
                self._deliveries.append(
                    Delivery(url, attempt, len(events), status, error, self._wall_ms())
                )
            if error is None:
                self.delivered_events += len(events)
                return
            if attempt + 1 < attempts and not self._stop.wait(
                config.webhook_retry_delay_s * (2**attempt)
            ):
                continue
            break
        self.failed_events += len(events)

    def _send(self, url: str, events: list[dict[str, Any]]) -> tuple[int | None, str | None]:
        body = json.dumps(events, separators=(",", ":")).encode()
        timestamp = str(self._wall_ms())
        secret = self._config.app_secret
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "X-HubSpot-Request-Timestamp": timestamp,
            "X-HubSpot-Signature-v3": sign_v3(secret, "POST", url, body, timestamp),
            "X-HubSpot-Signature": sign_v1(secret, body),
            "X-HubSpot-Signature-Version": "v1",
        }
        try:
            response = self._post(url, data=body, headers=headers, timeout=DELIVERY_TIMEOUT_S)
        except requests.RequestException as exc:
            return None, f"{type(exc).__name__}: {exc}"
        if response.status_code >= 400:
            return response.status_code, f"HTTP {response.status_code}"
        return response.status_code, None

    def _event(self, change: ContactChange) -> dict[str, Any]:
        kind = f"contact.{change.kind}"
        key = (kind, change.property_name if change.kind == "propertyChange" else None)
        with self._lock:
            subscription = self._subscription_ids.setdefault(
                key, 501_000 + len(self._subscription_ids)
            )
        event: dict[str, Any] = {
            "eventId": next(self._event_ids),
            "subscriptionId": subscription,
            "portalId": self._config.portal_id,
            "appId": self._config.app_id,
            "occurredAt": to_ms(change.occurred_at),
            "subscriptionType": kind,
            "attemptNumber": 0,
            "objectId": change.object_id,
            "changeSource": change.source.type,
        }
        if change.source.id is not None:
            event["sourceId"] = change.source.id
        if change.kind == "propertyChange":
            event["propertyName"] = change.property_name
            event["propertyValue"] = change.property_value
        elif change.kind == "merge":
            primary = change.primary_id if change.primary_id is not None else change.object_id
            event["objectId"] = primary
            event["changeFlag"] = "MERGED"
            event["primaryObjectId"] = primary
            event["newObjectId"] = change.object_id
            event["mergedObjectIds"] = list(change.merged_ids)
            event["numberOfPropertiesMoved"] = change.properties_moved
        else:
            event["changeFlag"] = "DELETED" if change.kind == "deletion" else "CREATED"
        return event
