"""the TV's settings per event

Revision ID: 0012
Revises: 0004
Create Date: 2026-12-01
"""

from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('tv_seconds', sa.Integer(), nullable=False,
                                      server_default='12'))
        batch_op.add_column(sa.Column('tv_rows', sa.Integer(), nullable=False,
                                      server_default='12'))
        batch_op.add_column(sa.Column('tv_machines', sa.Boolean(), nullable=False,
                                      server_default=sa.true()))


def downgrade() -> None:
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_column('tv_machines')
        batch_op.drop_column('tv_rows')
        batch_op.drop_column('tv_seconds')
