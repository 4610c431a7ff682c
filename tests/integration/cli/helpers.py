"""Running the ``crmbridge`` command line in-process and as a real process."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import structlog
from click.testing import Result
from typer.testing import CliRunner

from crmbridge.cli import app
from crmbridge.config import example_config_text


def invoke(*args: str, env: Mapping[str, str] | None = None, cwd: Path | None = None) -> Result:
    """``crmbridge ARGS`` in this process; logging is restored afterwards."""
    logging_before = structlog.get_config()
    here = Path.cwd()
    try:
        if cwd is not None:
            os.chdir(cwd)
        return CliRunner().invoke(app, list(args), env=dict(env or {}))
    finally:
        os.chdir(here)
        structlog.configure(**logging_before)


def crmbridge(
    *args: str, cwd: Path, env: Mapping[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """``python -m crmbridge ARGS`` as a child process, its output captured (not a TTY)."""
    return subprocess.run(
        [sys.executable, "-m", "crmbridge", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        check=False,
    )


def example_with(path: Path, *replacements: tuple[str, str], extra: str = "") -> Path:
    """The bundled example model with some lines replaced (each must be found)."""
    text = example_config_text()
    for old, new in replacements:
        assert old in text, f"the example config no longer holds {old!r}"
        text = text.replace(old, new)
    path.write_text(text + extra, "utf-8")
    return path
