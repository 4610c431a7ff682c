"""``crmbridge sandbox --index-lag``: a sandbox whose search finds changes late, for an
admin to watch crmbridge's look-back at work; a range that cannot be read is refused."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import requests
from hypothesis import given
from hypothesis import strategies as st

from crmbridge.connector.sandbox import MAX_INDEX_LAG, parse_index_lag

#: How long the sandbox may take to start (imports, seeding the demo).
START_S = 60


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def _serving(*args: str) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """``crmbridge sandbox ARGS`` running, with what it printed until it listens."""
    process = subprocess.Popen(
        [sys.executable, "-m", "crmbridge", "sandbox", "--seed", "empty", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "NO_COLOR": "1"},
    )
    try:
        assert process.stdout is not None
        lines: list[str] = []
        # Until the server says it listens (or the process ends: then the test fails).
        while not lines or not any("Uvicorn running" in line for line in lines[-1:]):
            line = process.stdout.readline()
            if not line:
                break
            lines.append(line)
        yield process, "".join(lines)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_the_sandbox_serves_with_the_index_lag_asked_for() -> None:
    port = _free_port()
    with _serving("--port", str(port), "--index-lag", "0-30s") as (process, banner):
        assert "search index lag: 0-30 s per change" in banner, banner
        settings = requests.get(f"http://127.0.0.1:{port}/_sandbox/config", timeout=START_S)
        assert process.poll() is None

    assert (settings.json()["index_lag_min_ms"], settings.json()["index_lag_max_ms"]) == (
        0,
        30_000,
    )


def test_the_index_lag_is_off_unless_asked_for() -> None:
    port = _free_port()
    with _serving("--port", str(port)) as (_process, banner):
        assert "search index lag: off" in banner, banner
        settings = requests.get(f"http://127.0.0.1:{port}/_sandbox/config", timeout=START_S)
    assert settings.json()["index_lag_max_ms"] == 0


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("30s-5s", "ends before it starts"),
        ("soon", 'invalid duration "soon"'),
        ("0-2h", "at most 1h"),
    ],
)
def test_an_index_lag_that_cannot_be_read_is_refused_before_serving(text: str, said: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "crmbridge", "sandbox", "--index-lag", text],
        capture_output=True,
        text=True,
        timeout=START_S,
        env={**os.environ, "NO_COLOR": "1", "COLUMNS": "200"},
    )
    assert done.returncode == 2
    assert said in done.stderr and "--index-lag" in done.stderr


@pytest.mark.parametrize(
    ("text", "bounds"),
    [("0-30s", (0, 30_000)), ("5s", (5_000, 5_000)), ("5-30ms", (5, 30)), ("2", (2_000, 2_000))],
)
def test_index_lag_ranges_as_admins_write_them(text: str, bounds: tuple[int, int]) -> None:
    assert parse_index_lag(text) == bounds


@given(st.text(max_size=60))
def test_any_text_is_a_range_within_bounds_or_a_value_error(text: str) -> None:
    try:
        low, high = parse_index_lag(text)
    except ValueError:
        return
    assert 0 <= low <= high <= MAX_INDEX_LAG.total_seconds() * 1000
