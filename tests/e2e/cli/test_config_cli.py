"""Bad configs seen from the command line: exit 2, the path and the cause, no traceback.

Every bad config is tried with ``config check`` and with commands that load the config
and open the store (``plan``, ``run --once``), in-process; a sample runs ``crmbridge`` as
a subprocess, as an admin or a supervisor would. ``crmbridge check`` against a CRM that
does not answer names the URL it tried and why, and never the token.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import structlog
from typer.testing import CliRunner

from crmbridge.cli import app
from crmbridge_hubspot.client import HubSpotClient
from crmbridge_hubspot.connector import HubSpotConnector
from tests.environment import clean_environment

TOKEN = "pat-eu1-config-cli-SECRET-token"
PASSWORD = "hunter2-config-cli"


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])  # closed again: connecting is refused


def crmbridge(
    tmp_path: Path, toml: str, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``crmbridge --config <tmp>/crmbridge.toml ARGS`` in a subprocess, clean environment."""
    config = _write(tmp_path, toml)
    environ = clean_environment()
    environ.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "crmbridge", "--config", str(config), *args],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=environ,
        timeout=120,
        check=False,
    )


def _write(folder: Path, toml: str) -> Path:
    config = folder / "crmbridge.toml"
    config.write_text(toml, "utf-8")
    return config


def in_process(
    tmp_path: Path, toml: str, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The same command run in this process (its environment is cleaned by ``_isolated``)."""
    config = _write(tmp_path, toml)
    logging_before = structlog.get_config()
    try:
        result = CliRunner().invoke(app, ["--config", str(config), *args], env=env)
    finally:
        structlog.configure(**logging_before)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception  # an exception no handler turned into a message
    return subprocess.CompletedProcess(args, result.exit_code, result.stdout, result.stderr)


def assert_refused(result: subprocess.CompletedProcess[str], *words: str) -> None:
    """Exit 2, no traceback, every word on stderr."""
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout, result.stderr
    for word in words:
        assert word in result.stderr, result.stderr


STORE = '[bridge]\ndatabase_url = "sqlite:///crmbridge.db"\n'

# (TOML, environment, words every command must print)
CASES = [
    pytest.param(
        STORE + '[daemon]\npoll_interval = "99999999999999d"\n',
        {},
        ["daemon.poll_interval", "at most 365d"],
        id="poll-overflow",
    ),
    pytest.param(
        STORE + "[daemon]\nport = true\n",
        {},
        ["daemon.port", "not true"],
        id="port-true",
    ),
    pytest.param(
        STORE
        + '[[scoring.fit]]\nname = "Big"\nwhen = { numemployees = { gt = 500 } }\npoints = nan\n',
        {},
        ["scoring.fit[0].points", "finite"],
        id="points-nan",
    ),
    pytest.param(
        '[bridge]\ndatabase_url = "mysql://crm@db/crm"\n',
        {},
        ["bridge.database_url", 'unsupported database "mysql"'],
        id="mysql",
    ),
    pytest.param(
        '[bridge]\ndatabase_url = "${UNSET_DATABASE_URL}"\n',
        {},
        ["bridge.database_url", "UNSET_DATABASE_URL is not set"],
        id="unset-var",
    ),
    pytest.param(
        STORE,
        {"CRMBRIDGE__DAEMON": "notjson"},
        ["CRMBRIDGE__DAEMON", "not valid JSON"],
        id="override-not-json",
    ),
]


COMMANDS = [("config", "check"), ("plan",), ("run", "--once"), ("check",), ("score",)]


@pytest.mark.parametrize(("toml", "env", "words"), CASES)
@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_bad_config_exits_2_with_its_path_from_every_command(
    tmp_path: Path, toml: str, env: dict[str, str], words: list[str], command: tuple[str, ...]
) -> None:
    result = in_process(tmp_path, toml, *command, env=env)

    assert_refused(result, *words)


@pytest.mark.parametrize(
    ("toml", "env", "command"),
    [
        (CASES[0].values[0], {}, ("config", "check")),
        (CASES[1].values[0], {}, ("run", "--once")),
        (CASES[5].values[0], {"CRMBRIDGE__DAEMON": "notjson"}, ("plan",)),
    ],
    ids=["config-check", "run-once", "plan"],
)
def test_a_real_process_exits_2_without_a_traceback(
    tmp_path: Path, toml: str, env: dict[str, str], command: tuple[str, ...]
) -> None:
    assert_refused(crmbridge(tmp_path, toml, *command, env=env))


@pytest.mark.parametrize(
    ("command", "run"),
    [(("plan",), crmbridge), (("run", "--once"), in_process), (("outbox", "list"), in_process)],
    ids=["plan", "run-once", "outbox-list"],
)
def test_store_that_cannot_be_opened_exits_2_naming_it(
    tmp_path: Path, command: tuple[str, ...], run: Any
) -> None:
    port = _closed_port()
    toml = f'[bridge]\ndatabase_url = "postgresql+psycopg://crm:{PASSWORD}@127.0.0.1:{port}/crm"\n'

    postgres = run(tmp_path, toml, *command)
    sqlite = run(tmp_path, '[bridge]\ndatabase_url = "sqlite:///gone/crmbridge.db"\n', *command)

    assert_refused(postgres, "bridge.database_url", f"127.0.0.1:{port}", "refused")
    assert PASSWORD not in postgres.stderr + postgres.stdout
    # Relative to the config file's folder, named in full: tmp_path/gone does not exist.
    assert_refused(sqlite, "bridge.database_url", "does not exist", str(tmp_path / "gone"))


HUBSPOT = """
[bridge]
database_url = "sqlite:///crmbridge.db"
[connectors.hubspot]
enabled = true
access_token = "${{HUBSPOT_ACCESS_TOKEN}}"
base_url = "{url}"
"""


def test_check_names_the_url_and_the_cause_when_the_crm_does_not_answer(
    tmp_path: Path,
) -> None:
    url = f"http://127.0.0.1:{_closed_port()}"

    result = crmbridge(
        tmp_path, HUBSPOT.format(url=url), "check", env={"HUBSPOT_ACCESS_TOKEN": TOKEN}
    )

    assert_refused(result, f"(tried {url})", "connection refused", "token info")
    assert TOKEN not in result.stderr + result.stdout
    assert "HTTP error occurred" not in result.stdout  # the SDK's own print is not reached


def test_check_and_run_refuse_an_enabled_connector_without_its_secret(tmp_path: Path) -> None:
    toml = HUBSPOT.format(url="http://127.0.0.1:9")

    check = in_process(tmp_path, toml, "check")
    config_check = in_process(tmp_path, toml, "config", "check")
    run = in_process(tmp_path, toml, "run", "--once")
    offline = in_process(tmp_path, toml, "plan")

    for result in (check, config_check, run):
        assert_refused(result, "connectors.hubspot.access_token", "HUBSPOT_ACCESS_TOKEN is not set")
    assert offline.returncode == 0, offline.stderr  # reads only the local store


def _connector(url: str, timeout: float = 30.0) -> HubSpotConnector:
    client = HubSpotClient(TOKEN, url, attempts=1, timeout=timeout)
    return HubSpotConnector(client)


def test_check_names_a_host_name_that_does_not_resolve() -> None:
    report = _connector("https://crm.no-such-host.invalid").check()

    [problem] = report.problems
    assert "the host name could not be resolved (DNS)" in problem
    assert "(tried https://crm.no-such-host.invalid)" in problem


def test_check_names_a_crm_that_accepts_but_never_answers() -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"

        report = _connector(url, timeout=1.0).check()

    [problem] = report.problems
    assert "no answer in time (read timeout)" in problem
    assert f"(tried {url})" in problem
    assert TOKEN not in problem


def test_check_never_shows_credentials_written_in_the_url() -> None:
    port = _closed_port()

    report = _connector(f"http://admin:{PASSWORD}@127.0.0.1:{port}/?key={PASSWORD}").check()

    [problem] = report.problems
    assert f"(tried http://127.0.0.1:{port}/)" in problem
    assert PASSWORD not in problem
