"""the directory's stations read model (the station a complaint names)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 09:45:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('rm_stations',
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('township_code', sa.String(length=9), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('code')
    )


def downgrade() -> None:
    op.drop_table('rm_stations')
