"""The canonical event refuses what a database could not store, line by line."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from crmbridge.external import loads
from crmbridge.records import CanonicalEvent, ContactRecord

GOOD = {"type": "page_view", "occurred_at": "2026-11-20T10:00:00Z", "contact": {"email": "a@b.es"}}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"type": "page\x00view"}, "type"),
        ({"event_id": "e\x001"}, "event_id"),
        ({"contact": {"email": "a\x00@b.es"}}, "contact.email"),
        ({"properties": {"url": "/pricing\x00"}}, "properties"),
        ({"properties": {"nested": [{"x\x00": 1}]}}, "properties"),
    ],
)
def test_nul_characters_are_refused(change: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        CanonicalEvent.model_validate_json(json.dumps({**GOOD, **change}))
    assert field in {".".join(str(p) for p in e["loc"]) for e in caught.value.errors()}


@pytest.mark.parametrize(
    ("number", "kept"),
    [
        (float("nan"), "NaN"),
        (float("inf"), "Infinity"),
        (float("-inf"), "-Infinity"),
        (10**400, "1" + "0" * 400),
        (-(10**20), str(-(10**20))),
        (1e300, "1e+300"),
    ],
)
def test_unrepresentable_numbers_are_kept_as_text(number: float, kept: str) -> None:
    event = CanonicalEvent.model_validate({**GOOD, "properties": {"watched_percent": number}})
    assert event.properties == {"watched_percent": kept}
    contact = ContactRecord(id="1", properties={"numemployees": number, "nested": [number]})
    assert contact.properties == {"numemployees": kept, "nested": [kept]}


def test_a_contact_is_never_refused_for_a_nul_character() -> None:
    contact = ContactRecord(id="1", email="a\x00@b.es", properties={"job\x00": "CIO\x00"})
    assert contact.email == "a\ufffd@b.es"
    assert contact.properties == {"job\ufffd": "CIO\ufffd"}


def test_a_clean_event_passes_and_keeps_its_properties() -> None:
    event = CanonicalEvent.model_validate_json(json.dumps({**GOOD, "properties": {"n": 1.5}}))
    assert event.properties == {"n": 1.5}
    assert event.dedupe_key().startswith("h:")


@pytest.mark.parametrize(
    ("literal", "kept"),
    [
        ("1" + "0" * 400, "1" + "0" * 400),
        ("1" + "0" * 5000, "1" + "0" * 5000),  # past int()'s 4,300-digit limit
        ("1e999", "1e999"),
        ("-1e999", "-1e999"),
        ("NaN", "NaN"),
        ("Infinity", "Infinity"),
        ("-Infinity", "-Infinity"),
        ("1e16", "1e16"),
        ("42", 42),
        ("-0.5", -0.5),
    ],
)
def test_json_numbers_out_of_range_are_read_as_their_text(literal: str, kept: object) -> None:
    assert loads('{"n": ' + literal + "}") == {"n": kept}
    event = CanonicalEvent.model_validate(
        loads(json.dumps({**GOOD, "properties": {"n": 0}}).replace('"n": 0', f'"n": {literal}'))
    )
    assert event.properties == {"n": kept}


def test_a_contact_with_an_impossible_email_is_kept_without_it() -> None:
    contact = ContactRecord(id="1", email="a" * 400 + "@x.es", properties={"jobtitle": "CIO"})
    assert contact.email is None
    assert contact.properties == {"jobtitle": "CIO"}
