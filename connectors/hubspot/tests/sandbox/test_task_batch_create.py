"""Tasks created a hundred a call (``/crm/v3/objects/tasks/batch/create``), through the SDK."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
from hubspot import HubSpot
from hubspot.crm.association_type import AssociationType
from hubspot.crm.objects.tasks import (
    BatchInputSimplePublicObjectBatchInputForCreate,
    PublicObjectSearchRequest,
    SimplePublicObjectBatchInputForCreate,
)
from hubspot.crm.objects.tasks.exceptions import ApiException

from crmbridge_hubspot.sandbox import SandboxState

from .conftest import add_contacts, body_of

DUE = "2026-11-27T09:00:00.000Z"


def _input(contact_id: str, trace: str | None, **props: str) -> Any:
    properties = {
        "hs_timestamp": DUE,
        "hs_task_subject": "Hot lead: call today",
        "hs_task_body": f"Call them.\n\nRef: {trace or 'none'}",
        "hs_task_status": "NOT_STARTED",
        "hs_task_type": "TODO",
        **props,
    }
    association = {
        "to": {"id": contact_id},
        "types": [
            {
                "associationCategory": "HUBSPOT_DEFINED",
                "associationTypeId": AssociationType.TASK_TO_CONTACT,
            }
        ],
    }
    return SimplePublicObjectBatchInputForCreate(
        properties=properties, associations=[association], object_write_trace_id=trace
    )


def _create(client: HubSpot, inputs: list[Any]) -> tuple[Any, int]:
    api = client.crm.objects.tasks.batch_api
    batch = BatchInputSimplePublicObjectBatchInputForCreate(inputs=inputs)
    data, status, _headers = api.create_with_http_info(batch)
    return data, status


def test_a_batch_with_trace_ids_creates_the_valid_inputs_and_names_each_refused_one(
    client: HubSpot, state: SandboxState
) -> None:
    contacts = add_contacts(state, 3)
    inputs = [_input(crm_id, f"ref{n}") for n, crm_id in enumerate(contacts)]
    inputs.append(_input(contacts[0], "no-date", hs_timestamp=""))
    inputs.append(_input("999999", "no-contact"))
    data, status = _create(client, inputs)

    assert status == 207
    assert sorted(r.object_write_trace_id for r in data.results) == ["ref0", "ref1", "ref2"]
    refused = {trace for error in data.errors for trace in error.context["objectWriteTraceId"]}
    assert refused == {"no-date", "no-contact"}
    assert data.num_errors == 2
    created = {task.properties["hs_task_body"].split()[-1]: task for task in state.tasks()}
    assert sorted(created) == ["ref0", "ref1", "ref2"]
    assert all(created[f"ref{n}"].contact_ids == (contacts[n],) for n in range(3))


def test_a_clean_batch_is_201_and_its_tasks_are_searchable_by_contact_and_ref(
    client: HubSpot, state: SandboxState
) -> None:
    contacts = add_contacts(state, 2)
    data, status = _create(client, [_input(c, f"crmbridgeref{n}") for n, c in enumerate(contacts)])
    assert status == 201 and len(data.results) == 2
    search = PublicObjectSearchRequest(
        filter_groups=[
            {
                "filters": [
                    {"propertyName": "associations.contact", "operator": "EQ", "value": c},
                    {
                        "propertyName": "hs_task_body",
                        "operator": "CONTAINS_TOKEN",
                        "value": f"crmbridgeref{n}",
                    },
                ]
            }
            for n, c in enumerate(contacts)
        ],
        properties=["hs_task_body"],
        limit=10,
    )
    found = client.crm.objects.tasks.search_api.do_search(public_object_search_request=search)
    assert found.total == 2


def test_without_trace_ids_one_refused_input_fails_the_whole_batch(
    client: HubSpot, state: SandboxState
) -> None:
    (contact,) = add_contacts(state, 1)
    with pytest.raises(ApiException) as refused:
        _create(client, [_input(contact, None), _input(contact, None, hs_timestamp="")])
    assert refused.value.status == 400
    assert body_of(refused.value)["category"] == "VALIDATION_ERROR"
    assert state.tasks() == []


@pytest.mark.parametrize(
    ("traces", "message"),
    [([f"t{n}" for n in range(101)], "limited to 100"), (["same", "same"], "unique")],
)
def test_too_many_inputs_or_a_repeated_trace_id_is_refused(
    client: HubSpot, state: SandboxState, traces: list[str], message: str
) -> None:
    (contact,) = add_contacts(state, 1)
    with pytest.raises(ApiException) as refused:
        _create(client, [_input(contact, trace) for trace in traces])
    assert refused.value.status == 400 and message in body_of(refused.value)["message"]
    assert state.tasks() == []


def test_a_new_task_reaches_search_only_after_its_index_lag(
    client: HubSpot, state: SandboxState
) -> None:
    """Read by id at once, found by search only once the lag has passed (as HubSpot)."""
    (contact,) = add_contacts(state, 1)
    state.task_index.lag = lambda: timedelta(milliseconds=600)
    data, status = _create(client, [_input(contact, "crmbridgereflag")])
    assert status == 201
    (task_id,) = [r.id for r in data.results]
    search = PublicObjectSearchRequest(
        filter_groups=[
            {
                "filters": [
                    {
                        "propertyName": "hs_task_body",
                        "operator": "CONTAINS_TOKEN",
                        "value": "crmbridgereflag",
                    }
                ]
            }
        ],
        limit=10,
    )
    search_api = client.crm.objects.tasks.search_api
    assert search_api.do_search(public_object_search_request=search).total == 0
    assert client.crm.objects.tasks.basic_api.get_by_id(task_id).id == task_id
    time.sleep(0.7)
    assert search_api.do_search(public_object_search_request=search).total == 1
