"""Property definitions and groups of contacts and companies:
``/crm/v3/properties/{contacts,companies}[...]``.

Each object type has its own properties and groups (a company property is created in
a company group). Create answers 201 (the SDK returns None on any other 2xx) and 409
when the name is taken; reads answer 200; an unknown name is a 404. ``PATCH`` of a
contact property changes its label and description (200); HubSpot's own read-only
definitions refuse it (400), and an empty or non-text label is a 400.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Protocol

from starlette.routing import Route

from crmbridge_hubspot.sandbox.pipeline import Services, endpoint
from crmbridge_hubspot.sandbox.records import AlreadyExistsError
from crmbridge_hubspot.sandbox.schema import (
    PROPERTY_NAME,
    PropertyDef,
    PropertyGroup,
    parse_property_create,
)
from crmbridge_hubspot.sandbox.wire import Call, HubSpotError, Reply, bad_request, not_found

if TYPE_CHECKING:
    from crmbridge_hubspot.sandbox.state import SandboxState

READ = ("crm.schemas.contacts.read",)
WRITE = ("crm.schemas.contacts.write",)
COMPANY_READ = ("crm.schemas.companies.read",)
COMPANY_WRITE = ("crm.schemas.companies.write",)
_CONTACT_TYPES = frozenset({"contacts", "contact", "0-1"})
_COMPANY_TYPES = frozenset({"companies", "company", "0-2"})


class _Schema(Protocol):
    """One object type's definitions and groups."""

    def properties(self, *, archived: bool = False) -> list[PropertyDef]: ...
    def property(self, name: str) -> PropertyDef | None: ...
    def add_property(self, definition: PropertyDef) -> PropertyDef: ...
    def group_list(self) -> list[PropertyGroup]: ...
    def group(self, name: str) -> PropertyGroup | None: ...
    def add_group(self, group: PropertyGroup) -> PropertyGroup: ...


class _ContactSchema:
    """The contacts' definitions and groups, kept by the sandbox state."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state

    def properties(self, *, archived: bool = False) -> list[PropertyDef]:
        return self.state.contact_properties(archived=archived)

    def property(self, name: str) -> PropertyDef | None:
        return self.state.contact_property(name)

    def add_property(self, definition: PropertyDef) -> PropertyDef:
        return self.state.add_contact_property(definition)

    def group_list(self) -> list[PropertyGroup]:
        return self.state.groups()

    def group(self, name: str) -> PropertyGroup | None:
        return self.state.group(name)

    def add_group(self, group: PropertyGroup) -> PropertyGroup:
        return self.state.add_group(group)


def routes(services: Services) -> list[Route]:
    """The property and group routes."""
    state = services.state
    contacts: _Schema = _ContactSchema(state)
    companies: _Schema = state.companies

    def schema(call: Call) -> tuple[_Schema, str]:
        """The object type the path names: its schema and HubSpot's name for it."""
        # The companies' own paths name no object type: they are the companies'.
        given = str(call.request.path_params.get("object_type", "companies"))
        if given.lower() in _CONTACT_TYPES:
            return contacts, "CONTACT"
        if given.lower() in _COMPANY_TYPES:
            return companies, "COMPANY"
        raise bad_request(f"Unable to infer object type from: {given}")

    def named(call: Call, group: bool) -> Reply:
        found, kind = schema(call)
        name = call.path("name")
        definition = found.group(name) if group else found.property(name)
        if definition is None:
            missing = (
                f"Unable to find property group {name}"
                if group
                else f"Unable to find property {name} for object type {kind}"
            )
            raise not_found(missing, [name])
        return Reply(200, definition.to_json())

    def list_properties(call: Call) -> Reply:
        found, _ = schema(call)
        archived = call.flag("archived")
        return Reply(200, {"results": [d.to_json() for d in found.properties(archived=archived)]})

    def get_property(call: Call) -> Reply:
        return named(call, group=False)

    def update_property(call: Call) -> Reply:
        found, kind = schema(call)
        if found is not contacts:
            raise bad_request("The sandbox updates contact properties only.")
        name = call.path("name")
        current = found.property(name)
        if current is None:
            raise not_found(f"Unable to find property {name} for object type {kind}", [name])
        if current.hubspot_defined and current.read_only_definition:
            raise bad_request(f"Property {name} is read-only: HubSpot defines it.")
        body = call.json_object()
        changes: dict[str, object] = {}
        for key in ("label", "description"):
            if key not in body:
                continue
            value = body[key]
            if not isinstance(value, str) or (key == "label" and not value.strip()):
                raise bad_request(f"{key} must be a non-empty string.")
            changes[key] = value
        updated = dataclasses.replace(current, **changes, updated_at=state.now())  # type: ignore[arg-type]
        state.replace_contact_property(updated)
        return Reply(200, updated.to_json())

    def create_property(call: Call) -> Reply:
        found, _ = schema(call)
        groups = {g.name for g in found.group_list()}
        spec = parse_property_create(call.json(), groups, state.now())
        if spec.problems:
            raise bad_request("Invalid property definition: " + "; ".join(spec.problems))
        try:
            created = found.add_property(spec.definition)
        except AlreadyExistsError as exc:
            raise HubSpotError(409, "OBJECT_ALREADY_EXISTS", exc.message) from exc
        return Reply(201, created.to_json())

    def list_groups(call: Call) -> Reply:
        found, _ = schema(call)
        return Reply(200, {"results": [g.to_json() for g in found.group_list()]})

    def get_group(call: Call) -> Reply:
        return named(call, group=True)

    def create_group(call: Call) -> Reply:
        found, _ = schema(call)
        body = call.json_object()
        name, label = body.get("name"), body.get("label")
        if not isinstance(name, str) or not PROPERTY_NAME.match(name):
            raise bad_request("name is required: lowercase letters, digits and underscores.")
        if not isinstance(label, str) or not label:
            raise bad_request("label is required.")
        order = body.get("displayOrder", -1)
        group = PropertyGroup(name, label, order if isinstance(order, int) else -1)
        try:
            found.add_group(group)
        except AlreadyExistsError as exc:
            raise HubSpotError(409, "OBJECT_ALREADY_EXISTS", exc.message) from exc
        return Reply(201, group.to_json())

    def paths(base: str, read: tuple[str, ...], write: tuple[str, ...]) -> list[Route]:
        return [
            Route(f"{base}/groups", endpoint(services, list_groups, scopes=read), methods=["GET"]),
            Route(
                f"{base}/groups", endpoint(services, create_group, scopes=write), methods=["POST"]
            ),
            Route(
                f"{base}/groups/{{name}}",
                endpoint(services, get_group, scopes=read),
                methods=["GET"],
            ),
            Route(base, endpoint(services, list_properties, scopes=read), methods=["GET"]),
            Route(base, endpoint(services, create_property, scopes=write), methods=["POST"]),
            Route(
                f"{base}/{{name}}", endpoint(services, get_property, scopes=read), methods=["GET"]
            ),
            Route(
                f"{base}/{{name}}",
                endpoint(services, update_property, scopes=write),
                methods=["PATCH"],
            ),
        ]

    # The companies' paths first: they need the companies' schema scopes.
    return [
        *paths("/crm/v3/properties/companies", COMPANY_READ, COMPANY_WRITE),
        *paths("/crm/v3/properties/{object_type}", READ, WRITE),
    ]
