"""Contact search: filters, sorting, paging and HubSpot's limits."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hubspot import HubSpot
from hubspot.crm.contacts import PublicObjectSearchRequest
from hubspot.crm.contacts.exceptions import ApiException

from crmbridge_hubspot.sandbox import SandboxServer, SandboxState
from crmbridge_hubspot.sandbox.config import SandboxConfig
from crmbridge_hubspot.sandbox.records import ChangeSource
from crmbridge_hubspot.sandbox.timeutil import iso_ms, to_ms

from .conftest import TOKEN, add_contacts, body_of

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _search(client: HubSpot, **request: Any) -> Any:
    return client.crm.contacts.search_api.do_search(
        public_object_search_request=PublicObjectSearchRequest(**request)
    )


def _one(prop: str, operator: str, **more: Any) -> list[dict[str, Any]]:
    return [{"filters": [{"propertyName": prop, "operator": operator, **more}]}]


@pytest.fixture
def people(state: SandboxState) -> dict[str, str]:
    """Five contacts with known values and a clock one day apart."""
    rows = [
        ("ana@acme.es", "Ana", "Directora de IT", "12", "DECISION_MAKER;BUDGET_HOLDER", "lead"),
        ("jorge@norte.es", "Jorge", "CIO", "3", "DECISION_MAKER", "marketingqualifiedlead"),
        ("sarah@northwind.co.uk", "Sarah", "IT Director", "100", "END_USER", "lead"),
        ("tom@harbour.com", "Tom", "Analyst", "9", "", "subscriber"),
        ("nobody@example.com", "", "", "", "", ""),
    ]
    ids = {}
    for day, (email, first, title, views, role, stage) in enumerate(rows):
        values = {
            "email": email,
            "firstname": first,
            "jobtitle": title,
            "hs_analytics_num_page_views": views,
            "hs_buying_role": role,
            "lifecyclestage": stage,
        }
        moment = T0 + timedelta(days=day)
        contact = state.create_contact(
            values, source=ChangeSource("IMPORT"), as_user=True, created_at=moment, notify=False
        )
        ids[email.split("@")[0]] = contact.id
    return ids


def _emails(result: Any) -> list[str]:
    return [r.properties["email"] for r in result.results]


def test_operators(client: HubSpot, people: dict[str, str]) -> None:
    assert _emails(_search(client, filter_groups=_one("email", "EQ", value="ANA@ACME.ES"))) == [
        "ana@acme.es"
    ]
    views_gt = _search(client, filter_groups=_one("hs_analytics_num_page_views", "GT", value="10"))
    assert sorted(_emails(views_gt)) == ["ana@acme.es", "sarah@northwind.co.uk"]
    between = _search(
        client,
        filter_groups=_one(
            "createdate",
            "BETWEEN",
            value=str(to_ms(T0 + timedelta(days=1))),
            highValue=iso_ms(T0 + timedelta(days=3)),
        ),
    )
    assert _emails(between) == ["jorge@norte.es", "sarah@northwind.co.uk", "tom@harbour.com"]
    in_stage = _search(
        client,
        filter_groups=_one("lifecyclestage", "IN", values=["marketingqualifiedlead", "subscriber"]),
    )
    assert _emails(in_stage) == ["jorge@norte.es", "tom@harbour.com"]
    not_in = _search(client, filter_groups=_one("lifecyclestage", "NOT_IN", values=["lead"]))
    assert "ana@acme.es" not in _emails(not_in) and "nobody@example.com" in _emails(not_in)
    has_role = _search(client, filter_groups=_one("hs_buying_role", "HAS_PROPERTY"))
    assert len(has_role.results) == 3
    no_title = _search(client, filter_groups=_one("jobtitle", "NOT_HAS_PROPERTY"))
    assert _emails(no_title) == ["nobody@example.com"]
    multi = _search(client, filter_groups=_one("hs_buying_role", "EQ", value="BUDGET_HOLDER"))
    assert _emails(multi) == ["ana@acme.es"]
    neq = _search(client, filter_groups=_one("firstname", "NEQ", value="ana"))
    assert "ana@acme.es" not in _emails(neq) and len(neq.results) == 4
    token = _search(client, filter_groups=_one("email", "CONTAINS_TOKEN", value="*@acme.es"))
    assert _emails(token) == ["ana@acme.es"]


def test_groups_are_ored_and_filters_anded(client: HubSpot, people: dict[str, str]) -> None:
    groups = [
        {
            "filters": [
                {"propertyName": "hs_buying_role", "operator": "EQ", "value": "DECISION_MAKER"},
                {"propertyName": "hs_analytics_num_page_views", "operator": "LT", "value": "5"},
            ]
        },
        {"filters": [{"propertyName": "email", "operator": "EQ", "value": "tom@harbour.com"}]},
    ]
    assert _emails(_search(client, filter_groups=groups)) == ["jorge@norte.es", "tom@harbour.com"]


def test_lastmodifieddate_window_with_ms_epoch_and_iso(
    client: HubSpot, state: SandboxState, people: dict[str, str]
) -> None:
    cutoff = T0 + timedelta(days=2, hours=12)
    by_ms = _search(client, filter_groups=_one("lastmodifieddate", "GT", value=str(to_ms(cutoff))))
    by_iso = _search(client, filter_groups=_one("lastmodifieddate", "GT", value=iso_ms(cutoff)))
    assert _emails(by_ms) == _emails(by_iso) == ["tom@harbour.com", "nobody@example.com"]


def test_sort_paging_and_default_properties(client: HubSpot, people: dict[str, str]) -> None:
    sort = [{"propertyName": "hs_analytics_num_page_views", "direction": "DESCENDING"}]
    first = _search(client, sorts=sort, limit=2)
    assert first.total == 5
    assert _emails(first) == ["sarah@northwind.co.uk", "ana@acme.es"]
    assert first.paging.next.after == "2"
    second = _search(client, sorts=sort, limit=2, after=first.paging.next.after)
    assert _emails(second) == ["tom@harbour.com", "jorge@norte.es"]
    last = _search(client, sorts=sort, limit=2, after="4")
    assert _emails(last) == ["nobody@example.com"]
    assert last.paging is None
    assert set(first.results[0].properties) == {
        "createdate",
        "email",
        "firstname",
        "hs_object_id",
        "lastmodifieddate",
        "lastname",
    }
    chosen = _search(client, properties=["jobtitle"], limit=1)
    assert set(chosen.results[0].properties) == {
        "jobtitle",
        "createdate",
        "hs_object_id",
        "lastmodifieddate",
    }


def test_search_responses_carry_only_the_daily_rate_limit_headers(client: HubSpot) -> None:
    api = client.crm.contacts.search_api
    _, status, headers = api.do_search_with_http_info(
        public_object_search_request=PublicObjectSearchRequest(limit=1)
    )
    assert status == 200
    limits = {h.lower() for h in headers if h.lower().startswith("x-hubspot-ratelimit")}
    assert limits == {"x-hubspot-ratelimit-daily", "x-hubspot-ratelimit-daily-remaining"}


@pytest.mark.parametrize(
    ("request_body", "fragment"),
    [
        ({"limit": 201}, "limit"),
        ({"after": "10000"}, "10,000"),
        ({"filterGroups": [{"filters": []}] * 6}, "filterGroups"),
        (
            {
                "filterGroups": [
                    {"filters": [{"propertyName": "email", "operator": "HAS_PROPERTY"}] * 7}
                ]
            },
            "in a group",
        ),
        (
            {
                "filterGroups": [
                    {"filters": [{"propertyName": "email", "operator": "HAS_PROPERTY"}] * 6}
                ]
                * 4
            },
            "in all",
        ),
        ({"sorts": ["email", "firstname"]}, "one sorting rule"),
        ({"filterGroups": _one("no_such_property", "EQ", value="x")}, "does not exist"),
        ({"filterGroups": _one("lastmodifieddate", "GT", value="yesterday")}, "not a valid"),
    ],
)
def test_limits_are_400_validation_errors(
    client: HubSpot, request_body: dict[str, Any], fragment: str
) -> None:
    with pytest.raises(ApiException) as caught:
        client.crm.contacts.search_api.do_search(public_object_search_request=request_body)
    assert caught.value.status == 400
    body = body_of(caught.value)
    assert body["category"] == "VALIDATION_ERROR"
    assert fragment in body["message"]


def test_body_over_3000_characters_is_400(server: SandboxServer) -> None:
    import requests

    values = [f"someone{n}@example.com" for n in range(150)]
    body = {"filterGroups": _one("email", "IN", values=values)}
    assert len(json.dumps(body)) > 3000
    response = requests.post(
        f"{server.url}/crm/v3/objects/contacts/search",
        json=body,
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=5,
    )
    assert response.status_code == 400
    assert "3,000" in response.json()["message"]


def test_paging_stops_at_10000_results(client: HubSpot, state: SandboxState) -> None:
    add_contacts(state, 10_050)
    page = _search(client, limit=200, after="9800", properties=["email"])
    assert page.total == 10_050
    assert len(page.results) == 200
    assert page.paging.next.after == "10000"
    with pytest.raises(ApiException) as caught:
        _search(client, limit=200, after=page.paging.next.after)
    assert caught.value.status == 400


def test_five_searches_per_second_then_429_secondly() -> None:
    with SandboxServer(config=SandboxConfig()) as server:
        client = HubSpot(access_token=TOKEN, host=server.url)
        api = client.crm.contacts.search_api
        for _ in range(5):
            api.do_search(public_object_search_request=PublicObjectSearchRequest(limit=1))
        with pytest.raises(ApiException) as caught:
            api.do_search(public_object_search_request=PublicObjectSearchRequest(limit=1))
    assert caught.value.status == 429
    body = body_of(caught.value)
    # HubSpot's search 429: a category, no policyName, and only the daily headers.
    assert body["message"] == "You have reached your secondly limit."
    assert body["category"] == "RATE_LIMITS"
    assert body["status"] == "error" and body["correlationId"]
    assert "policyName" not in body and "errorType" not in body
    headers = {h.lower() for h in caught.value.headers}
    limits = {h for h in headers if h.startswith("x-hubspot-ratelimit")}
    assert limits == {"x-hubspot-ratelimit-daily", "x-hubspot-ratelimit-daily-remaining"}
