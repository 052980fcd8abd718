"""Each rep's own availability and preferences (null: the deployment's setting), and the
video link of each follow-up

Revision ID: 0007
Revises: 0005
Create Date: 2026-12-03
"""
import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('users') as batch:
        batch.add_column(sa.Column('buffer_before_minutes', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('buffer_after_minutes', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('min_notice_minutes', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('default_duration_minutes', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('prospect_daytime', sa.JSON(), nullable=True))
        batch.add_column(sa.Column('video_link', sa.String(length=500), nullable=True))
    with op.batch_alter_table('followups') as batch:
        batch.add_column(sa.Column('video_link', sa.String(length=1000), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('followups') as batch:
        batch.drop_column('video_link')
    with op.batch_alter_table('users') as batch:
        for name in ('video_link', 'prospect_daytime', 'default_duration_minutes',
                     'min_notice_minutes', 'buffer_after_minutes', 'buffer_before_minutes'):
            batch.drop_column(name)
