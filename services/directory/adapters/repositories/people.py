"""The people of the directory and what they hold: staff accounts, the station keys acting for them, the
sessions they signed out of, and the audit log of what they did."""
from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select

from services.directory.adapters import orm
from services.directory.adapters.repositories.records import Records, TownshipRecords
from shared.contracts import directory as c
from shared.db import Repository, insert_or_ignore


class StaffMembers(TownshipRecords):
    model = orm.Staff

    def with_username(self, username: str) -> orm.Staff | None:
        return self.session.execute(select(orm.Staff).where(orm.Staff.username == username)).scalars().first()

    def username_taken(self, username: str) -> bool:
        return self.session.execute(select(orm.Staff.id).where(orm.Staff.username == username)).first() is not None

    def of_county(self, county_code: str, page: c.Page) -> list[orm.Staff]:
        """A page of a county's staff, its county admins among them, by id."""
        return self._page(select(orm.Staff).where(orm.Staff.county_code == county_code), page)

    def counties_of(self, staff_ids: Collection[int]) -> dict[int, str | None]:
        """The county each of these staff members belongs to (those that exist), in one read."""
        if not staff_ids:
            return {}
        rows = self.session.execute(select(orm.Staff.id, orm.Staff.county_code).where(orm.Staff.id.in_(staff_ids)))
        return {staff_id: county for staff_id, county in rows.all()}


class StationKeys(Records[orm.StationKey]):
    model = orm.StationKey

    def of_station(self, station_code: str) -> list[orm.StationKey]:
        """A station's keys, revoked ones too, oldest first."""
        query = select(orm.StationKey).where(orm.StationKey.station_code == station_code).order_by(orm.StationKey.id)
        return list(self.session.execute(query).scalars())

    def acting_for(self, staff_id: int) -> list[orm.StationKey]:
        """The keys acting for a staff member that are not revoked."""
        query = select(orm.StationKey).where(orm.StationKey.staff_id == staff_id, orm.StationKey.revoked_at.is_(None))
        return list(self.session.execute(query).scalars())


class EndedSessions(Repository):
    """Tokens signed out of before they expire."""

    def end(self, jti: str, staff_id: int, expires_at: datetime) -> None:
        """Refuse a token from now on (signing out twice ends it once)."""
        insert_or_ignore(self.session, orm.EndedSession, jti=jti, staff_id=staff_id, expires_at=expires_at)

    def clear_expired(self, now: datetime) -> None:
        """Forget the tokens that have expired anyway."""
        self.session.execute(delete(orm.EndedSession).where(orm.EndedSession.expires_at < now))

    def ended(self, jti: str) -> bool:
        return self.session.get(orm.EndedSession, jti) is not None


class AuditLog(Repository):
    """The append-only audit log."""

    def keep(self, entries: list[dict[str, Any]]) -> None:
        """Store each entry once: one already stored (a redelivery, with the same id) is left as it is."""
        insert_or_ignore(self.session, orm.AuditRow, entries)

    def newest(self, query: c.AuditQuery) -> list[orm.AuditRow]:
        """The entries the query asks for, of the whole installation, newest first."""
        return self._newest(query)

    def newest_of_county(self, county_code: str | None, query: c.AuditQuery) -> list[orm.AuditRow]:
        """The entries the query asks for, of what the people of one county did, newest first."""
        return self._newest(query, orm.AuditRow.county_code == county_code)

    def _newest(self, query: c.AuditQuery, *scope: Any) -> list[orm.AuditRow]:
        a = orm.AuditRow
        q = select(a).where(*scope)
        for column, value in ((a.staff_id, query.staff_id), (a.username, query.username),
                              (a.correlation_id, query.correlation_id), (a.township_code, query.township_code),
                              (a.action, query.action), (a.personal_data, query.personal_data)):
            if value is not None:
                q = q.where(column == value)
        if query.failed is not None:
            q = q.where(a.outcome >= 400 if query.failed else a.outcome < 400)
        if query.since is not None:
            q = q.where(a.at >= query.since)
        if query.until is not None:
            q = q.where(a.at < query.until)
        if query.before is not None:  # the next page: entries older than the last one shown
            q = q.where(a.seq < query.before)
        return list(self.session.execute(q.order_by(a.seq.desc()).limit(query.limit)).scalars())
