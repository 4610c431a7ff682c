"""Property definitions and groups through ``client.crm.properties``."""

from __future__ import annotations

import pytest
from hubspot import HubSpot
from hubspot.crm.properties import (
    OptionInput,
    PropertyCreate,
    PropertyGroupCreate,
    PropertyUpdate,
)
from hubspot.crm.properties.exceptions import ApiException, NotFoundException

from crmbridge_hubspot.sandbox import SandboxState

from .conftest import body_of


def _paused_property() -> PropertyCreate:
    return PropertyCreate(
        name="crmbridge_sequence_paused",
        label="Sequence paused (crmbridge)",
        type="enumeration",
        field_type="booleancheckbox",
        group_name="crmbridge",
        options=[
            OptionInput(label="Yes", value="true", hidden=False, display_order=0),
            OptionInput(label="No", value="false", hidden=False, display_order=1),
        ],
    )


def test_create_group_and_property_then_409_on_duplicates(
    client: HubSpot, state: SandboxState
) -> None:
    groups = client.crm.properties.groups_api
    created_group = groups.create(
        object_type="contacts",
        property_group_create=PropertyGroupCreate(name="crmbridge", label="crmbridge"),
    )
    assert created_group is not None and created_group.name == "crmbridge"
    assert groups.get_by_name(object_type="contacts", group_name="crmbridge").label == "crmbridge"
    assert "crmbridge" in [g.name for g in groups.get_all(object_type="contacts").results]
    with pytest.raises(ApiException) as duplicate_group:
        groups.create(
            object_type="contacts",
            property_group_create=PropertyGroupCreate(name="crmbridge", label="again"),
        )
    assert duplicate_group.value.status == 409

    core = client.crm.properties.core_api
    created = core.create(object_type="contacts", property_create=_paused_property())
    assert created is not None, "the SDK returns None unless the status is exactly 201"
    assert created.name == "crmbridge_sequence_paused"
    assert [o.value for o in created.options] == ["true", "false"]
    assert created.modification_metadata.read_only_value is False
    with pytest.raises(ApiException) as duplicate:
        core.create(object_type="contacts", property_create=_paused_property())
    assert duplicate.value.status == 409
    assert body_of(duplicate.value)["category"] == "OBJECT_ALREADY_EXISTS"
    fetched = core.get_by_name(object_type="contacts", property_name="crmbridge_sequence_paused")
    assert fetched.group_name == "crmbridge"
    assert state.contact_property("crmbridge_sequence_paused") is not None


def test_defaults_listed_and_unknown_property_is_404(client: HubSpot) -> None:
    core = client.crm.properties.core_api
    names = {p.name: p for p in core.get_all(object_type="contacts", archived=False).results}
    for expected in ("email", "lifecyclestage", "hs_buying_role", "hs_sales_email_last_replied"):
        assert expected in names
    assert names["hs_object_id"].modification_metadata.read_only_value is True
    assert names["hs_buying_role"].field_type == "checkbox"
    assert "marketingqualifiedlead" in [o.value for o in names["lifecyclestage"].options]
    assert "crmbridge_score" not in names
    with pytest.raises(NotFoundException) as missing:
        core.get_by_name(object_type="contacts", property_name="nope_not_here")
    assert "Unable to find property nope_not_here" in body_of(missing.value)["message"]
    groups = client.crm.properties.groups_api
    with pytest.raises(NotFoundException) as no_group:
        groups.get_by_name(object_type="contacts", group_name="nope_not_here")
    assert body_of(no_group.value)["message"] == "Unable to find property group nope_not_here"


def test_invalid_definitions_are_400(client: HubSpot) -> None:
    core = client.crm.properties.core_api
    bad = PropertyCreate(
        name="crmbridge_grade",
        label="Grade",
        type="enumeration",
        field_type="select",
        group_name="no_such_group",
    )
    with pytest.raises(ApiException) as caught:
        core.create(object_type="contacts", property_create=bad)
    assert caught.value.status == 400
    message = body_of(caught.value)["message"]
    assert "no_such_group" in message and "options" in message


def test_a_property_is_relabelled_and_bad_updates_are_refused(
    client: HubSpot, state: SandboxState
) -> None:
    core = client.crm.properties.core_api
    client.crm.properties.groups_api.create(
        object_type="contacts",
        property_group_create=PropertyGroupCreate(name="crmbridge", label="crmbridge"),
    )
    core.create(object_type="contacts", property_create=_paused_property())

    updated = core.update(
        object_type="contacts",
        property_name="crmbridge_sequence_paused",
        property_update=PropertyUpdate(label="Secuencia en pausa", description="Lo escribe"),
    )
    assert (updated.label, updated.description) == ("Secuencia en pausa", "Lo escribe")
    kept = state.contact_property("crmbridge_sequence_paused")
    assert kept is not None and kept.label == "Secuencia en pausa"
    assert kept.option_values() == ["true", "false"]  # nothing else changed

    for name, body, status in (
        ("crmbridge_sequence_paused", PropertyUpdate(label=" "), 400),
        ("firstname", PropertyUpdate(label="Nombre"), 400),  # HubSpot's own, read-only
        ("no_such_property", PropertyUpdate(label="x"), 404),
    ):
        with pytest.raises(ApiException) as refused:
            core.update(object_type="contacts", property_name=name, property_update=body)
        assert refused.value.status == status, name
