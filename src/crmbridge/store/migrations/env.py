"""Alembic environment: runs migrations on the engine crmbridge hands over."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

import crmbridge.store.tables  # noqa: F401 - registers the tables on the metadata

target_metadata = SQLModel.metadata


def _run() -> None:
    engine: Engine | None = context.config.attributes.get("engine")
    if engine is None:
        url = context.config.get_main_option("sqlalchemy.url")
        if not url:
            raise RuntimeError("crmbridge migrations need an engine or sqlalchemy.url")
        from crmbridge.store.db import make_engine

        engine = make_engine(url)
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # The sqlite3 driver runs DDL outside any transaction: without an explicit
            # BEGIN, a crash half-way through a migration leaves its first tables behind
            # without the revision stamp, and every later start fails on them.
            connection.exec_driver_sql("BEGIN")
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=sqlite,
        )
        with context.begin_transaction():
            context.run_migrations()
        if sqlite:
            connection.commit()


_run()
