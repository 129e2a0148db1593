"""staff removal marker, login devices, unique admin throttle keys

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('event_users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('removed_at', sa.DateTime(timezone=True), nullable=True))

    # Admin throttle rows (event_id NULL) could be duplicated; keep the oldest of each key.
    op.execute(
        "DELETE FROM login_throttles WHERE event_id IS NULL AND id NOT IN "
        "(SELECT min_id FROM (SELECT min(id) AS min_id FROM login_throttles "
        "WHERE event_id IS NULL GROUP BY key) AS keep)"
    )
    with op.batch_alter_table('login_throttles', schema=None) as batch_op:
        batch_op.add_column(sa.Column('exempt_until', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index('uq_login_throttles_admin_key', ['key'], unique=True,
                              postgresql_where=sa.text('event_id IS NULL'),
                              sqlite_where=sa.text('event_id IS NULL'))

    op.create_table('login_devices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=True),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('token_hash', sa.String(length=128), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_login_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('window_started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_login_devices_event_id_events'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_login_devices')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_login_devices_token_hash'))
    )
    with op.batch_alter_table('login_devices', schema=None) as batch_op:
        batch_op.create_index('ix_login_devices_subject', ['event_id', 'subject'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('login_devices', schema=None) as batch_op:
        batch_op.drop_index('ix_login_devices_subject')
    op.drop_table('login_devices')
    with op.batch_alter_table('login_throttles', schema=None) as batch_op:
        batch_op.drop_index('uq_login_throttles_admin_key')
        batch_op.drop_column('exempt_until')
    # Removed staff had been deleted before this revision; their history rows still point at
    # them, so they stay (without the marker they count as staff again: no roles, though).
    with op.batch_alter_table('event_users', schema=None) as batch_op:
        batch_op.drop_column('removed_at')
