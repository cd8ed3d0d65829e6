"""revoke the station keys of staff disabled, moved or no longer in a station role

A key follows its staff member's account as a token does: disabling them (or moving them off the key's
station or out of the station roles) revokes it for good. Keys of staff in that state before the rule
was kept are revoked here, so enabling such an account again does not bring its old keys back.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 10:00:00.000000
"""
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import shared.messaging_tables

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

STATION_ROLES = ("village_agent", "village_committee", "graduate_official")


def upgrade() -> None:
    keys = sa.table("station_keys", sa.column("staff_id", sa.Integer), sa.column("station_code", sa.String),
                    sa.column("revoked_at", shared.messaging_tables.UtcDateTime(timezone=True)))
    staff = sa.table("staff", sa.column("id", sa.Integer), sa.column("active", sa.Boolean),
                     sa.column("station_code", sa.String), sa.column("role", sa.String))
    no_longer = sa.exists().where(staff.c.id == keys.c.staff_id, sa.or_(
        staff.c.active == sa.false(), staff.c.station_code.is_(None), staff.c.station_code != keys.c.station_code,
        staff.c.role.not_in(STATION_ROLES)))
    op.execute(keys.update().where(keys.c.revoked_at.is_(None), no_longer).values(revoked_at=datetime.now(UTC)))


def downgrade() -> None:
    pass  # a revoked key stays revoked
