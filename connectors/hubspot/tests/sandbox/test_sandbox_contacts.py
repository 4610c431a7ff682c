"""Contacts: list, get, create, batch read and batch update through the SDK."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from hubspot import HubSpot
from hubspot.crm.contacts import (
    BatchInputSimplePublicObjectBatchInput,
    BatchReadInputSimplePublicObjectId,
    SimplePublicObjectBatchInput,
    SimplePublicObjectInputForCreate,
)
from hubspot.crm.contacts.exceptions import ApiException, NotFoundException

from crmbridge_hubspot.sandbox import SandboxServer, SandboxState
from crmbridge_hubspot.sandbox.timeutil import iso_ms

from .conftest import TOKEN, add_contacts, body_of


def _update(client: HubSpot, *inputs: tuple[str, dict[str, str]]) -> Any:
    batch = BatchInputSimplePublicObjectBatchInput(
        inputs=[SimplePublicObjectBatchInput(id=i, properties=p) for i, p in inputs]
    )
    return client.crm.contacts.batch_api.update(batch_input_simple_public_object_batch_input=batch)


def test_get_page_follows_the_record_id_cursor(client: HubSpot, state: SandboxState) -> None:
    ids = add_contacts(state, 25)
    api = client.crm.contacts.basic_api
    first = api.get_page(limit=10, properties=["email", "firstname"], archived=False)
    assert [c.id for c in first.results] == ids[:10]
    assert first.paging.next.after == ids[10]
    assert first.results[0].properties["email"] == "person0@example.com"
    assert set(first.results[0].properties) == {
        "email",
        "firstname",
        "createdate",
        "hs_object_id",
        "lastmodifieddate",
    }
    everything = client.crm.contacts.get_all(properties=["email"])
    assert [c.id for c in everything] == ids


def test_properties_repeated_or_comma_separated_and_trailing_slash(
    server: SandboxServer, state: SandboxState
) -> None:
    (contact_id,) = add_contacts(state, 1, jobtitle="CIO")
    headers = {"Authorization": f"Bearer {TOKEN}"}
    base = f"{server.url}/crm/v3/objects/contacts/{contact_id}"
    repeated = requests.get(
        base + "/?properties=email&properties=jobtitle&archived=False", headers=headers, timeout=5
    )
    commas = requests.get(
        base + "?properties=email,jobtitle&archived=false", headers=headers, timeout=5
    )
    assert repeated.status_code == commas.status_code == 200
    assert repeated.json()["properties"] == commas.json()["properties"]
    assert repeated.json()["properties"]["jobtitle"] == "CIO"
    assert repeated.headers["Content-Type"] == "application/json;charset=utf-8"


def test_get_by_id_404_and_by_email(client: HubSpot, state: SandboxState) -> None:
    (contact_id,) = add_contacts(state, 1)
    api = client.crm.contacts.basic_api
    assert api.get_by_id("person0@example.com", id_property="email").id == contact_id
    with pytest.raises(NotFoundException) as caught:
        api.get_by_id("424242")
    assert body_of(caught.value)["category"] == "OBJECT_NOT_FOUND"


def test_a_lone_surrogate_is_answered_as_an_escape_and_search_keeps_working(
    client: HubSpot, state: SandboxState
) -> None:
    (contact_id,) = add_contacts(state, 1, jobtitle="x \ud800")
    api = client.crm.contacts.basic_api

    read = api.get_by_id(contact_id, properties=["jobtitle"])

    assert read.properties["jobtitle"] == "x \ud800"
    found = client.crm.contacts.search_api.do_search(
        public_object_search_request={"filterGroups": [], "properties": ["jobtitle"], "limit": 10}
    )
    assert [r.id for r in found.results] == [contact_id]


def test_create_is_201_and_duplicate_email_409(client: HubSpot) -> None:
    api = client.crm.contacts.basic_api
    payload = SimplePublicObjectInputForCreate(
        properties={"email": "Ana@Acme.es", "firstname": "Ana", "jobtitle": "Directora de IT"}
    )
    created = api.create(simple_public_object_input_for_create=payload)
    assert created is not None, "the SDK returns None unless the status is exactly 201"
    assert created.properties["jobtitle"] == "Directora de IT"
    assert created.properties["lastmodifieddate"] == iso_ms(created.updated_at)
    with pytest.raises(ApiException) as caught:
        api.create(
            simple_public_object_input_for_create=SimplePublicObjectInputForCreate(
                properties={"email": "ana@acme.es"}
            )
        )
    assert caught.value.status == 409
    assert f"Existing ID: {created.id}" in body_of(caught.value)["message"]


def test_batch_read_207_for_missing_ids(client: HubSpot, state: SandboxState) -> None:
    ids = add_contacts(state, 3)
    read = BatchReadInputSimplePublicObjectId(
        inputs=[{"id": ids[0]}, {"id": ids[2]}, {"id": "99999"}],
        properties=["email"],
        properties_with_history=[],
    )
    result = client.crm.contacts.batch_api.read(
        batch_read_input_simple_public_object_id=read, archived=False
    )
    assert sorted(c.id for c in result.results) == sorted([ids[0], ids[2]])
    assert result.num_errors == 1
    assert result.errors[0].category == "OBJECT_NOT_FOUND"
    assert result.errors[0].context == {"ids": ["99999"]}
    complete = client.crm.contacts.batch_api.read(
        batch_read_input_simple_public_object_id=BatchReadInputSimplePublicObjectId(
            inputs=[{"id": ids[1]}], properties=["email"]
        )
    )
    assert complete.status == "COMPLETE"
    assert getattr(complete, "num_errors", None) in (None, 0)


def test_batch_update_applies_found_and_reports_missing(
    client: HubSpot, state: SandboxState
) -> None:
    ids = add_contacts(state, 2, lifecyclestage="lead")
    before = state.get_contact(ids[0])
    assert before is not None
    result = _update(
        client,
        (ids[0], {"jobtitle": "IT Director", "hs_buying_role": "DECISION_MAKER;BUDGET_HOLDER"}),
        ("99999", {"jobtitle": "CIO"}),
    )
    assert result.num_errors == 1 and result.errors[0].context["ids"] == ["99999"]
    after = state.get_contact(ids[0])
    assert after is not None
    assert after.properties["jobtitle"] == "IT Director"
    assert after.properties["hs_buying_role"] == "DECISION_MAKER;BUDGET_HOLDER"
    assert after.updated_at > before.updated_at
    assert after.properties["lastmodifieddate"] == iso_ms(after.updated_at)
    (returned,) = result.results
    assert returned.properties["lastmodifieddate"] == iso_ms(returned.updated_at)
    history = after.history["jobtitle"][0]
    assert history.source.type == "INTEGRATION"

    again = _update(client, (ids[0], {"jobtitle": "IT Director"}))
    assert again.results[0].updated_at > returned.updated_at, "every applied write bumps it"
    # The request log keeps what each write asked for (a test compares it with a plan).
    logged = [r for r in state.requests() if r.path.endswith("/contacts/batch/update")]
    assert [r.json_body()["inputs"][0]["properties"] for r in logged] == [
        {"jobtitle": "IT Director", "hs_buying_role": "DECISION_MAKER;BUDGET_HOLDER"},
        {"jobtitle": "IT Director"},
    ]
    assert all(r.json_body() is None for r in state.requests() if r.method == "GET")


def test_whole_batch_400_for_property_that_does_not_exist(
    client: HubSpot, state: SandboxState
) -> None:
    ids = add_contacts(state, 2)
    with pytest.raises(ApiException) as caught:
        _update(client, (ids[0], {"jobtitle": "CIO"}), (ids[1], {"crmbridge_score": "80"}))
    assert caught.value.status == 400
    body = body_of(caught.value)
    assert body["category"] == "VALIDATION_ERROR"
    assert body["message"].startswith("Property values were not valid: ")
    assert '"error":"PROPERTY_DOESNT_EXIST"' in body["message"]
    assert body["errors"] == [
        {
            "message": 'Property "crmbridge_score" does not exist',
            "code": "PROPERTY_DOESNT_EXIST",
            "context": {"propertyName": ["crmbridge_score"]},
        }
    ]
    untouched = state.get_contact(ids[0])
    assert untouched is not None and "jobtitle" not in untouched.properties


@pytest.mark.parametrize(
    ("values", "code"),
    [
        ({"lifecyclestage": "hot_lead"}, "INVALID_OPTION"),
        ({"hs_buying_role": "DECISION_MAKER;BOSS"}, "INVALID_OPTION"),
        ({"hubspot_owner_id": "9586504"}, "INVALID_OPTION"),
        ({"hs_object_id": "5"}, "READ_ONLY_VALUE"),
        ({"lastmodifieddate": "1704067200000"}, "READ_ONLY_VALUE"),
        ({"email": "not-an-email"}, "INVALID_EMAIL"),
    ],
)
def test_invalid_values_are_400_validation_errors(
    client: HubSpot, state: SandboxState, values: dict[str, str], code: str
) -> None:
    (contact_id,) = add_contacts(state, 1)
    with pytest.raises(ApiException) as caught:
        _update(client, (contact_id, values))
    assert caught.value.status == 400
    body = body_of(caught.value)
    assert body["category"] == "VALIDATION_ERROR"
    assert body["errors"][0]["code"] == code
    if code == "INVALID_OPTION":
        assert "was not one of the allowed options" in body["message"]


def test_empty_string_clears_and_lifecycle_only_moves_forward(
    client: HubSpot, state: SandboxState
) -> None:
    (contact_id,) = add_contacts(state, 1, jobtitle="CIO", lifecyclestage="salesqualifiedlead")
    _update(client, (contact_id, {"jobtitle": "", "lifecyclestage": "lead"}))
    contact = state.get_contact(contact_id)
    assert contact is not None
    assert "jobtitle" not in contact.properties
    assert contact.properties["lifecyclestage"] == "salesqualifiedlead"
    _update(client, (contact_id, {"lifecyclestage": ""}))
    _update(client, (contact_id, {"lifecyclestage": "lead"}))
    contact = state.get_contact(contact_id)
    assert contact is not None and contact.properties["lifecyclestage"] == "lead"


def test_batch_limits_and_duplicate_ids(client: HubSpot, state: SandboxState) -> None:
    ids = add_contacts(state, 2)
    with pytest.raises(ApiException) as too_many:
        _update(client, *[(ids[0], {"jobtitle": str(n)}) for n in range(101)])
    assert too_many.value.status == 400
    with pytest.raises(ApiException) as duplicated:
        _update(client, (ids[0], {"jobtitle": "a"}), (ids[0], {"jobtitle": "b"}))
    assert duplicated.value.status == 400
    assert "Duplicate IDs" in body_of(duplicated.value)["message"]


def test_properties_with_history_on_get(client: HubSpot, state: SandboxState) -> None:
    (contact_id,) = add_contacts(state, 1, jobtitle="Analyst")
    _update(client, (contact_id, {"jobtitle": "CIO"}))
    fetched = client.crm.contacts.basic_api.get_by_id(
        contact_id, properties=["jobtitle"], properties_with_history=["jobtitle"]
    )
    values = [v.value for v in fetched.properties_with_history["jobtitle"]]
    assert values == ["CIO", "Analyst"]
    assert fetched.properties_with_history["jobtitle"][0].source_type == "INTEGRATION"
