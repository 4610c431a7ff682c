"""What Salesforce sends is parsed without ever raising: limit headers, error bodies,
activity rows, invocable action answers, hand-off task payloads (any shape, any value)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from crmbridge.connector import Action
from crmbridge_salesforce.activity import (
    ACTIVITY_FIELDS,
    DESCRIPTION,
    EMAIL,
    TASK,
    ReplyTasks,
    activity_events,
)
from crmbridge_salesforce.errors import error_codes, record_error
from crmbridge_salesforce.limits import Usage, parse_limit_info
from crmbridge_salesforce.tasks import reference, references_in, task_record

values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    st.text(max_size=60),
    st.sampled_from(
        [
            "2026-11-20T10:00:00.000+0000",
            "0001-01-01T00:00:00+05:00",  # an instant before year 1 in UTC
            "Call",
            "Meeting",
            "a@b.example",
            "00Q1",
            "Inbound",
        ]
    ),
)
rows = st.dictionaries(
    st.sampled_from(sorted({*ACTIVITY_FIELDS[TASK], *ACTIVITY_FIELDS[EMAIL], DESCRIPTION})),
    values,
)
#: A reply rule looking at every field it can.
EVERY_RULE = ReplyTasks.of(["Inbound"], ["Call", "Inbound Email"], ["re:", "call"])


@given(st.text(max_size=300))
def test_any_limit_header_parses_or_is_ignored(header: str) -> None:
    usage = parse_limit_info(header)
    assert usage is None or (usage.limit > 0 and usage.used >= 0)


def test_the_usage_header_is_read() -> None:
    assert parse_limit_info("api-usage=18/15000; per-app-api-usage=17/250(appName=x)") == Usage(
        18, 15000
    )


@given(st.one_of(st.binary(max_size=200), st.text(max_size=200), st.lists(values), values))
def test_any_error_body_gives_codes_or_none(body: Any) -> None:
    for code, message in error_codes(body):
        assert isinstance(code, str) and len(message) <= 300


@given(st.lists(st.dictionaries(st.sampled_from(["statusCode", "message", "fields"]), values)))
def test_any_save_errors_give_a_message(errors: list[dict[str, Any]]) -> None:
    message, retriable = record_error(errors)
    assert message and isinstance(retriable, bool)


@given(st.sampled_from([TASK, EMAIL]), rows.map(lambda r: {"Id": "00T1", **r}))
def test_any_activity_row_gives_its_events_or_none(sobject: str, row: dict[str, Any]) -> None:
    events = activity_events(sobject, row, EVERY_RULE)
    assert len(events) <= 2
    assert all(event.event_id.startswith("salesforce:") for event in events)
    assert len({event.event_id for event in events}) == len(events)


def test_an_instant_out_of_range_in_utc_is_skipped_for_the_next_one() -> None:
    """Year 1 at +05:00 is before year 1 in UTC: no datetime holds it."""
    row = {
        "Id": "00T1",
        "WhoId": "00Q5g0000000001AAA",
        "Type": "Call",
        "CompletedDateTime": "0001-01-01T00:00:00+05:00",
        "CreatedDate": "2026-11-20T10:00:00.000+0000",
    }
    [event] = activity_events(TASK, row)
    assert event.occurred_at == datetime(2026, 11, 20, 10, tzinfo=UTC)


action_results = st.lists(
    st.dictionaries(
        st.sampled_from(["actionName", "errors", "isSuccess", "outputValues"]),
        st.one_of(
            values, st.lists(st.dictionaries(st.sampled_from(["statusCode", "message"]), values))
        ),
    ),
    max_size=5,
)


@given(action_results)
def test_any_invocable_action_answer_gives_codes_or_none(body: list[dict[str, Any]]) -> None:
    for code, message in error_codes(body):
        assert isinstance(code, str) and len(message) <= 300


@given(
    st.text(max_size=200),
    st.dictionaries(st.sampled_from(["subject", "body", "due_at", "priority", "owner_id"]), values),
    st.text(max_size=300),
)
def test_any_task_payload_makes_a_record_whose_reference_is_found(
    key: str, payload: dict[str, Any], noise: str
) -> None:
    action = Action("task", "00Q5g000004AbCdEAK", key, payload)
    record = task_record(action, None)
    assert len(record["Subject"]) <= 255 and len(record["Description"]) <= 32_000
    assert record["Priority"] in ("High", "Normal", "Low")
    assert reference(key) in references_in(record["Description"])
    assert references_in(noise + " " + record["Description"]) >= {reference(key)}


def test_a_body_too_long_is_cut_before_the_reference() -> None:
    action = Action("task", "00Q5g000004AbCdEAK", "k", {"body": "word " * 10_000})
    description = task_record(action, None)["Description"]
    assert len(description) <= 32_000
    assert description.endswith(f"Ref: {reference('k')}")
