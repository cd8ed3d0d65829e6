"""approvals' clock of each application: the pause, what it waits for, the lateness at completion

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 09:45:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('applications') as batch:
        batch.add_column(sa.Column('clock_seq', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('paused_on', sa.Date(), nullable=True))
        batch.add_column(sa.Column('awaiting_materials', sa.JSON(), nullable=True))
        batch.add_column(sa.Column('days_late', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('applications') as batch:
        batch.drop_column('days_late')
        batch.drop_column('awaiting_materials')
        batch.drop_column('paused_on')
        batch.drop_column('clock_seq')
