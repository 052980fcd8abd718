"""followups.responses: each attendee's last answer, so sync compares what it sees with it

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03
"""
import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('followups') as batch:
        batch.add_column(sa.Column('responses', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('followups') as batch:
        batch.drop_column('responses')
