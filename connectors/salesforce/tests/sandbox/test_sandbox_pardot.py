"""The sandbox's Account Engagement v5 queries refuse what Pardot refuses, with Pardot's
error codes, and page as Pardot does (``nextPageUrl``, the page size cap, ties)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from connectors.salesforce.tests.conftest import SandboxHandle
from crmbridge_salesforce.sandbox.pardot_state import BUSINESS_UNIT_ID, PardotState

URL = "/api/v5/objects/visitor-activities"


def pardot_of(sandbox: SandboxHandle) -> PardotState:
    state: PardotState = sandbox.server.services.extras["pardot"]
    return state


def get(
    sandbox: SandboxHandle,
    params: dict[str, str] | None = None,
    *,
    url: str | None = None,
    headers: dict[str, str] | None = None,
) -> requests.Response:
    sent = {
        "Authorization": f"Bearer {sandbox.session_id()}",
        "Pardot-Business-Unit-Id": BUSINESS_UNIT_ID,
        **(headers or {}),
    }
    target = url or sandbox.instance_url + URL
    return sandbox.http.get(target, params=params, headers=sent, timeout=10)


def code_of(response: requests.Response) -> tuple[int, int]:
    body: dict[str, Any] = response.json()
    return response.status_code, int(body["code"])


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Authorization": "Bearer not-a-session"}, (401, 184)),
        ({"Pardot-Business-Unit-Id": "0Uv123"}, (400, 182)),
        ({"Pardot-Business-Unit-Id": "0Uv5f000000OTHERAA"}, (403, 201)),
    ],
)
def test_the_token_and_business_unit_are_checked_first(
    salesforce_sandbox: SandboxHandle, headers: dict[str, str], expected: tuple[int, int]
) -> None:
    answer = get(salesforce_sandbox, {"fields": "id"}, headers=headers)
    assert code_of(answer) == expected


def test_a_missing_business_unit_header_is_pardots_181(salesforce_sandbox: SandboxHandle) -> None:
    sandbox = salesforce_sandbox
    answer = sandbox.http.get(
        sandbox.instance_url + URL,
        params={"fields": "id"},
        headers={"Authorization": f"Bearer {sandbox.session_id()}"},
        timeout=10,
    )
    assert code_of(answer) == (400, 181)
    assert "Pardot-Business-Unit-Id header not found" in answer.json()["message"]


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({}, 13),  # fields is required
        ({"fields": "id,password"}, 224),
        ({"fields": "id", "limit": "1001"}, 52),
        ({"fields": "id", "limit": "0"}, 52),
        ({"fields": "id", "orderBy": "details"}, 5),
        ({"fields": "id", "updatedAfter": "2026-01-01"}, 5),
        ({"fields": "id", "updatedAtAfterOrEqualTo": "yesterday"}, 7),
        ({"fields": "id", "nextPageToken": "forged"}, 211),
        ({"fields": "id", "updatedAtAfter": "2026-01-01T00:00:00Z", "idGreaterThan": "1",
          "prospectId": "2", "type": "4"}, 209),
    ],
)  # fmt: skip
def test_bad_queries_are_refused_with_pardots_codes(
    salesforce_sandbox: SandboxHandle, params: dict[str, str], code: int
) -> None:
    assert code_of(get(salesforce_sandbox, params)) == (400, code)


def test_pages_follow_next_page_url_with_ties_across_the_boundary(
    salesforce_sandbox: SandboxHandle,
) -> None:
    sandbox = salesforce_sandbox
    pardot = pardot_of(sandbox)
    prospect = pardot.add_prospect(email="ana@acme.example", salesforce_id="00Q5g0000000006EAA")
    at = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    ids = pardot.add_activities([{"type": 2, "prospect_id": prospect, "at": at}] * 2500)
    ids += pardot.add_activities(
        [{"type": 4, "prospect_id": None, "at": at + timedelta(seconds=1)}]
    )
    params = {
        "fields": "id,updatedAt,prospect.salesforceId",
        "orderBy": "updatedAt,id",
        "limit": "1000",
        "updatedAtAfterOrEqualTo": "2026-11-20T02:00:00-08:00",
    }
    seen: list[int] = []
    answer = get(sandbox, params).json()
    pages = 1
    while True:
        assert len(answer["values"]) <= 1000
        seen.extend(v["id"] for v in answer["values"])
        if not answer["nextPageUrl"]:
            break
        query = parse_qs(urlsplit(answer["nextPageUrl"]).query)
        assert query["fields"] == [params["fields"]]
        answer = get(sandbox, url=answer["nextPageUrl"]).json()
        pages += 1
    assert (pages, seen) == (3, ids)
    first = get(sandbox, {**params, "limit": "1"}).json()["values"][0]
    assert first["updatedAt"] == "2026-11-20T02:00:00-08:00"  # the API user's time zone
    assert first["prospect"] == {"salesforceId": "00Q5g0000000006EAA"}


def test_the_daily_limit_is_pardots_122(salesforce_sandbox: SandboxHandle) -> None:
    sandbox = salesforce_sandbox
    pardot_of(sandbox).daily_limit = 2
    assert [get(sandbox, {"fields": "id"}).status_code for _ in range(2)] == [200, 200]
    assert code_of(get(sandbox, {"fields": "id"})) == (429, 122)


def test_the_business_unit_is_seeded_over_http(salesforce_sandbox: SandboxHandle) -> None:
    sandbox = salesforce_sandbox
    base = sandbox.instance_url + "/_sandbox/pardot"
    pid = sandbox.http.post(
        f"{base}/prospects", json={"email": "ana@acme.example", "score": 10}, timeout=10
    ).json()["id"]
    added = sandbox.http.post(
        f"{base}/activities",
        json={"activities": [{"type": 4, "prospect_id": pid}], "staged": True},
        timeout=10,
    ).json()["ids"]
    assert get(sandbox, {"fields": "id"}).json()["values"] == []
    assert sandbox.http.post(f"{base}/commit", timeout=10).status_code == 200
    assert get(sandbox, {"fields": "id"}).json()["values"] == [{"id": added[0]}]
    changed = sandbox.http.patch(f"{base}/prospects/{pid}", json={"grade": "A"}, timeout=10)
    assert changed.status_code == 200 and pardot_of(sandbox).prospects[pid]["grade"] == "A"
    refused = sandbox.http.post(f"{base}/activities", json={"activities": "x"}, timeout=10)
    assert refused.status_code == 400
    assert sandbox.http.patch(f"{base}/prospects/1", json={}, timeout=10).status_code == 404
