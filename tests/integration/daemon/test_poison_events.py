"""POST /v1/events with numbers no database or float can hold: answered 202, kept as text.

The regression behind it: ``"watched_percent": 1`` followed by 400 zeros was accepted,
then broke every cycle. Each body shape (array, one object, NDJSON) takes the same door.
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from crmbridge.store.tables import EventRow

from .app_harness import INGEST_TOKEN, Harness

AUTH = {"Authorization": f"Bearer {INGEST_TOKEN}"}
LITERALS = ["1" + "0" * 400, "9" * 5000, "1e999", "-1e999", "NaN", "Infinity", "-Infinity"]


def body_event(n: int, literal: str) -> str:
    template = {
        "event_id": f"poison-{n}",
        "type": "webinar_attended",
        "occurred_at": "2026-11-19T10:00:00Z",
        "contact": {"email": "ana@acme.es"},
        "properties": {"watched_percent": 0},
    }
    return json.dumps(template).replace('"watched_percent": 0', f'"watched_percent": {literal}')


def stored_values(harness: Harness) -> dict[str, object]:
    with harness.store.session() as session:
        rows = session.execute(select(EventRow.dedupe_key, EventRow.properties)).all()
    return {key: props["watched_percent"] for key, props in rows}


@pytest.mark.parametrize("shape", ["array", "ndjson"])
def test_every_odd_number_is_accepted_and_kept_as_the_text_it_was_sent_as(
    harness: Harness, shape: str
) -> None:
    items = [body_event(n, literal) for n, literal in enumerate(LITERALS)]
    if shape == "array":
        body, content_type = "[" + ",".join(items) + "]", "application/json"
    else:
        body, content_type = "\n".join(items) + "\n", "application/x-ndjson"

    response = harness.client.post(
        "/v1/events", content=body, headers={**AUTH, "Content-Type": content_type}
    )

    assert response.status_code == 202, response.text
    assert (response.json()["ingested"], response.json()["failed"]) == (len(LITERALS), 0)
    assert stored_values(harness) == {f"poison-{n}": lit for n, lit in enumerate(LITERALS)}


def test_a_single_object_body_is_accepted_too(harness: Harness) -> None:
    response = harness.client.post(
        "/v1/events",
        content=body_event(0, "1" + "0" * 400),
        headers={**AUTH, "Content-Type": "application/json"},
    )

    assert response.status_code == 202, response.text
    assert stored_values(harness) == {"poison-0": "1" + "0" * 400}
