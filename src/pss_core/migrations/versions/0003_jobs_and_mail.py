"""outgoing e-mail and the player's opt-in for "you're up next"

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('event_players', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email_when_next', sa.Boolean(), nullable=False,
                                      server_default=sa.text('false')))

    op.create_table('outgoing_mails',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('player_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=64), nullable=False),
    sa.Column('to_address', sa.String(length=254), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('text_body', sa.Text(), nullable=False),
    sa.Column('html_body', sa.Text(), nullable=False),
    sa.Column('status', sa.Enum('pending', 'sent', 'failed', name='mail_status', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint('attempts >= 0', name=op.f('ck_outgoing_mails_attempts_not_negative')),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_outgoing_mails_event_id_events'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['player_id'], ['event_players.id'], name=op.f('fk_outgoing_mails_player_id_event_players')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outgoing_mails'))
    )
    with op.batch_alter_table('outgoing_mails', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outgoing_mails_event_id'), ['event_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_outgoing_mails_player_id'), ['player_id'], unique=False)
        batch_op.create_index('ix_outgoing_mails_due', ['status', 'next_attempt_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('outgoing_mails', schema=None) as batch_op:
        batch_op.drop_index('ix_outgoing_mails_due')
        batch_op.drop_index(batch_op.f('ix_outgoing_mails_player_id'))
        batch_op.drop_index(batch_op.f('ix_outgoing_mails_event_id'))

    op.drop_table('outgoing_mails')
    with op.batch_alter_table('event_players', schema=None) as batch_op:
        batch_op.drop_column('email_when_next')
