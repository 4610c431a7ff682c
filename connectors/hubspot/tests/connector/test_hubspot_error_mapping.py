"""HubSpot's answers mapped to crmbridge's errors, and so to failure kinds.

The HubSpot plugin's error mapping is the only place that reads a status code: a 401
is an :class:`AuthError` (kind ``auth``), a 403 a :class:`MissingScope` naming the scope
(kind ``missing_scope``), a 404 or 409 a typed refusal the connector acts on by type.
"""

from __future__ import annotations

import json

import pytest

from crmbridge import errors
from crmbridge.sync.failures import failure_kind
from crmbridge_hubspot.errors import Conflict, NoAnswer, NotFound, from_exception, translate

MISSING_SCOPES = json.dumps(
    {
        "status": "error",
        "category": "MISSING_SCOPES",
        "message": "This app hasn't been granted all required scopes to make this call.",
        "errors": [
            {
                "message": "One or more of the following scopes are required.",
                "context": {"requiredGranularScopes": ["crm.objects.contacts.read"]},
            }
        ],
    }
)


@pytest.mark.parametrize(
    ("status", "body", "error_type", "kind"),
    [
        (401, '{"category": "INVALID_AUTHENTICATION"}', errors.AuthError, "auth"),
        (403, MISSING_SCOPES, errors.MissingScope, "missing_scope"),
        (429, '{"policyName": "TEN_SECONDLY_ROLLING"}', errors.RateLimited, "rate_limited"),
        (503, "", errors.TransientError, "unavailable"),
        (None, "", NoAnswer, "unavailable"),
        (400, '{"category": "VALIDATION_ERROR"}', errors.PermanentRecordError, "bad_record"),
        (404, '{"category": "OBJECT_NOT_FOUND"}', NotFound, "bad_record"),
        (409, '{"category": "CONFLICT"}', Conflict, "bad_record"),
        (
            400,
            '{"category": "VALIDATION_ERROR", "x": "PROPERTY_DOESNT_EXIST"}',
            errors.SchemaError,
            "schema",
        ),
    ],
)
def test_a_status_becomes_a_typed_error_and_a_kind(
    status: int | None, body: str, error_type: type[errors.CrmbridgeError], kind: str
) -> None:
    error = translate(status, body, what="search contacts")

    assert type(error) is error_type
    assert failure_kind(error) == kind


def test_a_missing_scope_names_the_scope_and_is_not_an_auth_error() -> None:
    error = translate(403, MISSING_SCOPES, what="search contacts")

    assert "crm.objects.contacts.read" in str(error)
    assert not isinstance(error, errors.AuthError)


def test_a_transport_failure_is_no_answer() -> None:
    error = from_exception(ConnectionRefusedError(111, "Connection refused"), what="read")

    assert isinstance(error, NoAnswer)
    assert "connection refused" in str(error)


# HubSpot documents 423 and 477 by status and Retry-After only; no body of either is
# published or recorded. Their mapping must not depend on one.
@pytest.mark.parametrize(
    "body",
    ["", "<html><title>Locked</title></html>", '{"status": "error", "message": "?"}'],
)
def test_a_lock_is_a_short_wait_whatever_its_body(body: str) -> None:
    error = translate(423, body, what="batch update contacts")
    assert isinstance(error, errors.RetryLater) and error.retry_after == 2.0


@pytest.mark.parametrize(
    ("headers", "wait"),
    [
        ({"Retry-After": "3600"}, 3600.0),
        # Without a usable number of seconds (none, an HTTP date): ask again in 10 minutes.
        (None, 600.0),
        ({"Retry-After": "Wed, 02 Dec 2026 23:00:00 GMT"}, 600.0),
    ],
)
def test_a_migration_waits_as_long_as_retry_after_says_or_ten_minutes(
    headers: dict[str, str] | None, wait: float
) -> None:
    error = translate(477, "", what="batch update contacts", headers=headers)
    assert isinstance(error, errors.RetryLater) and error.retry_after == wait
    assert failure_kind(error) == "unavailable"


@pytest.mark.parametrize(
    "message",
    [
        "The OAuth token used to make this call expired 75 second(s) ago.",
        "The OAuth token used to make this call expired 6 hour(s) ago.",
        "Authentication credentials not found.",
    ],
)
def test_every_401_is_an_auth_error_whatever_its_wording(message: str) -> None:
    body = json.dumps({"status": "error", "message": message, "category": "X"})
    assert isinstance(translate(401, body, what="search contacts"), errors.AuthError)
