"""Owners, tasks with contact associations, list memberships and sequences."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from hubspot import HubSpot
from hubspot.crm.association_type import AssociationType
from hubspot.crm.lists.exceptions import NotFoundException as ListNotFound
from hubspot.crm.objects.tasks import SimplePublicObjectInputForCreate
from hubspot.crm.objects.tasks.exceptions import ApiException as TaskApiException

from crmbridge_hubspot.sandbox import SandboxServer, SandboxState

from .conftest import add_contacts


@pytest.fixture
def owners(state: SandboxState) -> list[str]:
    """Three owners with user ids 501..503."""
    for n in range(3):
        state.add_owner(str(41_000 + n), f"rep{n}@acme.es", f"Rep{n}", "Seller", 501 + n)
    return [str(41_000 + n) for n in range(3)]


def _task(contact_id: str, type_id: int = AssociationType.TASK_TO_CONTACT, **props: str) -> Any:
    properties = {
        "hs_timestamp": "2026-11-27T09:00:00.000Z",
        "hs_task_subject": "Lead replied: call back",
        "hs_task_status": "NOT_STARTED",
        "hs_task_priority": "HIGH",
        "hs_task_type": "TODO",
        **props,
    }
    association = {
        "to": {"id": contact_id},
        "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": type_id}],
    }
    return SimplePublicObjectInputForCreate(properties=properties, associations=[association])


def test_owners_paging_and_email_filter(client: HubSpot, owners: list[str]) -> None:
    api = client.crm.owners.owners_api
    first = api.get_page(limit=2, archived=False)
    assert [o.id for o in first.results] == owners[:2]
    assert first.results[0].user_id == 501
    rest = api.get_page(limit=2, after=first.paging.next.after)
    assert [o.id for o in rest.results] == owners[2:]
    assert rest.paging is None
    assert [o.id for o in client.crm.owners.get_all()] == owners
    assert [o.id for o in api.get_page(email="REP1@acme.es").results] == [owners[1]]


def test_task_created_with_association_to_contact(
    client: HubSpot, state: SandboxState, owners: list[str]
) -> None:
    (contact_id,) = add_contacts(state, 1)
    api = client.crm.objects.tasks.basic_api
    task = api.create(
        simple_public_object_input_for_create=_task(contact_id, hubspot_owner_id=owners[0])
    )
    assert task is not None, "the SDK returns None unless the status is exactly 201"
    assert task.properties["hs_task_subject"] == "Lead replied: call back"
    assert task.properties["hubspot_owner_id"] == owners[0]
    (stored,) = state.tasks()
    assert stored.contact_ids == (contact_id,)
    listed = api.get_page(properties=["hs_task_subject"], associations=["contacts"])
    (row,) = listed.results
    assert row.properties["hs_task_subject"] == "Lead replied: call back"
    assert row.associations["contacts"].results[0].id == contact_id


@pytest.mark.parametrize(
    ("contact", "type_id", "props", "fragment"),
    [
        ("existing", 204, {"hs_timestamp": ""}, "hs_timestamp"),
        ("99999", 204, {}, "do not exist"),
        ("existing", 1, {}, "not supported"),
        ("existing", 204, {"hs_task_priority": "URGENT"}, "INVALID_OPTION"),
    ],
)
def test_task_errors_are_400(
    client: HubSpot,
    state: SandboxState,
    contact: str,
    type_id: int,
    props: dict[str, str],
    fragment: str,
) -> None:
    (contact_id,) = add_contacts(state, 1)
    target = contact_id if contact == "existing" else contact
    with pytest.raises(TaskApiException) as caught:
        client.crm.objects.tasks.basic_api.create(
            simple_public_object_input_for_create=_task(target, type_id, **props)
        )
    assert caught.value.status == 400
    assert fragment in caught.value.body
    assert state.tasks() == []


def test_list_membership_add_via_sdk_parses_records_ids_added(
    client: HubSpot, state: SandboxState
) -> None:
    ids = add_contacts(state, 3)
    static = state.create_list("Reactivation", "MANUAL")
    api = client.crm.lists.memberships_api
    result = api.add(list_id=static.list_id, request_body=[ids[0], ids[1], "424242"])
    assert result is not None
    assert result.records_ids_added == [ids[0], ids[1]]
    assert result.record_ids_missing == ["424242"]
    raw = client.api_request(
        {
            "method": "PUT",
            "path": f"/crm/v3/lists/{static.list_id}/memberships/add",
            "body": [ids[1], ids[2]],
        }
    ).json()
    assert raw["recordIdsAdded"] == raw["recordsIdsAdded"] == [ids[2]]
    page = api.get_page(list_id=static.list_id, limit=2)
    assert [m.record_id for m in page.results] == ids[:2]
    assert page.paging.next.after == ids[1]
    with pytest.raises(ListNotFound):
        api.add(list_id="999", request_body=[ids[0]])
    dynamic = state.create_list("Smart list", "DYNAMIC")
    refused = client.api_request(
        {
            "method": "PUT",
            "path": f"/crm/v3/lists/{dynamic.list_id}/memberships/add",
            "body": [ids[0]],
        }
    )
    assert refused.status_code == 400


def test_sequences_enroll_status_and_reply_unenrolls(
    client: HubSpot, server: SandboxServer, state: SandboxState, owners: list[str]
) -> None:
    (contact_id,) = add_contacts(state, 1)
    state.add_sequence("2001", "Hot lead follow-up", 501)
    state.add_sequence("2002", "Someone else's", 502)

    def call(method: str, path: str, **extra: Any) -> requests.Response:
        response: requests.Response = client.api_request({"method": method, "path": path, **extra})
        return response

    assert call("GET", "/automation/v4/sequences").status_code == 400
    listed = call("GET", "/automation/v4/sequences", qs={"userId": "501"}).json()
    assert listed["total"] == 1 and listed["results"][0]["id"] == "2001"
    status_path = f"/automation/v4/sequences/enrollments/contact/{contact_id}"
    assert call("GET", status_path).status_code == 404
    body = {"contactId": contact_id, "sequenceId": "2001", "senderEmail": "rep0@acme.es"}
    enrolled = call("POST", "/automation/v4/sequences/enrollments", qs={"userId": "501"}, body=body)
    assert enrolled.status_code == 200
    assert set(enrolled.json()) == {"id", "toEmail", "enrolledAt", "updatedAt"}
    again = call("POST", "/automation/v4/sequences/enrollments", qs={"userId": "501"}, body=body)
    assert again.status_code == 409
    status = call("GET", status_path)
    assert status.status_code == 200
    assert status.json()["sequenceId"] == "2001"
    assert status.json()["enrolledByEmail"] == "rep0@acme.es"
    assert "state" not in status.json() and "status" not in status.json()
    for method in ("DELETE", "PATCH"):
        assert call(method, status_path).status_code in (404, 405), "no unenroll endpoint"

    replied = requests.post(f"{server.url}/_sandbox/contacts/{contact_id}/reply", timeout=5)
    assert replied.status_code == 200
    assert replied.json()["properties"]["hs_sales_email_last_replied"]
    assert call("GET", status_path).status_code == 404
    (finished,) = state.enrollments()
    assert finished.finish_reason == "REPLIED"


def test_enrollment_errors(client: HubSpot, state: SandboxState, owners: list[str]) -> None:
    (contact_id,) = add_contacts(state, 1)
    state.add_sequence("2001", "Hot lead follow-up", 501)

    def enroll(user: str, **body: str) -> requests.Response:
        response: requests.Response = client.api_request(
            {
                "method": "POST",
                "path": "/automation/v4/sequences/enrollments",
                "qs": {"userId": user},
                "body": body,
            }
        )
        return response

    assert enroll("501", contactId=contact_id, sequenceId="2001").status_code == 400
    assert (
        enroll("777", contactId=contact_id, sequenceId="2001", senderEmail="x@acme.es").status_code
        == 400
    )
    missing = enroll("501", contactId="99999", sequenceId="2001", senderEmail="x@acme.es")
    assert missing.status_code == 404
    assert missing.json()["category"] == "OBJECT_NOT_FOUND"
