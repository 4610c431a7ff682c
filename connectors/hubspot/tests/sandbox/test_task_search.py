"""Task search (``POST /crm/v3/objects/tasks/search``) through the official SDK.

Tasks are created through the API with their contact associations (type 204); search
finds them by ``associations.contact`` and by task properties, pages by offset, keeps
HubSpot's limits, needs a contacts read scope and shares the per-second search limit
with contact search.
"""

from __future__ import annotations

from typing import Any

import pytest
from hubspot import HubSpot
from hubspot.crm.association_type import AssociationType
from hubspot.crm.contacts import PublicObjectSearchRequest as ContactSearchRequest
from hubspot.crm.objects.tasks import PublicObjectSearchRequest, SimplePublicObjectInputForCreate
from hubspot.crm.objects.tasks.exceptions import ApiException, ForbiddenException

from crmbridge_hubspot.sandbox import SandboxConfig, SandboxServer, SandboxState

from .conftest import TOKEN, add_contacts, body_of, relaxed_config

#: (subject, body, status, priority, the contacts by position in ``contacts``).
TASKS = (
    ("Call back", "Asked about pricing for 40 seats", "NOT_STARTED", "HIGH", (0,)),
    ("Send proposal", "Pricing proposal with the annual discount", "IN_PROGRESS", "MEDIUM", (0,)),
    ("Book a demo", "Wants to see the reporting module", "NOT_STARTED", "LOW", (0,)),
    ("Call back", "Pricing question from procurement", "COMPLETED", "HIGH", (1,)),
    ("Joint meeting", "Pricing review with both champions", "WAITING", "MEDIUM", (0, 1)),
    ("Follow up", "", "NOT_STARTED", "NONE", (2,)),
)


def _create(client: HubSpot, contact_ids: list[str], subject: str, body: str, **props: str) -> str:
    properties = {
        "hs_timestamp": "2026-11-27T09:00:00.000Z",
        "hs_task_subject": subject,
        "hs_task_type": "TODO",
        **props,
    }
    if body:
        properties["hs_task_body"] = body
    associations = [
        {
            "to": {"id": contact_id},
            "types": [
                {
                    "associationCategory": "HUBSPOT_DEFINED",
                    "associationTypeId": AssociationType.TASK_TO_CONTACT,
                }
            ],
        }
        for contact_id in contact_ids
    ]
    created = client.crm.objects.tasks.basic_api.create(
        simple_public_object_input_for_create=SimplePublicObjectInputForCreate(
            properties=properties, associations=associations
        )
    )
    return str(created.id)


def _search(client: HubSpot, **request: Any) -> Any:
    return client.crm.objects.tasks.search_api.do_search(
        public_object_search_request=PublicObjectSearchRequest(**request)
    )


def _where(*filters: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"filters": list(filters)}]


def _of(contact_id: str) -> dict[str, Any]:
    return {"propertyName": "associations.contact", "operator": "EQ", "value": contact_id}


def _ids(result: Any) -> list[str]:
    return [r.id for r in result.results]


@pytest.fixture
def contacts(state: SandboxState) -> list[str]:
    """Ana, Jorge and Sarah (ids in that order)."""
    return add_contacts(state, 3)


@pytest.fixture
def tasks(client: HubSpot, contacts: list[str]) -> list[str]:
    """The :data:`TASKS`, created through the API; their ids in the same order."""
    return [
        _create(
            client,
            [contacts[i] for i in owners],
            subject,
            body,
            hs_task_status=status,
            hs_task_priority=priority,
        )
        for subject, body, status, priority, owners in TASKS
    ]


def test_a_contacts_tasks_that_mention_pricing(
    client: HubSpot, contacts: list[str], tasks: list[str]
) -> None:
    pricing = {"propertyName": "hs_task_body", "operator": "CONTAINS_TOKEN", "value": "pricing"}
    found = _search(
        client,
        filter_groups=_where(_of(contacts[0]), pricing),
        properties=["hs_task_subject", "hs_task_body"],
    )
    assert found.total == 3
    assert _ids(found) == [tasks[0], tasks[1], tasks[4]]
    assert found.paging is None
    first = found.results[0]
    assert first.properties == {
        "hs_task_subject": "Call back",
        "hs_task_body": "Asked about pricing for 40 seats",
        "hs_createdate": first.properties["hs_createdate"],
        "hs_lastmodifieddate": first.properties["hs_lastmodifieddate"],
        "hs_object_id": tasks[0],
    }
    assert first.created_at is not None
    assert first.archived is False
    # The shared task belongs to both contacts; the third contact's task to neither.
    assert _ids(_search(client, filter_groups=_where(_of(contacts[1]), pricing))) == [
        tasks[3],
        tasks[4],
    ]
    assert _ids(_search(client, filter_groups=_where(_of(contacts[2]), pricing))) == []
    assert _ids(_search(client, filter_groups=_where(_of(contacts[2])))) == [tasks[5]]
    assert _search(client, filter_groups=_where(_of("424242"))).total == 0


def test_property_operators_and_ored_groups(client: HubSpot, tasks: list[str]) -> None:
    def ids(*filters: dict[str, Any]) -> list[str]:
        return _ids(_search(client, filter_groups=_where(*filters), limit=100))

    status = "hs_task_status"
    assert ids({"propertyName": status, "operator": "EQ", "value": "NOT_STARTED"}) == [
        tasks[0],
        tasks[2],
        tasks[5],
    ]
    assert ids({"propertyName": status, "operator": "NEQ", "value": "NOT_STARTED"}) == [
        tasks[1],
        tasks[3],
        tasks[4],
    ]
    priorities = {"propertyName": "hs_task_priority", "operator": "IN", "values": ["HIGH", "LOW"]}
    assert ids(priorities) == [tasks[0], tasks[2], tasks[3]]
    assert ids({"propertyName": "hs_task_body", "operator": "HAS_PROPERTY"}) == tasks[:5]
    subject = {"propertyName": "hs_task_subject", "operator": "EQ", "value": "call back"}
    assert ids(subject, {"propertyName": status, "operator": "EQ", "value": "COMPLETED"}) == [
        tasks[3]
    ]
    either = [
        {"filters": [{"propertyName": status, "operator": "EQ", "value": "WAITING"}]},
        {"filters": [{"propertyName": "hs_task_subject", "operator": "EQ", "value": "Follow up"}]},
    ]
    assert _ids(_search(client, filter_groups=either)) == [tasks[4], tasks[5]]
    assert _search(client).total == len(TASKS)
    assert _ids(_search(client, query="proposal")) == [tasks[1]]
    assert _ids(_search(client, query="call")) == [tasks[0], tasks[3]]


def test_results_carry_the_default_task_properties_unless_others_are_asked(
    client: HubSpot, tasks: list[str]
) -> None:
    plain = _search(client, limit=1).results[0]
    assert set(plain.properties) == {"hs_createdate", "hs_lastmodifieddate", "hs_object_id"}
    chosen = _search(client, limit=1, properties=["hs_task_priority", "no_such_property"])
    assert set(chosen.results[0].properties) == {
        "hs_task_priority",
        "hs_createdate",
        "hs_lastmodifieddate",
        "hs_object_id",
    }


def test_paging_by_after(client: HubSpot, state: SandboxState) -> None:
    (contact_id,) = add_contacts(state, 1)
    created = [_create(client, [contact_id], f"Task {n}", f"Step {n}") for n in range(7)]
    seen: list[str] = []
    after: str | None = None
    pages = 0
    while True:
        page = _search(client, filter_groups=_where(_of(contact_id)), limit=3, after=after)
        assert page.total == 7
        seen.extend(_ids(page))
        pages += 1
        if page.paging is None:
            break
        after = page.paging.next.after
    assert pages == 3
    assert seen == created
    last = _search(client, filter_groups=_where(_of(contact_id)), limit=3, after="6")
    assert _ids(last) == created[6:]
    assert last.paging is None


@pytest.mark.parametrize(
    ("request_body", "fragment"),
    [
        ({"limit": 201}, "limit must be at most 200"),
        ({"filterGroups": _where({**_of("1001"), "operator": "NEQ"})}, "use EQ"),
        ({"filterGroups": _where({**_of("1001"), "value": "ana"})}, "record id"),
        (
            {
                "filterGroups": _where(
                    {"propertyName": "associations.company", "operator": "EQ", "value": "7"}
                )
            },
            "does not exist",
        ),
        (
            {"filterGroups": _where({"propertyName": "email", "operator": "HAS_PROPERTY"})},
            "does not exist",
        ),
    ],
)
def test_limits_and_bad_filters_are_400(
    client: HubSpot, request_body: dict[str, Any], fragment: str
) -> None:
    with pytest.raises(ApiException) as caught:
        client.crm.objects.tasks.search_api.do_search(public_object_search_request=request_body)
    assert caught.value.status == 400
    body = body_of(caught.value)
    assert body["category"] == "VALIDATION_ERROR"
    assert fragment in body["message"]


def test_limit_200_is_accepted(client: HubSpot, tasks: list[str]) -> None:
    assert _ids(_search(client, limit=200)) == tasks


def test_a_token_without_a_contacts_scope_is_403(state: SandboxState) -> None:
    config = relaxed_config(tokens={TOKEN: None, "owners-only": ["crm.objects.owners.read"]})
    with SandboxServer(state, config) as server:
        narrow = HubSpot(access_token="owners-only", host=server.url)
        with pytest.raises(ForbiddenException) as caught:
            narrow.crm.objects.tasks.search_api.do_search(
                public_object_search_request=PublicObjectSearchRequest(limit=1)
            )
    body = body_of(caught.value)
    assert body["category"] == "MISSING_SCOPES"
    required = body["errors"][0]["context"]["requiredGranularScopes"]
    assert required == ["crm.objects.contacts.read"]
    assert state.counters().get("searches", 0) == 0


def test_task_and_contact_searches_share_the_secondly_limit(state: SandboxState) -> None:
    with SandboxServer(state, SandboxConfig()) as server:
        client = HubSpot(access_token=TOKEN, host=server.url)
        tasks_api = client.crm.objects.tasks.search_api
        contacts_api = client.crm.contacts.search_api
        _, status, headers = tasks_api.do_search_with_http_info(
            public_object_search_request=PublicObjectSearchRequest(limit=1)
        )
        for _ in range(2):
            tasks_api.do_search(public_object_search_request=PublicObjectSearchRequest(limit=1))
        for _ in range(2):
            contacts_api.do_search(public_object_search_request=ContactSearchRequest(limit=1))
        with pytest.raises(ApiException) as caught:
            tasks_api.do_search(public_object_search_request=PublicObjectSearchRequest(limit=1))
    assert status == 200
    limits = {h.lower() for h in headers if h.lower().startswith("x-hubspot-ratelimit")}
    assert limits == {"x-hubspot-ratelimit-daily", "x-hubspot-ratelimit-daily-remaining"}
    assert caught.value.status == 429
    assert body_of(caught.value)["category"] == "RATE_LIMITS"
    assert "policyName" not in body_of(caught.value)
    assert state.counters()["searches"] == 5
    assert state.counters()["rate_limited_search"] == 1
