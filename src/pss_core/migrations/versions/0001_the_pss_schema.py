"""the pss schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-21
"""

from alembic import op
import sqlalchemy as sa


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('machines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('abbreviation', sa.String(length=16), nullable=False),
    sa.Column('manufacturer', sa.String(length=100), nullable=False),
    sa.Column('year', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_machines')),
    sa.UniqueConstraint('name', name=op.f('uq_machines_name'))
    )
    op.create_table('players',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('first_name', sa.String(length=100), nullable=False),
    sa.Column('last_name', sa.String(length=100), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('ifpa_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_players')),
    sa.UniqueConstraint('ifpa_id', name=op.f('uq_players_ifpa_id'))
    )
    op.create_table('users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('full_name', sa.String(length=200), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('password_hash', sa.String(length=200), nullable=True),
    sa.Column('is_event_owner', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('length(username) > 0', name=op.f('ck_users_username_not_empty')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('username', name=op.f('uq_users_username'))
    )
    op.create_table('events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('hold_minutes', sa.Integer(), nullable=False),
    sa.Column('stripe_secret_key', sa.String(length=255), nullable=True),
    sa.Column('stripe_publishable_key', sa.String(length=255), nullable=True),
    sa.Column('stripe_webhook_secret', sa.String(length=255), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('hold_minutes > 0', name=op.f('ck_events_hold_minutes_positive')),
    sa.CheckConstraint('length(slug) > 0', name=op.f('ck_events_slug_not_empty')),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_events_owner_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_events')),
    sa.UniqueConstraint('slug', name=op.f('uq_events_slug'))
    )
    op.create_table('event_players',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('player_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('pin_hash', sa.String(length=200), nullable=False),
    sa.Column('ifpa_rank', sa.Integer(), nullable=True),
    sa.Column('offences', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('number > 0', name=op.f('ck_event_players_number_positive')),
    sa.CheckConstraint('offences >= 0', name=op.f('ck_event_players_offences_not_negative')),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_event_players_event_id_events'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['player_id'], ['players.id'], name=op.f('fk_event_players_player_id_players')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_event_players')),
    sa.UniqueConstraint('event_id', 'number', name=op.f('uq_event_players_event_id_number')),
    sa.UniqueConstraint('event_id', 'player_id', name=op.f('uq_event_players_event_id_player_id'))
    )
    with op.batch_alter_table('event_players', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_event_players_event_id'), ['event_id'], unique=False)

    op.create_table('event_users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('password_hash', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_event_users_event_id_events'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_event_users_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_event_users')),
    sa.UniqueConstraint('event_id', 'user_id', name=op.f('uq_event_users_event_id_user_id'))
    )
    with op.batch_alter_table('event_users', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_event_users_event_id'), ['event_id'], unique=False)

    op.create_table('login_throttles',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=True),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('window_started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_login_throttles_event_id_events'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_login_throttles')),
    sa.UniqueConstraint('event_id', 'key', name=op.f('uq_login_throttles_event_id_key'))
    )
    op.create_table('metatournaments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('price_cents', sa.Integer(), nullable=False),
    sa.Column('bundles', sa.JSON(), nullable=False),
    sa.Column('min_purchase', sa.Integer(), nullable=False),
    sa.Column('purchase_increment', sa.Integer(), nullable=False),
    sa.Column('max_unused_tickets', sa.Integer(), nullable=True),
    sa.Column('ticket_quota', sa.Integer(), nullable=True),
    sa.Column('allow_ticket_purchases', sa.Boolean(), nullable=False),
    sa.CheckConstraint('price_cents >= 0', name=op.f('ck_metatournaments_price_not_negative')),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_metatournaments_event_id_events'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_metatournaments')),
    sa.UniqueConstraint('event_id', 'slug', name=op.f('uq_metatournaments_event_id_slug'))
    )
    with op.batch_alter_table('metatournaments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_metatournaments_event_id'), ['event_id'], unique=False)

    op.create_table('stripe_webhook_events',
    sa.Column('id', sa.String(length=255), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('type', sa.String(length=100), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_stripe_webhook_events_event_id_events'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stripe_webhook_events'))
    )
    op.create_table('teams',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_teams_event_id_events'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_teams')),
    sa.UniqueConstraint('event_id', 'name', name=op.f('uq_teams_event_id_name'))
    )
    with op.batch_alter_table('teams', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_teams_event_id'), ['event_id'], unique=False)

    op.create_table('tournaments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('format', sa.String(length=64), nullable=False),
    sa.Column('format_options', sa.JSON(), nullable=False),
    sa.Column('status', sa.Enum('draft', 'active', 'finalized', 'cancelled', name='tournament_status', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('is_team', sa.Boolean(), nullable=False),
    sa.Column('max_team_size', sa.Integer(), nullable=True),
    sa.Column('queuing_enabled', sa.Boolean(), nullable=False),
    sa.Column('queue_limit', sa.Integer(), nullable=True),
    sa.Column('qualifying_cut', sa.Integer(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('price_cents', sa.Integer(), nullable=False),
    sa.Column('bundles', sa.JSON(), nullable=False),
    sa.Column('min_purchase', sa.Integer(), nullable=False),
    sa.Column('purchase_increment', sa.Integer(), nullable=False),
    sa.Column('max_unused_tickets', sa.Integer(), nullable=True),
    sa.Column('ticket_quota', sa.Integer(), nullable=True),
    sa.Column('allow_ticket_purchases', sa.Boolean(), nullable=False),
    sa.CheckConstraint('max_team_size IS NULL OR max_team_size >= 1', name=op.f('ck_tournaments_team_size_positive')),
    sa.CheckConstraint('min_purchase >= 1', name=op.f('ck_tournaments_min_purchase_positive')),
    sa.CheckConstraint('price_cents >= 0', name=op.f('ck_tournaments_price_not_negative')),
    sa.CheckConstraint('purchase_increment >= 1', name=op.f('ck_tournaments_increment_positive')),
    sa.CheckConstraint('queue_limit IS NULL OR queue_limit >= 1', name=op.f('ck_tournaments_queue_limit_positive')),
    sa.CheckConstraint('ticket_quota IS NULL OR ticket_quota >= 0', name=op.f('ck_tournaments_quota_not_negative')),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_tournaments_event_id_events'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tournaments')),
    sa.UniqueConstraint('event_id', 'slug', name=op.f('uq_tournaments_event_id_slug'))
    )
    with op.batch_alter_table('tournaments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tournaments_event_id'), ['event_id'], unique=False)

    op.create_table('audit_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=True),
    sa.Column('actor_user_id', sa.Integer(), nullable=True),
    sa.Column('actor_player_id', sa.Integer(), nullable=True),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('subject_type', sa.String(length=64), nullable=False),
    sa.Column('subject_id', sa.Integer(), nullable=True),
    sa.Column('player_id', sa.Integer(), nullable=True),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['actor_player_id'], ['event_players.id'], name=op.f('fk_audit_log_actor_player_id_event_players')),
    sa.ForeignKeyConstraint(['actor_user_id'], ['users.id'], name=op.f('fk_audit_log_actor_user_id_users')),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_audit_log_event_id_events'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['player_id'], ['event_players.id'], name=op.f('fk_audit_log_player_id_event_players')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log'))
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_log_event_id'), ['event_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_log_player_id'), ['player_id'], unique=False)

    op.create_table('entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('tournament_id', sa.Integer(), nullable=False),
    sa.Column('player_id', sa.Integer(), nullable=True),
    sa.Column('team_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.Enum('open', 'complete', 'voided', name='entry_status', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('games_allowed', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('voided_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint('(player_id IS NULL) != (team_id IS NULL)', name=op.f('ck_entries_one_owner')),
    sa.CheckConstraint('games_allowed >= 1', name=op.f('ck_entries_games_positive')),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_entries_event_id_events'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['player_id'], ['event_players.id'], name=op.f('fk_entries_player_id_event_players')),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name=op.f('fk_entries_team_id_teams')),
    sa.ForeignKeyConstraint(['tournament_id'], ['tournaments.id'], name=op.f('fk_entries_tournament_id_tournaments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_entries'))
    )
    with op.batch_alter_table('entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_entries_event_id'), ['event_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_entries_player_id'), ['player_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_entries_team_id'), ['team_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_entries_tournament_id'), ['tournament_id'], unique=False)

    op.create_table('event_user_roles',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_user_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.Enum('td', 'desk', 'scorekeeper', name='role', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.ForeignKeyConstraint(['event_user_id'], ['event_users.id'], name=op.f('fk_event_user_roles_event_user_id_event_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_event_user_roles')),
    sa.UniqueConstraint('event_user_id', 'role', name=op.f('uq_event_user_roles_event_user_id_role'))
    )
    op.create_table('login_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=128), nullable=False),
    sa.Column('kind', sa.Enum('admin', 'staff', 'player', name='login_kind', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('player_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("(kind = 'admin' AND event_id IS NULL AND user_id IS NOT NULL AND player_id IS NULL) OR (kind = 'staff' AND event_id IS NOT NULL AND user_id IS NOT NULL AND player_id IS NULL) OR (kind = 'player' AND event_id IS NOT NULL AND player_id IS NOT NULL AND user_id IS NULL)", name=op.f('ck_login_sessions_kind_matches_subject')),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_login_sessions_event_id_events'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['player_id'], ['event_players.id'], name=op.f('fk_login_sessions_player_id_event_players')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_login_sessions_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_login_sessions')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_login_sessions_token_hash'))
    )
    op.create_table('metatournament_members',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('metatournament_id', sa.Integer(), nullable=False),
    sa.Column('tournament_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['metatournament_id'], ['metatournaments.id'], name=op.f('fk_metatournament_members_metatournament_id_metatournaments'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tournament_id'], ['tournaments.id'], name=op.f('fk_metatournament_members_tournament_id_tournaments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_metatournament_members')),
    sa.UniqueConstraint('tournament_id', name=op.f('uq_metatournament_members_tournament_id'))
    )
    op.create_table('notifications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('player_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=64), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('read_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_notifications_event_id_events'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['player_id'], ['event_players.id'], name=op.f('fk_notifications_player_id_event_players')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notifications'))
    )
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notifications_event_id'), ['event_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_notifications_player_id'), ['player_id'], unique=False)

    op.create_table('price_restrictions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('tournament_id', sa.Integer(), nullable=True),
    sa.Column('metatournament_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('config', sa.JSON(), nullable=False),
    sa.Column('max_uses', sa.Integer(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('max_uses IS NULL OR max_uses >= 0', name=op.f('ck_price_restrictions_max_uses_not_negative')),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_price_restrictions_event_id_events'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['metatournament_id'], ['metatournaments.id'], name=op.f('fk_price_restrictions_metatournament_id_metatournaments')),
    sa.ForeignKeyConstraint(['tournament_id'], ['tournaments.id'], name=op.f('fk_price_restrictions_tournament_id_tournaments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_price_restrictions'))
    )
    with op.batch_alter_table('price_restrictions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_price_restrictions_event_id'), ['event_id'], unique=False)

    op.create_table('purchases',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('player_id', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=True),
    sa.Column('tournament_id', sa.Integer(), nullable=True),
    sa.Column('metatournament_id', sa.Integer(), nullable=True),
    sa.Column('tickets', sa.Integer(), nullable=False),
    sa.Column('amount_cents', sa.Integer(), nullable=False),
    sa.Column('breakdown', sa.JSON(), nullable=False),
    sa.Column('channel', sa.Enum('desk', 'online', 'comp', name='channel', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('status', sa.Enum('pending', 'completed', 'cancelled', 'refunded', name='purchase_status', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('hold_expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('refunded_cents', sa.Integer(), nullable=False),
    sa.Column('stripe_payment_intent_id', sa.String(length=255), nullable=True),
    sa.Column('idempotency_key', sa.String(length=255), nullable=True),
    sa.Column('sold_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("channel != 'comp' OR amount_cents = 0", name=op.f('ck_purchases_comp_is_free')),
    sa.CheckConstraint('(tournament_id IS NULL) != (metatournament_id IS NULL)', name=op.f('ck_purchases_one_scope')),
    sa.CheckConstraint('amount_cents >= 0', name=op.f('ck_purchases_amount_not_negative')),
    sa.CheckConstraint('refunded_cents >= 0 AND refunded_cents <= amount_cents', name=op.f('ck_purchases_refund_within_amount')),
    sa.CheckConstraint('tickets > 0', name=op.f('ck_purchases_tickets_positive')),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_purchases_event_id_events'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['metatournament_id'], ['metatournaments.id'], name=op.f('fk_purchases_metatournament_id_metatournaments')),
    sa.ForeignKeyConstraint(['player_id'], ['event_players.id'], name=op.f('fk_purchases_player_id_event_players')),
    sa.ForeignKeyConstraint(['sold_by_id'], ['event_users.id'], name=op.f('fk_purchases_sold_by_id_event_users')),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name=op.f('fk_purchases_team_id_teams')),
    sa.ForeignKeyConstraint(['tournament_id'], ['tournaments.id'], name=op.f('fk_purchases_tournament_id_tournaments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_purchases')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_purchases_idempotency_key')),
    sa.UniqueConstraint('stripe_payment_intent_id', name=op.f('uq_purchases_stripe_payment_intent_id'))
    )
    with op.batch_alter_table('purchases', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_purchases_event_id'), ['event_id'], unique=False)
        batch_op.create_index('ix_purchases_pending_hold', ['status', 'hold_expires_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_purchases_player_id'), ['player_id'], unique=False)

    op.create_table('team_members',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('event_player_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['event_player_id'], ['event_players.id'], name=op.f('fk_team_members_event_player_id_event_players')),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name=op.f('fk_team_members_team_id_teams'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_team_members')),
    sa.UniqueConstraint('team_id', 'event_player_id', name=op.f('uq_team_members_team_id_event_player_id'))
    )
    op.create_table('payment_transactions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('purchase_id', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('ok', sa.Boolean(), nullable=False),
    sa.Column('error_type', sa.String(length=64), nullable=True),
    sa.Column('error_code', sa.String(length=64), nullable=True),
    sa.Column('message', sa.Text(), nullable=True),
    sa.Column('amount_cents', sa.Integer(), nullable=True),
    sa.Column('stripe_object_id', sa.String(length=255), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['purchase_id'], ['purchases.id'], name=op.f('fk_payment_transactions_purchase_id_purchases')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_transactions'))
    )
    with op.batch_alter_table('payment_transactions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payment_transactions_purchase_id'), ['purchase_id'], unique=False)

    op.create_table('refunds',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('purchase_id', sa.Integer(), nullable=False),
    sa.Column('amount_cents', sa.Integer(), nullable=False),
    sa.Column('tokens', sa.Integer(), nullable=False),
    sa.Column('channel', sa.Enum('desk', 'online', 'comp', name='refund_channel', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('stripe_refund_id', sa.String(length=255), nullable=True),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('refunded_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('amount_cents >= 0', name=op.f('ck_refunds_amount_not_negative')),
    sa.CheckConstraint('tokens >= 0', name=op.f('ck_refunds_tokens_not_negative')),
    sa.ForeignKeyConstraint(['purchase_id'], ['purchases.id'], name=op.f('fk_refunds_purchase_id_purchases')),
    sa.ForeignKeyConstraint(['refunded_by_id'], ['event_users.id'], name=op.f('fk_refunds_refunded_by_id_event_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_refunds')),
    sa.UniqueConstraint('stripe_refund_id', name=op.f('uq_refunds_stripe_refund_id'))
    )
    with op.batch_alter_table('refunds', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_refunds_purchase_id'), ['purchase_id'], unique=False)

    op.create_table('restriction_uses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('restriction_id', sa.Integer(), nullable=False),
    sa.Column('purchase_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['purchase_id'], ['purchases.id'], name=op.f('fk_restriction_uses_purchase_id_purchases')),
    sa.ForeignKeyConstraint(['restriction_id'], ['price_restrictions.id'], name=op.f('fk_restriction_uses_restriction_id_price_restrictions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_restriction_uses')),
    sa.UniqueConstraint('restriction_id', 'purchase_id', name=op.f('uq_restriction_uses_restriction_id_purchase_id'))
    )
    with op.batch_alter_table('restriction_uses', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_restriction_uses_restriction_id'), ['restriction_id'], unique=False)

    op.create_table('tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('purchase_id', sa.Integer(), nullable=True),
    sa.Column('player_id', sa.Integer(), nullable=True),
    sa.Column('team_id', sa.Integer(), nullable=True),
    sa.Column('tournament_id', sa.Integer(), nullable=True),
    sa.Column('metatournament_id', sa.Integer(), nullable=True),
    sa.Column('comped', sa.Boolean(), nullable=False),
    sa.Column('paid_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('voided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('refunded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('entry_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('(CASE WHEN used_at IS NULL THEN 0 ELSE 1 END + CASE WHEN voided_at IS NULL THEN 0 ELSE 1 END + CASE WHEN refunded_at IS NULL THEN 0 ELSE 1 END) <= 1', name=op.f('ck_tokens_one_ending')),
    sa.CheckConstraint('(player_id IS NULL) != (team_id IS NULL)', name=op.f('ck_tokens_one_owner')),
    sa.CheckConstraint('(tournament_id IS NULL) != (metatournament_id IS NULL)', name=op.f('ck_tokens_one_scope')),
    sa.CheckConstraint('paid_at IS NOT NULL OR (used_at IS NULL AND voided_at IS NULL AND refunded_at IS NULL)', name=op.f('ck_tokens_ended_tokens_were_paid')),
    sa.ForeignKeyConstraint(['entry_id'], ['entries.id'], name=op.f('fk_tokens_entry_id_entries')),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_tokens_event_id_events'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['metatournament_id'], ['metatournaments.id'], name=op.f('fk_tokens_metatournament_id_metatournaments')),
    sa.ForeignKeyConstraint(['player_id'], ['event_players.id'], name=op.f('fk_tokens_player_id_event_players')),
    sa.ForeignKeyConstraint(['purchase_id'], ['purchases.id'], name=op.f('fk_tokens_purchase_id_purchases')),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name=op.f('fk_tokens_team_id_teams')),
    sa.ForeignKeyConstraint(['tournament_id'], ['tournaments.id'], name=op.f('fk_tokens_tournament_id_tournaments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tokens'))
    )
    with op.batch_alter_table('tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tokens_event_id'), ['event_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_tokens_player_id'), ['player_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_tokens_purchase_id'), ['purchase_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_tokens_team_id'), ['team_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_tokens_tournament_id'), ['tournament_id'], unique=False)

    op.create_table('tournament_machines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('tournament_id', sa.Integer(), nullable=False),
    sa.Column('machine_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('active', 'disabled', 'removed', name='machine_status', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('player_id', sa.Integer(), nullable=True),
    sa.Column('team_id', sa.Integer(), nullable=True),
    sa.Column('token_id', sa.Integer(), nullable=True),
    sa.Column('game_started_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint('(player_id IS NULL AND team_id IS NULL) = (token_id IS NULL)', name=op.f('ck_tournament_machines_game_has_token')),
    sa.CheckConstraint('player_id IS NULL OR team_id IS NULL', name=op.f('ck_tournament_machines_one_occupant')),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_tournament_machines_event_id_events'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['machine_id'], ['machines.id'], name=op.f('fk_tournament_machines_machine_id_machines')),
    sa.ForeignKeyConstraint(['player_id'], ['event_players.id'], name=op.f('fk_tournament_machines_player_id_event_players')),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name=op.f('fk_tournament_machines_team_id_teams')),
    sa.ForeignKeyConstraint(['token_id'], ['tokens.id'], name=op.f('fk_tournament_machines_token_id_tokens')),
    sa.ForeignKeyConstraint(['tournament_id'], ['tournaments.id'], name=op.f('fk_tournament_machines_tournament_id_tournaments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tournament_machines')),
    sa.UniqueConstraint('tournament_id', 'machine_id', name=op.f('uq_tournament_machines_tournament_id_machine_id'))
    )
    with op.batch_alter_table('tournament_machines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tournament_machines_event_id'), ['event_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_tournament_machines_tournament_id'), ['tournament_id'], unique=False)
        batch_op.create_index('uq_tournament_machines_player', ['player_id'], unique=True, postgresql_where=sa.text('player_id IS NOT NULL'), sqlite_where=sa.text('player_id IS NOT NULL'))
        batch_op.create_index('uq_tournament_machines_team', ['team_id'], unique=True, postgresql_where=sa.text('team_id IS NOT NULL'), sqlite_where=sa.text('team_id IS NOT NULL'))

    op.create_table('queue_slots',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('tournament_machine_id', sa.Integer(), nullable=False),
    sa.Column('player_id', sa.Integer(), nullable=True),
    sa.Column('team_id', sa.Integer(), nullable=True),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('bumped', sa.Boolean(), nullable=False),
    sa.Column('joined_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('(player_id IS NULL) != (team_id IS NULL)', name=op.f('ck_queue_slots_one_occupant')),
    sa.CheckConstraint('position >= 1', name=op.f('ck_queue_slots_position_positive')),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_queue_slots_event_id_events'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['player_id'], ['event_players.id'], name=op.f('fk_queue_slots_player_id_event_players')),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name=op.f('fk_queue_slots_team_id_teams')),
    sa.ForeignKeyConstraint(['tournament_machine_id'], ['tournament_machines.id'], name=op.f('fk_queue_slots_tournament_machine_id_tournament_machines')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_queue_slots')),
    sa.UniqueConstraint('player_id', name=op.f('uq_queue_slots_player_id')),
    sa.UniqueConstraint('team_id', name=op.f('uq_queue_slots_team_id'))
    )
    with op.batch_alter_table('queue_slots', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_queue_slots_event_id'), ['event_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_queue_slots_tournament_machine_id'), ['tournament_machine_id'], unique=False)

    op.create_table('scores',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('tournament_machine_id', sa.Integer(), nullable=False),
    sa.Column('token_id', sa.Integer(), nullable=True),
    sa.Column('score', sa.BigInteger(), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('score >= 0', name=op.f('ck_scores_score_not_negative')),
    sa.ForeignKeyConstraint(['entry_id'], ['entries.id'], name=op.f('fk_scores_entry_id_entries')),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_scores_event_id_events'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['event_users.id'], name=op.f('fk_scores_recorded_by_id_event_users')),
    sa.ForeignKeyConstraint(['token_id'], ['tokens.id'], name=op.f('fk_scores_token_id_tokens')),
    sa.ForeignKeyConstraint(['tournament_machine_id'], ['tournament_machines.id'], name=op.f('fk_scores_tournament_machine_id_tournament_machines')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scores')),
    sa.UniqueConstraint('entry_id', 'tournament_machine_id', name=op.f('uq_scores_entry_id_tournament_machine_id')),
    sa.UniqueConstraint('token_id', name=op.f('uq_scores_token_id'))
    )
    with op.batch_alter_table('scores', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_scores_entry_id'), ['entry_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_scores_event_id'), ['event_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_scores_tournament_machine_id'), ['tournament_machine_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('scores', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_scores_tournament_machine_id'))
        batch_op.drop_index(batch_op.f('ix_scores_event_id'))
        batch_op.drop_index(batch_op.f('ix_scores_entry_id'))

    op.drop_table('scores')
    with op.batch_alter_table('queue_slots', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_queue_slots_tournament_machine_id'))
        batch_op.drop_index(batch_op.f('ix_queue_slots_event_id'))

    op.drop_table('queue_slots')
    with op.batch_alter_table('tournament_machines', schema=None) as batch_op:
        batch_op.drop_index('uq_tournament_machines_team', postgresql_where=sa.text('team_id IS NOT NULL'), sqlite_where=sa.text('team_id IS NOT NULL'))
        batch_op.drop_index('uq_tournament_machines_player', postgresql_where=sa.text('player_id IS NOT NULL'), sqlite_where=sa.text('player_id IS NOT NULL'))
        batch_op.drop_index(batch_op.f('ix_tournament_machines_tournament_id'))
        batch_op.drop_index(batch_op.f('ix_tournament_machines_event_id'))

    op.drop_table('tournament_machines')
    with op.batch_alter_table('tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tokens_tournament_id'))
        batch_op.drop_index(batch_op.f('ix_tokens_team_id'))
        batch_op.drop_index(batch_op.f('ix_tokens_purchase_id'))
        batch_op.drop_index(batch_op.f('ix_tokens_player_id'))
        batch_op.drop_index(batch_op.f('ix_tokens_event_id'))

    op.drop_table('tokens')
    with op.batch_alter_table('restriction_uses', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_restriction_uses_restriction_id'))

    op.drop_table('restriction_uses')
    with op.batch_alter_table('refunds', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_refunds_purchase_id'))

    op.drop_table('refunds')
    with op.batch_alter_table('payment_transactions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payment_transactions_purchase_id'))

    op.drop_table('payment_transactions')
    op.drop_table('team_members')
    with op.batch_alter_table('purchases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_purchases_player_id'))
        batch_op.drop_index('ix_purchases_pending_hold')
        batch_op.drop_index(batch_op.f('ix_purchases_event_id'))

    op.drop_table('purchases')
    with op.batch_alter_table('price_restrictions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_price_restrictions_event_id'))

    op.drop_table('price_restrictions')
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notifications_player_id'))
        batch_op.drop_index(batch_op.f('ix_notifications_event_id'))

    op.drop_table('notifications')
    op.drop_table('metatournament_members')
    op.drop_table('login_sessions')
    op.drop_table('event_user_roles')
    with op.batch_alter_table('entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_entries_tournament_id'))
        batch_op.drop_index(batch_op.f('ix_entries_team_id'))
        batch_op.drop_index(batch_op.f('ix_entries_player_id'))
        batch_op.drop_index(batch_op.f('ix_entries_event_id'))

    op.drop_table('entries')
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_log_player_id'))
        batch_op.drop_index(batch_op.f('ix_audit_log_event_id'))

    op.drop_table('audit_log')
    with op.batch_alter_table('tournaments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tournaments_event_id'))

    op.drop_table('tournaments')
    with op.batch_alter_table('teams', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_teams_event_id'))

    op.drop_table('teams')
    op.drop_table('stripe_webhook_events')
    with op.batch_alter_table('metatournaments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_metatournaments_event_id'))

    op.drop_table('metatournaments')
    op.drop_table('login_throttles')
    with op.batch_alter_table('event_users', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_event_users_event_id'))

    op.drop_table('event_users')
    with op.batch_alter_table('event_players', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_event_players_event_id'))

    op.drop_table('event_players')
    op.drop_table('events')
    op.drop_table('users')
    op.drop_table('players')
    op.drop_table('machines')
