"""the directory's staff read model (who a service activity names)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 09:40:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('rm_staff',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('township_code', sa.String(length=9), nullable=True),
    sa.Column('station_code', sa.String(length=32), nullable=True),
    sa.Column('role', sa.String(length=24), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )


def downgrade() -> None:
    op.drop_table('rm_staff')
