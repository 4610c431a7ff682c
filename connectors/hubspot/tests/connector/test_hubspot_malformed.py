"""What HubSpot (or a proxy in front of it) may answer malformed, and a stored read
position that cannot be read: a clear error once, never a crash on every poll, never
data skipped."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from crmbridge.connector import LookbackCursor
from crmbridge.errors import TransientError
from crmbridge.sync.pipeline import CONTACTS_STREAM
from crmbridge_hubspot.batch_update import REASON_MOST, batch_answer
from crmbridge_hubspot.connector import SEARCH_LIMIT, light_answer
from crmbridge_hubspot.handoff import TRACE_ID, _batch_outcome

from .hubspot_harness import HubSpotSandboxHarness, connector_for, pipeline_over, sandbox

_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=15,
)
_RESULT = st.fixed_dictionaries(
    {},
    optional={
        "id": _JSON | st.integers(1, 10**6),
        "updatedAt": _JSON | st.just("2026-11-20T10:00:00.000Z"),
    },
)
_SEARCH = st.fixed_dictionaries(
    {}, optional={"results": _JSON | st.lists(_RESULT, max_size=4), "paging": _JSON}
)


@settings(deadline=None)
@given(st.one_of(st.binary(max_size=100), _JSON.map(json.dumps), _SEARCH.map(json.dumps)))
def test_a_light_search_answer_is_read_or_a_transient_error(body: bytes | str) -> None:
    raw = body.encode() if isinstance(body, str) else body
    try:
        answer = light_answer(raw)
    except TransientError as error:
        assert "HubSpot's contact search answered a malformed body" in error.message
        assert len(error.message) < 250
    else:
        assert all(isinstance(rid, str) for _, rid, _ in answer.rows)
        assert len(answer.rows) <= SEARCH_LIMIT or not answer.more


_BATCH = st.fixed_dictionaries(
    {},
    optional={
        "results": _JSON | st.lists(st.fixed_dictionaries({TRACE_ID: _JSON}) | _JSON, max_size=3),
        "errors": _JSON
        | st.lists(
            st.fixed_dictionaries(
                {"message": _JSON},
                optional={"context": _JSON | st.fixed_dictionaries({TRACE_ID: _JSON})},
            ),
            max_size=3,
        ),
    },
)


@settings(deadline=None)
@given(_JSON | _BATCH)
def test_a_task_batch_answer_is_read_or_a_transient_error(data: Any) -> None:
    try:
        created, refused = _batch_outcome(data)
    except TransientError as error:
        assert "HubSpot answered the task batch with a malformed body" in error.message
    else:
        assert all(isinstance(ref, str) for ref in (*created, *refused))


_UPDATE = st.fixed_dictionaries(
    {},
    optional={
        "results": _JSON | st.lists(st.fixed_dictionaries({"id": _JSON}) | _JSON, max_size=3),
        "errors": _JSON
        | st.lists(
            st.fixed_dictionaries(
                {"message": _JSON | st.text()},
                optional={
                    "category": _JSON,
                    "context": _JSON | st.fixed_dictionaries({"ids": _JSON}),
                },
            ),
            max_size=3,
        ),
    },
)


@settings(deadline=None)
@given(st.one_of(st.binary(max_size=100), _JSON.map(json.dumps), _UPDATE.map(json.dumps)))
def test_a_batch_update_answer_is_read_or_confirms_nothing(body: bytes | str) -> None:
    raw = body.encode() if isinstance(body, str) else body
    written, failed = batch_answer(raw)
    assert all(isinstance(crm_id, str) for crm_id in (*written, *failed))
    assert all(len(reason) <= 2 * REASON_MOST + 2 for reason in failed.values())


def test_a_batch_update_answer_names_the_written_and_the_refused() -> None:
    # HubSpot's 207: the written records in full, the refused ones by id with why.
    answer = {
        "status": "COMPLETE",
        "results": [
            {
                "id": "101",
                "properties": {"crmbridge_score": "80"},
                "updatedAt": "2026-11-20T10:00:00Z",
            },
            {"id": 102, "properties": {}},
        ],
        "errors": [
            {
                "status": "error",
                "category": "VALIDATION_ERROR",
                "message": "x" * 5_000,
                "context": {"ids": ["103", True, None]},
            }
        ],
    }
    written, failed = batch_answer(json.dumps(answer).encode())
    assert written == {"101", "102"}
    assert failed == {"103": "VALIDATION_ERROR: " + "x" * REASON_MOST}
    # Not HubSpot's shape at all (a proxy's page): nothing is confirmed, nothing refused.
    assert batch_answer(b"<html>502 Bad Gateway</html>") == (set(), {})
    assert batch_answer(b"[" * 100_000) == (set(), {})


def test_a_corrupt_stored_cursor_is_reported_once_and_nothing_is_skipped(tmp_path: Path) -> None:
    with sandbox() as server:
        crm = HubSpotSandboxHarness(server)
        ids = crm.seed_contacts([{"email": f"lead{n}@example.com"} for n in range(5)])
        connector = connector_for(server)
        with pipeline_over(connector, tmp_path) as pipeline:
            pipeline.prepare()
            # A cursor naming the newest modification, its remembered records mangled.
            newest = max(c.updated_at for c in server.state.contacts())
            good = LookbackCursor().advance(
                [(newest, ids[-1])], window=connector.lookback, keep=10, floor=newest
            )
            data = json.loads(good.encode())
            data["seen"] = [["yesterday", 7]]
            pipeline.store.store_page("hubspot", CONTACTS_STREAM, [], json.dumps(data), ())

            first = pipeline.run_once(newest)
            # Read again from the look-back window before the newest read: every
            # contact modified in it (here: all of them) is read, nothing skipped.
            assert first.read == 5
            assert first.written == 5
            [failure] = first.failures
            assert (failure.connector, failure.stage, failure.kind) == (
                "hubspot",
                "read",
                "unavailable",
            )
            assert "read position is unreadable" in failure.message
            assert "look-back window before" in failure.message

            second = pipeline.run_once(newest)
            # Our own writes echo back; nothing changes, nothing fails.
            assert second.ok and second.changed == 0
