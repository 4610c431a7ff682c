"""Which ``bridge.database_url`` crmbridge can use, and how to name one without its password.

crmbridge stores its state in SQLite or PostgreSQL (through psycopg 3). Anything else is
refused when the config is loaded, with the form to write, rather than as an import error
or a driver traceback when the store is opened.
"""

from __future__ import annotations

from pathlib import Path

from pydantic_core import PydanticCustomError
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

#: ``drivername`` values that work with the installed drivers.
SQLITE_DRIVERS = ("sqlite", "sqlite+pysqlite")
POSTGRES_DRIVERS = ("postgresql", "postgresql+psycopg")
_FORMS = "sqlite:///path/to/crmbridge.db or postgresql+psycopg://user@host:5432/dbname"


def check_database_url(text: str) -> str:
    """``text`` if crmbridge can open it (``postgresql://`` gains ``+psycopg``); else an error.

    An absolute SQLite path whose folder does not exist is refused too (a relative one
    is checked when the store is opened, against the folder it is resolved in).
    """
    url = _parse(text)
    if url.drivername in SQLITE_DRIVERS:
        path = sqlite_path(url)
        if path is not None and path.is_absolute() and not path.parent.is_dir():
            raise PydanticCustomError(
                "bad_database_url",
                "the folder of the SQLite file does not exist: {folder}",
                {"folder": str(path.parent), "hint": "create it, or point to an existing one"},
            )
        return text
    if url.drivername in POSTGRES_DRIVERS:
        if url.drivername == "postgresql":
            # SQLAlchemy's default PostgreSQL driver is psycopg2, which crmbridge lacks.
            return "postgresql+psycopg" + text[len("postgresql") :]
        return text
    raise PydanticCustomError(
        "bad_database_url",
        'unsupported database "{scheme}"',
        {"scheme": url.drivername, "hint": f"crmbridge stores in SQLite or PostgreSQL: {_FORMS}"},
    )


def _parse(text: str) -> URL:
    if not text.strip():
        raise PydanticCustomError("bad_database_url", "must not be empty", {"hint": _FORMS})
    try:
        return make_url(text)
    except (ArgumentError, ValueError):
        # The text is not echoed: it may hold a password.
        raise PydanticCustomError(
            "bad_database_url", "is not a database URL", {"hint": f"write {_FORMS}"}
        ) from None


def sqlite_path(url: URL) -> Path | None:
    """The file of a SQLite URL, or None for an in-memory database."""
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def describe(url: URL) -> str:
    """Where a store is, for a message: the file, or host:port/db without the password."""
    if url.drivername in SQLITE_DRIVERS:
        path = sqlite_path(url)
        return f"SQLite file {path}" if path is not None else "in-memory SQLite"
    host = url.host or "the local socket"
    port = f":{url.port}" if url.port else ""
    return f"PostgreSQL at {host}{port}/{url.database or ''}"
