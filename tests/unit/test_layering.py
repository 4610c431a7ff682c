"""The persistence layer and the clock stay where they belong.

Every SQL statement is written in ``crmbridge.store`` (its migrations included), and
the current time is read only in ``crmbridge.clock``. The shipped source under ``src/``
and ``connectors/`` is parsed with :mod:`ast` (not grepped, so comments and strings do not
count) and each breach is reported as ``file:line: what``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCES = (ROOT / "src", ROOT / "connectors")
STORE = ROOT / "src" / "crmbridge" / "store"
CLOCK = ROOT / "src" / "crmbridge" / "clock.py"

DATABASE_LIBRARIES = ("sqlalchemy", "sqlmodel")
#: Imports from the database library that run no statement, allowed anywhere.
HARMLESS_MODULES = {
    # The library's error types: catching a database failure (an HTTP 503) is not SQL.
    "sqlalchemy.exc",
}
HARMLESS_NAMES = {
    # Parsing and describing a database URL while validating the configuration, which
    # every layer reads; no connection is made.
    ("sqlalchemy.engine", "URL"),
    ("sqlalchemy.engine", "make_url"),
}
#: Methods that run a statement on a connection, session or DB-API cursor.
EXECUTING = frozenset({"execute", "executemany", "executescript", "exec"})

#: ``<name>.<method>()`` calls that read the current date or time.
CLOCK_READS = {
    ("datetime", "now"),
    ("datetime", "utcnow"),
    ("datetime", "today"),
    ("date", "today"),
    ("time", "time"),
    ("time", "time_ns"),
}


def _sources() -> Iterator[Path]:
    """The shipped code: a plugin's tests (``connectors/*/tests``) may read and set up
    the store and the clock as they need."""
    for folder in SOURCES:
        for path in sorted(folder.rglob("*.py")):
            inside = path.relative_to(folder).parts
            if "tests" not in inside and path.name != "conftest.py":
                yield path


def _relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _dotted(node: ast.expr) -> str | None:
    """``a.b.c`` for a chain of names, else None."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        owner = _dotted(node.value)
        return f"{owner}.{node.attr}" if owner else None
    return None


def sql_breaches(tree: ast.AST) -> list[tuple[int, str]]:
    """SQL written in this module: database-library imports, the store's tables,
    statements executed."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in DATABASE_LIBRARIES:
                    if alias.name not in HARMLESS_MODULES:
                        found.append((node.lineno, f"imports {alias.name}"))
                elif alias.name == "crmbridge.store.tables":
                    found.append((node.lineno, "imports the store's tables"))
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            module = node.module
            if module.split(".")[0] in DATABASE_LIBRARIES and module not in HARMLESS_MODULES:
                names = [a.name for a in node.names if (module, a.name) not in HARMLESS_NAMES]
                if names:
                    found.append((node.lineno, f"imports {', '.join(names)} from {module}"))
            elif module == "crmbridge.store.tables" or (
                module == "crmbridge.store" and any(a.name == "tables" for a in node.names)
            ):
                found.append((node.lineno, "imports the store's tables"))
        elif isinstance(node, ast.Attribute) and node.attr == "__table__":
            found.append((node.lineno, "uses a table (__table__)"))
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in EXECUTING
        ):
            found.append((node.lineno, f"executes a statement (.{node.func.attr})"))
    return found


def clock_breaches(tree: ast.AST) -> list[tuple[int, str]]:
    """Readings of the current time in this module."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "time":
            for alias in node.names:
                if alias.name in ("time", "time_ns"):
                    found.append((node.lineno, f"imports time.{alias.name}"))
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Name) and func.id == "utcnow":
            found.append((node.lineno, "calls utcnow()"))
        elif isinstance(func, ast.Attribute):
            owner = _dotted(func.value) or ""
            last = owner.rsplit(".", 1)[-1]
            if (last, func.attr) in CLOCK_READS or func.attr == "utcnow":
                found.append((node.lineno, f"calls {owner or '...'}.{func.attr}()"))
    return found


def _parsed(path: Path) -> ast.AST:
    return ast.parse(path.read_text("utf-8"), filename=str(path))


def test_sql_is_written_only_in_the_store() -> None:
    """Outside ``crmbridge.store`` code calls the store's functions, never SQL."""
    breaches = [
        f"{_relative(path)}:{line}: {what}"
        for path in _sources()
        if STORE not in path.parents
        for line, what in sql_breaches(_parsed(path))
    ]
    assert not breaches, "SQL outside crmbridge/store/:\n" + "\n".join(breaches)


def test_the_clock_is_read_only_in_clock_py() -> None:
    """``crmbridge.clock.now()`` is the one reading of the current time."""
    breaches = [
        f"{_relative(path)}:{line}: {what}"
        for path in _sources()
        if path != CLOCK
        for line, what in clock_breaches(_parsed(path))
    ]
    assert not breaches, "the clock read outside crmbridge/clock.py:\n" + "\n".join(breaches)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from sqlalchemy import select", "imports select from sqlalchemy"),
        ("from sqlmodel import Session", "imports Session from sqlmodel"),
        ("import sqlalchemy as sa", "imports sqlalchemy"),
        ("from sqlalchemy.engine import Engine", "imports Engine from sqlalchemy.engine"),
        ("from crmbridge.store.tables import ContactRow", "imports the store's tables"),
        ("t = ContactRow.__table__", "uses a table (__table__)"),
        ("connection.execute(query)", "executes a statement (.execute)"),
        ("session.exec(query)", "executes a statement (.exec)"),
    ],
)
def test_the_sql_check_sees_each_construct(source: str, expected: str) -> None:
    """The scan is not vacuous: each construct it forbids is reported."""
    assert [what for _, what in sql_breaches(ast.parse(source))] == [expected]


@pytest.mark.parametrize(
    "source",
    [
        "from sqlalchemy.exc import SQLAlchemyError",
        "from sqlalchemy.engine import URL, make_url",
        "from crmbridge.store.outbox import claim",
        "requests.Session()",
    ],
)
def test_the_sql_check_allows_what_runs_no_statement(source: str) -> None:
    """Error types, URL parsing and the store's own functions are fine anywhere."""
    assert sql_breaches(ast.parse(source)) == []


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("datetime.now(UTC)", "calls datetime.now()"),
        ("dt.datetime.utcnow()", "calls dt.datetime.utcnow()"),
        ("date.today()", "calls date.today()"),
        ("time.time()", "calls time.time()"),
        ("utcnow()", "calls utcnow()"),
        ("tables.utcnow()", "calls tables.utcnow()"),
        ("from time import time", "imports time.time"),
    ],
)
def test_the_clock_check_sees_each_reading(source: str, expected: str) -> None:
    """Each way of reading the time is reported; durations (``time.monotonic``) are not."""
    assert [what for _, what in clock_breaches(ast.parse(source))] == [expected]
    assert clock_breaches(ast.parse("time.monotonic(); clock.now()")) == []
