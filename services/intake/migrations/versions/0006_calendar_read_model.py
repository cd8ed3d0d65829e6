"""the directory's working-day calendar read model (the promised deadline on the receipt, from filing)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 10:50:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('rm_calendar_days',
    sa.Column('county_code', sa.String(length=6), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.PrimaryKeyConstraint('county_code', 'day')
    )


def downgrade() -> None:
    op.drop_table('rm_calendar_days')
