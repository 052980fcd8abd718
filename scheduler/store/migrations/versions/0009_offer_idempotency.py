"""offers.idempotency_key: a retried offer request returns the first offer, as a booking does

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""
import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('offers') as batch:
        batch.add_column(sa.Column('idempotency_key', sa.String(length=200), nullable=True))
        batch.create_unique_constraint('uq_offers_idempotency', ['rep_id', 'idempotency_key'])


def downgrade() -> None:
    with op.batch_alter_table('offers') as batch:
        batch.drop_constraint('uq_offers_idempotency', type_='unique')
        batch.drop_column('idempotency_key')
