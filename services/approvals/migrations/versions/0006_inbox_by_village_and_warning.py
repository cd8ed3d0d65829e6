"""the inbox by village and by warning: the applicant's village on each case, the warning day in the inbox

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 16:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('cases') as batch:
        batch.add_column(sa.Column('village_code', sa.String(length=12), nullable=True))
    with op.batch_alter_table('waiting') as batch:
        batch.add_column(sa.Column('warn_on', sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('waiting') as batch:
        batch.drop_column('warn_on')
    with op.batch_alter_table('cases') as batch:
        batch.drop_column('village_code')
