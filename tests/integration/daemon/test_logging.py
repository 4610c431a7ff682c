"""Log output: one JSON object per line, library lines included, secrets masked.

- a logger made before :func:`configure_logging` (a module-level one) follows it: the
  format and the secrets to mask configured later apply to it;
- the scheduler's and uvicorn's standard-library lines, tracebacks included, come out
  as one JSON object each; their routine INFO lines do not;
- ``log_format`` chooses JSON or console output.
"""

from __future__ import annotations

import json
import logging
import logging.config
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn.config

from crmbridge.logging import configure_logging, get_logger

SECRET = "pat-na1-0f3c9d2e-secret"


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    yield
    configure_logging(level="INFO")


def _lines(text: str) -> list[dict[str, Any]]:
    parsed = [json.loads(line) for line in text.splitlines() if line.strip()]
    assert all(isinstance(item, dict) for item in parsed)
    return parsed


def test_a_logger_made_before_configuring_follows_the_configuration(
    capsys: pytest.CaptureFixture[str],
) -> None:
    early = get_logger(component="early")
    configure_logging(log_format="json", secrets=[SECRET])

    early.info("token.seen", detail=f"HubSpot answered 401 for {SECRET}")

    [line] = _lines(capsys.readouterr().err)
    assert line["event"] == "token.seen"
    assert line["component"] == "early"
    assert SECRET not in json.dumps(line)


def test_library_lines_are_json_with_their_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(log_format="json", secrets=[SECRET])
    scheduler = logging.getLogger("apscheduler.executors.default")

    scheduler.info('Running job "poll:hubspot"')  # routine: not shown
    logging.getLogger("apscheduler.scheduler").warning(
        'Execution of job "drain" skipped: maximum number of running instances reached (1)'
    )
    try:
        raise RuntimeError(f"boom with {SECRET}")
    except RuntimeError:
        scheduler.exception('Job "drain" raised an exception')
    logging.getLogger("uvicorn.error").error("[Errno 98] address already in use")

    lines = _lines(capsys.readouterr().err)
    assert [line["logger"] for line in lines] == [
        "apscheduler.scheduler",
        "apscheduler.executors.default",
        "uvicorn.error",
    ]
    assert "maximum number of running instances" in lines[0]["event"]
    assert lines[1]["level"] == "error"
    assert "RuntimeError" in lines[1]["exception"]
    assert "Traceback" in lines[1]["exception"]
    assert SECRET not in json.dumps(lines)


def test_console_format_is_not_json(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(log_format="console")
    get_logger(component="daemon").info("daemon.started", listening_on="http://127.0.0.1:8080")
    logging.getLogger("uvicorn.error").warning("a warning")
    text = capsys.readouterr().err
    assert "daemon.started" in text and "a warning" in text
    assert not any(line.lstrip().startswith("{") for line in text.splitlines())


def test_uvicorns_lines_come_through_after_uvicorn_configured_its_own_logging(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """An in-process server started with uvicorn's defaults (the sandbox) configured
    its loggers not to propagate; configuring crmbridge's logging afterwards wins."""
    logging.config.dictConfig(uvicorn.config.LOGGING_CONFIG)
    logging.getLogger("uvicorn.error").setLevel(logging.CRITICAL)  # as log_level="critical"
    configure_logging(log_format="json")

    logging.getLogger("uvicorn.error").error("[Errno 98] address already in use")

    [line] = _lines(capsys.readouterr().err)
    assert line["logger"] == "uvicorn.error"


def test_debug_level_keeps_http_libraries_from_quoting_runtime_tokens(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # An OAuth access token is obtained at run time: no redactor knows it in advance,
    # and urllib3 and the HubSpot SDK quote URLs and bodies holding it at DEBUG.
    token = "CJT8wL2xMRIC-runtime-access-token"
    configure_logging(log_format="json", level="DEBUG")

    logging.getLogger("urllib3.connectionpool").debug(
        'https://api.hubapi.com:443 "GET /oauth/v1/access-tokens/%s HTTP/1.1" 200', token
    )
    logging.getLogger("hubspot.oauth.rest").debug('response body: {"access_token": "%s"}', token)
    get_logger(component="test").debug("own.debug", what="shown at DEBUG")

    err = capsys.readouterr().err
    assert token not in err
    assert [line["event"] for line in _lines(err)] == ["own.debug"]
