"""HubSpot webhooks: v3 signature verification and notification parsing.

``X-HubSpot-Signature-v3`` = base64(HMAC-SHA256(app secret, method + URI + raw body +
``X-HubSpot-Request-Timestamp``)), the URI with HubSpot's listed escapes decoded
(``%3A %2F %3F %40 %21 %24 %27 %28 %29 %2A %2C %3B``). Timestamps (ms) more than
5 minutes old — or ahead — are refused. The body is a JSON array of at most 100
notifications. The secret is ``[connectors.hubspot] app_secret``; without it the
endpoint answers 503 and polling alone keeps crmbridge in sync.

Contact creations, property changes and restores name the contact; merges fold the
merged contacts into the survivor and deletions forget the contact (both only for the
connector's own portal, which the store checks against ``portalId``); other objects
only get a receipt. A change of ``hs_sales_email_last_replied`` carries the poller's
own ``email_reply`` event (same stable id), so the two never duplicate.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from pydantic import SecretStr, ValidationError

from crmbridge.connector import (
    Gone,
    WebhookChange,
    WebhookDelivery,
    WebhookError,
    WebhookRequest,
    WebhookSupport,
    crm_ids,
    receipt_key,
)
from crmbridge.external import loads
from crmbridge.records import CanonicalEvent
from crmbridge_hubspot.activity import activity_events
from crmbridge_hubspot.settings import HubSpotSettings

SIGNATURE_HEADER = "X-HubSpot-Signature-v3"
TIMESTAMP_HEADER = "X-HubSpot-Request-Timestamp"
#: HubSpot sends "up to 100" notifications per request.
MAX_EVENTS = 100
#: 100 notifications are a few tens of kB.
MAX_BODY = 1024 * 1024
#: Older (or further ahead) signatures are refused: HubSpot's documented 5 minutes.
SIGNATURE_MAX_AGE = timedelta(minutes=5)
#: The contact property HubSpot sets when a tracked sales email gets a reply.
REPLY_PROPERTY = "hs_sales_email_last_replied"
#: Notifications of a contact deleted in HubSpot: crmbridge forgets it.
DELETIONS = frozenset({"contact.deletion", "contact.privacyDeletion"})

NOT_CONFIGURED = (
    "HubSpot webhooks are not configured: set connectors.hubspot.app_secret (HUBSPOT_APP_SECRET)"
)

_ESCAPES = re.compile(r"%(3A|2F|3F|40|21|24|27|28|29|2A|2C|3B)", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class HubSpotWebhooks:
    """The receiver of ``POST /webhooks/hubspot``, keyed by the app's client secret."""

    app_secret: SecretStr | None

    @classmethod
    def from_settings(cls, settings: HubSpotSettings) -> HubSpotWebhooks:
        """The receiver of ``[connectors.hubspot]`` (its ``app_secret``)."""
        return cls(settings.app_secret)

    def unavailable(self) -> str | None:
        """The 503 text when no app secret is configured."""
        return NOT_CONFIGURED if self.app_secret is None else None

    def verify(self, request: WebhookRequest) -> None:
        """A valid v3 signature of one of the request's URLs, at most 5 minutes old."""
        if self.app_secret is None:
            raise WebhookError(503, NOT_CONFIGURED)
        failure = verify_v3(
            self.app_secret.get_secret_value(),
            request.method,
            request.urls,
            request.body,
            request.header(TIMESTAMP_HEADER),
            request.header(SIGNATURE_HEADER),
            request.now,
        )
        if failure is not None:
            raise WebhookError(401, failure)

    def parse(self, request: WebhookRequest) -> WebhookDelivery:
        """The delivery's notifications (answered with the JSON counts)."""
        return WebhookDelivery(tuple(changes(parse_payload(request.body))))


def decode_signed_uri(uri: str) -> str:
    """The URI as HubSpot signs it: its listed percent-escapes decoded."""
    return _ESCAPES.sub(lambda m: chr(int(m.group(1), 16)), uri)


def signature_v3(secret: str, method: str, uri: str, body: bytes, timestamp: str) -> str:
    """base64(HMAC-SHA256(secret, method + uri + body + timestamp)), all UTF-8."""
    # surrogateescape: a URI decoded that way from raw bytes signs as those bytes
    source = method.encode() + uri.encode("utf-8", "surrogateescape") + body + timestamp.encode()
    return base64.b64encode(hmac.new(secret.encode(), source, hashlib.sha256).digest()).decode()


def verify_v3(
    secret: str,
    method: str,
    uris: Iterable[str],
    body: bytes,
    timestamp: str | None,
    signature: str | None,
    now: datetime,
) -> str | None:
    """None when the signature is valid for one of ``uris``; else why it is not.

    Each candidate URI is tried as received and with HubSpot's escapes decoded (the
    documented form); every comparison is constant-time.
    """
    if not signature:
        return f"missing {SIGNATURE_HEADER} header"
    if not timestamp:
        return f"missing {TIMESTAMP_HEADER} header"
    text = timestamp.strip()
    if not text.isascii() or not text.isdigit() or len(text) > 16:
        return f"{TIMESTAMP_HEADER} is not a time in milliseconds"
    skew_ms = now.timestamp() * 1000 - int(text)
    limit_ms = SIGNATURE_MAX_AGE.total_seconds() * 1000
    if skew_ms > limit_ms:
        return "signature timestamp is older than 5 minutes"
    if -skew_ms > limit_ms:
        return "signature timestamp is more than 5 minutes in the future"
    given = signature.strip().encode()
    forms: list[str] = []
    for uri in uris:
        for form in (decode_signed_uri(uri), uri):
            if form not in forms:
                forms.append(form)
    matched = False
    for form in forms:
        expected = signature_v3(secret, method.upper(), form, body, text).encode()
        matched |= hmac.compare_digest(expected, given)
    return None if matched else "signature does not match"


def parse_payload(body: bytes) -> list[dict[str, Any]]:
    """The notifications of a (verified) delivery; WebhookError(400) if malformed."""
    try:
        payload = loads(body)
    except (ValueError, RecursionError):
        raise WebhookError(400, "body is not JSON") from None
    if not isinstance(payload, list):
        raise WebhookError(400, "body must be a JSON array of notifications")
    if len(payload) > MAX_EVENTS:
        raise WebhookError(400, f"{len(payload)} notifications; at most {MAX_EVENTS} per request")
    if not all(isinstance(item, dict) for item in payload):
        raise WebhookError(400, "every notification must be a JSON object")
    return payload


def changes(notifications: Sequence[Mapping[str, Any]]) -> list[WebhookChange]:
    """What each notification changed (contacts only; others just get receipts)."""
    return [_change(item) for item in notifications]


def _change(item: Mapping[str, Any]) -> WebhookChange:
    change = _contact_change(item)
    portal = item.get("portalId")
    if isinstance(portal, str | int) and not isinstance(portal, bool) and str(portal).strip():
        return replace(change, account=str(portal).strip()[:64])
    return change


def _contact_change(item: Mapping[str, Any]) -> WebhookChange:
    kind = str(item.get("subscriptionType") or item.get("eventType") or "")
    receipt = receipt_key(
        item.get("eventId"),
        (item.get("objectId"), item.get("occurredAt")),
        {k: v for k, v in item.items() if k != "attemptNumber"},
    )
    if kind.startswith("object.") and str(item.get("objectTypeId")) == "0-1":
        kind = "contact." + kind.removeprefix("object.")
    if kind in {"contact.creation", "contact.propertyChange", "contact.restore"}:
        ids = crm_ids([item.get("objectId")])
    elif kind == "contact.merge":
        # HubSpot merges contacts into a new record (``newObjectId``); the primary and
        # the merged ones are gone. Older merges kept the primary's id.
        ids = crm_ids([item.get("newObjectId"), item.get("primaryObjectId"), item.get("objectId")])
        merged = item.get("mergedObjectIds")
        gone = crm_ids([*ids[1:], *(merged if isinstance(merged, list) else [])])
        return WebhookChange(
            receipt,
            ids[:1],
            kind=kind,
            gone=tuple(i for i in gone if i not in ids[:1]),
            gone_because=Gone.MERGED,
        )
    elif kind in DELETIONS:
        return WebhookChange(
            receipt, kind=kind, gone=crm_ids([item.get("objectId")]), gone_because=Gone.DELETED
        )
    else:  # association changes, other objects
        return WebhookChange(receipt, kind=kind)
    events: tuple[CanonicalEvent, ...] = ()
    if kind == "contact.propertyChange" and ids and item.get("propertyName") == REPLY_PROPERTY:
        events = _reply_events(ids[0], item.get("propertyValue"))
    return WebhookChange(receipt, ids, events, kind)


def _reply_events(crm_id: str, value: Any) -> tuple[CanonicalEvent, ...]:
    """The poller's own ``email_reply`` event for this property value (same stable id)."""
    if not isinstance(value, str | int) or isinstance(value, bool):
        return ()
    try:
        found = activity_events(crm_id, {REPLY_PROPERTY: str(value)}, None)
    except (ValidationError, ValueError, OverflowError):
        return ()
    return tuple(e for e in found if e.type == "email_reply")


#: ``ConnectorPlugin.webhooks`` of the HubSpot plugin.
WEBHOOKS = WebhookSupport(
    receiver=HubSpotWebhooks.from_settings,
    summary="HubSpot notifications signed with the app's client secret (v3 signature, "
    "at most 5 minutes old), up to 100 per request: contact creations, property changes, "
    "merges and deletions. Answers the counts as JSON.",
    max_body=MAX_BODY,
)
