"""Contacts: list, get, create, search, batch read and batch update.

Status codes are the ones the SDK expects: create 201, batch read/update 200 when
every id was found and 207 (with ``OBJECT_NOT_FOUND`` errors) when some were not, a
400 ``VALIDATION_ERROR`` for the whole request when any written value is refused
(``PROPERTY_DOESNT_EXIST``, ``INVALID_OPTION``, ``READ_ONLY_VALUE``...), 404 for an
unknown id, 409 for a duplicate email.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from starlette.routing import Route

from crmbridge_hubspot.sandbox.pipeline import Services, endpoint
from crmbridge_hubspot.sandbox.records import AlreadyExistsError, Contact, InvalidValuesError
from crmbridge_hubspot.sandbox.schema import DEFAULT_CONTACT_PROPERTIES
from crmbridge_hubspot.sandbox.search import (
    ALWAYS_RETURNED,
    modified_floor,
    parse_search,
    run_search,
)
from crmbridge_hubspot.sandbox.timeutil import iso_ms
from crmbridge_hubspot.sandbox.wire import (
    Call,
    HubSpotError,
    Reply,
    bad_request,
    property_errors,
)

READ = ("crm.objects.contacts.read",)
WRITE = ("crm.objects.contacts.write",)
MAX_PAGE = 100
MAX_BATCH = 100
NOT_FOUND_MESSAGE = (
    "Could not get some CONTACT objects, they may be deleted or not exist. "
    "Check that ids are valid."
)
_ID_PROPERTIES = frozenset({"email", "hs_object_id"})


def contact_json(
    contact: Contact,
    names: Sequence[str] | None = None,
    *,
    history: Sequence[str] = (),
) -> dict[str, Any]:
    """A ``SimplePublicObject``: the named (or default) properties that have a value."""
    wanted = list(names) if names else list(DEFAULT_CONTACT_PROPERTIES)
    wanted = list(dict.fromkeys([*wanted, *ALWAYS_RETURNED]))
    body: dict[str, Any] = {
        "id": contact.id,
        "properties": {n: contact.properties[n] for n in wanted if n in contact.properties},
        "createdAt": iso_ms(contact.created_at),
        "updatedAt": iso_ms(contact.updated_at),
        "archived": contact.archived,
    }
    if history:
        body["propertiesWithHistory"] = {
            n: [entry.to_json() for entry in contact.history.get(n, ())] for n in history
        }
    return body


def _id_property(value: Any) -> str | None:
    if value in (None, "", "hs_object_id"):
        return None
    if value not in _ID_PROPERTIES:
        raise bad_request(
            f"idProperty {value!r} is not a unique property; the sandbox supports email."
        )
    return str(value)


def property_list(value: Any, field: str) -> list[str]:
    """A list of property names from a request body (400 when it is not one)."""
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise bad_request(f"{field} must be a list of property names.")
    return list(value)


def batch_body(
    results: list[dict[str, Any]],
    missing: Sequence[str],
    started: str,
    completed: str,
    not_found: str = NOT_FOUND_MESSAGE,
) -> Reply:
    """A batch answer: 200, or 207 with an ``OBJECT_NOT_FOUND`` error naming ``missing``."""
    body: dict[str, Any] = {"status": "COMPLETE", "results": results}
    if missing:
        body["numErrors"] = 1
        body["errors"] = [
            {
                "status": "error",
                "category": "OBJECT_NOT_FOUND",
                "message": not_found,
                "context": {"ids": list(missing)},
            }
        ]
    body["startedAt"] = started
    body["completedAt"] = completed
    return Reply(207 if missing else 200, body)


def batch_inputs(body: Mapping[str, Any], limit: int = MAX_BATCH) -> list[Any]:
    """A batch request's ``inputs``; 400 when missing or longer than ``limit``."""
    inputs = body.get("inputs")
    if not isinstance(inputs, list):
        raise bad_request("inputs must be a list.")
    if len(inputs) > limit:
        raise bad_request(
            f"Batch input is limited to {limit} inputs; got {len(inputs)}.",
        )
    return inputs


def routes(services: Services) -> list[Route]:
    """The contact routes."""
    state, config = services.state, services.config

    def list_contacts(call: Call) -> Reply:
        limit = call.number("limit", 10, maximum=MAX_PAGE)
        after_text = call.query.get("after")
        if after_text and not after_text.isdigit():
            raise bad_request(f"after={after_text!r} is not a valid cursor.")
        if call.flag("archived"):
            return Reply(200, {"results": []})
        page, cursor = state.list_contacts(int(after_text) if after_text else None, limit)
        names = call.names("properties")
        history = call.names("propertiesWithHistory")
        body: dict[str, Any] = {"results": [contact_json(c, names, history=history) for c in page]}
        if cursor is not None:
            link = call.request.url.include_query_params(after=cursor)
            body["paging"] = {"next": {"after": cursor, "link": str(link)}}
        return Reply(200, body)

    def get_contact(call: Call) -> Reply:
        contact_id = call.path("contact_id")
        found = state.get_contact(
            contact_id, id_property=_id_property(call.query.get("idProperty"))
        )
        if found is None or call.flag("archived"):
            raise HubSpotError(
                404,
                "OBJECT_NOT_FOUND",
                "Object not found.  objectId are usually numeric.",
                context={"id": [contact_id]},
            )
        names = call.names("properties")
        return Reply(200, contact_json(found, names, history=call.names("propertiesWithHistory")))

    def create_contact(call: Call) -> Reply:
        body = call.json_object()
        values = body.get("properties") or {}
        if not isinstance(values, dict):
            raise bad_request("properties must be an object.")
        try:
            created = state.create_contact(values, source=services.api_source)
        except InvalidValuesError as exc:
            raise property_errors(exc.issues, config.portal_id) from exc
        except AlreadyExistsError as exc:
            raise HubSpotError(409, "CONFLICT", exc.message) from exc
        return Reply(201, contact_json(created, [*values, *DEFAULT_CONTACT_PROPERTIES]))

    def update_contact(call: Call) -> Reply:
        contact_id = call.path("contact_id")
        values = call.json_object().get("properties") or {}
        if not isinstance(values, dict):
            raise bad_request("properties must be an object.")
        try:
            updated, missing = state.update_contacts(
                [(contact_id, values)],
                source=services.api_source,
                id_property=_id_property(call.query.get("idProperty")),
                lifecycle_forward_only=config.lifecycle_forward_only,
            )
        except InvalidValuesError as exc:
            raise property_errors(exc.issues, config.portal_id) from exc
        if missing or not updated:
            raise HubSpotError(
                404, "OBJECT_NOT_FOUND", "Object not found.", context={"id": [contact_id]}
            )
        return Reply(200, contact_json(updated[0], sorted(values)))

    def search(call: Call) -> Reply:
        definitions = {d.name: d for d in state.contact_properties()}
        request = parse_search(call.raw, call.json(), definitions)
        state.count("searches")
        contacts = state.searchable_contacts(modified_floor(request))
        return Reply(200, run_search(request, contacts, definitions))

    def batch_read(call: Call) -> Reply:
        started = iso_ms(state.now())
        body = call.json_object()
        inputs = batch_inputs(body)
        id_property = _id_property(body.get("idProperty"))
        names = property_list(body.get("properties"), "properties")
        history = property_list(body.get("propertiesWithHistory"), "propertiesWithHistory")
        keys: list[str] = []
        for item in inputs:
            if not isinstance(item, Mapping) or not isinstance(item.get("id"), str | int):
                raise bad_request("Each input needs an id.")
            keys.append(str(item["id"]))
        results: list[dict[str, Any]] = []
        missing: list[str] = []
        for key in dict.fromkeys(keys):
            found = state.get_contact(key, id_property=id_property)
            if found is None or call.flag("archived"):
                missing.append(key)
            else:
                results.append(contact_json(found, names, history=history))
        return batch_body(results, missing, started, iso_ms(state.now()))

    def batch_update(call: Call) -> Reply:
        started = iso_ms(state.now())
        body = call.json_object()
        inputs = batch_inputs(body)
        updates: list[tuple[str, Mapping[str, Any]]] = []
        id_properties: set[str | None] = set()
        for item in inputs:
            if not isinstance(item, Mapping) or not isinstance(item.get("id"), str | int):
                raise bad_request("Each input needs an id.")
            values = item.get("properties")
            if not isinstance(values, dict):
                raise bad_request(f"Input {item.get('id')} needs a properties object.")
            id_properties.add(_id_property(item.get("idProperty")))
            updates.append((str(item["id"]), values))
        if len(id_properties) > 1:
            raise bad_request("All inputs of a batch must use the same idProperty.")
        duplicates = [k for k, n in Counter(k for k, _ in updates).items() if n > 1]
        if duplicates:
            raise bad_request(
                f"Duplicate IDs found in batch input: {duplicates}. IDs must be unique",
            )
        try:
            updated, missing = state.update_contacts(
                updates,
                source=services.api_source,
                id_property=next(iter(id_properties), None),
                lifecycle_forward_only=config.lifecycle_forward_only,
            )
        except InvalidValuesError as exc:
            raise property_errors(exc.issues, config.portal_id) from exc
        except AlreadyExistsError as exc:
            raise HubSpotError(409, "CONFLICT", exc.message) from exc
        written = {n for _, values in updates for n in values}
        results = [contact_json(c, sorted(written)) for c in updated]
        results = services.faults.drop_result(results)
        return batch_body(results, missing, started, iso_ms(state.now()))

    def delete_contact(call: Call) -> Reply:
        # HubSpot answers 204 whether or not the record existed.
        state.delete_contact(call.path("contact_id"), source=services.api_source)
        return Reply(204, None)

    def merge(call: Call) -> Reply:
        body = call.json_object()
        primary, merged = body.get("primaryObjectId"), body.get("objectIdToMerge")
        if not all(isinstance(v, str | int) and str(v).isdigit() for v in (primary, merged)):
            raise bad_request("primaryObjectId and objectIdToMerge must be record ids.")
        try:
            survivor = state.merge_contacts(str(primary), str(merged), source=services.api_source)
        except KeyError as exc:
            raise HubSpotError(
                404, "OBJECT_NOT_FOUND", "Object not found.", context={"id": [str(exc.args[0])]}
            ) from None
        return Reply(200, contact_json(survivor))

    base = "/crm/v3/objects/contacts"
    return [
        Route(
            f"{base}/search", endpoint(services, search, scopes=READ, search=True), methods=["POST"]
        ),
        Route(f"{base}/batch/read", endpoint(services, batch_read, scopes=READ), methods=["POST"]),
        Route(
            f"{base}/batch/update", endpoint(services, batch_update, scopes=WRITE), methods=["POST"]
        ),
        Route(f"{base}/merge", endpoint(services, merge, scopes=WRITE), methods=["POST"]),
        Route(base, endpoint(services, list_contacts, scopes=READ), methods=["GET"]),
        Route(base, endpoint(services, create_contact, scopes=WRITE), methods=["POST"]),
        Route(
            f"{base}/{{contact_id}}", endpoint(services, get_contact, scopes=READ), methods=["GET"]
        ),
        Route(
            f"{base}/{{contact_id}}",
            endpoint(services, update_contact, scopes=WRITE),
            methods=["PATCH"],
        ),
        Route(
            f"{base}/{{contact_id}}",
            endpoint(services, delete_contact, scopes=WRITE),
            methods=["DELETE"],
        ),
    ]
