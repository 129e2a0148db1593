"""Alembic environment: runs pss migrations on the engine pss hands over, or on a URL."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

from pss_core.db import make_engine
from pss_core.jobs.schema import is_procrastinate
from pss_core.models import Base

config = context.config
target_metadata = Base.metadata


def include_name(name, type_, parent_names):  # type: ignore[no-untyped-def]
    # procrastinate's tables are its own schema (pss_core.jobs.schema), not pss models.
    return not (type_ == "table" and is_procrastinate(name))


def run_migrations_online() -> None:
    engine: Engine | None = config.attributes.get("connection_engine")
    if engine is None:
        engine = make_engine(config.get_main_option("sqlalchemy.url"))
    with engine.begin() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
            include_name=include_name,
        )
        context.run_migrations()


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
