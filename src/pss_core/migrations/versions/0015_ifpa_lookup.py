"""IFPA look-ups: the event's IFPA API key, each registration's look-up state

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02
"""

from alembic import op
import sqlalchemy as sa

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ifpa_api_key', sa.String(length=255), nullable=True))
    with op.batch_alter_table('event_players', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ifpa_lookup', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('ifpa_lookup_note', sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column('ifpa_lookup_attempts', sa.Integer(), nullable=False,
                                      server_default=sa.text('0')))
        batch_op.add_column(sa.Column('ifpa_lookup_due_at', sa.DateTime(timezone=True),
                                      nullable=True))


def downgrade() -> None:
    # Plain columns: SQLite (3.35 and newer) drops them in place, so the tables that other rows
    # reference are not copied and dropped (which their foreign keys refuse once rows exist).
    with op.batch_alter_table('event_players', schema=None, recreate='never') as batch_op:
        batch_op.drop_column('ifpa_lookup_due_at')
        batch_op.drop_column('ifpa_lookup_attempts')
        batch_op.drop_column('ifpa_lookup_note')
        batch_op.drop_column('ifpa_lookup')
    with op.batch_alter_table('events', schema=None, recreate='never') as batch_op:
        batch_op.drop_column('ifpa_api_key')
