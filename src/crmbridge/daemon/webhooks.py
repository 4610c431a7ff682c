"""CRM webhooks: verify, parse, and record what changed — quickly, without calling a CRM.

HubSpot (v3 signatures)
    ``X-HubSpot-Signature-v3`` = base64(HMAC-SHA256(app secret, method + URI + raw body +
    ``X-HubSpot-Request-Timestamp``)), the URI with HubSpot's listed escapes decoded
    (``%3A %2F %3F %40 %21 %24 %27 %28 %29 %2A %2C %3B``). Timestamps (ms) more than
    5 minutes old — or ahead — are refused. The body is a JSON array of at most 100
    notifications.

Salesforce
    An Outbound Message (SOAP ``notifications`` with ``OrganizationId`` and up to 100
    ``Notification/sObject``), answered with the ``notificationsResponse``/``Ack`` envelope;
    or a JSON relay of Change Data Capture / platform events (CometD or Pub/Sub shapes:
    ``{"data": {"payload": {"ChangeEventHeader": {...}}, "event": {"replayId": 7}}}``, the
    bare payload, or ``{"recordIds": [...]}``). Authenticated by a shared secret.

What is recorded (one short transaction per delivery, see :func:`record_changes`):

- a row in ``webhook_receipts`` per notification (unique per connector): a replayed
  delivery is recognised and stores nothing new;
- the named contacts marked ``dirty`` when already known;
- a pending re-read marker per CRM id in the ``cursors`` table (stream
  ``changed:<crm id>``), which the poller reads with :func:`pending_changes` and clears
  with :func:`clear_changes` once it has read those records;
- for HubSpot's ``hs_sales_email_last_replied`` a canonical ``email_reply`` event with
  the same stable id the poller derives from that property, so the two never duplicate.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy import and_, bindparam, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from crmbridge.external import loads
from crmbridge.logging import get_logger
from crmbridge.records import CanonicalEvent
from crmbridge.store.erasure import find_records, follow_merge, forget
from crmbridge.store.identity import bound_account
from crmbridge.store.repository import Store
from crmbridge.store.tables import CHANGED_PREFIX, ContactRow, CursorRow, WebhookReceiptRow
from crmbridge_hubspot.activity import activity_events

HUBSPOT = "hubspot"
SALESFORCE = "salesforce"

HUBSPOT_SIGNATURE_HEADER = "X-HubSpot-Signature-v3"
HUBSPOT_TIMESTAMP_HEADER = "X-HubSpot-Request-Timestamp"
#: HubSpot sends "up to 100" notifications per request.
HUBSPOT_MAX_EVENTS = 100
#: Older (or further ahead) signatures are refused: HubSpot's documented 5 minutes.
SIGNATURE_MAX_AGE = timedelta(minutes=5)
#: The contact property HubSpot sets when a tracked sales email gets a reply.
REPLY_PROPERTY = "hs_sales_email_last_replied"

SALESFORCE_SECRET_HEADER = "X-Crmbridge-Secret"
#: The WSDL allows at most 100 ``Notification`` elements per Outbound Message.
SALESFORCE_MAX_NOTIFICATIONS = 100
#: A JSON relay may batch more change events than an Outbound Message.
SALESFORCE_MAX_JSON_EVENTS = 1_000
OUTBOUND_NS = "http://soap.sforce.com/2005/09/outbound"
SOAP_ENV_NS = "http://schemas.xmlsoap.org/soap/envelope/"
XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"
#: What Salesforce needs back, or it redelivers the message (for up to 24 hours).
OUTBOUND_ACK = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    f'<soapenv:Envelope xmlns:soapenv="{SOAP_ENV_NS}">'
    "<soapenv:Body>"
    f'<notificationsResponse xmlns="{OUTBOUND_NS}"><Ack>true</Ack></notificationsResponse>'
    "</soapenv:Body>"
    "</soapenv:Envelope>\n"
)
#: Salesforce record id prefixes of the objects crmbridge scores.
SALESFORCE_PREFIXES = {"00Q": "Lead", "003": "Contact"}
SALESFORCE_OBJECTS = frozenset(SALESFORCE_PREFIXES.values())

_STREAM_MAX = 64
_RECEIPT_MAX = 128
#: Notifications of a contact deleted in HubSpot: crmbridge forgets it.
DELETIONS = frozenset({"contact.deletion", "contact.privacyDeletion"})
_CRM_ID = re.compile(rf"^[A-Za-z0-9_-]{{1,{_STREAM_MAX - len(CHANGED_PREFIX)}}}$")
_ESCAPES = re.compile(r"%(3A|2F|3F|40|21|24|27|28|29|2A|2C|3B)", re.IGNORECASE)

_RECEIPTS = WebhookReceiptRow.__table__  # type: ignore[attr-defined]
_CONTACTS = ContactRow.__table__  # type: ignore[attr-defined]
_CURSORS = CursorRow.__table__  # type: ignore[attr-defined]


class WebhookError(Exception):
    """A delivery refused as a whole, with the HTTP status to answer."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True, slots=True)
class WebhookChange:
    """One notification: its replay key, the CRM records it names, events it carries."""

    receipt: str
    crm_ids: tuple[str, ...] = ()
    events: tuple[CanonicalEvent, ...] = ()
    kind: str = ""
    #: Records that no longer exist in the CRM: deleted, or merged into ``crm_ids[0]``.
    gone: tuple[str, ...] = ()
    #: The CRM account the notification says it comes from (HubSpot's ``portalId``).
    account: str | None = None


@dataclass(frozen=True, slots=True)
class RecordResult:
    """What one delivery changed in the store."""

    accepted: int = 0
    replayed: int = 0
    crm_ids: tuple[str, ...] = ()
    contacts_marked: int = 0
    events_stored: int = 0
    #: Notifications from another CRM account than the connector's: receipted only.
    ignored: int = 0

    def as_dict(self) -> dict[str, int]:
        """JSON-ready counts (the webhook response body)."""
        return {
            "accepted": self.accepted,
            "replayed": self.replayed,
            "ignored": self.ignored,
            "records": len(self.crm_ids),
            "contacts_marked": self.contacts_marked,
            "events_stored": self.events_stored,
        }


@dataclass(frozen=True, slots=True)
class PendingChange:
    """A CRM record a webhook named that the poller has not re-read yet."""

    crm_id: str
    noted_at: datetime


@dataclass(frozen=True)
class OutboundMessage:
    """A parsed Salesforce Outbound Message."""

    organization_id: str
    action_id: str
    changes: list[WebhookChange] = field(default_factory=list)


# -- HubSpot ----------------------------------------------------------------------------


def decode_signed_uri(uri: str) -> str:
    """The URI as HubSpot signs it: its listed percent-escapes decoded."""
    return _ESCAPES.sub(lambda m: chr(int(m.group(1), 16)), uri)


def hubspot_signature_v3(secret: str, method: str, uri: str, body: bytes, timestamp: str) -> str:
    """base64(HMAC-SHA256(secret, method + uri + body + timestamp)), all UTF-8."""
    # surrogateescape: a URI decoded that way from raw bytes signs as those bytes
    source = method.encode() + uri.encode("utf-8", "surrogateescape") + body + timestamp.encode()
    return base64.b64encode(hmac.new(secret.encode(), source, hashlib.sha256).digest()).decode()


def verify_hubspot_v3(
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
        return f"missing {HUBSPOT_SIGNATURE_HEADER} header"
    if not timestamp:
        return f"missing {HUBSPOT_TIMESTAMP_HEADER} header"
    text = timestamp.strip()
    if not text.isascii() or not text.isdigit() or len(text) > 16:
        return f"{HUBSPOT_TIMESTAMP_HEADER} is not a time in milliseconds"
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
        expected = hubspot_signature_v3(secret, method.upper(), form, body, text).encode()
        matched |= hmac.compare_digest(expected, given)
    return None if matched else "signature does not match"


def parse_hubspot_payload(body: bytes) -> list[dict[str, Any]]:
    """The notifications of a (verified) delivery; WebhookError(400) if malformed."""
    try:
        payload = loads(body)
    except (ValueError, RecursionError):
        raise WebhookError(400, "body is not JSON") from None
    if not isinstance(payload, list):
        raise WebhookError(400, "body must be a JSON array of notifications")
    if len(payload) > HUBSPOT_MAX_EVENTS:
        raise WebhookError(
            400, f"{len(payload)} notifications; at most {HUBSPOT_MAX_EVENTS} per request"
        )
    if not all(isinstance(item, dict) for item in payload):
        raise WebhookError(400, "every notification must be a JSON object")
    return payload


def hubspot_changes(notifications: Sequence[Mapping[str, Any]]) -> list[WebhookChange]:
    """What each HubSpot notification changed (contacts only; others just get receipts)."""
    return [_hubspot_change(item) for item in notifications]


def _hubspot_change(item: Mapping[str, Any]) -> WebhookChange:
    change = _hubspot_contact_change(item)
    portal = item.get("portalId")
    if isinstance(portal, str | int) and not isinstance(portal, bool) and str(portal).strip():
        return replace(change, account=str(portal).strip()[:64])
    return change


def _hubspot_contact_change(item: Mapping[str, Any]) -> WebhookChange:
    kind = str(item.get("subscriptionType") or item.get("eventType") or "")
    receipt = _receipt(
        item.get("eventId"),
        (item.get("objectId"), item.get("occurredAt")),
        {k: v for k, v in item.items() if k != "attemptNumber"},
    )
    if kind.startswith("object.") and str(item.get("objectTypeId")) == "0-1":
        kind = "contact." + kind.removeprefix("object.")
    if kind in {"contact.creation", "contact.propertyChange", "contact.restore"}:
        ids = _ids([item.get("objectId")])
    elif kind == "contact.merge":
        # HubSpot merges contacts into a new record (``newObjectId``); the primary and
        # the merged ones are gone. Older merges kept the primary's id.
        ids = _ids([item.get("newObjectId"), item.get("primaryObjectId"), item.get("objectId")])
        merged = item.get("mergedObjectIds")
        gone = _ids([*ids[1:], *(merged if isinstance(merged, list) else [])])
        return WebhookChange(
            receipt, ids[:1], kind=kind, gone=tuple(i for i in gone if i not in ids[:1])
        )
    elif kind in DELETIONS:
        return WebhookChange(receipt, kind=kind, gone=_ids([item.get("objectId")]))
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


# -- Salesforce ---------------------------------------------------------------------------


def is_xml(body: bytes, content_type: str) -> bool:
    """Whether a Salesforce delivery is an Outbound Message (SOAP) rather than JSON."""
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind.endswith("xml"):
        return True
    if kind.endswith("json"):
        return False
    return body.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<")


def parse_outbound_message(body: bytes) -> OutboundMessage:
    """Parse a SOAP Outbound Message; WebhookError(400) if it is not one."""
    if b"<!DOCTYPE" in body.upper() or b"<!ENTITY" in body.upper():
        raise WebhookError(400, "document type declarations are not accepted")
    try:
        root = ET.fromstring(body)
    except (ET.ParseError, ValueError):
        raise WebhookError(400, "body is not well-formed XML") from None
    notifications = next((e for e in root.iter() if _local(e.tag) == "notifications"), None)
    if notifications is None:
        raise WebhookError(400, "no <notifications> element: not a Salesforce outbound message")
    org = _child_text(notifications, "OrganizationId")
    if not org:
        raise WebhookError(400, "the outbound message has no OrganizationId")
    items = [e for e in notifications if _local(e.tag) == "Notification"]
    if len(items) > SALESFORCE_MAX_NOTIFICATIONS:
        raise WebhookError(
            400,
            f"{len(items)} notifications; at most {SALESFORCE_MAX_NOTIFICATIONS} per message",
        )
    changes = []
    for item in items:
        sobject = next((e for e in item if _local(e.tag) == "sObject"), None)
        record_id = _child_text(sobject, "Id") if sobject is not None else ""
        declared = sobject.get(XSI_TYPE, "") if sobject is not None else ""
        object_type = declared.rsplit(":", 1)[-1]
        ids = _salesforce_ids(object_type, [record_id])
        receipt = _receipt(
            _child_text(item, "Id") or None, (), ET.tostring(item, encoding="unicode")
        )
        changes.append(WebhookChange(receipt, ids, kind=f"outbound.{object_type or 'unknown'}"))
    return OutboundMessage(org, _child_text(notifications, "ActionId"), changes)


def parse_salesforce_json(body: bytes) -> tuple[list[WebhookChange], set[str]]:
    """Changes from a JSON relay of CDC / platform events, and the org ids it names."""
    try:
        payload = loads(body)
    except (ValueError, RecursionError):
        raise WebhookError(400, "body is neither XML nor JSON") from None
    items = payload if isinstance(payload, list) else [payload]
    if len(items) > SALESFORCE_MAX_JSON_EVENTS:
        raise WebhookError(
            400, f"{len(items)} events; at most {SALESFORCE_MAX_JSON_EVENTS} per request"
        )
    if not items or not all(isinstance(item, dict) for item in items):
        raise WebhookError(400, "body must be a JSON object or an array of objects")
    orgs: set[str] = set()
    changes = []
    for item in items:
        change, org = _salesforce_event(item)
        changes.append(change)
        if org:
            orgs.add(org)
    return changes, orgs


def _salesforce_event(item: Mapping[str, Any]) -> tuple[WebhookChange, str | None]:
    data = _object(item.get("data"), item)
    payload = _object(data.get("payload"), data)
    meta = _object(data.get("event"), {})
    channel = str(item.get("channel") or item.get("topic") or "")
    org = _first_text(payload, item, keys=("organizationId", "OrganizationId", "orgId"))
    header = payload.get("ChangeEventHeader")
    if isinstance(header, dict):
        entity = str(header.get("entityName") or "")
        change_type = str(header.get("changeType") or "").upper()
        raw_ids = header.get("recordIds")
        ids_in = raw_ids if isinstance(raw_ids, list) else []
        sequence = (header.get("transactionKey"), header.get("sequenceNumber"))
        kind = f"cdc.{entity or 'unknown'}.{change_type or 'UNKNOWN'}"
        if change_type.endswith("DELETE"):
            ids_in = []  # nothing left to read
    else:
        attributes = payload.get("attributes")
        entity = str(
            payload.get("entityName")
            or payload.get("sobjectType")
            or (attributes.get("type") if isinstance(attributes, dict) else "")
            or ""
        )
        raw_ids = payload.get("recordIds")
        ids_in = (
            raw_ids
            if isinstance(raw_ids, list)
            else [payload.get("recordId") or payload.get("RecordId") or payload.get("Id")]
        )
        sequence = (None, None)
        kind = f"event.{entity or 'unknown'}"
    replay = meta.get("replayId", item.get("replayId"))
    uuid = meta.get("EventUuid") or payload.get("EventUuid") or item.get("id")
    if replay is not None and not isinstance(replay, dict | list):
        key: Any = f"{channel or entity}:{replay}"
    elif uuid is not None and not isinstance(uuid, dict | list):
        key = uuid
    elif sequence[0] is not None:
        key = f"{sequence[0]}:{sequence[1]}"
    else:
        key = None
    receipt = _receipt(key, (), item)
    return WebhookChange(receipt, _salesforce_ids(entity, ids_in), kind=kind), org


def same_salesforce_org(given: str, expected: str) -> bool:
    """Org ids match on their case-sensitive 15-character form (18 adds a checksum)."""
    a, b = given.strip()[:15], expected.strip()[:15]
    return len(a) == 15 and hmac.compare_digest(
        a.encode("utf-8", "surrogatepass"), b.encode("utf-8", "surrogatepass")
    )


def _salesforce_ids(object_type: str, raw: Iterable[Any]) -> tuple[str, ...]:
    ids = _ids(raw)
    if object_type in SALESFORCE_OBJECTS:
        return ids
    if object_type:
        return ()
    return tuple(i for i in ids if i[:3] in SALESFORCE_PREFIXES)


def _object(value: Any, default: Mapping[str, Any]) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else default


def _local(tag: Any) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _child_text(parent: ET.Element | None, name: str) -> str:
    if parent is None:
        return ""
    for child in parent:
        if _local(child.tag) == name:
            return (child.text or "").strip()
    return ""


def _first_text(*sources: Mapping[str, Any], keys: Sequence[str]) -> str | None:
    for source in sources:
        for key in keys:
            value = source.get(key)
            if isinstance(value, str) and value.strip():
                return value.strip()
    return None


# -- shared -----------------------------------------------------------------------------


def _ids(raw: Iterable[Any]) -> tuple[str, ...]:
    """Usable CRM ids, deduplicated in order (ints accepted, junk dropped)."""
    out: list[str] = []
    for value in raw:
        if isinstance(value, bool) or not isinstance(value, str | int):
            continue
        text = str(value).strip()
        if _CRM_ID.match(text) and text not in out:
            out.append(text)
    return tuple(out)


def _receipt(key: Any, qualifiers: Sequence[Any], whole: Any) -> str:
    """A notification's replay key: its id (qualified), else a hash of its content."""
    if key is not None and not isinstance(key, bool | dict | list) and str(key).strip():
        text = ":".join(str(part) for part in (key, *qualifiers) if part is not None)
        if len(text) <= _RECEIPT_MAX and text.isprintable():
            return text
        return "h:" + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
    canonical = json.dumps(whole, sort_keys=True, default=str, separators=(",", ":"))
    return "h:" + hashlib.sha256(canonical.encode()).hexdigest()


# -- the store ----------------------------------------------------------------------------


def _insert(dialect: str) -> Any:
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


def record_changes(
    store: Store, connector: str, changes: Sequence[WebhookChange], now: datetime
) -> RecordResult:
    """Store receipts, mark contacts dirty, note ids to re-read, add reply events.

    Replays (a receipt already stored, or twice in one delivery) change nothing. Events
    go in first — they are idempotent by their stable ids — so a failure after them
    leaves the delivery unreceipted and its retry completes the work.
    """
    unique: dict[str, WebhookChange] = {}
    for change in changes:
        unique.setdefault(change.receipt, change)
    if not unique:
        return RecordResult()
    keys = list(unique)
    with store.engine.connect() as connection:
        known = set(
            connection.execute(
                select(_RECEIPTS.c.event_id).where(
                    _RECEIPTS.c.connector == connector, _RECEIPTS.c.event_id.in_(keys)
                )
            ).scalars()
        )
        bound = bound_account(connection, connector)
    foreign = {k for k in keys if _foreign(unique[k], bound)}
    kept = [k for k in keys if k not in foreign]
    events = [e for k in kept if k not in known for e in unique[k].events]
    stored = store.insert_events(events).inserted if events else 0
    with store.engine.begin() as connection:
        fresh = _insert_receipts(connection, store.dialect, connector, keys, known, now)
        followed = [unique[k] for k in kept if k in fresh]
        rereads = _follow_identity(connection, connector, followed, bound)
        named = (i for change in followed for i in change.crm_ids)
        ids = tuple(dict.fromkeys([*named, *rereads]))
        marked = _mark_dirty(connection, connector, ids)
        _note_pending(connection, store.dialect, connector, ids, now)
    ignored = len(foreign & fresh)
    if ignored:
        get_logger(connector=connector).warning(
            "webhook.foreign_account",
            notifications=ignored,
            accounts=sorted({str(unique[k].account) for k in foreign}),
            bound_account=bound,
            note="notifications of another CRM account are receipted and ignored",
        )
    return RecordResult(
        accepted=len(fresh) - ignored,
        replayed=len(changes) - len(fresh),
        crm_ids=ids,
        contacts_marked=marked,
        events_stored=stored,
        ignored=ignored,
    )


def _foreign(change: WebhookChange, bound: str | None) -> bool:
    """Does the notification name another CRM account than the connector's?"""
    return change.account is not None and bound is not None and change.account != bound


def _follow_identity(
    connection: Connection, connector: str, changes: Sequence[WebhookChange], bound: str | None
) -> list[str]:
    """Records merged into another are folded into it; deleted ones are forgotten (all
    of a delivery at once: one pass over the outbox however many were deleted).

    Only a notification that names the connector's bound account may erase or fold:
    without a bound account (the connector never started) or without an account in
    the notification, the records are kept and returned, to be marked for a re-read.
    """
    log = get_logger(connector=connector)
    unverified = [
        change
        for change in changes
        if (change.kind in DELETIONS or change.kind == "contact.merge")
        and (bound is None or change.account != bound)
    ]
    if unverified:
        log.warning(
            "contact.identity_unverified",
            kinds=sorted({change.kind for change in unverified}),
            crm_ids=[i for change in unverified for i in change.gone],
            bound_account=bound,
            note="kept and marked for a re-read: the notification's account is not "
            "the connector's bound account",
        )
    changes = [change for change in changes if change not in unverified]
    for change in changes:
        if change.kind == "contact.merge" and change.crm_ids and change.gone:
            folded = follow_merge(connection, connector, change.crm_ids[0], change.gone)
            log.info(
                "contact.merged", survivor=change.crm_ids[0], merged=change.gone, folded=folded
            )
    deleted = [i for change in changes if change.kind in DELETIONS for i in change.gone]
    if deleted:
        erased = forget(connection, find_records(connection, connector, deleted))
        log.info("contact.forgotten", crm_ids=deleted, **erased.as_dict())
    return [i for change in unverified for i in (*change.crm_ids, *change.gone)]


def _insert_receipts(
    connection: Connection,
    dialect: str,
    connector: str,
    keys: Sequence[str],
    known: set[str],
    now: datetime,
) -> set[str]:
    rows = [{"connector": connector, "event_id": k, "received_at": now} for k in keys]
    rows = [r for r in rows if r["event_id"] not in known]
    if not rows:
        return set()
    statement = (
        _insert(dialect)(_RECEIPTS)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["connector", "event_id"])
        .returning(_RECEIPTS.c.event_id)
    )
    return set(connection.execute(statement).scalars())


def _mark_dirty(connection: Connection, connector: str, ids: Sequence[str]) -> int:
    if not ids:
        return 0
    result = connection.execute(
        update(_CONTACTS)
        .where(_CONTACTS.c.crm == connector, _CONTACTS.c.crm_id.in_(list(ids)))
        .values(dirty=True)
    )
    return int(result.rowcount or 0)


def _note_pending(
    connection: Connection, dialect: str, connector: str, ids: Sequence[str], now: datetime
) -> None:
    if not ids:
        return
    insert = _insert(dialect)(_CURSORS)
    rows = [
        {
            "connector": connector,
            "stream": CHANGED_PREFIX + crm_id,
            "value": now.isoformat(),
            "updated_at": now,
        }
        for crm_id in ids
    ]
    statement = insert.values(rows).on_conflict_do_update(
        index_elements=["connector", "stream"],
        set_={"value": insert.excluded.value, "updated_at": insert.excluded.updated_at},
    )
    connection.execute(statement)


def pending_changes(store: Store, connector: str, limit: int = 1_000) -> list[PendingChange]:
    """CRM ids webhooks named since the poller last cleared them, oldest first."""
    query = (
        select(_CURSORS.c.stream, _CURSORS.c.updated_at)
        .where(
            _CURSORS.c.connector == connector,
            _CURSORS.c.stream.startswith(CHANGED_PREFIX, autoescape=True),
        )
        .order_by(_CURSORS.c.updated_at, _CURSORS.c.stream)
        .limit(limit)
    )
    with store.engine.connect() as connection:
        return [
            PendingChange(stream[len(CHANGED_PREFIX) :], at)
            for stream, at in connection.execute(query)
        ]


def clear_changes(store: Store, connector: str, read: Sequence[PendingChange]) -> int:
    """Forget markers the poller has re-read; one renewed since (a newer webhook) stays."""
    if not read:
        return 0
    statement = delete(_CURSORS).where(
        and_(
            _CURSORS.c.connector == connector,
            _CURSORS.c.stream == bindparam("s"),
            _CURSORS.c.updated_at <= bindparam("at", type_=_CURSORS.c.updated_at.type),
        )
    )
    params = [{"s": CHANGED_PREFIX + p.crm_id, "at": p.noted_at} for p in read]
    with store.engine.begin() as connection:
        result = connection.execute(statement, params)
    return int(result.rowcount or 0)
