"""figures per county: the county level's daily totals under each county's code, summed from the facts
(expand only: rows are added; the previous release's single "county" unit stays and keeps counting)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04 08:00:00.000000
"""
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # a fact counts for its township's county: the first six digits of the township code
    op.execute("INSERT INTO daily_totals (level, unit, metric, day, total, records) "
               "SELECT 'county', substr(township_code, 1, 6), metric, day, sum(value), count(*) FROM facts "
               "WHERE length(township_code) = 9 GROUP BY substr(township_code, 1, 6), metric, day")


def downgrade() -> None:
    op.execute("DELETE FROM daily_totals WHERE level = 'county' AND unit <> 'county'")
