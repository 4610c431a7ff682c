"""The canonical event refuses what a database could not store, line by line."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from crmbridge.records import CanonicalEvent

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


def test_non_finite_numbers_are_refused() -> None:
    text = json.dumps({**GOOD, "properties": {"score": float("nan")}})
    with pytest.raises(ValidationError, match="NaN and Infinity"):
        CanonicalEvent.model_validate_json(text)


def test_a_clean_event_passes_and_keeps_its_properties() -> None:
    event = CanonicalEvent.model_validate_json(json.dumps({**GOOD, "properties": {"n": 1.5}}))
    assert event.properties == {"n": 1.5}
    assert event.dedupe_key().startswith("h:")
