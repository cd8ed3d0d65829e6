"""督办 open or closed: a supervision notice is closed when its late limit stops running (the step done, the
case closed). Notices issued before are closed here where their case is closed, or, for a step's limit,
where the case is past review or at a step entered on another day than the limit started.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 19:40:00
"""
from alembic import op
import sqlalchemy as sa

from shared.messaging_tables import UtcDateTime


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

OPEN = "('pending_acceptance', 'in_review', 'awaiting_supplement', 'ready_to_complete')"
STEP_RUNNING = "('pending_acceptance', 'in_review', 'awaiting_supplement')"


def upgrade() -> None:
    with op.batch_alter_table('notices') as batch:
        batch.add_column(sa.Column('closed_at', UtcDateTime(timezone=True), nullable=True))
    op.execute(
        "UPDATE notices SET closed_at = (SELECT updated_at FROM cases WHERE cases.application_id = "
        "notices.application_id) WHERE kind = 'supervision' AND closed_at IS NULL AND ("
        f"application_id IN (SELECT application_id FROM cases WHERE status NOT IN {OPEN}) OR "
        "(deadline_kind = 'step' AND deadline_id IN (SELECT deadlines.id FROM deadlines JOIN cases ON "
        "cases.application_id = deadlines.application_id WHERE cases.status NOT IN " + STEP_RUNNING + " OR "
        "deadlines.started_on <> COALESCE(cases.step_entered_on, cases.received_on))))")


def downgrade() -> None:
    with op.batch_alter_table('notices') as batch:
        batch.drop_column('closed_at')
