"""``--config`` before or after the command names the same file; one file per command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .helpers import crmbridge, example_with, invoke

COLD = (("hot_threshold = 100 ", "hot_threshold = 9999 "),)


@pytest.fixture
def cold(tmp_path: Path) -> Path:
    """A model under which no example lead is hot (the example has two hot ones)."""
    return example_with(tmp_path / "cold.toml", *COLD)


def _hot(stdout: str) -> int:
    return sum(1 for lead in json.loads(stdout) if lead["hot"])


def test_the_bundled_example_has_hot_leads(tmp_path: Path) -> None:
    result = invoke("score", "--json", cwd=tmp_path)
    assert result.exit_code == 0, result.output
    assert _hot(result.stdout) == 2


@pytest.mark.parametrize(
    "args",
    [
        ("--config", "{cold}", "score", "--json"),
        ("score", "--json", "--config", "{cold}"),
        ("-c", "{cold}", "score", "--json"),
        ("score", "-c", "{cold}", "--json"),
    ],
    ids=["before", "after", "short-before", "short-after"],
)
def test_config_is_read_before_or_after_the_command(
    cold: Path, tmp_path: Path, args: tuple[str, ...]
) -> None:
    result = invoke(*(a.format(cold=cold) for a in args), cwd=tmp_path)
    assert result.exit_code == 0, result.output
    assert _hot(result.stdout) == 0


def test_config_after_the_command_wins_over_the_environment(cold: Path, tmp_path: Path) -> None:
    other = example_with(tmp_path / "other.toml")
    result = invoke("score", "--json", "--config", str(cold), env={"CRMBRIDGE_CONFIG": str(other)})
    assert result.exit_code == 0, result.output
    assert _hot(result.stdout) == 0


def test_the_same_file_in_both_places_is_accepted(cold: Path, tmp_path: Path) -> None:
    result = invoke("--config", str(cold), "score", "--json", "--config", str(cold))
    assert result.exit_code == 0, result.output
    assert _hot(result.stdout) == 0


def test_two_different_files_are_refused_naming_both(cold: Path, tmp_path: Path) -> None:
    other = example_with(tmp_path / "other.toml")
    result = invoke("--config", str(other), "score", "--config", str(cold))
    assert result.exit_code == 2
    assert str(other) in result.output and str(cold) in result.output
    assert "Traceback" not in result.output


def test_a_bad_file_after_the_command_is_a_config_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[scoring]\nhot_threshold = 'warm'\n", "utf-8")
    result = invoke("score", "--config", str(bad))
    assert result.exit_code == 2
    assert "hot_threshold" in result.output


@pytest.mark.parametrize("where", ["before", "after"])
def test_plan_uses_the_store_of_the_config_in_either_position(tmp_path: Path, where: str) -> None:
    """A real process: ``plan`` opens the database that the named file points at."""
    database = tmp_path / "named.db"
    named = example_with(
        tmp_path / "named.toml",
        ('database_url = "sqlite:///crmbridge.db"', f'database_url = "sqlite:///{database}"'),
    )
    args = ("--config", str(named), "plan", "--json")
    if where == "after":
        args = ("plan", "--json", "--config", str(named))
    result = crmbridge(*args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    planned = json.loads(result.stdout)
    assert (planned["changes"], planned["queued"]) == ([], [])
    assert database.exists()
    assert not (tmp_path / "crmbridge.db").exists()


@pytest.mark.parametrize(
    "command",
    [
        ("score",),
        ("explain",),
        ("plan",),
        ("adopt",),
        ("run", "--once"),
        ("check",),
        ("ingest", "-"),
        ("db", "upgrade"),
        ("outbox", "list"),
        ("outbox", "retry"),
        ("config", "check"),
        ("demo",),
        ("writes", "status"),
        ("writes", "pause"),
        ("writes", "resume"),
        ("forget", "ana@example.com", "--yes"),
    ],
    ids=lambda c: " ".join(c),
)
def test_every_command_that_reads_a_config_accepts_config_after_it(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    missing = tmp_path / "missing.toml"
    result = invoke(*command, "--config", str(missing))
    assert result.exit_code == 2, result.output
    assert "missing.toml" in result.output
