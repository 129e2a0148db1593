"""procrastinate's tables and functions, created by ``pss initdb`` after the pss migrations.

They are procrastinate's own schema (not pss models), so alembic leaves them alone: the
migration environment skips every name that starts with :data:`PREFIX`."""

from __future__ import annotations

from sqlalchemy import Engine, text

from pss_core.jobs.registry import app

PREFIX = "procrastinate_"


def is_procrastinate(name: str | None) -> bool:
    return bool(name) and str(name).startswith(PREFIX)


def ensure_schema(engine: Engine) -> bool:
    """Apply procrastinate's schema on PostgreSQL if it is not there yet; True if applied.
    Nothing on SQLite, where jobs run in-process."""
    if engine.dialect.name != "postgresql":
        return False
    with engine.begin() as conn:
        # Two `pss initdb` at once must not both create it.
        conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('pss.procrastinate_schema'))"))
        if conn.execute(text("SELECT to_regclass('procrastinate_jobs')")).scalar() is not None:
            return False
        # The raw cursor, without parameters, so the schema's % signs reach the server as is.
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        cursor.execute(app.schema_manager.get_schema())
        cursor.close()
    return True
