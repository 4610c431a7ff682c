"""Contact property definitions and groups: ``/crm/v3/properties/contacts[...]``.

Create answers 201 (the SDK returns None on any other 2xx) and 409 when the name is
taken; reads answer 200; an unknown name is a 404.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.routing import Route

from crmbridge_hubspot.sandbox.pipeline import Services, endpoint
from crmbridge_hubspot.sandbox.records import AlreadyExistsError
from crmbridge_hubspot.sandbox.schema import PROPERTY_NAME, PropertyGroup, parse_property_create
from crmbridge_hubspot.sandbox.wire import Call, HubSpotError, Reply, bad_request, not_found

READ = ("crm.schemas.contacts.read",)
WRITE = ("crm.schemas.contacts.write",)
_CONTACT_TYPES = frozenset({"contacts", "contact", "0-1"})


def _object_type(call: Call) -> None:
    given = call.path("object_type")
    if given.lower() not in _CONTACT_TYPES:
        raise bad_request(f"Unable to infer object type from: {given}")


def _named(call: Call, lookup: Callable[[str], Any], missing: str) -> Reply:
    """The definition the path names (``lookup`` by name), or HubSpot's 404 (``missing``
    with the name in it)."""
    _object_type(call)
    name = call.path("name")
    found = lookup(name)
    if found is None:
        raise not_found(missing.format(name), [name])
    return Reply(200, found.to_json())


def routes(services: Services) -> list[Route]:
    """The property and group routes."""
    state = services.state

    def list_properties(call: Call) -> Reply:
        _object_type(call)
        archived = call.flag("archived")
        return Reply(
            200, {"results": [d.to_json() for d in state.contact_properties(archived=archived)]}
        )

    def get_property(call: Call) -> Reply:
        return _named(
            call, state.contact_property, "Unable to find property {} for object type CONTACT"
        )

    def create_property(call: Call) -> Reply:
        _object_type(call)
        groups = {g.name for g in state.groups()}
        spec = parse_property_create(call.json(), groups, state.now())
        if spec.problems:
            raise bad_request("Invalid property definition: " + "; ".join(spec.problems))
        try:
            created = state.add_contact_property(spec.definition)
        except AlreadyExistsError as exc:
            raise HubSpotError(409, "OBJECT_ALREADY_EXISTS", exc.message) from exc
        return Reply(201, created.to_json())

    def list_groups(call: Call) -> Reply:
        _object_type(call)
        return Reply(200, {"results": [g.to_json() for g in state.groups()]})

    def get_group(call: Call) -> Reply:
        return _named(call, state.group, "Unable to find property group {}")

    def create_group(call: Call) -> Reply:
        _object_type(call)
        body = call.json_object()
        name, label = body.get("name"), body.get("label")
        if not isinstance(name, str) or not PROPERTY_NAME.match(name):
            raise bad_request("name is required: lowercase letters, digits and underscores.")
        if not isinstance(label, str) or not label:
            raise bad_request("label is required.")
        order = body.get("displayOrder", -1)
        group = PropertyGroup(name, label, order if isinstance(order, int) else -1)
        try:
            state.add_group(group)
        except AlreadyExistsError as exc:
            raise HubSpotError(409, "OBJECT_ALREADY_EXISTS", exc.message) from exc
        return Reply(201, group.to_json())

    base = "/crm/v3/properties/{object_type}"
    return [
        Route(f"{base}/groups", endpoint(services, list_groups, scopes=READ), methods=["GET"]),
        Route(f"{base}/groups", endpoint(services, create_group, scopes=WRITE), methods=["POST"]),
        Route(
            f"{base}/groups/{{name}}", endpoint(services, get_group, scopes=READ), methods=["GET"]
        ),
        Route(base, endpoint(services, list_properties, scopes=READ), methods=["GET"]),
        Route(base, endpoint(services, create_property, scopes=WRITE), methods=["POST"]),
        Route(f"{base}/{{name}}", endpoint(services, get_property, scopes=READ), methods=["GET"]),
    ]
