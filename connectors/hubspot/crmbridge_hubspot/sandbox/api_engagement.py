"""Owners (``/crm/v3/owners``) and tasks (``/crm/v3/objects/tasks``).

Task creation answers 201 and accepts associations to contacts with the
HUBSPOT_DEFINED type 204 (task → contact); the task list exists so tests can see what
was created (``?associations=contacts`` adds the associations, as HubSpot does). Task
search follows the contact search's rules and limits (:mod:`~crmbridge_hubspot.sandbox.search`),
counts against the same per-second search limit, and adds the ``associations.contact``
pseudo-property: ``EQ 1001`` finds the tasks associated with contact 1001.

Batch create (``/batch/create``) takes at most 100 inputs, each with its properties and
associations. When every input carries a distinct ``objectWriteTraceId`` the answer is
multi-status: the valid inputs are created and each refused one is reported in
``errors`` with its trace id in ``context`` (201 when none was refused, 207 otherwise);
without trace ids one refused input fails the whole request (400, nothing created).
Results echo the trace ids and come in no promised order (HubSpot does not promise
input order either), so a client must match them by trace id.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from starlette.routing import Route

from crmbridge_hubspot.sandbox.pipeline import Services, endpoint
from crmbridge_hubspot.sandbox.records import InvalidValuesError, NotFoundError, Owner, Task
from crmbridge_hubspot.sandbox.schema import PropertyDef
from crmbridge_hubspot.sandbox.search import ObjectSearch, parse_request, search_records
from crmbridge_hubspot.sandbox.state import SandboxState
from crmbridge_hubspot.sandbox.timeutil import iso_ms
from crmbridge_hubspot.sandbox.wire import Call, Reply, bad_request, not_found, property_errors

OWNERS_READ = ("crm.objects.owners.read",)
TASKS_WRITE = ("crm.objects.contacts.write",)
TASKS_READ = ("crm.objects.contacts.read",)
TASK_TO_CONTACT = 204
MAX_BATCH = 100
TRACE_ID = "objectWriteTraceId"
TASK_DEFAULT_PROPERTIES = ("hs_createdate", "hs_lastmodifieddate", "hs_object_id")
#: What a task search's ``query`` reads.
TASK_TEXT_PROPERTIES = ("hs_task_subject", "hs_task_body")


def task_json(
    task: Task, names: Sequence[str] = (), *, associations: bool = False
) -> dict[str, Any]:
    """A task as ``SimplePublicObject`` (with associations when asked)."""
    wanted = list(dict.fromkeys([*names, *TASK_DEFAULT_PROPERTIES]))
    body: dict[str, Any] = {
        "id": task.id,
        "properties": {n: task.properties[n] for n in wanted if n in task.properties},
        "createdAt": iso_ms(task.created_at),
        "updatedAt": iso_ms(task.updated_at),
        "archived": False,
    }
    if associations and task.contact_ids:
        body["associations"] = {
            "contacts": {
                "results": [{"id": c, "type": "task_to_contact"} for c in task.contact_ids]
            }
        }
    return body


def task_search(definitions: Sequence[PropertyDef]) -> ObjectSearch[Task]:
    """Task search: results carry the default task properties; tasks link to contacts."""
    return ObjectSearch(
        {d.name: d for d in definitions},
        always_returned=TASK_DEFAULT_PROPERTIES,
        text_searched=TASK_TEXT_PROPERTIES,
        associations={"contact": _associated_contacts},
    )


def _associated_contacts(task: Task) -> tuple[str, ...]:
    return task.contact_ids


def _contact_targets(raw: Any) -> list[str]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise bad_request("associations must be a list.")
    targets: list[str] = []
    for item in raw:
        to = item.get("to") if isinstance(item, Mapping) else None
        types = item.get("types") if isinstance(item, Mapping) else None
        if not isinstance(to, Mapping) or "id" not in to or not isinstance(types, list):
            raise bad_request("Each association needs to.id and types.")
        for kind in types:
            category = kind.get("associationCategory") if isinstance(kind, Mapping) else None
            type_id = kind.get("associationTypeId") if isinstance(kind, Mapping) else None
            if category != "HUBSPOT_DEFINED" or type_id != TASK_TO_CONTACT:
                raise bad_request(
                    f"Association {category}/{type_id} is not supported by the sandbox; "
                    f"use HUBSPOT_DEFINED/{TASK_TO_CONTACT} (task to contact)."
                )
        targets.append(str(to["id"]))
    return targets


def _batch_inputs(body: Mapping[str, Any]) -> list[tuple[dict[str, Any], list[str], str | None]]:
    """Each input's properties, associated contacts and trace id; 400 for a bad request."""
    inputs = body.get("inputs")
    if not isinstance(inputs, list) or not inputs:
        raise bad_request("inputs must be a non-empty list.")
    if len(inputs) > MAX_BATCH:
        raise bad_request(f"Batch input is limited to {MAX_BATCH} inputs; got {len(inputs)}.")
    parsed: list[tuple[dict[str, Any], list[str], str | None]] = []
    for item in inputs:
        if not isinstance(item, Mapping):
            raise bad_request("Each input must be an object.")
        values = item.get("properties") or {}
        if not isinstance(values, dict):
            raise bad_request("properties must be an object.")
        trace = item.get(TRACE_ID)
        parsed.append(
            (
                values,
                _contact_targets(item.get("associations")),
                None if trace is None else str(trace),
            )
        )
    traces = [trace for _, _, trace in parsed if trace is not None]
    if len(set(traces)) != len(traces):
        raise bad_request(f"Each {TRACE_ID} of a batch must be unique.")
    return parsed


def _batch_create(state: SandboxState, body: Mapping[str, Any], portal_id: int) -> Reply:
    started = iso_ms(state.now())
    parsed = _batch_inputs(body)
    # Multi-status only when every input can be told apart by its trace id.
    traced = all(trace is not None for _, _, trace in parsed)
    items = [(values, targets) for values, targets, _ in parsed]
    try:
        outcomes = state.create_tasks(items, all_or_none=not traced)
    except InvalidValuesError as exc:
        raise property_errors(exc.issues, portal_id) from exc
    except NotFoundError as exc:
        raise bad_request("One or more associated contacts do not exist.", ids=exc.ids) from exc
    results: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    for (values, _, trace), outcome in zip(parsed, outcomes, strict=True):
        if isinstance(outcome, Task):
            created = task_json(outcome, list(values))
            if trace is not None:
                created[TRACE_ID] = trace
            results.append(created)
            continue
        if isinstance(outcome, InvalidValuesError):
            refused = property_errors(outcome.issues, portal_id).body()
            error = {"category": "VALIDATION_ERROR", "message": refused["message"]}
            error["errors"] = refused.get("errors", [])
        else:
            error = {"category": "VALIDATION_ERROR", "message": str(outcome)}
            error["errors"] = [{"message": str(outcome), "context": {"ids": outcome.ids}}]
        errors.append({"status": "error", **error, "context": {TRACE_ID: [trace]}})
    results.reverse()
    reply: dict[str, Any] = {"status": "COMPLETE", "results": results, "startedAt": started}
    if errors:
        reply["numErrors"] = len(errors)
        reply["errors"] = errors
    reply["completedAt"] = iso_ms(state.now())
    return Reply(207 if errors else 201, reply)


def _owner_page(owners: Sequence[Owner], after: str | None, limit: int) -> dict[str, Any]:
    start = 0
    if after:
        start = next((i for i, o in enumerate(owners) if o.id == after), len(owners))
    page = owners[start : start + limit]
    body: dict[str, Any] = {"results": [o.to_json() for o in page]}
    if start + limit < len(owners):
        body["paging"] = {"next": {"after": owners[start + limit].id}}
    return body


def routes(services: Services) -> list[Route]:
    """Owner and task routes."""
    state, config = services.state, services.config

    def list_owners(call: Call) -> Reply:
        limit = call.number("limit", 100, maximum=500)
        owners = state.owners(archived=call.flag("archived"))
        email = call.query.get("email")
        if email:
            owners = [o for o in owners if o.email.lower() == email.strip().lower()]
        return Reply(200, _owner_page(owners, call.query.get("after"), limit))

    def get_owner(call: Call) -> Reply:
        key = call.path("owner_id")
        by_user = call.query.get("idProperty") == "userId"
        for owner in state.owners(archived=call.flag("archived")):
            if (str(owner.user_id) if by_user else owner.id) == key:
                return Reply(200, owner.to_json())
        raise not_found(f"Owner {key} does not exist.", [key])

    def create_task(call: Call) -> Reply:
        body = call.json_object()
        values = body.get("properties") or {}
        if not isinstance(values, dict):
            raise bad_request("properties must be an object.")
        targets = _contact_targets(body.get("associations"))
        try:
            task = state.create_task(values, targets)
        except InvalidValuesError as exc:
            raise property_errors(exc.issues, config.portal_id) from exc
        except NotFoundError as exc:
            raise bad_request("One or more associated contacts do not exist.", ids=exc.ids) from exc
        return Reply(201, task_json(task, list(task.properties)))

    def batch_create_tasks(call: Call) -> Reply:
        return _batch_create(state, call.json_object(), config.portal_id)

    def list_tasks(call: Call) -> Reply:
        limit = call.number("limit", 10, maximum=100)
        after = call.query.get("after") or ""
        if after and not after.isdigit():
            raise bad_request(f"after={after!r} is not a valid cursor.")
        tasks = [t for t in state.tasks() if not after or int(t.id) >= int(after)]
        names = call.names("properties")
        with_contacts = "contacts" in call.names("associations")
        body: dict[str, Any] = {
            "results": [task_json(t, names, associations=with_contacts) for t in tasks[:limit]]
        }
        if len(tasks) > limit:
            body["paging"] = {"next": {"after": tasks[limit].id}}
        return Reply(200, body)

    def get_task(call: Call) -> Reply:
        task_id = call.path("task_id")
        task = state.get_task(task_id)
        if task is None:
            raise not_found("Object not found.", [task_id])
        with_contacts = "contacts" in call.names("associations")
        return Reply(200, task_json(task, call.names("properties"), associations=with_contacts))

    def search_tasks(call: Call) -> Reply:
        target = task_search(state.task_properties())
        request = parse_request(call.raw, call.json(), target)
        state.count("searches")
        return Reply(200, search_records(request, state.searchable_tasks(), target))

    tasks = "/crm/v3/objects/tasks"
    return [
        Route(
            "/crm/v3/owners", endpoint(services, list_owners, scopes=OWNERS_READ), methods=["GET"]
        ),
        Route(
            "/crm/v3/owners/{owner_id}",
            endpoint(services, get_owner, scopes=OWNERS_READ),
            methods=["GET"],
        ),
        Route(
            f"{tasks}/search",
            endpoint(services, search_tasks, scopes=TASKS_READ, search=True),
            methods=["POST"],
        ),
        Route(
            f"{tasks}/batch/create",
            endpoint(services, batch_create_tasks, scopes=TASKS_WRITE),
            methods=["POST"],
        ),
        Route(tasks, endpoint(services, create_task, scopes=TASKS_WRITE), methods=["POST"]),
        Route(tasks, endpoint(services, list_tasks, scopes=TASKS_READ), methods=["GET"]),
        Route(
            f"{tasks}/{{task_id}}", endpoint(services, get_task, scopes=TASKS_READ), methods=["GET"]
        ),
    ]
