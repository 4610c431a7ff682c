"""``run --once``: a progress bar with counts on a terminal, never in a log or in JSON."""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from crmbridge.cli.cycle_progress import LABELS
from crmbridge.demo import running_demo
from crmbridge.store import outbox
from crmbridge.sync.progress import READ, SCORED, SENT, WRITTEN
from crmbridge_hubspot.sandbox.config import DEFAULT_TOKEN
from crmbridge_hubspot.sandbox.server import SandboxServer, build
from tests.integration.cli.helpers import crmbridge, example_with

ENV = {
    "HUBSPOT_ACCESS_TOKEN": DEFAULT_TOKEN,
    "HUBSPOT_APP_SECRET": "sandbox-secret",
    "CRMBRIDGE_INGEST_TOKEN": "sandbox-ingest",
    "CRMBRIDGE_LOG_LEVEL": "WARNING",
}


def test_the_callback_counts_what_the_cycle_did(store_url: str) -> None:
    """A real cycle against the sandbox, on SQLite and on PostgreSQL."""
    calls: list[tuple[str, int, int]] = []
    with running_demo(store_url) as (_server, pipeline, _connector):
        pipeline.prepare()
        summary = pipeline.run_once(datetime.now(UTC), progress=lambda *call: calls.append(call))
        with pipeline.store.session() as session:
            statuses = outbox.depth(session)
    done = Counter[str]()
    expected = Counter[str]()
    for counter, advanced, more in calls:
        done[counter] += advanced
        expected[counter] += more
    assert summary.read == 200 and summary.ok, summary.errors
    assert done[READ] == summary.read
    assert done[SCORED] == summary.scored == 200
    assert done[WRITTEN] == summary.written == 200
    # Every row due when the drain began was sent, and it was counted before.
    sent = sum(count for status, count in statuses.items() if status not in outbox.RETRYABLE)
    assert done[SENT] == expected[SENT] == sent > 200
    # The stages are told in the order they run.
    order = [counter for counter, advanced, _ in calls if advanced]
    assert order.index(READ) < order.index(SCORED) < order.index(SENT)
    # The contacts to write are counted before too; reading and scoring cannot say.
    assert expected[WRITTEN] == 200
    assert expected[READ] == expected[SCORED] == 0


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    state, settings = build("demo")
    with SandboxServer(state, settings) as server:
        yield server


def _config(tmp_path: Path, server: SandboxServer) -> Path:
    return example_with(
        tmp_path / "crmbridge.toml",
        ('base_url = "https://api.hubapi.com"', f'base_url = "{server.url}"'),
        (
            'database_url = "sqlite:///crmbridge.db"',
            f'database_url = "sqlite:///{tmp_path / "store.db"}"',
        ),
    )


def _no_bar(stderr: str) -> None:
    for label in LABELS.values():
        assert label not in stderr
    assert "\r" not in stderr and "\x1b[" not in stderr


def test_a_piped_run_once_prints_no_progress_bar(tmp_path: Path, sandbox: SandboxServer) -> None:
    config = _config(tmp_path, sandbox)
    result = crmbridge("--config", str(config), "run", "--once", cwd=tmp_path, env=ENV)
    assert result.returncode == 0, result.stderr
    assert "written" in result.stdout and "200" in result.stdout
    _no_bar(result.stderr)

    again = crmbridge("--config", str(config), "run", "--once", "--json", cwd=tmp_path, env=ENV)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["written"] == 0  # a rerun has nothing left to write
    _no_bar(again.stderr)


def _run_on_a_terminal(*args: str, cwd: Path) -> tuple[int, str, str]:
    """Run crmbridge with stderr on a pseudo-terminal, stdout piped."""
    primary, secondary = pty.openpty()
    screen: list[bytes] = []

    def read() -> None:
        while True:
            try:
                chunk = os.read(primary, 65536)
            except OSError:  # the terminal closed with the process
                return
            if not chunk:
                return
            screen.append(chunk)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    env = {**os.environ, **ENV, "TERM": "xterm-256color", "COLUMNS": "120"}
    env.pop("NO_COLOR", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "crmbridge", *args],
        stdout=subprocess.PIPE,
        stderr=secondary,
        cwd=cwd,
        env=env,
    )
    os.close(secondary)
    stdout, _ = process.communicate(timeout=120)
    reader.join(timeout=10)
    os.close(primary)
    return process.returncode, stdout.decode(), b"".join(screen).decode(errors="replace")


def test_run_once_on_a_terminal_shows_a_progress_bar_with_counts(
    tmp_path: Path, sandbox: SandboxServer
) -> None:
    config = _config(tmp_path, sandbox)
    code, stdout, terminal = _run_on_a_terminal(
        "--config", str(config), "run", "--once", cwd=tmp_path
    )
    assert code == 0, terminal
    for label in LABELS.values():
        assert label in terminal
    # The outbox bar knows its total and ends full: "<sent>/<due>", more than 200 rows.
    assert any(int(n) > 200 for n in re.findall(r"(?<!\d)(\d+)/\1(?!\d)", terminal))
    assert "contacts read" not in stdout  # the bar is on stderr; stdout keeps the table
    assert "written" in stdout


def test_run_once_json_on_a_terminal_prints_no_progress_bar(
    tmp_path: Path, sandbox: SandboxServer
) -> None:
    config = _config(tmp_path, sandbox)
    code, stdout, terminal = _run_on_a_terminal(
        "--config", str(config), "run", "--once", "--json", cwd=tmp_path
    )
    assert code == 0, terminal
    assert json.loads(stdout)["written"] == 200
    for label in LABELS.values():
        assert label not in terminal
