"""Database engines and schema upgrades, identical for SQLite and Postgres."""

from __future__ import annotations

from importlib import resources
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import DBAPIError
from sqlmodel import create_engine

from crmbridge.database_url import describe, sqlite_path
from crmbridge.errors import ConfigError, ConfigProblem
from crmbridge.store.jsontext import json_text

SQLITE_BUSY_TIMEOUT_MS = 10_000
#: How long opening a PostgreSQL store waits for the server (unless the URL says).
POSTGRES_CONNECT_TIMEOUT_S = 10
#: SQLite page cache per connection. Small by default: the daemon holds several pooled
#: connections for as long as it runs, each filling its cache up to this size, while
#: the operating system caches the file anyway.
SQLITE_CACHE_MIB = 4
#: For bulk ingestion (one process, one connection): the events indexes stay in memory.
SQLITE_BULK_CACHE_MIB = 64


def is_sqlite(url: str) -> bool:
    """True for ``sqlite://`` URLs."""
    return url.startswith("sqlite")


def make_engine(url: str, *, sqlite_cache_mib: int = SQLITE_CACHE_MIB, **kwargs: Any) -> Engine:
    """An engine for ``url``; SQLite gets WAL, a busy timeout and enforced foreign keys.

    The engine connects once before it is returned: a store that cannot be opened (a
    missing folder, a refused or unknown host, a wrong password) is a :class:`ConfigError`
    naming where it is and why, never a driver traceback; the password is never shown.
    Error texts never carry bound values (``hide_parameters``).
    """
    where = make_url(url)
    # Errors never quote bound values (emails, scores): their text reaches logs.
    kwargs.setdefault("hide_parameters", True)
    # The same text as SQLAlchemy's default (json.dumps), built faster for outbox values.
    kwargs.setdefault("json_serializer", json_text)
    if is_sqlite(url):
        path = sqlite_path(where)
        if path is not None and not path.parent.is_dir():
            raise _cannot_open(
                where, f"the folder {path.parent} does not exist", "create it, or change the path"
            )
        engine = create_engine(
            url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}, **kwargs
        )

        def pragmas(dbapi_connection: Any, _record: Any) -> None:
            _sqlite_pragmas(dbapi_connection, sqlite_cache_mib)

        event.listen(engine, "connect", pragmas)
    else:
        # An unanswering host must not hang a start for the TCP timeout (minutes).
        if "connect_timeout" not in where.query:
            kwargs.setdefault("connect_args", {"connect_timeout": POSTGRES_CONNECT_TIMEOUT_S})
        engine = create_engine(url, pool_pre_ping=True, **kwargs)
    try:
        with engine.connect():
            pass
    except DBAPIError as exc:
        engine.dispose()
        hint = (
            "check the path and its permissions"
            if is_sqlite(url)
            else "check the host, the port, that the server is running and the credentials"
        )
        raise _cannot_open(where, _cause(exc, where), hint) from None
    return engine


def _cannot_open(where: URL, cause: str, hint: str) -> ConfigError:
    return ConfigError(
        [
            ConfigProblem(
                "bridge.database_url", f"cannot open the store ({describe(where)}): {cause}", hint
            )
        ]
    )


def _cause(exc: DBAPIError, where: URL) -> str:
    """The driver's own words, first line only, with the password scrubbed if echoed."""
    lines = str(exc.orig).strip().splitlines() or [type(exc.orig).__name__]
    cause = lines[0]
    if where.password:
        cause = cause.replace(str(where.password), "***")
    return cause


def _sqlite_pragmas(dbapi_connection: Any, cache_mib: int) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the HTTP server read while the pipeline writes; NORMAL is durable in WAL.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA cache_size=-{int(cache_mib) * 1024}")
    cursor.close()


def alembic_config(engine: Engine) -> Config:
    """An alembic config pointing at the packaged migrations and at ``engine``."""
    config = Config()
    location = resources.files("crmbridge.store").joinpath("migrations")
    config.set_main_option("script_location", str(location))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` (idempotent; safe to run on every start)."""
    command.upgrade(alembic_config(engine), revision)


def current_revision(engine: Engine) -> str | None:
    """The schema revision the database is at, or None if it was never migrated."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()
