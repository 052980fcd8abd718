"""The busy mirror: busy_versions (one counter per calendar, bumped by every write that
changes its busy time), mirrored_busy (connected accounts' busy time as the last sync read
it) and when each connection's mirror was read

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04
"""
import sqlalchemy as sa
from alembic import op

import scheduler.store.types

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'busy_versions',
        sa.Column('key', sa.String(length=400), nullable=False),
        sa.Column('version', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('key', name=op.f('pk_busy_versions')))
    op.create_table(
        'mirrored_busy',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('connection_id', sa.Integer(), nullable=False),
        sa.Column('start_at', scheduler.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('end_at', scheduler.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['connection_id'], ['connections.id'],
                                name=op.f('fk_mirrored_busy_connection_id_connections'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_mirrored_busy')))
    op.create_index('ix_mirrored_busy_connection', 'mirrored_busy',
                    ['connection_id', 'start_at'])
    with op.batch_alter_table('connections') as batch:
        batch.add_column(sa.Column('busy_mirrored_at',
                                   scheduler.store.types.UTCDateTime(timezone=True),
                                   nullable=True))
        batch.add_column(sa.Column('busy_mirrored_until',
                                   scheduler.store.types.UTCDateTime(timezone=True),
                                   nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('connections') as batch:
        batch.drop_column('busy_mirrored_until')
        batch.drop_column('busy_mirrored_at')
    op.drop_index('ix_mirrored_busy_connection', table_name='mirrored_busy')
    op.drop_table('mirrored_busy')
    op.drop_table('busy_versions')
