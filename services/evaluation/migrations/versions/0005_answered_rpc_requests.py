"""Answered RPC requests: a write's request id kept with the write, so a redelivered request is answered
with its first result instead of being applied again (shared/answered.py). Expand only: a new table.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 08:30:00
"""
from alembic import op

from shared.messaging_tables import create_rpc_requests_table, drop_rpc_requests_table


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_rpc_requests_table(op)


def downgrade() -> None:
    drop_rpc_requests_table(op)
