"""simple-salesforce's exceptions mapped onto crmbridge's errors, and so failure kinds:
the error code decides, never the message."""

from __future__ import annotations

import json

import pytest
import requests
from simple_salesforce.exceptions import (
    SalesforceAuthenticationFailed,
    SalesforceExpiredSession,
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)

from crmbridge import errors
from crmbridge.sync.failures import failure_kind
from crmbridge_salesforce.errors import NoAnswer, NotFound, translate

SETTING = "connectors.salesforce.password"


def body(code: str, message: str = "m") -> bytes:
    return json.dumps([{"errorCode": code, "message": message}]).encode()


@pytest.mark.parametrize(
    ("exc", "error_type", "kind"),
    [
        (SalesforceAuthenticationFailed("INVALID_LOGIN", "bad"), errors.AuthError, "auth"),
        (SalesforceExpiredSession("u", 401, "q", body("INVALID_SESSION_ID")), errors.AuthError,
         "auth"),
        (SalesforceRefusedRequest("u", 403, "q", body("REQUEST_LIMIT_EXCEEDED")),
         errors.RateLimited, "rate_limited"),
        (SalesforceRefusedRequest("u", 403, "q", body("INSUFFICIENT_ACCESS")),
         errors.MissingScope, "missing_scope"),
        (SalesforceRefusedRequest("u", 403, "q", body("API_DISABLED_FOR_ORG")), errors.AuthError,
         "auth"),
        (SalesforceMalformedRequest("u", 400, "q", body("INVALID_FIELD")), errors.SchemaError,
         "schema"),
        (SalesforceMalformedRequest("u", 400, "q", body("INVALID_QUERY_LOCATOR")),
         errors.TransientError, "unavailable"),
        (SalesforceMalformedRequest("u", 400, "q", body("MALFORMED_QUERY")),
         errors.PermanentRecordError, "bad_record"),
        (SalesforceResourceNotFound("u", 404, "q", body("NOT_FOUND")), NotFound, "bad_record"),
        (SalesforceGeneralError("u", 503, "q", b"<html>503</html>"), errors.TransientError,
         "unavailable"),
        (requests.ReadTimeout("slow"), NoAnswer, "unavailable"),
        (requests.ConnectionError("refused"), NoAnswer, "unavailable"),
    ],
)  # fmt: skip
def test_an_answer_becomes_a_typed_error_and_a_kind(
    exc: Exception, error_type: type[errors.CrmbridgeError], kind: str
) -> None:
    error = translate(exc, "read leads", credential=SETTING)

    assert type(error) is error_type
    assert failure_kind(error) == kind
    if isinstance(error, errors.AuthError):
        assert SETTING in str(error)
