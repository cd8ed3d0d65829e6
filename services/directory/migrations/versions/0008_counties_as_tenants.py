"""many counties on one installation: a county admin's county on its staff row, and the county of each
audit entry (expand only: nullable columns and indexes; the previous release ignores them)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 08:00:00.000000
"""
import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.add_column(sa.Column('county_code', sa.String(length=6), nullable=True))
        batch_op.create_index(batch_op.f('ix_staff_county_code'), ['county_code'], unique=False)
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.add_column(sa.Column('county_code', sa.String(length=6), nullable=True))
        batch_op.create_index(batch_op.f('ix_audit_log_county_code'), ['county_code'], unique=False)
    # a township's staff belong to its county; the county admins of a one-county installation to that county.
    # The audit log is append-only (its triggers refuse UPDATE): its older entries keep no county and only
    # the system administrator reads them.
    op.execute("UPDATE staff SET county_code = substr(township_code, 1, 6) WHERE township_code IS NOT NULL")
    op.execute("UPDATE staff SET county_code = (SELECT min(code) FROM counties) "
               "WHERE township_code IS NULL AND role = 'county_admin' AND (SELECT count(*) FROM counties) = 1")


def downgrade() -> None:
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_log_county_code'))
        batch_op.drop_column('county_code')
    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_staff_county_code'))
        batch_op.drop_column('county_code')
