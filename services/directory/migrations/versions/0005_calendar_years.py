"""calendar years declared complete; the official data's years already loaded count as complete

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 09:40:00.000000
"""
from datetime import UTC, datetime

from alembic import op
import sqlalchemy as sa
import shared.messaging_tables


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    years = op.create_table('calendar_years',
    sa.Column('county_code', sa.String(length=6), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('basis', sa.String(length=16), nullable=False),
    sa.Column('completed_at', shared.messaging_tables.UtcDateTime(timezone=True), nullable=False),
    sa.Column('completed_by', sa.String(length=64), nullable=False),
    sa.Column('completed_by_staff_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['county_code'], ['counties.code'], ),
    sa.PrimaryKeyConstraint('county_code', 'year')
    )
    # a county bootstrapped before this revision loaded whole years from chinesecalendar: those stay loaded
    # (a year with only hand-entered days does not, until an admin declares it complete)
    import chinese_calendar

    library_years = sorted({d.year for d in chinese_calendar.holidays})
    bind = op.get_bind()
    loaded = bind.execute(sa.text(
        "SELECT DISTINCT county_code, day FROM calendar_days WHERE source = 'official'")).all()
    found = sorted({(county, (day if not isinstance(day, str) else datetime.fromisoformat(day)).year)
                    for county, day in loaded})
    now = datetime.now(UTC)
    rows = [{"county_code": county, "year": year, "basis": "official_data", "completed_at": now,
             "completed_by": "chinesecalendar", "completed_by_staff_id": None}
            for county, year in found if year in library_years]
    if rows:
        op.bulk_insert(years, rows)


def downgrade() -> None:
    op.drop_table('calendar_years')
