"""web push: players' push subscriptions and the instance's VAPID keys

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01
"""

from alembic import op
import sqlalchemy as sa

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'push_subscriptions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('event_id', sa.Integer(), nullable=False),
        sa.Column('player_id', sa.Integer(), nullable=False),
        sa.Column('endpoint', sa.String(length=1000), nullable=False),
        sa.Column('p256dh', sa.String(length=200), nullable=False),
        sa.Column('auth', sa.String(length=100), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_sent_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('failures', sa.Integer(), nullable=False),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['event_id'], ['events.id'],
                                name=op.f('fk_push_subscriptions_event_id_events'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['player_id'], ['event_players.id'],
                                name=op.f('fk_push_subscriptions_player_id_event_players'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_push_subscriptions')),
        sa.UniqueConstraint('endpoint', name=op.f('uq_push_subscriptions_endpoint')),
    )
    op.create_index(op.f('ix_push_subscriptions_event_id'), 'push_subscriptions', ['event_id'],
                    unique=False)
    op.create_index(op.f('ix_push_subscriptions_player_id'), 'push_subscriptions',
                    ['player_id'], unique=False)
    op.create_table(
        'push_keys',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=20), nullable=False),
        sa.Column('private_pem', sa.Text(), nullable=False),
        sa.Column('public_key', sa.String(length=200), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_push_keys')),
        sa.UniqueConstraint('name', name=op.f('uq_push_keys_name')),
    )


def downgrade() -> None:
    op.drop_table('push_keys')
    op.drop_index(op.f('ix_push_subscriptions_player_id'), table_name='push_subscriptions')
    op.drop_index(op.f('ix_push_subscriptions_event_id'), table_name='push_subscriptions')
    op.drop_table('push_subscriptions')
