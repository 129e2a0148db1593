"""finals: finals from a qualifying tournament, their players, groups and games

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""

from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('finals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('tournament_id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('format', sa.String(length=64), nullable=False),
    sa.Column('format_options', sa.JSON(), nullable=False),
    sa.Column('cut', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('cut >= 2', name=op.f('ck_finals_cut_at_least_two')),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_finals_event_id_events'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tournament_id'], ['tournaments.id'],
                            name=op.f('fk_finals_tournament_id_tournaments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_finals')),
    sa.UniqueConstraint('event_id', 'slug', name=op.f('uq_finals_event_id_slug'))
    )
    with op.batch_alter_table('finals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_finals_event_id'), ['event_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_finals_tournament_id'), ['tournament_id'],
                              unique=False)

    op.create_table('finals_players',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('finals_id', sa.Integer(), nullable=False),
    sa.Column('event_player_id', sa.Integer(), nullable=False),
    sa.Column('seed', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['event_player_id'], ['event_players.id'],
                            name=op.f('fk_finals_players_event_player_id_event_players')),
    sa.ForeignKeyConstraint(['finals_id'], ['finals.id'],
                            name=op.f('fk_finals_players_finals_id_finals'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_finals_players')),
    sa.UniqueConstraint('finals_id', 'event_player_id',
                        name=op.f('uq_finals_players_finals_id_event_player_id')),
    sa.UniqueConstraint('finals_id', 'seed', name=op.f('uq_finals_players_finals_id_seed'))
    )
    with op.batch_alter_table('finals_players', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_finals_players_finals_id'), ['finals_id'],
                              unique=False)

    op.create_table('finals_groups',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('finals_id', sa.Integer(), nullable=False),
    sa.Column('round_number', sa.Integer(), nullable=False),
    sa.Column('label', sa.String(length=16), nullable=False),
    sa.Column('seeds', sa.JSON(), nullable=False),
    sa.Column('advance', sa.Integer(), nullable=False),
    sa.Column('games', sa.Integer(), nullable=False),
    sa.Column('tournament_machine_id', sa.Integer(), nullable=True),
    sa.Column('result', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['finals_id'], ['finals.id'],
                            name=op.f('fk_finals_groups_finals_id_finals'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tournament_machine_id'], ['tournament_machines.id'],
                            name=op.f('fk_finals_groups_tournament_machine_id_tournament_machines')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_finals_groups')),
    sa.UniqueConstraint('finals_id', 'label', name=op.f('uq_finals_groups_finals_id_label'))
    )
    with op.batch_alter_table('finals_groups', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_finals_groups_finals_id'), ['finals_id'],
                              unique=False)

    op.create_table('finals_games',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('finals_id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=True),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('tiebreaker', sa.Boolean(), nullable=False),
    sa.Column('tournament_machine_id', sa.Integer(), nullable=True),
    sa.Column('places', sa.JSON(), nullable=False),
    sa.Column('scores', sa.JSON(), nullable=True),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['finals_id'], ['finals.id'],
                            name=op.f('fk_finals_games_finals_id_finals'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['group_id'], ['finals_groups.id'],
                            name=op.f('fk_finals_games_group_id_finals_groups'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['event_users.id'],
                            name=op.f('fk_finals_games_recorded_by_id_event_users')),
    sa.ForeignKeyConstraint(['tournament_machine_id'], ['tournament_machines.id'],
                            name=op.f('fk_finals_games_tournament_machine_id_tournament_machines')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_finals_games'))
    )
    with op.batch_alter_table('finals_games', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_finals_games_finals_id'), ['finals_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_finals_games_group_id'), ['group_id'], unique=False)


def downgrade() -> None:
    op.drop_table('finals_games')
    op.drop_table('finals_groups')
    op.drop_table('finals_players')
    op.drop_table('finals')
