"""the payment provider an event's online purchases go through; what a notification is about
and when it was delivered

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01
"""

from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('payment_provider', sa.String(length=64), nullable=False,
                                      server_default=sa.text("'stripe'")))
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('details', sa.JSON(), nullable=False,
                                      server_default=sa.text("'{}'")))
        batch_op.add_column(sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_column('delivered_at')
        batch_op.drop_column('details')
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_column('payment_provider')
