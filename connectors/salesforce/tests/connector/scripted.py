"""A scripted Salesforce for call-shape tests: ``responses`` answers simple-salesforce's
``requests`` calls (login, describe, query, Collections) and records what was sent."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from pydantic import SecretStr

from crmbridge_salesforce.connector import SalesforceConnector
from crmbridge_salesforce.settings import SalesforceSettings

INSTANCE = "https://acme.my.salesforce.com"
LOGIN = "https://login.salesforce.com/services/Soap/u/62.0"
DATA = f"{INSTANCE}/services/data/v62.0"
PASSWORD = "s3cret-Passw0rd"
TOKEN = "TOKENxyz123456"
SESSION = "00Dxx0000001gEH!AQ4AQFake.Session.Id.1234567890"
LEAD_1 = "00Q000000000001AAA"
LEAD_2 = "00Q000000000002AAA"
CONTACT_1 = "003000000000001AAA"


def soap_login_answer(session_id: str = SESSION) -> str:
    """What the SOAP login answers."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"
 xmlns="urn:partner.soap.sforce.com"><soapenv:Body><loginResponse><result>
<serverUrl>{INSTANCE}/services/Soap/u/62.0/00Dxx0000001gEH</serverUrl>
<sessionId>{session_id}</sessionId></result></loginResponse></soapenv:Body>
</soapenv:Envelope>"""


def describe(sobject: str, *extra: tuple[str, str, bool]) -> dict[str, Any]:
    """A describe answer with the usual fields and ``extra`` (name, type, updateable)."""
    fields = [
        ("Id", "id", False),
        ("Email", "email", True),
        ("FirstName", "string", True),
        ("SystemModstamp", "datetime", False),
        ("IsDeleted", "boolean", False),
        ("MasterRecordId", "reference", False),
        ("LastModifiedById", "reference", False),
        ("CRMBridge_Score__c", "double", True),
        ("CRMBridge_Hot__c", "boolean", True),
        ("CRMBridge_Stage__c", "picklist", True),
        ("CRMBridge_Reasons__c", "textarea", True),
        *extra,
    ]
    if sobject == "Lead":
        fields += [("IsConverted", "boolean", False), ("ConvertedContactId", "reference", False)]
    return {
        "name": sobject,
        "fields": [{"name": n, "type": t, "updateable": u} for n, t, u in fields],
    }


def settings(**overrides: Any) -> SalesforceSettings:
    """Password settings for the scripted org."""
    values: dict[str, Any] = {
        "enabled": True,
        "username": "integration@acme.example",
        "password": SecretStr(PASSWORD),
        "security_token": SecretStr(TOKEN),
        "timeout": "7s",
        "batch_size": 200,
        "activity": False,
        **overrides,
    }
    return SalesforceSettings(**values)


def connector(**overrides: Any) -> SalesforceConnector:
    """A connector as the daemon builds it, quick to give up (no retry waits)."""
    built = SalesforceConnector.from_settings(settings(**overrides))
    built.client._sleep = lambda _s: None
    return built


def soql_of(call: Any) -> str:
    """The SOQL a recorded query call sent."""
    return parse_qs(urlsplit(call.request.url).query)["q"][0]


def sent_json(call: Any) -> Any:
    """The JSON body of a recorded call."""
    body = call.request.body
    return json.loads(body.decode() if isinstance(body, bytes) else body)


def query_page(rows: Sequence[dict[str, Any]], next_url: str | None = None) -> dict[str, Any]:
    """A query answer."""
    answer: dict[str, Any] = {
        "totalSize": len(rows),
        "done": next_url is None,
        "records": [{"attributes": {"type": "Lead"}, **row} for row in rows],
    }
    if next_url:
        answer["nextRecordsUrl"] = next_url
    return answer


@pytest.fixture
def org() -> Iterator[responses.RequestsMock]:
    """``responses`` with the login and both describes answered."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.post(LOGIN, body=soap_login_answer(), content_type="text/xml")
        for sobject in ("Lead", "Contact"):
            mock.get(f"{DATA}/sobjects/{sobject}/describe", json=describe(sobject))
        yield mock
