"""Companies: create, update, batch read, search, their property list, and the v4
contact-to-company associations batch read.

As HubSpot: batch read takes at most 100 inputs and answers 207 with
``OBJECT_NOT_FOUND`` for unknown ids; search keeps every limit of contact search; the
associations batch read takes at most 1,000 inputs, pages each contact's associations
500 at a time (``after``), and lists a contact without a company as a 207 error
``crm.associations.NO_ASSOCIATIONS_FOUND``. Reading associations needs the read scope
of both objects.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from starlette.routing import Route

from crmbridge_hubspot.sandbox.api_contacts import batch_body, batch_inputs, property_list
from crmbridge_hubspot.sandbox.companies import (
    COMPANY_SYSTEM,
    DEFAULT_COMPANY_PROPERTIES,
    PRIMARY_TYPE_ID,
    Company,
    Snapshot,
)
from crmbridge_hubspot.sandbox.pipeline import Services, endpoint
from crmbridge_hubspot.sandbox.records import InvalidValuesError
from crmbridge_hubspot.sandbox.search import ObjectSearch, parse_request, search_records
from crmbridge_hubspot.sandbox.timeutil import iso_ms
from crmbridge_hubspot.sandbox.wire import (
    Call,
    HubSpotError,
    Reply,
    bad_request,
    property_errors,
)

READ = ("crm.objects.companies.read",)
WRITE = ("crm.objects.companies.write",)
ASSOCIATIONS_READ = ("crm.objects.contacts.read", "crm.objects.companies.read")
MAX_ASSOCIATION_INPUTS = 1000
ASSOCIATION_PAGE = 500
NOT_FOUND_MESSAGE = (
    "Could not get some COMPANY objects, they may be deleted or not exist. "
    "Check that ids are valid."
)
_CONTACT_TYPES = frozenset({"contacts", "contact", "0-1"})
_COMPANY_TYPES = frozenset({"companies", "company", "0-2"})


def record_json(
    record: Snapshot, names: list[str] | None, defaults: Sequence[str], system: Sequence[str]
) -> dict[str, Any]:
    """A ``SimplePublicObject``: the named (or default) properties that have a value,
    and the system ones."""
    wanted = list(dict.fromkeys([*(names or defaults), *system]))
    return {
        "id": record.id,
        "properties": {n: record.properties[n] for n in wanted if n in record.properties},
        "createdAt": iso_ms(record.created_at),
        "updatedAt": iso_ms(record.updated_at),
        "archived": False,
    }


def company_json(company: Company, names: list[str] | None = None) -> dict[str, Any]:
    """A company as the API shows it."""
    return record_json(company, names, DEFAULT_COMPANY_PROPERTIES, COMPANY_SYSTEM)


def _association_types(type_ids: tuple[int, ...]) -> list[dict[str, Any]]:
    return [
        {
            "category": "HUBSPOT_DEFINED",
            "typeId": type_id,
            "label": "Primary" if type_id == PRIMARY_TYPE_ID else None,
        }
        for type_id in type_ids
    ]


def no_associations(source: str, target: str) -> Callable[[str], dict[str, Any]]:
    """The 207 error entry of a ``source`` record with no ``target`` record associated."""

    def entry(record_id: str) -> dict[str, Any]:
        return {
            "status": "error",
            "category": "OBJECT_NOT_FOUND",
            "subCategory": "crm.associations.NO_ASSOCIATIONS_FOUND",
            "message": f"No {target} is associated with {source} {record_id}.",
            "context": {
                "fromObjectId": [record_id],
                "fromObjectType": [source],
                "toObjectType": [target],
            },
        }

    return entry


def association_answer(
    body: Mapping[str, Any],
    linked: Callable[[str], list[tuple[str, tuple[int, ...]]]],
    none_found: Callable[[str], dict[str, Any]],
    now: Callable[[], datetime],
) -> Reply:
    """A v4 associations batch read: each input's associated records (``linked``: id
    and type ids), 500 a page with ``after``; an input with none is an error entry
    (``none_found``) and the answer a 207."""
    started = iso_ms(now())
    results: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    for item in batch_inputs(body, MAX_ASSOCIATION_INPUTS):
        if not isinstance(item, Mapping) or not isinstance(item.get("id"), str | int):
            raise bad_request("Each input needs an id.")
        source = str(item["id"])
        after = item.get("after")
        offset = int(after) if isinstance(after, str) and after.isdigit() else 0
        found = linked(source)
        if not found:
            errors.append(none_found(source))
            continue
        page = found[offset : offset + ASSOCIATION_PAGE]
        result: dict[str, Any] = {
            "from": {"id": source},
            "to": [
                {"toObjectId": int(other), "associationTypes": _association_types(types)}
                for other, types in page
            ],
        }
        if offset + ASSOCIATION_PAGE < len(found):
            result["paging"] = {"next": {"after": str(offset + ASSOCIATION_PAGE)}}
        results.append(result)
    answer: dict[str, Any] = {"status": "COMPLETE", "results": results}
    if errors:
        answer["numErrors"] = len(errors)
        answer["errors"] = errors
    answer["startedAt"] = started
    answer["completedAt"] = iso_ms(now())
    return Reply(207 if errors else 200, answer)


def routes(services: Services) -> list[Route]:
    """The company and association routes."""
    state, config = services.state, services.config
    book = state.companies

    def create(call: Call) -> Reply:
        values = call.json_object().get("properties") or {}
        if not isinstance(values, dict):
            raise bad_request("properties must be an object.")
        try:
            created = book.create(values)
        except InvalidValuesError as exc:
            raise property_errors(exc.issues, config.portal_id) from exc
        return Reply(201, company_json(created, list(values)))

    def update(call: Call) -> Reply:
        company_id = call.path("company_id")
        values = call.json_object().get("properties") or {}
        if not isinstance(values, dict):
            raise bad_request("properties must be an object.")
        try:
            updated = book.update(company_id, values)
        except InvalidValuesError as exc:
            raise property_errors(exc.issues, config.portal_id) from exc
        if updated is None:
            raise HubSpotError(
                404, "OBJECT_NOT_FOUND", "Object not found.", context={"id": [company_id]}
            )
        return Reply(200, company_json(updated, sorted(values)))

    def batch_read(call: Call) -> Reply:
        started = iso_ms(state.now())
        body = call.json_object()
        names = property_list(body.get("properties"), "properties")
        keys: list[str] = []
        for item in batch_inputs(body):
            if not isinstance(item, Mapping) or not isinstance(item.get("id"), str | int):
                raise bad_request("Each input needs an id.")
            keys.append(str(item["id"]))
        results, missing = [], []
        for key in dict.fromkeys(keys):
            found = book.get(key)
            if found is None or call.flag("archived"):
                missing.append(key)
            else:
                results.append(company_json(found, names))
        return batch_body(results, missing, started, iso_ms(state.now()), NOT_FOUND_MESSAGE)

    def search(call: Call) -> Reply:
        target: ObjectSearch[Company] = ObjectSearch(
            book.definitions, DEFAULT_COMPANY_PROPERTIES, COMPANY_SYSTEM, ("name", "domain")
        )
        request = parse_request(call.raw, call.json(), target)
        state.count("searches")
        return Reply(200, search_records(request, book.searchable(), target))

    def batch_update(call: Call) -> Reply:
        started = iso_ms(state.now())
        updates: list[tuple[str, Mapping[str, Any]]] = []
        for item in batch_inputs(call.json_object()):
            if not isinstance(item, Mapping) or not isinstance(item.get("id"), str | int):
                raise bad_request("Each input needs an id.")
            values = item.get("properties")
            if not isinstance(values, dict):
                raise bad_request(f"Input {item.get('id')} needs a properties object.")
            updates.append((str(item["id"]), values))
        duplicates = sorted(k for k, n in Counter(k for k, _ in updates).items() if n > 1)
        if duplicates:
            raise bad_request(
                f"Duplicate IDs found in batch input: {duplicates}. IDs must be unique"
            )
        try:
            # Every value is checked before any company changes: HubSpot refuses the
            # whole batch for one invalid value.
            for _, values in updates:
                book.check(values)
        except InvalidValuesError as exc:
            raise property_errors(exc.issues, config.portal_id) from exc
        results, missing = [], []
        for company_id, values in updates:
            updated = book.update(company_id, values)
            if updated is None:
                missing.append(company_id)
            else:
                results.append(company_json(updated, sorted(values)))
        state.count("company_batch_updates")
        results = services.faults.drop_result(results)
        return batch_body(results, missing, started, iso_ms(state.now()), NOT_FOUND_MESSAGE)

    def associations(call: Call) -> Reply:
        source, target = call.path("from_type").lower(), call.path("to_type").lower()
        if source not in _CONTACT_TYPES or target not in _COMPANY_TYPES:
            raise bad_request(
                "The sandbox reads contact-to-company associations only.",
                fromObjectType=[source],
                toObjectType=[target],
            )
        return association_answer(
            call.json_object(), book.associations, no_associations("contact", "company"), state.now
        )

    base = "/crm/v3/objects/companies"
    return [
        Route(
            f"{base}/search", endpoint(services, search, scopes=READ, search=True), methods=["POST"]
        ),
        Route(f"{base}/batch/read", endpoint(services, batch_read, scopes=READ), methods=["POST"]),
        Route(base, endpoint(services, create, scopes=WRITE), methods=["POST"]),
        Route(
            f"{base}/{{company_id}}", endpoint(services, update, scopes=WRITE), methods=["PATCH"]
        ),
        Route(
            f"{base}/batch/update", endpoint(services, batch_update, scopes=WRITE), methods=["POST"]
        ),
        Route(
            "/crm/v4/associations/{from_type}/{to_type}/batch/read",
            endpoint(services, associations, scopes=ASSOCIATIONS_READ),
            methods=["POST"],
        ),
    ]
