"""``GET /v1/profile/{email}``: the ingest token, unknown emails, any case, the OpenAPI entry."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from crmbridge.daemon.http import create_app
from crmbridge.records import ContactRecord

from .conftest import INGEST_TOKEN, Bridge

AUTH = {"Authorization": f"Bearer {INGEST_TOKEN}"}


@pytest.fixture
def scored(bridge_factory: Any) -> Bridge:
    """Three leads scored by one cycle: a subscriber, an MQL and a hot one."""
    bridge: Bridge = bridge_factory()
    bridge.add_contact(email="Nuevo@Example.COM")
    bridge.add_contact(
        email="marta@acme.es", firstname="Marta", jobtitle="CIO", company="Acme", numemployees="900"
    )
    bridge.add_contact(
        email="jorge@globex.com",
        firstname="Jorge",
        jobtitle="CIO",
        numemployees="900",
        crmbridge_need="Routes",
        crmbridge_timeline="this_quarter",
        phone="+34 600 000 000",
    )
    for minutes_ago in (40, 30, 20):
        bridge.event("marta@acme.es", "page_view", minutes_ago, url="/pricing")
        bridge.event("jorge@globex.com", "page_view", minutes_ago, url="/pricing")
    bridge.event("jorge@globex.com", "meeting_booked", 10)
    bridge.cycle()
    return bridge


@pytest.fixture
def client(scored: Bridge) -> Iterator[TestClient]:
    with TestClient(create_app(scored.store, scored.pipeline.config)) as test_client:
        yield test_client


def test_without_the_token_it_is_401_and_says_nothing_about_the_lead(client: TestClient) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": INGEST_TOKEN}):
        answer = client.get("/v1/profile/marta@acme.es", headers=headers)
        assert answer.status_code == 401
        assert answer.headers["www-authenticate"].startswith("Bearer")
        assert "marta" not in answer.text and "CIO" not in answer.text


def test_an_unknown_email_is_404(client: TestClient) -> None:
    for email in ("nobody@acme.es", "marta@acme", "x" * 400 + "@acme.es"):
        answer = client.get(f"/v1/profile/{email}", headers=AUTH)
        assert answer.status_code == 404
        assert answer.json() == {"detail": "no contact has this email"}


def test_the_answer_is_the_next_question_and_what_is_known(
    client: TestClient, scored: Bridge
) -> None:
    answers = {
        email: client.get(f"/v1/profile/{email}", headers=AUTH).json()
        for email in ("nuevo@example.com", "MARTA@Acme.es", "jorge@globex.com")
    }

    assert answers["nuevo@example.com"] == {
        "email": "nuevo@example.com",  # HubSpot keeps emails in lower case
        "stage": "subscriber",
        "score": 0,
        "hot": False,
        "next_question": "firstname",
        "known": [],
    }
    marta = answers["MARTA@Acme.es"]
    assert (marta["stage"], marta["hot"], marta["next_question"]) == (
        "mql",
        False,
        "crmbridge_need",
    )
    assert marta["known"] == ["firstname", "jobtitle", "company", "numemployees"]
    jorge = answers["jorge@globex.com"]
    assert (jorge["hot"], jorge["next_question"]) == (True, "crmbridge_budget")
    assert "phone" in jorge["known"]
    # The same answer the pipeline wrote to HubSpot.
    for answer in answers.values():
        crm_id = scored.state.get_contact(answer["email"].lower(), id_property="email").id
        written = scored.crm(crm_id, "crmbridge_next_question")["crmbridge_next_question"]
        assert answer["next_question"] == (written or "")
        assert answer["score"] == int(scored.crm(crm_id, "crmbridge_score")["crmbridge_score"])


def test_an_email_is_matched_in_any_case_and_an_unscored_contact_is_answered(
    client: TestClient, scored: Bridge
) -> None:
    # Salesforce keeps the case people typed (the store does not); not scored yet.
    record = ContactRecord(
        crm="salesforce",
        id="00Q5e000001AbCdEAK",
        email="Late.Lead@Acme.ES",
        properties={"firstname": "Late", "jobtitle": "CTO"},
        updated_at=scored.now,
    )
    scored.store.store_page("salesforce", "contacts", [record], "cursor-1", [])

    for email in ("late.lead@acme.es", "LATE.LEAD@ACME.ES", " Late.Lead@Acme.ES"):
        answer = client.get(f"/v1/profile/{email}", headers=AUTH)
        assert answer.status_code == 200, email
        assert answer.json() == {
            "email": "late.lead@acme.es",
            "stage": None,
            "score": None,
            "hot": False,
            # No stage yet: only a step without a stage filter could apply.
            "next_question": "",
            "known": ["firstname", "jobtitle"],
        }


def test_without_a_configured_token_it_is_503(scored: Bridge) -> None:
    config = scored.pipeline.config
    daemon = config.daemon.model_copy(update={"ingest_token": None})
    app = create_app(scored.store, config.model_copy(update={"daemon": daemon}))
    with TestClient(app) as client:
        assert client.get("/v1/profile/marta@acme.es", headers=AUTH).status_code == 503
    daemon = config.daemon.model_copy(update={"ingest_token": SecretStr("")})
    app = create_app(scored.store, config.model_copy(update={"daemon": daemon}))
    with TestClient(app) as client:
        assert client.get("/v1/profile/marta@acme.es", headers=AUTH).status_code == 503


def test_the_openapi_document_publishes_the_endpoint(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    operation = document["paths"]["/v1/profile/{email}"]["get"]

    assert operation["security"] == [{"ingestToken": []}]
    assert {"200", "401", "404"} <= set(operation["responses"])
    answer = document["components"]["schemas"]["ProfileAnswer"]
    assert set(answer["properties"]) == {
        "email",
        "stage",
        "score",
        "hot",
        "next_question",
        "known",
    }
