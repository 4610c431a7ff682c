"""POST /v1/events: bearer auth, JSON arrays and NDJSON, per-line issues, 413, OpenAPI, fuzz."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from starlette.requests import Request

from crmbridge.daemon.routes.events import MAX_EVENTS_BODY
from crmbridge.daemon.routes.guards import read_body
from crmbridge.daemon.routes.problems import HttpError
from crmbridge.store.tables import EventRow

from .app_harness import INGEST_TOKEN, Harness, events, make_config, seed_contacts

URL = "/v1/events"
AUTH = {"Authorization": f"Bearer {INGEST_TOKEN}"}


def event(n: int, **changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "event_id": f"web-{n}",
        "type": "page_view",
        "occurred_at": "2026-11-19T10:00:00Z",
        "contact": {"email": "ana@acme.es"},
        "properties": {"url": "https://acme.es/pricing"},
    }
    return base | changes


def send(harness: Harness, body: bytes | str, content_type: str | None = None, **extra: Any) -> Any:
    headers = dict(AUTH)
    if content_type is not None:
        headers["Content-Type"] = content_type
    headers.update(extra.pop("headers", {}))
    return harness.client.post(URL, content=body, headers=headers)


# -- authentication -------------------------------------------------------------------------


def test_without_a_configured_token_ingestion_is_503_with_the_fix(
    build: Callable[..., Harness],
) -> None:
    harness = build(make_config(ingest_token=None))
    response = send(harness, json.dumps([event(1)]), "application/json")
    assert response.status_code == 503
    assert "daemon.ingest_token" in response.json()["detail"]
    assert events(harness.store) == 0


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer", "Bearer wrong-token", f"Basic {INGEST_TOKEN}", INGEST_TOKEN],
    ids=["missing", "empty", "wrong", "basic", "no-scheme"],
)
def test_a_missing_or_wrong_token_is_401(harness: Harness, authorization: str | None) -> None:
    headers = {"Content-Type": "application/json"}
    if authorization is not None:
        headers["Authorization"] = authorization
    response = harness.client.post(URL, content=json.dumps([event(1)]), headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert INGEST_TOKEN not in response.text
    assert events(harness.store) == 0


def test_the_bearer_scheme_is_case_insensitive(harness: Harness) -> None:
    body = json.dumps([event(1)])
    headers = {"Authorization": f"bearer {INGEST_TOKEN}"}
    assert send(harness, body, "application/json", headers=headers).status_code == 202


# -- bodies ---------------------------------------------------------------------------------


def test_a_json_array_is_ingested(harness: Harness) -> None:
    seed_contacts(harness.store, "hubspot", [])
    body = json.dumps(
        [event(1), event(2, type="form_submit"), event(3, contact={"crm": "hubspot", "id": "123"})]
    )

    response = send(harness, body, "application/json")

    assert response.status_code == 202, response.text
    result = response.json()
    assert (result["ingested"], result["duplicates"], result["failed"]) == (3, 0, 0)
    assert result["issues"] == []
    assert events(harness.store) == 3
    assert harness.nudges
    scraped = harness.client.get("/metrics").text
    assert 'crmbridge_events_ingested_total{source="http"} 3.0' in scraped


def test_array_positions_number_the_issues(harness: Harness) -> None:
    body = json.dumps(
        [
            event(1),
            {"type": "page_view"},
            event(3, occurred_at="2030-01-01T00:00:00Z"),
            "not an object",
            event(5, occurred_at="2026-11-19T10:00:00"),
            event(6, contact={"crm": "hubspot"}),
        ]
    )
    response = send(harness, body, "application/json")
    assert response.status_code == 202
    result = response.json()
    assert (result["ingested"], result["failed"], result["warnings"]) == (2, 4, 1)
    by_line = {(i["line"], i["severity"]) for i in result["issues"]}
    assert by_line == {(2, "error"), (3, "error"), (4, "error"), (5, "warning"), (6, "error")}
    reasons = {i["line"]: i["reason"] for i in result["issues"] if i["severity"] == "error"}
    assert "occurred_at" in reasons[2] and "contact" in reasons[2]
    assert "future" in reasons[3]
    assert 'contact needs "email"' in reasons[6]


def test_a_misspelt_event_type_is_stored_with_the_nearest_type_suggested(
    harness: Harness,
) -> None:
    body = json.dumps([event(1), event(2, type="page_veiw"), event(3, type="podcast_listened")])
    response = send(harness, body, "application/json")
    assert response.status_code == 202
    result = response.json()
    assert (result["ingested"], result["failed"], result["warnings"]) == (3, 0, 1)
    [issue] = result["issues"]
    assert (issue["line"], issue["severity"]) == (2, "warning")
    assert 'did you mean "page_view"?' in issue["reason"]
    assert result["unknown_types"] == {"page_veiw": 1, "podcast_listened": 1}


@pytest.mark.parametrize("content_type", ["application/x-ndjson", "application/jsonl", None])
def test_ndjson_lines_are_numbered(harness: Harness, content_type: str | None) -> None:
    lines = [json.dumps(event(1)), "", "{broken", json.dumps(event(4)), json.dumps(event(1))]
    response = send(harness, "\n".join(lines) + "\n", content_type)
    assert response.status_code == 202, response.text
    result = response.json()
    assert (result["lines"], result["ingested"], result["duplicates"], result["failed"]) == (
        4,
        2,
        1,
        1,
    )
    assert [(i["line"], i["severity"]) for i in result["issues"]] == [(3, "error")]


def test_a_single_object_with_a_json_content_type_is_one_event(harness: Harness) -> None:
    body = json.dumps(event(1), indent=2)
    response = send(harness, body, "application/json")
    assert response.status_code == 202
    assert response.json()["ingested"] == 1


def test_events_already_stored_are_duplicates(harness: Harness) -> None:
    body = json.dumps([event(1), event(2)])
    assert send(harness, body, "application/json").json()["ingested"] == 2
    harness.nudges.clear()
    again = send(harness, body, "application/json").json()
    assert (again["ingested"], again["duplicates"]) == (0, 2)
    assert not harness.nudges


def test_an_empty_body_ingests_nothing(harness: Harness) -> None:
    for body in ("", "[]", "\n\n"):
        result = send(harness, body, "application/json").json()
        assert (result["lines"], result["ingested"], result["failed"]) == (0, 0, 0)


@pytest.mark.parametrize("body", ["[1, 2", "[" * 50_000, '["\\ud800"'], ids=["cut", "deep", "bad"])
def test_a_broken_json_array_is_400(harness: Harness, body: str) -> None:
    response = send(harness, body, "application/json")
    assert response.status_code == 400
    assert "JSON array" in response.json()["detail"]


def test_the_events_are_stored_as_the_cli_stores_them(harness: Harness) -> None:
    send(harness, json.dumps([event(1, contact={"email": " Ana@Acme.ES "})]), "application/json")
    with harness.store.engine.connect() as connection:
        row = connection.execute(select(EventRow.__table__)).one()  # type: ignore[attr-defined]
    assert (row.dedupe_key, row.type, row.contact_email) == ("web-1", "page_view", "ana@acme.es")


# -- size limit -----------------------------------------------------------------------------


def test_a_body_over_10_mb_is_413(harness: Harness) -> None:
    line = json.dumps(event(1)) + "\n"
    body = line * (MAX_EVENTS_BODY // len(line) + 1)
    response = send(harness, body, "application/x-ndjson")
    assert response.status_code == 413
    assert events(harness.store) == 0


def test_a_chunked_body_over_10_mb_is_413(harness: Harness) -> None:
    chunk = b" " * (1024 * 1024)

    def stream() -> Any:
        for _ in range(11):
            yield chunk

    response = harness.client.post(
        URL, content=stream(), headers=AUTH | {"Content-Type": "application/x-ndjson"}
    )
    assert response.status_code == 413


def _request(chunks: int, content_length: int | None) -> tuple[Request, list[int]]:
    """A request whose body arrives in 1 MB chunks; counts the chunks the app pulled."""
    pulled: list[int] = []
    headers = [(b"content-length", str(content_length).encode())] if content_length else []

    async def receive() -> dict[str, Any]:
        pulled.append(1)
        more = len(pulled) < chunks
        return {"type": "http.request", "body": b"x" * 2**20, "more_body": more}

    scope = {"type": "http", "method": "POST", "path": URL, "headers": headers}
    return Request(scope, receive), pulled


def test_the_limit_is_enforced_before_the_body_is_read_whole() -> None:
    declared, pulled = _request(50, content_length=50 * 2**20)
    with pytest.raises(HttpError) as refused:
        asyncio.run(read_body(declared, MAX_EVENTS_BODY))
    assert refused.value.status == 413
    assert pulled == []  # the declared length was enough

    undeclared, pulled = _request(50, content_length=None)
    with pytest.raises(HttpError):
        asyncio.run(read_body(undeclared, MAX_EVENTS_BODY))
    assert len(pulled) == 11  # stopped at the first chunk past 10 MB


# -- OpenAPI --------------------------------------------------------------------------------


def test_the_openapi_document_describes_the_canonical_event(harness: Harness) -> None:
    document = harness.client.get("/openapi.json").json()
    operation = document["paths"]["/v1/events"]["post"]
    content = operation["requestBody"]["content"]
    items = content["application/json"]["schema"]["items"]
    assert items == {"$ref": "#/components/schemas/CanonicalEvent"}
    assert "application/x-ndjson" in content
    assert set(operation["responses"]) >= {"202", "400", "401", "413", "503"}
    schemas = document["components"]["schemas"]
    event_schema = schemas["CanonicalEvent"]
    assert set(event_schema["properties"]) == {
        "event_id",
        "type",
        "occurred_at",
        "contact",
        "properties",
    }
    assert set(event_schema["required"]) == {"type", "occurred_at", "contact"}
    assert "ContactRef" in schemas
    assert "IngestResult" in schemas
    assert operation["security"] == [{"ingestToken": []}]
    assert document["components"]["securitySchemes"]["ingestToken"]["scheme"] == "bearer"
    assert {"/webhooks/{connector}", "/healthz", "/readyz"} <= set(document["paths"])


# -- fuzz -----------------------------------------------------------------------------------

CONTENT_TYPES = st.sampled_from(
    [
        None,
        "application/json",
        "application/json; charset=utf-8",
        "application/x-ndjson",
        "text/plain",
        "application/octet-stream",
        "multipart/form-data; boundary=x",
        "application/xml",
        "",
        ";;;",
    ]
)
JSON_SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
INSTANTS = st.sampled_from(
    ["2026-11-19T10:00:00Z", "2026-11-19T10:00:00", "2099-01-01T00:00:00Z", "yesterday", "", 5]
)
CONTACTS = st.sampled_from(
    [{"email": "ana@acme.es"}, {"crm": "hubspot", "id": "1"}, {}, {"email": 3}, "ana", None]
)
EVENTISH = st.fixed_dictionaries(
    {"type": st.sampled_from(["page_view", "email_click", "x" * 70, "", 1])},
    optional={
        "event_id": st.text(max_size=140) | st.integers(),
        "occurred_at": INSTANTS,
        "contact": CONTACTS,
        "properties": st.dictionaries(st.text(max_size=5), JSON_VALUES, max_size=3) | JSON_SCALARS,
        "extra": JSON_SCALARS,
    },
)
ITEMS = st.lists(EVENTISH | JSON_VALUES, max_size=8)


def _array_body(items: list[Any]) -> bytes:
    return json.dumps(items).encode()


def _ndjson_body(items: list[Any]) -> bytes:
    return "\n".join(json.dumps(item) for item in items).encode()


BODIES = (
    st.binary(max_size=300)
    | ITEMS.map(_array_body)
    | ITEMS.map(_ndjson_body)
    | st.lists(st.text(max_size=60), max_size=6).map(lambda lines: "\n".join(lines).encode())
)


@settings(
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(body=BODIES, content_type=CONTENT_TYPES)
def test_fuzz_never_5xx_and_every_bad_line_is_reported(
    harness: Harness, body: bytes, content_type: str | None
) -> None:
    response = send(harness, body, content_type)
    assert response.status_code in (202, 400), response.text
    result = response.json()
    if response.status_code == 400:
        assert result["detail"]
        return
    assert result["lines"] == result["ingested"] + result["duplicates"] + result["failed"]
    errors = [i for i in result["issues"] if i["severity"] == "error"]
    assert len(errors) == result["failed"]
    assert all(i["line"] >= 1 for i in result["issues"])
    assert all(isinstance(i["reason"], str) and i["reason"] for i in result["issues"])
