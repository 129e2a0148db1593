"""best scores: what the standings read instead of every score

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01
"""

from alembic import op
import sqlalchemy as sa

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

# The rows pss_core.services.best_scores keeps, worked out from the scores already stored: each
# game of a complete entry, and each owner's best and lowest score per machine.
_FILL = """
INSERT INTO best_scores (event_id, tournament_id, tournament_machine_id, player_id, team_id,
                         entry_id, high, low)
SELECT e.event_id, e.tournament_id, s.tournament_machine_id, e.player_id, e.team_id, {entry}
FROM scores s JOIN entries e ON e.id = s.entry_id
WHERE e.status = 'complete'
{group}
"""


def upgrade() -> None:
    op.create_table(
        'best_scores',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('event_id', sa.Integer(), nullable=False),
        sa.Column('tournament_id', sa.Integer(), nullable=False),
        sa.Column('tournament_machine_id', sa.Integer(), nullable=False),
        sa.Column('player_id', sa.Integer(), nullable=True),
        sa.Column('team_id', sa.Integer(), nullable=True),
        sa.Column('entry_id', sa.Integer(), nullable=True),
        sa.Column('high', sa.BigInteger(), nullable=False),
        sa.Column('low', sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(['entry_id'], ['entries.id'],
                                name=op.f('fk_best_scores_entry_id_entries')),
        sa.ForeignKeyConstraint(['event_id'], ['events.id'],
                                name=op.f('fk_best_scores_event_id_events'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['player_id'], ['event_players.id'],
                                name=op.f('fk_best_scores_player_id_event_players')),
        sa.ForeignKeyConstraint(['team_id'], ['teams.id'],
                                name=op.f('fk_best_scores_team_id_teams')),
        sa.ForeignKeyConstraint(['tournament_id'], ['tournaments.id'],
                                name=op.f('fk_best_scores_tournament_id_tournaments')),
        sa.ForeignKeyConstraint(['tournament_machine_id'], ['tournament_machines.id'],
                                name=op.f('fk_best_scores_tournament_machine_id_tournament_machines')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_best_scores')),
    )
    with op.batch_alter_table('best_scores', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_best_scores_entry_id'), ['entry_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_best_scores_event_id'), ['event_id'], unique=False)
        batch_op.create_index('ix_best_scores_tournament',
                              ['tournament_id', 'tournament_machine_id'], unique=False)
        batch_op.create_index('ix_best_scores_player', ['tournament_id', 'player_id'],
                              unique=False)
        batch_op.create_index('ix_best_scores_team', ['tournament_id', 'team_id'], unique=False)
    op.execute(_FILL.format(entry="e.id, s.score, s.score", group=""))
    op.execute(_FILL.format(
        entry="NULL, MAX(s.score), MIN(s.score)",
        group="GROUP BY e.event_id, e.tournament_id, s.tournament_machine_id, e.player_id, "
              "e.team_id",
    ))


def downgrade() -> None:
    op.drop_table('best_scores')
