"""Whose lead is it: the CRM's owner field is the truth, so a rep's manual reassignment
is followed; only an owner crmbridge gave in this very cycle (not in the CRM yet) wins.
"""

from __future__ import annotations

from datetime import timedelta

from .helpers import NOW, lead


def test_an_owner_given_this_cycle_wins_over_the_stale_crm_field() -> None:
    given = {"owner_id": "A", "assigned_at": NOW.isoformat()}
    assert lead(properties={"hubspot_owner_id": "X"}, state=given).owner_id() == "A"


def test_a_manual_reassignment_in_the_crm_is_followed() -> None:
    earlier = {"owner_id": "A", "assigned_at": (NOW - timedelta(days=2)).isoformat()}
    assert lead(properties={"hubspot_owner_id": "B"}, state=earlier).owner_id() == "B"


def test_the_given_owner_stands_while_the_crm_field_is_empty() -> None:
    earlier = {"owner_id": "A", "assigned_at": (NOW - timedelta(hours=1)).isoformat()}
    assert lead(properties={"hubspot_owner_id": ""}, state=earlier).owner_id() == "A"
    assert lead(state={}).owner_id() is None


def test_the_configured_owner_field_is_read_by_every_step() -> None:
    one = lead(properties={"hubspot_owner_id": "H", "sf_owner": "S"})
    one.owner_property = "sf_owner"
    assert one.owner_id() == "S"
    assert one.owner_id("hubspot_owner_id") == "H"
