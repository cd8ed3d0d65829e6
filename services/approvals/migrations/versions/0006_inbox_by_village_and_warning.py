"""the inbox by village and by warning: the applicant's village on each case; the warning day, item, village,
stage and filing time on each waiting row (a township's inbox is filtered and sorted from it alone)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 16:30:00
"""
from alembic import op
import sqlalchemy as sa

from shared.messaging_tables import UtcDateTime


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('cases') as batch:
        batch.add_column(sa.Column('village_code', sa.String(length=12), nullable=True))
    with op.batch_alter_table('waiting') as batch:
        batch.add_column(sa.Column('warn_on', sa.Date(), nullable=True))
        batch.add_column(sa.Column('item_code', sa.String(length=32), nullable=True))
        batch.add_column(sa.Column('village_code', sa.String(length=12), nullable=True))
        batch.add_column(sa.Column('status', sa.String(length=24), nullable=True))
        batch.add_column(sa.Column('filed_at', UtcDateTime(timezone=True), nullable=True))
    # what the inbox filters and orders by, from each waiting row's case (the warning day comes with the
    # case's next change: until then such a case sorts with the rest by its due day)
    op.execute("UPDATE waiting SET item_code = (SELECT item_code FROM cases WHERE cases.application_id = "
               "waiting.application_id), status = (SELECT status FROM cases WHERE cases.application_id = "
               "waiting.application_id), filed_at = (SELECT filed_at FROM cases WHERE cases.application_id = "
               "waiting.application_id)")


def downgrade() -> None:
    with op.batch_alter_table('waiting') as batch:
        for column in ('filed_at', 'status', 'village_code', 'item_code', 'warn_on'):
            batch.drop_column(column)
    with op.batch_alter_table('cases') as batch:
        batch.drop_column('village_code')
