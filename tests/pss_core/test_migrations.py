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
            conn, opts={"compare_type": True, "include_name": _pss_only}
        )
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


def test_primary_keys_match_models(engine):
    """compare_metadata does not look at primary keys: a migration that rebuilds a table must
    be checked to have kept (or changed) its key as the models say."""
    from sqlalchemy import inspect

    inspector = inspect(engine)
    wrong = []
    for table in Base.metadata.sorted_tables:
        declared = [c.name for c in table.primary_key.columns]
        found = inspector.get_pk_constraint(table.name)["constrained_columns"]
        if sorted(found) != sorted(declared):
            wrong.append((table.name, found, declared))
    assert wrong == []


def test_webhook_events_keep_their_rows_when_keyed_per_event(tmp_path):
    """0003 keys handled Stripe events on (pss event, Stripe event id); rows already there are
    kept, and going back keeps one row per Stripe event id."""
    from alembic import command
    from sqlalchemy import text

    engine = db.make_engine(f"sqlite:///{tmp_path / 'x.sqlite'}")
    config = db.alembic_config(engine)
    from alembic.script import ScriptDirectory

    before = ScriptDirectory.from_config(config).get_revision("0006").down_revision
    command.upgrade(config, before)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO users (id, username, full_name, is_event_owner, "
                "created_at) VALUES (1, 'o', 'O', 1, '2026-01-01 00:00:00')"
            )
        )
        for eid in (1, 2):
            conn.execute(
                text(
                    "INSERT INTO events (id, slug, name, owner_id, currency, "
                    "hold_minutes, active, created_at) VALUES (:id, :slug, 'E', 1, "
                    "'usd', 15, 1, '2026-01-01 00:00:00')"
                ),
                {"id": eid, "slug": f"e{eid}"},
            )
        conn.execute(
            text(
                "INSERT INTO stripe_webhook_events (id, event_id, type, received_at) "
                "VALUES ('evt_1', 1, 'charge.refunded', '2026-01-01 00:00:00')"
            )
        )
    command.upgrade(config, "0006")
    with engine.begin() as conn:
        assert conn.execute(
            text("SELECT event_id, stripe_event_id FROM stripe_webhook_events")
        ).all() == [(1, "evt_1")]
        conn.execute(
            text(
                "INSERT INTO stripe_webhook_events (stripe_event_id, event_id, type, "
                "received_at) VALUES ('evt_1', 2, 'charge.refunded', "
                "'2026-01-01 00:00:00')"
            )
        )
    command.downgrade(config, before)
    with engine.begin() as conn:
        assert conn.execute(text("SELECT event_id, id FROM stripe_webhook_events")).all() == [
            (1, "evt_1")
        ]
    engine.dispose()


def test_best_scores_are_filled_from_the_scores_already_stored(tmp_path, make_pss):
    """0014 creates ``best_scores`` and works its rows out from the stored scores: the same rows
    the services keep (each complete entry's games, each player's best and lowest per machine;
    open and voided entries never)."""
    from alembic import command
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from pss_core.models import BestScore, EntryStatus
    from pss_testing.board import new_board

    engine = db.make_engine(f"sqlite:///{tmp_path / 'x.sqlite'}")
    db.upgrade(engine)
    columns = (
        BestScore.tournament_machine_id,
        BestScore.player_id,
        BestScore.entry_id,
        BestScore.high,
        BestScore.low,
    )

    def rows(session):
        found = session.execute(select(*columns)).all()
        return sorted((tuple(r) for r in found), key=lambda r: [v or 0 for v in r])

    with Session(engine) as session:
        board = new_board(session, make_pss())
        herb = board.tournament("herb", ["A", "B"])
        papa = board.tournament("papa", ["A", "B"], options={"games_per_entry": 2})
        board.game(herb, "P1", "A", 50)
        board.game(herb, "P1", "A", 70)
        board.game(herb, "P2", "B", 30)
        board.game(herb, "P2", "B", 90, status=EntryStatus.VOIDED)
        board.game(herb, "P3", "A", 10, status=EntryStatus.OPEN)
        board.entry(papa, "P1", [("A", 5), ("B", 6)])
        board.entry(papa, "P2", [("A", 7)], status=EntryStatus.OPEN)
        session.commit()
        kept = rows(session)
    assert len(kept) == 9  # 3 complete HERB games + 2 bests, 2 PAPA games + 2 bests
    command.downgrade(db.alembic_config(engine), "0013")
    command.upgrade(db.alembic_config(engine), "0014")
    with Session(engine) as session:
        assert rows(session) == kept
    engine.dispose()
