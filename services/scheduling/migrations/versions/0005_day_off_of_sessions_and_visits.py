"""the day off that reached a session or visit, whether it may be restored; visit status fits needs_decision

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 10:00:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ('sessions', 'visits'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('day_off', sa.String(length=100), nullable=True))
            batch_op.add_column(sa.Column('restorable', sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table('visits', schema=None) as batch_op:
        batch_op.alter_column('status', existing_type=sa.String(length=12), type_=sa.String(length=16),
                              existing_nullable=False)


def downgrade() -> None:
    with op.batch_alter_table('visits', schema=None) as batch_op:
        batch_op.alter_column('status', existing_type=sa.String(length=16), type_=sa.String(length=12),
                              existing_nullable=False)
    for table in ('visits', 'sessions'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('restorable')
            batch_op.drop_column('day_off')
