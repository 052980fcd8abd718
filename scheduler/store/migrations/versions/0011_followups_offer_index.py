"""followups.offer_id indexed: a re-opened offer link finds its follow-ups without a scan

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04
"""
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_followups_offer', 'followups', ['offer_id'])


def downgrade() -> None:
    op.drop_index('ix_followups_offer', table_name='followups')
