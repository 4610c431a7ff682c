"""What Account Engagement (Pardot) sends is parsed without ever raising: visitor
activities and prospects of any shape and value, and v5 error bodies."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from crmbridge.errors import CrmbridgeError, RateLimited
from crmbridge_salesforce.pardot.activities import EVENT_TYPES, parse
from crmbridge_salesforce.pardot.errors import PARDOT_DAILY, error_body, translate
from crmbridge_salesforce.pardot.reader import GRADES, crm_ids, standing

ABSURD = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=80),
    st.just("x" * 200_000),
    st.just("9" * 400),
    st.sampled_from(
        [
            "1e999",
            "NaN",
            "-Infinity",
            "2026-11-20T10:00:00-08:00",
            "9999-12-31T23:59:59+14:00",
            "0001-01-01T00:00:00-12:00",
            "00Q5g0000000006EAA",
            "003Ab00000AbCdEFGH",
            "ana@acme.example",
            "a\x00@b.example",
        ]
    ),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=10), st.integers(), max_size=3),
)
ACTIVITY_KEYS = ["id", "type", "typeName", "details", "createdAt", "updatedAt", "prospectId",
                 "prospect", "campaignId", "formId", "emailId", "customRedirectId"]  # fmt: skip
prospects = st.one_of(
    ABSURD,
    st.fixed_dictionaries({}, optional={"salesforceId": ABSURD, "email": ABSURD}),
)
activities = st.dictionaries(
    st.sampled_from(ACTIVITY_KEYS), ABSURD, max_size=len(ACTIVITY_KEYS)
).flatmap(lambda row: st.just(row) | prospects.map(lambda p: {**row, "prospect": p}))


@given(st.one_of(ABSURD, activities))
def test_any_activity_is_parsed_or_skipped_never_raised(row: Any) -> None:
    parsed = parse(row)
    if parsed is None:
        return
    assert parsed.activity_id.isdigit() and len(parsed.activity_id) <= 19
    assert (parsed.event is None) != (parsed.skipped is None)
    if parsed.event is not None:
        assert parsed.event.event_id == f"pardot:activity:{parsed.activity_id}"
        assert row["type"] in EVENT_TYPES
        assert all(len(v) <= 500 for v in parsed.event.properties.values())
    else:
        assert parsed.skipped is not None and len(parsed.skipped) <= 40


@given(st.integers(min_value=1, max_value=2**63 - 1), st.sampled_from(sorted(EVENT_TYPES)))
def test_a_well_formed_activity_becomes_its_canonical_event(number: int, code: int) -> None:
    row = {
        "id": number,
        "type": code,
        "createdAt": "2026-11-20T02:00:00-08:00",
        "updatedAt": "2026-11-20T02:00:05-08:00",
        "prospect": {"salesforceId": "00Q5g0000000006EAA", "email": "ana@acme.example"},
    }
    parsed = parse(row)
    assert parsed is not None and parsed.event is not None
    assert parsed.event.type == EVENT_TYPES[code][0]
    assert parsed.event.occurred_at == datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    assert parsed.updated_at == datetime(2026, 11, 20, 10, 0, 5, tzinfo=UTC)
    contact = parsed.event.contact
    assert (contact.crm, contact.id) == ("salesforce", "00Q5g0000000006EAA")


@given(st.dictionaries(st.sampled_from(["score", "grade", "salesforceId", "crmLeadFid",
                                        "crmContactFid"]), ABSURD))  # fmt: skip
def test_any_prospect_gives_a_bounded_score_and_a_real_grade(row: dict[str, Any]) -> None:
    found = standing(row)
    assert found.score is None or (found.score.lstrip("-").isdigit() and len(found.score) <= 11)
    assert found.grade is None or found.grade in GRADES
    assert all(i.isalnum() and 15 <= len(i) <= 18 for i in crm_ids(row))


@given(st.one_of(st.none(), st.binary(max_size=300), st.text(max_size=300)),
       st.integers(min_value=100, max_value=599))  # fmt: skip
def test_any_error_body_is_translated(body: bytes | str | None, status: int) -> None:
    error = translate(status, body, "read")
    assert isinstance(error, CrmbridgeError)
    assert len(str(error)) < 800


def test_the_documented_codes_decide_whatever_the_status() -> None:
    daily = translate(400, b'{"code": 122, "message": "Daily API rate limit met"}', "read")
    assert isinstance(daily, RateLimited) and daily.policy == PARDOT_DAILY
    assert error_body(b'{"code": true, "message": 5}') == (None, "")
    wrong_unit = translate(403, b'{"code": 201, "message": "not found or inactive"}', "read")
    assert "business_unit_id" in str(wrong_unit)
