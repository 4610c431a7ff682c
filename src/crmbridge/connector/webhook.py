"""Webhooks, an optional capability of a connector plugin: verify and parse a delivery.

A CRM that pushes changes plugs a :class:`WebhookSupport` into its
:class:`~crmbridge.connector.plugin.ConnectorPlugin`. The daemon serves it at
``POST /webhooks/<plugin name>``: it reads the body (at most ``max_body`` bytes), builds
the plugin's :class:`WebhookReceiver` from the connector's validated settings, asks it
to :meth:`~WebhookReceiver.verify` the request and to :meth:`~WebhookReceiver.parse` it,
and records the :class:`WebhookChange` list in the store (receipts against replays,
dirty marks, the canonical events, forgetting deleted records) in one short
transaction. A receiver never calls its CRM nor the store: a delivery is answered in
milliseconds, and the poller reads the records themselves.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from crmbridge.records import CanonicalEvent

#: The longest CRM record id the store keeps (``contacts.crm_id``); longer ones are junk.
MAX_CRM_ID = 64
#: The longest replay key the store keeps as such (``webhook_receipts.event_id``).
MAX_RECEIPT = 128
#: A body limit that suits JSON notifications of about a hundred records.
DEFAULT_MAX_BODY = 1024 * 1024

_CRM_ID = re.compile(rf"^[A-Za-z0-9_-]{{1,{MAX_CRM_ID}}}$")


class WebhookError(Exception):
    """A delivery refused as a whole, with the HTTP status to answer.

    401 (not authenticated), 403 (authenticated, but from another account), 400 (not a
    delivery the receiver understands) or 503 (webhooks not configured). ``reason`` is
    sent back and logged, so it never holds a secret.
    """

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class Gone(StrEnum):
    """Why the records of :attr:`WebhookChange.gone` no longer exist in the CRM."""

    #: Deleted (or erased for privacy): crmbridge forgets them.
    DELETED = "deleted"
    #: Merged into the change's first ``crm_ids``: folded into that record.
    MERGED = "merged"


@dataclass(frozen=True, slots=True)
class WebhookChange:
    """One notification: its replay key, the CRM records it names, events it carries."""

    #: Unique per notification of this connector: a redelivery carries the same key
    #: and changes nothing (see :func:`receipt_key`).
    receipt: str
    #: Records changed (or created): marked for rescoring when known.
    crm_ids: tuple[str, ...] = ()
    #: Canonical events the notification carries (stable ids: a poll that derives the
    #: same event does not duplicate it).
    events: tuple[CanonicalEvent, ...] = ()
    #: The CRM's name for what happened (e.g. ``contact.propertyChange``), for logs.
    kind: str = ""
    #: Records that no longer exist in the CRM, and why (``gone_because``).
    gone: tuple[str, ...] = ()
    gone_because: Gone | None = None
    #: The CRM account the notification says it comes from (HubSpot's ``portalId``):
    #: a notification of another account than the connector's is receipted and
    #: ignored, and only one naming the connector's account may forget or fold records.
    account: str | None = None


@dataclass(frozen=True, slots=True)
class WebhookRequest:
    """What a receiver sees of an HTTP request (the body already read in full)."""

    method: str
    #: The URLs the CRM may have called, and signed: the daemon's public URL first
    #: (``daemon.public_url``), then the forwarded and the received scheme and host.
    urls: tuple[str, ...]
    #: Header names in lower case; the first value of a repeated header.
    headers: Mapping[str, str]
    #: Query parameters; the first value of a repeated one.
    query: Mapping[str, str]
    body: bytes
    #: The daemon's clock, for signature freshness.
    now: datetime

    def header(self, name: str) -> str | None:
        """A header's value by any case of its name."""
        return self.headers.get(name.lower())


@dataclass(frozen=True, slots=True)
class WebhookAnswer:
    """A fixed answer the CRM requires instead of the daemon's JSON counts."""

    body: str
    media_type: str


@dataclass(frozen=True, slots=True)
class WebhookDelivery:
    """A parsed delivery: its notifications, and what to answer once they are stored.

    ``answer`` None answers the counts as JSON (``accepted``, ``replayed``, ...).
    """

    changes: tuple[WebhookChange, ...]
    answer: WebhookAnswer | None = None


class WebhookReceiver(Protocol):
    """A CRM's webhook endpoint, built from the connector's settings."""

    def unavailable(self) -> str | None:
        """Why deliveries cannot be received (no secret configured: answered 503 with
        this text, which names the setting), or None."""
        ...

    def verify(self, request: WebhookRequest) -> None:
        """Authenticate the delivery; raise :class:`WebhookError` 401 (no or a wrong
        signature or secret) or 503 (not configured). Comparisons are constant-time."""
        ...

    def parse(self, request: WebhookRequest) -> WebhookDelivery:
        """The notifications of a verified delivery; :class:`WebhookError` 400 when it
        is malformed, 403 when it names another CRM account than the configured one."""
        ...


@dataclass(frozen=True, slots=True)
class WebhookSupport:
    """The webhook capability of a plugin (``ConnectorPlugin.webhooks``).

    ``receiver`` makes a :class:`WebhookReceiver` from the connector's validated
    settings; it is called whether or not the connector is enabled (a receiver only
    needs its secret). ``max_body`` bounds a delivery (413 beyond it); ``summary``
    describes the endpoint in the daemon's OpenAPI document.
    """

    receiver: Callable[[Any], WebhookReceiver]
    summary: str
    max_body: int = DEFAULT_MAX_BODY


def crm_ids(raw: Iterable[Any]) -> tuple[str, ...]:
    """Usable CRM record ids, deduplicated in order (ints accepted, junk dropped)."""
    out: list[str] = []
    for value in raw:
        if isinstance(value, bool) or not isinstance(value, str | int):
            continue
        text = str(value).strip()
        if _CRM_ID.match(text) and text not in out:
            out.append(text)
    return tuple(out)


def receipt_key(key: Any, qualifiers: Sequence[Any], whole: Any) -> str:
    """A notification's replay key: its id (with ``qualifiers``), else a content hash.

    A key too long for the store, or not printable, is hashed; without a key the
    notification's whole content (``whole``, JSON-like) is.
    """
    if key is not None and not isinstance(key, bool | dict | list) and str(key).strip():
        text = ":".join(str(part) for part in (key, *qualifiers) if part is not None)
        if len(text) <= MAX_RECEIPT and text.isprintable():
            return text
        return "h:" + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
    canonical = json.dumps(whole, sort_keys=True, default=str, separators=(",", ":"))
    return "h:" + hashlib.sha256(canonical.encode()).hexdigest()
