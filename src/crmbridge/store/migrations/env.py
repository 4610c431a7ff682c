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
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()


_run()
