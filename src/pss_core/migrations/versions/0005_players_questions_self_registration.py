"""registration questions and answers, self-registration settings, players' e-mail index

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('self_registration', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.add_column(sa.Column('self_registration_closes_at',
                                      sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('self_registration_choose_number', sa.Boolean(),
                                      nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('self_registration_email_required', sa.Boolean(),
                                      nullable=False, server_default=sa.false()))

    # E-mail addresses are compared lower-cased from now on.
    op.execute("UPDATE players SET email = lower(email) WHERE email IS NOT NULL")
    with op.batch_alter_table('players', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_players_email'), ['email'], unique=False)

    op.create_table('registration_questions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('label', sa.String(length=200), nullable=False),
    sa.Column('help', sa.String(length=500), nullable=False),
    sa.Column('kind', sa.Enum('text', 'choice', 'yes_no', 'number', name='question_kind',
                              native_enum=False, create_constraint=True, length=24),
              nullable=False),
    sa.Column('choices', sa.JSON(), nullable=False),
    sa.Column('required', sa.Boolean(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('length(label) > 0',
                       name=op.f('ck_registration_questions_label_not_empty')),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'],
                            name=op.f('fk_registration_questions_event_id_events'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_registration_questions'))
    )
    with op.batch_alter_table('registration_questions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_registration_questions_event_id'), ['event_id'],
                              unique=False)

    op.create_table('registration_answers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_player_id', sa.Integer(), nullable=False),
    sa.Column('question_id', sa.Integer(), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['event_player_id'], ['event_players.id'],
                            name=op.f('fk_registration_answers_event_player_id_event_players'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['question_id'], ['registration_questions.id'],
                            name=op.f('fk_registration_answers_question_id_registration_questions'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_registration_answers')),
    sa.UniqueConstraint('event_player_id', 'question_id',
                        name=op.f('uq_registration_answers_event_player_id_question_id'))
    )
    with op.batch_alter_table('registration_answers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_registration_answers_event_player_id'),
                              ['event_player_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_registration_answers_question_id'),
                              ['question_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('registration_answers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_registration_answers_question_id'))
        batch_op.drop_index(batch_op.f('ix_registration_answers_event_player_id'))
    op.drop_table('registration_answers')
    with op.batch_alter_table('registration_questions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_registration_questions_event_id'))
    op.drop_table('registration_questions')
    with op.batch_alter_table('players', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_players_email'))
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_column('self_registration_email_required')
        batch_op.drop_column('self_registration_choose_number')
        batch_op.drop_column('self_registration_closes_at')
        batch_op.drop_column('self_registration')
