"""Salesforce webhooks: Outbound Messages and relays of Change Data Capture events.

An Outbound Message (SOAP ``notifications`` with ``OrganizationId`` and up to 100
``Notification/sObject``) is answered with the ``notificationsResponse``/``Ack``
envelope, or Salesforce redelivers it for up to 24 hours. A JSON relay of Change Data
Capture or platform events (CometD or Pub/Sub shapes:
``{"data": {"payload": {"ChangeEventHeader": {...}}, "event": {"replayId": 7}}}``, the
bare payload, or ``{"recordIds": [...]}``) is answered with the JSON counts.

Both are authenticated by the shared secret ``[connectors.salesforce] webhook_secret``,
sent as ``X-Crmbridge-Secret`` or ``?secret=`` (Outbound Messages cannot set headers);
with ``org_id`` set, a delivery naming another org is refused (403). Leads and contacts
are the records crmbridge scores; other objects only get a receipt.

Webhooks are received whenever the secret is set, whether or not the connector is
enabled: the changes recorded meanwhile (receipts, dirty marks of contacts held
already) wait for the connector's next poll.
"""

from __future__ import annotations

import hmac
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from xml.parsers import expat

from pydantic import SecretStr

from crmbridge.connector import (
    WebhookAnswer,
    WebhookChange,
    WebhookDelivery,
    WebhookError,
    WebhookRequest,
    WebhookSupport,
    crm_ids,
    receipt_key,
)
from crmbridge.external import loads
from crmbridge_salesforce.settings import SalesforceSettings

SECRET_HEADER = "X-Crmbridge-Secret"
SECRET_PARAMETER = "secret"
#: 100 Outbound Message notifications with many fields, or a batch of CDC events.
MAX_BODY = 4 * 1024 * 1024
#: The WSDL allows at most 100 ``Notification`` elements per Outbound Message.
MAX_NOTIFICATIONS = 100
#: A JSON relay may batch more change events than an Outbound Message.
MAX_JSON_EVENTS = 1_000
OUTBOUND_NS = "http://soap.sforce.com/2005/09/outbound"
SOAP_ENV_NS = "http://schemas.xmlsoap.org/soap/envelope/"
XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"
#: What Salesforce needs back, or it redelivers the message (for up to 24 hours).
OUTBOUND_ACK = WebhookAnswer(
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    f'<soapenv:Envelope xmlns:soapenv="{SOAP_ENV_NS}">'
    "<soapenv:Body>"
    f'<notificationsResponse xmlns="{OUTBOUND_NS}"><Ack>true</Ack></notificationsResponse>'
    "</soapenv:Body>"
    "</soapenv:Envelope>\n",
    "text/xml; charset=utf-8",
)
#: Salesforce record id prefixes of the objects crmbridge scores.
PREFIXES = {"00Q": "Lead", "003": "Contact"}
OBJECTS = frozenset(PREFIXES.values())
NOT_CONFIGURED = (
    "Salesforce webhooks are not configured: set connectors.salesforce.webhook_secret "
    "(SALESFORCE_WEBHOOK_SECRET)"
)


@dataclass(frozen=True)
class OutboundMessage:
    """A parsed Salesforce Outbound Message."""

    organization_id: str
    action_id: str
    changes: list[WebhookChange] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class SalesforceWebhooks:
    """The receiver of ``POST /webhooks/salesforce``: a shared secret, optionally one org."""

    secret: SecretStr | None
    org_id: str | None = None

    @classmethod
    def from_settings(cls, settings: SalesforceSettings) -> SalesforceWebhooks:
        """The receiver of ``[connectors.salesforce]`` (``webhook_secret``, ``org_id``)."""
        return cls(settings.webhook_secret, settings.org_id)

    def unavailable(self) -> str | None:
        """The 503 text when no shared secret is configured."""
        return NOT_CONFIGURED if self.secret is None else None

    def verify(self, request: WebhookRequest) -> None:
        """The shared secret, in the header or the query (compared in constant time)."""
        if self.secret is None:
            raise WebhookError(503, NOT_CONFIGURED)
        given = request.header(SECRET_HEADER) or request.query.get(SECRET_PARAMETER)
        expected = self.secret.get_secret_value().encode()
        if not given or not hmac.compare_digest(given.encode(), expected):
            raise WebhookError(401, "missing or wrong Salesforce webhook secret")

    def parse(self, request: WebhookRequest) -> WebhookDelivery:
        """An Outbound Message (acknowledged in SOAP) or a JSON relay (JSON counts)."""
        body = request.body
        answer: WebhookAnswer | None = None
        if is_xml(body, request.header("content-type") or ""):
            message = parse_outbound_message(body)
            orgs, changes, answer = {message.organization_id}, message.changes, OUTBOUND_ACK
        else:
            changes, orgs = parse_json(body)
        if self.org_id and not all(same_org(org, self.org_id) for org in orgs):
            raise WebhookError(403, "the message comes from another Salesforce org")
        return WebhookDelivery(tuple(changes), answer)


def is_xml(body: bytes, content_type: str) -> bool:
    """Whether a delivery is an Outbound Message (SOAP) rather than JSON."""
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind.endswith("xml"):
        return True
    if kind.endswith("json"):
        return False
    return body.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<")


def parse_outbound_message(body: bytes) -> OutboundMessage:
    """Parse a SOAP Outbound Message; WebhookError(400) if it is not one."""
    try:
        _refuse_declarations(body)
        root = ET.fromstring(body)
    except _DeclarationError:
        raise WebhookError(400, "document type declarations are not accepted") from None
    except (ET.ParseError, expat.ExpatError, ValueError):
        raise WebhookError(400, "body is not well-formed XML") from None
    notifications = next((e for e in root.iter() if _local(e.tag) == "notifications"), None)
    if notifications is None:
        raise WebhookError(400, "no <notifications> element: not a Salesforce outbound message")
    org = _child_text(notifications, "OrganizationId")
    if not org:
        raise WebhookError(400, "the outbound message has no OrganizationId")
    items = [e for e in notifications if _local(e.tag) == "Notification"]
    if len(items) > MAX_NOTIFICATIONS:
        raise WebhookError(
            400, f"{len(items)} notifications; at most {MAX_NOTIFICATIONS} per message"
        )
    changes = []
    for item in items:
        sobject = next((e for e in item if _local(e.tag) == "sObject"), None)
        record_id = _child_text(sobject, "Id") if sobject is not None else ""
        declared = sobject.get(XSI_TYPE, "") if sobject is not None else ""
        object_type = declared.rsplit(":", 1)[-1]
        ids = _scored_ids(object_type, [record_id])
        receipt = receipt_key(
            _child_text(item, "Id") or None, (), ET.tostring(item, encoding="unicode")
        )
        changes.append(WebhookChange(receipt, ids, kind=f"outbound.{object_type or 'unknown'}"))
    return OutboundMessage(org, _child_text(notifications, "ActionId"), changes)


class _DeclarationError(Exception):
    """The body declares a document type (or entities): refused before any expansion."""


def _refuse_declarations(body: bytes) -> None:
    """Raise :class:`_DeclarationError` at a document type or entity declaration.

    The parser reads the body in the encoding it declares (a byte order mark, UTF-16,
    an encoding declaration), so no encoding hides a declaration from this check as it
    would from a search of the raw bytes; it stops at the declaration's first byte.
    """

    def refuse(*_args: Any) -> Any:  # the handlers' types differ; none returns
        raise _DeclarationError

    checker = expat.ParserCreate()
    checker.StartDoctypeDeclHandler = refuse
    checker.EntityDeclHandler = refuse
    checker.UnparsedEntityDeclHandler = refuse
    checker.ExternalEntityRefHandler = refuse
    checker.Parse(body, True)


def parse_json(body: bytes) -> tuple[list[WebhookChange], set[str]]:
    """Changes from a JSON relay of CDC / platform events, and the org ids it names."""
    try:
        payload = loads(body)
    except (ValueError, RecursionError):
        raise WebhookError(400, "body is neither XML nor JSON") from None
    items = payload if isinstance(payload, list) else [payload]
    if len(items) > MAX_JSON_EVENTS:
        raise WebhookError(400, f"{len(items)} events; at most {MAX_JSON_EVENTS} per request")
    if not items or not all(isinstance(item, dict) for item in items):
        raise WebhookError(400, "body must be a JSON object or an array of objects")
    orgs: set[str] = set()
    changes = []
    for item in items:
        change, org = _event(item)
        changes.append(change)
        if org:
            orgs.add(org)
    return changes, orgs


def _event(item: Mapping[str, Any]) -> tuple[WebhookChange, str | None]:
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
    receipt = receipt_key(key, (), item)
    return WebhookChange(receipt, _scored_ids(entity, ids_in), kind=kind), org


def same_org(given: str, expected: str) -> bool:
    """Org ids match on their case-sensitive 15-character form (18 adds a checksum)."""
    a, b = given.strip()[:15], expected.strip()[:15]
    return len(a) == 15 and hmac.compare_digest(
        a.encode("utf-8", "surrogatepass"), b.encode("utf-8", "surrogatepass")
    )


def _scored_ids(object_type: str, raw: Iterable[Any]) -> tuple[str, ...]:
    """The ids of leads and contacts: by the declared type, else by the id's prefix."""
    ids = crm_ids(raw)
    if object_type in OBJECTS:
        return ids
    if object_type:
        return ()
    return tuple(i for i in ids if i[:3] in PREFIXES)


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


#: ``ConnectorPlugin.webhooks`` of the Salesforce plugin.
WEBHOOKS = WebhookSupport(
    receiver=SalesforceWebhooks.from_settings,
    summary="Salesforce Outbound Messages (SOAP, answered with the Ack envelope) or a JSON "
    "relay of Change Data Capture / platform events, authenticated by the shared secret "
    "(X-Crmbridge-Secret header or ?secret=); another org than connectors.salesforce.org_id "
    "is refused (403).",
    max_body=MAX_BODY,
)
