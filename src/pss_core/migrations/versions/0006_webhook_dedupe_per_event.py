"""Stripe webhook events are deduplicated per pss event

Two pss events on one Stripe account receive the same ``evt_`` id; keyed on that id alone, the
second event's copy was dropped as a duplicate. The key becomes (event_id, stripe_event_id).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28
"""

from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def _rekey(old_column: str, new_column: str, key: list[str]) -> None:
    """Rename the Stripe event id column and make ``key`` the primary key. PostgreSQL alters the
    table in place; SQLite cannot change a primary key, so the table is built anew under the
    same constraint names and the rows copied over."""
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint('pk_stripe_webhook_events', 'stripe_webhook_events', type_='primary')
        op.alter_column('stripe_webhook_events', old_column, new_column_name=new_column,
                        existing_type=sa.String(length=255), existing_nullable=False)
        op.create_primary_key('pk_stripe_webhook_events', 'stripe_webhook_events', key)
        return
    op.create_table('stripe_webhook_events_rekeyed',
    sa.Column(new_column, sa.String(length=255), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('type', sa.String(length=100), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name='fk_stripe_webhook_events_event_id_events', ondelete='CASCADE'),
    sa.PrimaryKeyConstraint(*key, name='pk_stripe_webhook_events')
    )
    op.execute(f"INSERT INTO stripe_webhook_events_rekeyed ({new_column}, event_id, type, "
               f"received_at) SELECT {old_column}, event_id, type, received_at "
               "FROM stripe_webhook_events")
    op.drop_table('stripe_webhook_events')
    op.rename_table('stripe_webhook_events_rekeyed', 'stripe_webhook_events')


def upgrade() -> None:
    _rekey('id', 'stripe_event_id', ['event_id', 'stripe_event_id'])


def downgrade() -> None:
    # One row per Stripe event id again: keep the first pss event's.
    op.execute(
        "DELETE FROM stripe_webhook_events WHERE EXISTS (SELECT 1 FROM stripe_webhook_events "
        "AS earlier WHERE earlier.stripe_event_id = stripe_webhook_events.stripe_event_id "
        "AND earlier.event_id < stripe_webhook_events.event_id)")
    _rekey('stripe_event_id', 'id', ['id'])
