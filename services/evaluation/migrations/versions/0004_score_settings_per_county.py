"""each county's own score weights (expand only: a nullable column and its unique index; the
installation's row, id 1, stays the default the previous release reads)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04 08:30:00.000000
"""
import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('score_settings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('county_code', sa.String(length=6), nullable=True))
        batch_op.create_unique_constraint('uq_score_settings_county_code', ['county_code'])


def downgrade() -> None:
    with op.batch_alter_table('score_settings', schema=None) as batch_op:
        batch_op.drop_constraint('uq_score_settings_county_code', type_='unique')
        batch_op.drop_column('county_code')
