"""users.session_generation ends every copy of a session cookie; api_tokens expire and can be
revoked

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""
import sqlalchemy as sa
from alembic import op

from scheduler.store.types import UTCDateTime

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('users') as batch:
        batch.add_column(sa.Column('session_generation', sa.Integer(), nullable=False,
                                   server_default='0'))
    with op.batch_alter_table('api_tokens') as batch:
        batch.add_column(sa.Column('expires_at', UTCDateTime(), nullable=True))
        batch.add_column(sa.Column('revoked_at', UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('api_tokens') as batch:
        batch.drop_column('revoked_at')
        batch.drop_column('expires_at')
    with op.batch_alter_table('users') as batch:
        batch.drop_column('session_generation')
