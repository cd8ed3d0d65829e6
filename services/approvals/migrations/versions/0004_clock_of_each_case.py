"""the clock of each case: what an outstanding 补正 waits for, and the number of its last announcement

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 09:40:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('cases') as batch:
        batch.add_column(sa.Column('awaiting_materials', sa.JSON(), nullable=True))
        batch.add_column(sa.Column('clock_seq', sa.Integer(), server_default='0', nullable=False))
    # the next sweep re-derives every open case (as after a calendar change), and each case not yet
    # announced (clock_seq 0) tells intake its promised deadline then (an installation has the row from
    # its bootstrap's calendar; a new database has neither the row nor cases)
    op.execute("UPDATE calendar_state SET changed = changed + 1 WHERE id = 1")


def downgrade() -> None:
    with op.batch_alter_table('cases') as batch:
        batch.drop_column('clock_seq')
        batch.drop_column('awaiting_materials')
