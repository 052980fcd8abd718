"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-23
"""
from alembic import op
import sqlalchemy as sa
import scheduler.store.types


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('local_events',
    sa.Column('calendar_id', sa.String(length=320), nullable=False),
    sa.Column('uid', sa.String(length=64), nullable=False),
    sa.Column('start_at', scheduler.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('end_at', scheduler.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('organizer', sa.JSON(), nullable=False),
    sa.Column('attendees', sa.JSON(), nullable=False),
    sa.Column('properties', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('change_seq', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('calendar_id', 'uid', name=op.f('pk_local_events'))
    )
    with op.batch_alter_table('local_events', schema=None) as batch_op:
        batch_op.create_index('ix_local_events_calendar_time', ['calendar_id', 'start_at'], unique=False)
        batch_op.create_index('ix_local_events_change', ['calendar_id', 'change_seq'], unique=False)

    op.create_table('prospects',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('company', sa.String(length=200), nullable=True),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('created_at', scheduler.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_prospects')),
    sa.UniqueConstraint('email', name=op.f('uq_prospects_email'))
    )
    op.create_table('users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=True),
    sa.Column('working_hours', sa.JSON(), nullable=False),
    sa.Column('created_at', scheduler.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('email', name=op.f('uq_users_email'))
    )
    op.create_table('api_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', scheduler.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_used_at', scheduler.store.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_api_tokens_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_api_tokens_token_hash'))
    )
    op.create_table('connections',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('provider', sa.String(length=20), nullable=False),
    sa.Column('account', sa.String(length=320), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('status_message', sa.Text(), nullable=True),
    sa.Column('credentials', sa.LargeBinary(), nullable=True),
    sa.Column('key_id', sa.String(length=40), nullable=True),
    sa.Column('busy_calendars', sa.JSON(), nullable=False),
    sa.Column('booking_calendar', sa.String(length=320), nullable=True),
    sa.Column('sync_cursor', sa.Text(), nullable=True),
    sa.Column('channel', sa.JSON(), nullable=True),
    sa.Column('last_synced_at', scheduler.store.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', scheduler.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_connections_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_connections')),
    sa.UniqueConstraint('user_id', 'provider', 'account', name='uq_connections_account')
    )
    op.create_table('log_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', scheduler.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('rep_id', sa.Integer(), nullable=True),
    sa.Column('followup_id', sa.String(length=32), nullable=True),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['rep_id'], ['users.id'], name=op.f('fk_log_entries_rep_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_log_entries'))
    )
    with op.batch_alter_table('log_entries', schema=None) as batch_op:
        batch_op.create_index('ix_log_entries_at', ['at'], unique=False)

    op.create_table('offers',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('rep_id', sa.Integer(), nullable=False),
    sa.Column('prospect_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('step_type', sa.String(length=40), nullable=False),
    sa.Column('duration_minutes', sa.Integer(), nullable=False),
    sa.Column('helper_emails', sa.JSON(), nullable=False),
    sa.Column('plan', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('expires_at', scheduler.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_at', scheduler.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['prospect_id'], ['prospects.id'], name=op.f('fk_offers_prospect_id_prospects')),
    sa.ForeignKeyConstraint(['rep_id'], ['users.id'], name=op.f('fk_offers_rep_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_offers'))
    )
    op.create_table('followups',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('rep_id', sa.Integer(), nullable=False),
    sa.Column('prospect_id', sa.Integer(), nullable=False),
    sa.Column('offer_id', sa.String(length=32), nullable=True),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('step_type', sa.String(length=40), nullable=False),
    sa.Column('start_at', scheduler.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('end_at', scheduler.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('event_uid', sa.String(length=64), nullable=False),
    sa.Column('idempotency_key', sa.String(length=200), nullable=True),
    sa.Column('created_at', scheduler.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', scheduler.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['offer_id'], ['offers.id'], name=op.f('fk_followups_offer_id_offers')),
    sa.ForeignKeyConstraint(['prospect_id'], ['prospects.id'], name=op.f('fk_followups_prospect_id_prospects')),
    sa.ForeignKeyConstraint(['rep_id'], ['users.id'], name=op.f('fk_followups_rep_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_followups')),
    sa.UniqueConstraint('event_uid', name=op.f('uq_followups_event_uid')),
    sa.UniqueConstraint('rep_id', 'idempotency_key', name='uq_followups_idempotency')
    )
    op.create_table('holds',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('offer_id', sa.String(length=32), nullable=False),
    sa.Column('start_at', scheduler.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('end_at', scheduler.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', scheduler.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('released_at', scheduler.store.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['offer_id'], ['offers.id'], name=op.f('fk_holds_offer_id_offers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_holds'))
    )
    op.create_table('webhook_deliveries',
    sa.Column('log_id', sa.Integer(), nullable=False),
    sa.Column('delivered_at', scheduler.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['log_id'], ['log_entries.id'], name=op.f('fk_webhook_deliveries_log_id_log_entries')),
    sa.PrimaryKeyConstraint('log_id', name=op.f('pk_webhook_deliveries'))
    )
    op.create_table('calendar_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('followup_id', sa.String(length=32), nullable=False),
    sa.Column('connection_id', sa.Integer(), nullable=True),
    sa.Column('provider', sa.String(length=20), nullable=False),
    sa.Column('calendar_id', sa.String(length=320), nullable=False),
    sa.Column('event_id', sa.String(length=1024), nullable=False),
    sa.Column('etag', sa.String(length=200), nullable=True),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['connection_id'], ['connections.id'], name=op.f('fk_calendar_events_connection_id_connections')),
    sa.ForeignKeyConstraint(['followup_id'], ['followups.id'], name=op.f('fk_calendar_events_followup_id_followups'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_calendar_events')),
    sa.UniqueConstraint('followup_id', 'provider', 'calendar_id', name='uq_calendar_events_target')
    )
    op.create_table('followup_helpers',
    sa.Column('followup_id', sa.String(length=32), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['followup_id'], ['followups.id'], name=op.f('fk_followup_helpers_followup_id_followups'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_followup_helpers_user_id_users')),
    sa.PrimaryKeyConstraint('followup_id', 'user_id', name=op.f('pk_followup_helpers'))
    )
    op.create_table('outbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('followup_id', sa.String(length=32), nullable=True),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', scheduler.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('done_at', scheduler.store.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('failed_at', scheduler.store.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', scheduler.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['followup_id'], ['followups.id'], name=op.f('fk_outbox_followup_id_followups'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox'))
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_pending', ['done_at', 'next_attempt_at'], unique=False)

    op.create_table('reservations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('start_at', scheduler.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('end_at', scheduler.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('followup_id', sa.String(length=32), nullable=True),
    sa.Column('hold_id', sa.Integer(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['followup_id'], ['followups.id'], name=op.f('fk_reservations_followup_id_followups'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['hold_id'], ['holds.id'], name=op.f('fk_reservations_hold_id_holds'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_reservations_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reservations'))
    )
    with op.batch_alter_table('reservations', schema=None) as batch_op:
        batch_op.create_index('ix_reservations_user_time', ['user_id', 'start_at', 'end_at'], unique=False)

    op.create_table('steps',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('followup_id', sa.String(length=32), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('who', sa.String(length=320), nullable=False),
    sa.Column('what', sa.Text(), nullable=False),
    sa.Column('type', sa.String(length=40), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=False),
    sa.Column('due_at', scheduler.store.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('due_text', sa.String(length=40), nullable=False),
    sa.Column('help_from', sa.JSON(), nullable=False),
    sa.Column('done_at', scheduler.store.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('stalled_at', scheduler.store.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['followup_id'], ['followups.id'], name=op.f('fk_steps_followup_id_followups'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_steps'))
    )
    if op.get_bind().dialect.name == "postgresql":
        # The database, not the application, is the authority against double booking:
        # no two active reservations of one person may overlap.
        op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
        op.execute(
            "ALTER TABLE reservations ADD CONSTRAINT reservations_no_overlap "
            "EXCLUDE USING gist (user_id WITH =, tstzrange(start_at, end_at, '[)') WITH &&) "
            "WHERE (active)"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE reservations DROP CONSTRAINT IF EXISTS reservations_no_overlap")
    op.drop_table('steps')
    with op.batch_alter_table('reservations', schema=None) as batch_op:
        batch_op.drop_index('ix_reservations_user_time')

    op.drop_table('reservations')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_pending')

    op.drop_table('outbox')
    op.drop_table('followup_helpers')
    op.drop_table('calendar_events')
    op.drop_table('webhook_deliveries')
    op.drop_table('holds')
    op.drop_table('followups')
    op.drop_table('offers')
    with op.batch_alter_table('log_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_log_entries_at')

    op.drop_table('log_entries')
    op.drop_table('connections')
    op.drop_table('api_tokens')
    op.drop_table('users')
    op.drop_table('prospects')
    with op.batch_alter_table('local_events', schema=None) as batch_op:
        batch_op.drop_index('ix_local_events_change')
        batch_op.drop_index('ix_local_events_calendar_time')

    op.drop_table('local_events')
