"""Failures are typed by their exception's type, and their text is rendered from the type.

- every error of :mod:`crmbridge.errors` has its kind, database errors are ``store`` and
  anything else ``internal``; a missing scope is never ``auth``;
- the lines people read come from the typed failures: a stage failure names its kind
  where it matters, a refused record names its id, rescoring failures make one line.
"""

from __future__ import annotations

import pytest
from sqlalchemy.exc import OperationalError

from crmbridge import errors
from crmbridge.sync.failures import (
    ALL_CONNECTORS,
    FAILURE_KINDS,
    CycleFailure,
    FailureKind,
    failure_kind,
    render,
)


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (errors.AuthError("token rejected"), "auth"),
        (errors.MissingScope("lacks crm.objects.contacts.read"), "missing_scope"),
        (errors.RateLimited("slow down", retry_after=10), "rate_limited"),
        (errors.TransientError("503"), "unavailable"),
        (errors.PermanentRecordError("invalid email"), "bad_record"),
        (errors.SchemaError("crmbridge_score is missing"), "schema"),
        (
            errors.ConfigError([errors.ConfigProblem("connectors.hubspot", "another account")]),
            "config",
        ),
        (OperationalError("SELECT 1", {}, Exception("locked")), "store"),
        (errors.CrmbridgeError("something else"), "internal"),
        (ValueError("a bug"), "internal"),
    ],
)
def test_each_error_type_has_its_kind(error: BaseException, kind: FailureKind) -> None:
    assert failure_kind(error) == kind
    assert kind in FAILURE_KINDS


def test_a_missing_scope_is_not_an_auth_error() -> None:
    assert not isinstance(errors.MissingScope("x"), errors.AuthError)
    assert not isinstance(errors.AuthError("x"), errors.MissingScope)


def test_the_kind_comes_from_the_type_never_the_text() -> None:
    assert failure_kind(errors.TransientError("authentication failed (403)")) == "unavailable"


def test_the_lines_are_rendered_from_the_typed_failures() -> None:
    failures = [
        CycleFailure.of("hubspot", "read", errors.AuthError("HubSpot rejected the access token")),
        CycleFailure.of("hubspot", "recover", errors.MissingScope("lacks a scope")),
        CycleFailure("hubspot", "rescore", "internal", "unexpected error: ValueError", "101"),
        CycleFailure.of("hubspot", "write", errors.RateLimited("daily limit", retry_after=60)),
        CycleFailure("hubspot", "write", "missing_scope", "lacks a scope", "7", "enroll"),
        CycleFailure("hubspot", "rescore", "internal", "unexpected error: KeyError", "102"),
        CycleFailure.of("hubspot", "write", errors.TransientError("HubSpot is unavailable")),
        CycleFailure("hubspot", "write", "bad_record", "INVALID_EMAIL", "8", "record"),
        CycleFailure.of(ALL_CONNECTORS, "cycle", ValueError("private detail")),
    ]

    assert render(failures) == [
        "hubspot: read failed (authentication): HubSpot rejected the access token",
        "hubspot: recover failed (missing scope): lacks a scope",
        "2 lead(s) could not be scored and keep their last score "
        "(first: hubspot:101: unexpected error: ValueError)",
        "hubspot: rate limited: daily limit",
        "hubspot enroll 7: lacks a scope",
        "hubspot: batch failed: HubSpot is unavailable",
        "hubspot record 8: INVALID_EMAIL",
        "cycle aborted: unexpected error: ValueError",
    ]
    assert [f.of_record for f in failures[:2]] == [False, False]
    assert failures[4].of_record
