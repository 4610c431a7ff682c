"""Where a SQLite store lives: never relative to the current working directory."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError


def resolve_sqlite_path(url: str, base: Path) -> str:
    """``url`` with a relative SQLite file path made absolute against ``base``.

    The store must not depend on the directory a command happens to run in: a second
    working directory would otherwise open a second, empty store for the same CRM.
    ``~`` is expanded. Absolute paths, in-memory databases, ``file:`` URIs, other
    databases and text that is not a URL at all (the settings' validation reports it)
    are left as they are.
    """
    if not url.startswith("sqlite"):
        return url
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        return url
    database = parsed.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return url
    if Path(database).is_absolute():
        return url
    path = Path(database).expanduser()
    if not path.is_absolute():
        path = base / path
    return parsed.set(database=str(path)).render_as_string(hide_password=False)
