"""POST /webhooks/salesforce: Outbound Messages (SOAP ack), CDC relays, secret and org."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from crmbridge.connector import WebhookError, WebhookRequest
from crmbridge_salesforce.webhooks import SalesforceWebhooks, parse_outbound_message
from tests.integration.daemon.app_harness import (
    NOW,
    SF_ORG,
    SF_SECRET,
    Harness,
    dirty_ids,
    make_config,
    receipts,
    seed_contacts,
)

URL = "/webhooks/salesforce"
LEAD = "00Q5e00000AbCdEEAZ"
CONTACT = "0035e00000XyZwVAAX"
ACCOUNT = "0015e00000ZkM3hAAF"
SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
OUTBOUND = "http://soap.sforce.com/2005/09/outbound"


def outbound_message(
    notifications: list[tuple[str, str, str]], *, org: str = SF_ORG, action: str = "04k5e0000"
) -> bytes:
    """An Outbound Message as Salesforce sends it: (notification id, sObject type, id)."""
    items = "".join(
        f"""
   <Notification>
    <Id>{nid}</Id>
    <sObject xsi:type="sf:{kind}" xmlns:sf="urn:sobject.enterprise.soap.sforce.com">
     <sf:Id>{rid}</sf:Id>
     <sf:Email>someone@acme.es</sf:Email>
    </sObject>
   </Notification>"""
        for nid, kind, rid in notifications
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="{SOAP}"
 xmlns:xsd="http://www.w3.org/2001/XMLSchema"
 xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
 <soapenv:Body>
  <notifications xmlns="{OUTBOUND}">
   <OrganizationId>{org}</OrganizationId>
   <ActionId>{action}</ActionId>
   <SessionId xsi:nil="true"/>
   <EnterpriseUrl>https://acme.my.salesforce.com/services/Soap/c/62.0/00D5e</EnterpriseUrl>
   <PartnerUrl>https://acme.my.salesforce.com/services/Soap/u/62.0/00D5e</PartnerUrl>{items}
  </notifications>
 </soapenv:Body>
</soapenv:Envelope>""".encode()


def post_xml(harness: Harness, body: bytes, **params: Any) -> Any:
    headers = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'}
    headers.update(params.pop("headers", {"X-Crmbridge-Secret": SF_SECRET}))
    return harness.client.post(URL, content=body, headers=headers, params=params)


def assert_ack(response: Any) -> None:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/xml")
    root = ET.fromstring(response.content)
    assert root.tag == f"{{{SOAP}}}Envelope"
    ack = root.find(f"{{{SOAP}}}Body/{{{OUTBOUND}}}notificationsResponse/{{{OUTBOUND}}}Ack")
    assert ack is not None and ack.text == "true"


def test_an_outbound_message_is_acknowledged_and_recorded(harness: Harness) -> None:
    seed_contacts(harness.store, "salesforce", [LEAD, CONTACT])
    body = outbound_message(
        [("04l01", "Lead", LEAD), ("04l02", "Contact", CONTACT), ("04l03", "Account", ACCOUNT)]
    )

    assert_ack(post_xml(harness, body))

    assert receipts(harness.store) == 3
    assert dirty_ids(harness.store, "salesforce") == {LEAD, CONTACT}
    named = [change.crm_ids for change in parse_outbound_message(body).changes]
    assert named == [(LEAD,), (CONTACT,), ()]  # accounts are not scored
    assert harness.nudges


def test_the_secret_may_come_as_a_query_parameter(harness: Harness) -> None:
    body = outbound_message([("04l01", "Lead", LEAD)])
    assert_ack(post_xml(harness, body, headers={}, secret=SF_SECRET))


@pytest.mark.parametrize(
    ("headers", "params"),
    [({}, {}), ({"X-Crmbridge-Secret": "guess"}, {}), ({}, {"secret": "guess"})],
    ids=["missing", "wrong-header", "wrong-query"],
)
def test_a_wrong_secret_is_401_and_nothing_stored(
    harness: Harness, headers: dict[str, str], params: dict[str, str]
) -> None:
    body = outbound_message([("04l01", "Lead", LEAD)])
    response = post_xml(harness, body, headers=headers, **params)
    assert response.status_code == 401
    assert SF_SECRET not in response.text
    assert receipts(harness.store) == 0


def test_another_org_is_403_and_nothing_stored(harness: Harness) -> None:
    body = outbound_message([("04l01", "Lead", LEAD)], org="00D000000000001AAA")
    response = post_xml(harness, body)
    assert response.status_code == 403
    assert receipts(harness.store) == 0


def test_the_org_id_matches_in_its_15_character_form(build: Callable[..., Harness]) -> None:
    harness = build(make_config(sf_org=SF_ORG[:15]))
    assert_ack(post_xml(harness, outbound_message([("04l01", "Lead", LEAD)])))


def test_any_org_is_accepted_when_none_is_configured(build: Callable[..., Harness]) -> None:
    harness = build(make_config(sf_org=None))
    body = outbound_message([("04l01", "Lead", LEAD)], org="00D000000000001AAA")
    assert_ack(post_xml(harness, body))


def test_a_redelivered_outbound_message_is_acknowledged_but_stores_nothing(
    harness: Harness,
) -> None:
    body = outbound_message([("04l01", "Lead", LEAD)])
    seed_contacts(harness.store, "salesforce", [LEAD])
    assert_ack(post_xml(harness, body))
    store = harness.store
    seed_contacts(store, "salesforce", [LEAD])  # rescored since (dirty flag cleared)
    harness.nudges.clear()

    assert_ack(post_xml(harness, body))

    assert receipts(store) == 1
    assert dirty_ids(store, "salesforce") == set()
    assert not harness.nudges


def test_more_than_100_notifications_are_refused(harness: Harness) -> None:
    body = outbound_message([(f"04l{i:03}", "Lead", LEAD) for i in range(101)])
    assert post_xml(harness, body).status_code == 400
    assert receipts(harness.store) == 0


@pytest.mark.parametrize(
    "body",
    [
        b"<notifications",
        b"<other/>",
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>',
        outbound_message([], org=""),
    ],
    ids=["broken", "not-outbound", "doctype", "no-org"],
)
def test_malformed_xml_is_400(harness: Harness, body: bytes) -> None:
    assert post_xml(harness, body).status_code == 400


DECLARED = (
    '<?xml version="1.0" encoding="{}"?>'
    '<!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]><x>&b;</x>'
)


@pytest.mark.parametrize(
    "body",
    [
        DECLARED.format("UTF-16").encode("utf-16"),
        DECLARED.format("UTF-16LE").encode("utf-16-le"),
        b"\xef\xbb\xbf" + DECLARED.format("UTF-8").encode(),
        DECLARED.format("ISO-8859-1").encode("latin-1"),
    ],
    ids=["utf-16-bom", "utf-16le-declared", "utf-8-bom", "latin-1"],
)
def test_a_declaration_in_any_encoding_is_refused(body: bytes) -> None:
    with pytest.raises(WebhookError) as refused:
        parse_outbound_message(body)
    assert refused.value.status == 400
    assert "document type declarations" in refused.value.reason


@settings(deadline=None)
@given(
    st.one_of(
        st.binary(max_size=300),
        st.text(max_size=200).map(lambda t: f"<?xml version='1.0'?><x>{t}</x>".encode()),
        st.sampled_from(["utf-8", "utf-16", "utf-16-le", "latin-1"]).flatmap(
            lambda codec: st.text(alphabet="<>!&;[]\"' xDOCTYPEENTITYa-", max_size=80).map(
                lambda t, codec=codec: t.encode(codec, "replace")
            )
        ),
    )
)
def test_any_body_is_parsed_or_refused_with_a_400(body: bytes) -> None:
    try:
        parse_outbound_message(body)
    except WebhookError as refused:
        assert refused.status == 400


@pytest.mark.parametrize("codec", ["utf-16", "utf-8-sig"])
def test_an_outbound_message_in_utf_16_or_with_a_bom_is_read(codec: str) -> None:
    text = outbound_message([("04l01", "Lead", LEAD)]).decode()
    body = text.replace('encoding="UTF-8"', f'encoding="{codec.split("-sig")[0].upper()}"')
    message = parse_outbound_message(body.encode(codec))
    assert [c.crm_ids for c in message.changes] == [(LEAD,)]


def test_without_a_shared_secret_salesforce_webhooks_are_unavailable(
    build: Callable[..., Harness],
) -> None:
    harness = build(make_config(sf_secret=None))
    response = post_xml(harness, outbound_message([("04l01", "Lead", LEAD)]))
    assert response.status_code == 503
    assert "connectors.salesforce.webhook_secret" in response.json()["detail"]


# -- JSON relays of Change Data Capture and platform events ---------------------------------


def cdc(replay: int, entity: str, ids: list[str], change: str = "UPDATE") -> dict[str, Any]:
    """A CometD message of a Change Data Capture event."""
    return {
        "channel": f"/data/{entity}ChangeEvent",
        "data": {
            "schema": "IeRuaY6cbI_HsV8Rv1Mc5g",
            "payload": {
                "ChangeEventHeader": {
                    "entityName": entity,
                    "recordIds": ids,
                    "changeType": change,
                    "changeOrigin": "com/salesforce/api/soap/62.0",
                    "transactionKey": "0002343d-9d90-e395-ed20-cf416ba652ad",
                    "sequenceNumber": 1,
                    "commitTimestamp": 1700000000000,
                    "commitUser": "0055e000001AbCdAAK",
                    "changedFields": ["Status"],
                },
                "Status": "Working - Contacted",
            },
            "event": {"replayId": replay},
        },
    }


def post_json(harness: Harness, payload: Any) -> Any:
    return harness.client.post(
        URL, content=json.dumps(payload), headers={"X-Crmbridge-Secret": SF_SECRET}
    )


def test_a_change_data_capture_relay_is_recorded(harness: Harness) -> None:
    seed_contacts(harness.store, "salesforce", [LEAD])
    payload = [
        cdc(101, "Lead", [LEAD]),
        cdc(102, "Contact", [CONTACT], "CREATE"),
        cdc(103, "Lead", ["00Q5e00000Gone1EAA"], "DELETE"),
        cdc(104, "Account", [ACCOUNT]),
    ]
    response = post_json(harness, payload)
    assert response.status_code == 200, response.text
    assert response.json()["accepted"] == 4
    assert dirty_ids(harness.store, "salesforce") == {LEAD}
    assert response.json()["records"] == 2  # the lead and the contact, not the deleted lead

    again = post_json(harness, payload)
    assert again.json()["replayed"] == 4
    assert receipts(harness.store) == 4


def test_a_bare_payload_and_a_platform_event_are_understood(harness: Harness) -> None:
    bare = cdc(7, "Lead", [LEAD])["data"]["payload"]
    platform = {"data": {"payload": {"recordId": CONTACT}, "event": {"EventUuid": "e-1"}}}
    seed_contacts(harness.store, "salesforce", [LEAD, CONTACT])
    response = post_json(harness, [bare, platform])
    assert response.status_code == 200, response.text
    assert dirty_ids(harness.store, "salesforce") == {LEAD, CONTACT}


def test_a_relay_naming_another_org_is_403(harness: Harness) -> None:
    payload = {"organizationId": "00D000000000001AAA", "recordIds": [LEAD]}
    assert post_json(harness, payload).status_code == 403
    assert receipts(harness.store) == 0


@pytest.mark.parametrize("payload", ["text", [], [1, 2], 5])
def test_a_malformed_relay_is_400(harness: Harness, payload: Any) -> None:
    assert post_json(harness, payload).status_code == 400


# -- the receiver on its own (no daemon) -----------------------------------------------------


def test_the_receiver_checks_the_org_after_parsing_and_answers_the_soap_ack() -> None:
    receiver = SalesforceWebhooks(SecretStr(SF_SECRET), SF_ORG)
    body = outbound_message([("04l01", "Lead", LEAD)])
    request = WebhookRequest(
        "POST", (), {"content-type": "text/xml"}, {"secret": SF_SECRET}, body, NOW
    )

    receiver.verify(request)
    delivery = receiver.parse(request)

    assert [c.crm_ids for c in delivery.changes] == [(LEAD,)]
    assert delivery.answer is not None and "<Ack>true</Ack>" in delivery.answer.body
    elsewhere = SalesforceWebhooks(SecretStr(SF_SECRET), "00D000000000001AAA")
    with pytest.raises(WebhookError) as refused:
        elsewhere.parse(request)
    assert refused.value.status == 403


def test_the_documented_change_data_capture_relay_is_accepted(harness: Harness) -> None:
    """docs/salesforce.md's example relay, as written there, marks its lead."""
    docs = (Path(__file__).parents[3] / "docs" / "salesforce.md").read_text("utf-8")
    section = docs.split("## Changes in seconds", 1)[1]
    example = json.loads(section.split("```json\n", 1)[1].split("```", 1)[0])
    lead = example["data"]["payload"]["ChangeEventHeader"]["recordIds"][0]
    seed_contacts(harness.store, "salesforce", [lead])

    response = post_json(harness, example)

    assert response.status_code == 200, response.text
    assert (response.json()["accepted"], response.json()["records"]) == (1, 1)
    assert dirty_ids(harness.store, "salesforce") == {lead}
