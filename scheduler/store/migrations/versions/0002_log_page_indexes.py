"""indexes for the log page: a rep's entries, upcoming follow-ups, steps by follow-up

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""
from alembic import op


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_log_entries_rep', 'log_entries', ['rep_id', 'id'])
    op.create_index('ix_log_entries_rep_kind', 'log_entries', ['rep_id', 'kind', 'id'])
    op.create_index('ix_followups_rep_start', 'followups', ['rep_id', 'start_at'])
    op.create_index('ix_steps_followup_due', 'steps', ['followup_id', 'due_date'])


def downgrade() -> None:
    op.drop_index('ix_steps_followup_due', table_name='steps')
    op.drop_index('ix_followups_rep_start', table_name='followups')
    op.drop_index('ix_log_entries_rep_kind', table_name='log_entries')
    op.drop_index('ix_log_entries_rep', table_name='log_entries')
