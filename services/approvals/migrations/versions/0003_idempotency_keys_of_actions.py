"""idempotency keys of actions

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 03:05:00
"""
from alembic import op
import sqlalchemy as sa
import shared.messaging_tables


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('idempotency_keys',
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=128), nullable=False),
    sa.Column('request_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', shared.messaging_tables.UtcDateTime(timezone=True), nullable=False),
    sa.Column('application_id', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['application_id'], ['cases.application_id'], ),
    sa.PrimaryKeyConstraint('staff_id', 'key')
    )


def downgrade() -> None:
    op.drop_table('idempotency_keys')
