"""Deals: create, search, and the v4 deal-to-contact associations batch read.

As HubSpot: a create's ``associations`` entries need ``to.id`` and their ``types``
(the sandbox knows HUBSPOT_DEFINED type 3, deal to contact) and are checked before the
deal is made; search keeps every limit of contact search and filters on any deal
property (``hs_is_closed``, ``hs_object_id``...); the associations batch read takes at
most 1,000 deals, pages each deal's contacts 500 at a time (``after``), and lists a
deal without a contact as a 207 error ``crm.associations.NO_ASSOCIATIONS_FOUND``.
Reading associations needs the read scope of both objects.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.routing import Route

from crmbridge_hubspot.sandbox.api_companies import (
    association_answer,
    no_associations,
    record_json,
)
from crmbridge_hubspot.sandbox.deals import (
    DEAL_SYSTEM,
    DEAL_TO_CONTACT,
    DEFAULT_DEAL_PROPERTIES,
    Deal,
    DealBook,
)
from crmbridge_hubspot.sandbox.pipeline import Services, endpoint
from crmbridge_hubspot.sandbox.records import InvalidValuesError
from crmbridge_hubspot.sandbox.search import ObjectSearch, parse_request, search_records
from crmbridge_hubspot.sandbox.wire import Call, Reply, bad_request, property_errors

READ = ("crm.objects.deals.read",)
WRITE = ("crm.objects.deals.write",)
ASSOCIATIONS_READ = ("crm.objects.deals.read", "crm.objects.contacts.read")


def deal_json(deal: Deal, names: list[str] | None = None) -> dict[str, Any]:
    """A deal as the API shows it."""
    return record_json(deal, names, DEFAULT_DEAL_PROPERTIES, DEAL_SYSTEM)


def deal_contacts(book: DealBook, body: Mapping[str, Any]) -> Reply:
    """The v4 batch read of deal-to-contact associations (type 3)."""

    def linked(deal_id: str) -> list[tuple[str, tuple[int, ...]]]:
        return [(contact, (DEAL_TO_CONTACT,)) for contact in book.contacts(deal_id)]

    return association_answer(body, linked, no_associations("deal", "contact"), book.now)


def _contact_link(link: Any) -> str:
    """The contact id of one ``associations`` entry of a create; as HubSpot, the entry
    needs ``to.id`` and its ``types`` (here: HUBSPOT_DEFINED type 3, deal to contact)."""
    target = link.get("to") if isinstance(link, Mapping) else None
    contact = target.get("id") if isinstance(target, Mapping) else None
    types = link.get("types") if isinstance(link, Mapping) else None
    if not isinstance(contact, str | int) or not str(contact).isdigit():
        raise bad_request("Each association needs to.id, a record id.")
    if not isinstance(types, list) or not types:
        raise bad_request("Each association needs its types.")
    for kind in types:
        known = isinstance(kind, Mapping) and (
            kind.get("associationCategory"),
            kind.get("associationTypeId"),
        ) == ("HUBSPOT_DEFINED", DEAL_TO_CONTACT)
        if not known:
            raise bad_request(
                "The sandbox associates deals with contacts only: HUBSPOT_DEFINED type 3."
            )
    return str(contact)


def routes(services: Services) -> list[Route]:
    """The deal routes, and the deal-to-contact associations read (before the
    companies' routes, whose associations route takes every other pair of types)."""
    state, config = services.state, services.config
    book = state.deals

    def create(call: Call) -> Reply:
        body = call.json_object()
        values = body.get("properties") or {}
        if not isinstance(values, dict):
            raise bad_request("properties must be an object.")
        # Checked before anything is created: a refused request leaves no deal behind.
        contacts = [_contact_link(link) for link in body.get("associations") or []]
        missing = [c for c in contacts if state.get_contact(c) is None]
        if missing:
            raise bad_request("An association names no existing contact.", toObjectId=missing)
        try:
            created = book.create(values)
        except InvalidValuesError as exc:
            raise property_errors(exc.issues, config.portal_id) from exc
        for contact in contacts:
            book.associate(created.id, contact)
        return Reply(201, deal_json(created, list(values)))

    def search(call: Call) -> Reply:
        target: ObjectSearch[Deal] = ObjectSearch(
            book.definitions, DEFAULT_DEAL_PROPERTIES, DEAL_SYSTEM, ("dealname",)
        )
        request = parse_request(call.raw, call.json(), target)
        state.count("searches")
        return Reply(200, search_records(request, book.deals(), target))

    base = "/crm/v3/objects/deals"
    return [
        Route(
            f"{base}/search", endpoint(services, search, scopes=READ, search=True), methods=["POST"]
        ),
        Route(base, endpoint(services, create, scopes=WRITE), methods=["POST"]),
        Route(
            "/crm/v4/associations/deals/contacts/batch/read",
            endpoint(
                services,
                lambda call: deal_contacts(book, call.json_object()),
                scopes=ASSOCIATIONS_READ,
            ),
            methods=["POST"],
        ),
    ]
