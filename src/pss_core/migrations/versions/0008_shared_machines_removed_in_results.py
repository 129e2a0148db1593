"""shared physical machines, removed machines in results

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('tournaments', schema=None) as batch_op:
        # Existing tournaments keep their removed machines' scores, as the seed describes.
        batch_op.add_column(sa.Column('count_removed_machines', sa.Boolean(), nullable=False,
                                      server_default=sa.true()))
    op.create_index('uq_tournament_machines_one_game', 'tournament_machines',
                    ['event_id', 'machine_id'], unique=True,
                    postgresql_where=sa.text('token_id IS NOT NULL'),
                    sqlite_where=sa.text('token_id IS NOT NULL'))


def downgrade() -> None:
    op.drop_index('uq_tournament_machines_one_game', table_name='tournament_machines')
    with op.batch_alter_table('tournaments', schema=None) as batch_op:
        batch_op.drop_column('count_removed_machines')
