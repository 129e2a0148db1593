"""the tournament lifecycle: jobs, results snapshots, cancelled drafts

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01

A cancelled tournament is now a draft with ``cancelled_at`` set; rows that said ``cancelled``
become such drafts.
"""

from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('lifecycle_jobs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('tournament_id', sa.Integer(), nullable=True),
    sa.Column('metatournament_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.Enum('refund', 'freeze', 'revoke', name='lifecycle_job_kind', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('old_status', sa.Enum('draft', 'active', 'finalized', 'cancelled', name='lifecycle_old_status', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('new_status', sa.Enum('draft', 'active', 'finalized', 'cancelled', name='lifecycle_new_status', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('state', sa.Enum('queued', 'running', 'retrying', 'failed', 'done', 'superseded', name='lifecycle_job_state', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('result', sa.JSON(), nullable=False),
    sa.Column('requested_by', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint('(tournament_id IS NULL) != (metatournament_id IS NULL)', name=op.f('ck_lifecycle_jobs_one_scope')),
    sa.CheckConstraint('attempts >= 0', name=op.f('ck_lifecycle_jobs_attempts_not_negative')),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_lifecycle_jobs_event_id_events'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['metatournament_id'], ['metatournaments.id'], name=op.f('fk_lifecycle_jobs_metatournament_id_metatournaments')),
    sa.ForeignKeyConstraint(['tournament_id'], ['tournaments.id'], name=op.f('fk_lifecycle_jobs_tournament_id_tournaments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lifecycle_jobs'))
    )
    with op.batch_alter_table('lifecycle_jobs', schema=None) as batch_op:
        batch_op.create_index('ix_lifecycle_jobs_due', ['state', 'next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_lifecycle_jobs_event_id'), ['event_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_lifecycle_jobs_metatournament_id'), ['metatournament_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_lifecycle_jobs_tournament_id'), ['tournament_id'], unique=False)

    op.create_table('results_snapshots',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('tournament_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('tournament_version', sa.Integer(), nullable=False),
    sa.Column('standings', sa.JSON(), nullable=False),
    sa.Column('job_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_by_job_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('number >= 1', name=op.f('ck_results_snapshots_number_positive')),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_results_snapshots_event_id_events'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['job_id'], ['lifecycle_jobs.id'], name=op.f('fk_results_snapshots_job_id_lifecycle_jobs')),
    sa.ForeignKeyConstraint(['revoked_by_job_id'], ['lifecycle_jobs.id'], name=op.f('fk_results_snapshots_revoked_by_job_id_lifecycle_jobs')),
    sa.ForeignKeyConstraint(['tournament_id'], ['tournaments.id'], name=op.f('fk_results_snapshots_tournament_id_tournaments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_results_snapshots')),
    sa.UniqueConstraint('tournament_id', 'number', name=op.f('uq_results_snapshots_tournament_id_number'))
    )
    with op.batch_alter_table('results_snapshots', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_results_snapshots_event_id'), ['event_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_results_snapshots_tournament_id'), ['tournament_id'], unique=False)
        batch_op.create_index('uq_results_snapshots_current', ['tournament_id'], unique=True, postgresql_where=sa.text('revoked_at IS NULL'), sqlite_where=sa.text('revoked_at IS NULL'))

    with op.batch_alter_table('metatournaments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status', sa.Enum('draft', 'active', 'finalized', 'cancelled', name='metatournament_status', native_enum=False, create_constraint=True, length=24), server_default='active', nullable=False))
        batch_op.add_column(sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table('tournaments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE tournaments SET status = 'draft', cancelled_at = created_at "
               "WHERE status = 'cancelled'")



def downgrade() -> None:
    with op.batch_alter_table('tournaments', schema=None) as batch_op:
        batch_op.drop_column('cancelled_at')

    with op.batch_alter_table('metatournaments', schema=None) as batch_op:
        batch_op.drop_column('cancelled_at')
        batch_op.drop_constraint(op.f('ck_metatournaments_metatournament_status'), type_='check')
        batch_op.drop_column('status')

    with op.batch_alter_table('results_snapshots', schema=None) as batch_op:
        batch_op.drop_index('uq_results_snapshots_current', postgresql_where=sa.text('revoked_at IS NULL'), sqlite_where=sa.text('revoked_at IS NULL'))
        batch_op.drop_index(batch_op.f('ix_results_snapshots_tournament_id'))
        batch_op.drop_index(batch_op.f('ix_results_snapshots_event_id'))

    op.drop_table('results_snapshots')
    with op.batch_alter_table('lifecycle_jobs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lifecycle_jobs_tournament_id'))
        batch_op.drop_index(batch_op.f('ix_lifecycle_jobs_metatournament_id'))
        batch_op.drop_index(batch_op.f('ix_lifecycle_jobs_event_id'))
        batch_op.drop_index('ix_lifecycle_jobs_due')

    op.drop_table('lifecycle_jobs')
