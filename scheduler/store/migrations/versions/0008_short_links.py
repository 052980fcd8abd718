"""short_links: short random ids for offer and follow-up links a person can paste

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04
"""
import sqlalchemy as sa
from alembic import op

from scheduler.store.types import UTCDateTime

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'short_links',
        sa.Column('id', sa.String(24), primary_key=True),
        sa.Column('kind', sa.String(20), nullable=False),
        sa.Column('target_id', sa.String(64), nullable=False),
        sa.Column('token', sa.Text(), nullable=False),
        sa.Column('expires_at', UTCDateTime(), nullable=False),
        sa.Column('created_at', UTCDateTime(), nullable=False))
    op.create_index('ix_short_links_target', 'short_links', ['kind', 'target_id'])


def downgrade() -> None:
    op.drop_index('ix_short_links_target', table_name='short_links')
    op.drop_table('short_links')
