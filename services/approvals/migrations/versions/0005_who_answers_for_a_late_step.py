"""who answers for a late step: the directory's staff, and why each record names its person

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 10:00:00
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
    with op.batch_alter_table('rm_staff') as batch:
        batch.create_index('ix_rm_staff_township_role', ['township_code', 'role', 'id'], unique=False)
    with op.batch_alter_table('notices') as batch:
        batch.add_column(sa.Column('responsible_basis', sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('notices') as batch:
        batch.drop_column('responsible_basis')
    with op.batch_alter_table('rm_staff') as batch:
        batch.drop_index('ix_rm_staff_township_role')
    op.drop_table('rm_staff')
