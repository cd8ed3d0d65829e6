"""Answered RPC requests: a write's request id kept with the write, so a redelivered request is answered
with its first result instead of being applied again (shared/answered.py). Expand only: a new table.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 08:30:00
"""
from alembic import op
import sqlalchemy as sa

from shared.messaging_tables import UtcDateTime


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'rpc_requests',
        sa.Column('request_id', sa.String(length=32), nullable=False),
        sa.Column('method', sa.String(length=80), nullable=False),
        sa.Column('answer', sa.JSON(), nullable=True),
        sa.Column('applied_at', UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('request_id'),
    )
    op.create_index('ix_rpc_requests_applied_at', 'rpc_requests', ['applied_at'])


def downgrade() -> None:
    op.drop_index('ix_rpc_requests_applied_at', table_name='rpc_requests')
    op.drop_table('rpc_requests')
