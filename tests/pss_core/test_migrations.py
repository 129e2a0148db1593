"""Migrations to head give exactly the schema the models declare."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from pss_core import db
from pss_core.jobs.schema import is_procrastinate
from pss_core.models import Base


def _pss_only(name, type_, parent_names):
    # procrastinate's own tables (the job queue on PostgreSQL) are not pss models.
    return not (type_ == "table" and is_procrastinate(name))


def test_head_matches_models(engine):
    with engine.connect() as conn:
        ctx = MigrationContext.configure(
            conn, opts={"compare_type": True, "include_name": _pss_only})
        assert compare_metadata(ctx, Base.metadata) == []


def test_database_is_at_head(engine):
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(db.alembic_config(engine)).get_current_head()
    assert db.current_revision(engine) == head


def test_upgrade_and_downgrade_on_empty_sqlite(tmp_path):
    engine = db.make_engine(f"sqlite:///{tmp_path / 'x.sqlite'}")
    db.upgrade(engine)
    from alembic import command
    from sqlalchemy import inspect

    assert "tokens" in inspect(engine).get_table_names()
    command.downgrade(db.alembic_config(engine), "base")
    assert "tokens" not in inspect(engine).get_table_names()
    engine.dispose()
