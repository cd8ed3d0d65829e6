"""Market-day sessions 便民服务岗, their rosters, and what a cadre is committed to: the sessions and visits
they are due at, their leave, and the lock on their day that assignments take turns on."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select, update

from services.scheduling.adapters import orm
from services.scheduling.adapters.repositories.occasions import Occasions
from services.scheduling.domain.rosters import Leave, Slot
from shared.contracts.caller import Caller
from shared.db import Repository, insert_or_ignore, within_scope


class Sessions(Occasions):
    """Market-day sessions: one per site and market day, `scheduled` while going ahead."""

    model = orm.Session
    open_status = "scheduled"

    def add(self, session: orm.Session) -> None:
        self.session.add(session)

    def at_site(self, site_code: str, first: date, last: date) -> list[orm.Session]:
        """A site's sessions between two days, whatever their status."""
        s = orm.Session
        return list(self.session.execute(select(s).where(s.site_code == site_code, s.day >= first,
                                                         s.day <= last)).scalars())

    def listed(self, scope: Caller, first: date, last: date, *, site_code: str | None = None,
               township_code: str | None = None, limit: int) -> list[orm.Session]:
        """The sessions between two days within the caller's reach (of a site, of a township), by day
        and site, at most `limit`."""
        s = orm.Session
        stmt = select(s).where(s.day >= first, s.day <= last)
        if site_code:
            stmt = stmt.where(s.site_code == site_code)
        if township_code:
            stmt = stmt.where(s.township_code == township_code)
        stmt = stmt.where(*within_scope(scope, s.township_code))
        return list(self.session.execute(stmt.order_by(s.day, s.site_code).limit(limit)).scalars())

    def to_roster(self, scope: Caller, first: date, last: date, *, site_code: str | None = None,
                  township_code: str | None = None) -> list[orm.Session]:
        """The scheduled sessions between two days within the caller's reach (of a site, of a township),
        in the order they start: what a rotation fills."""
        s = orm.Session
        stmt = select(s).where(s.status == "scheduled", s.day >= first, s.day <= last,
                               *within_scope(scope, s.township_code))
        if site_code:
            stmt = stmt.where(s.site_code == site_code)
        if township_code is not None:
            stmt = stmt.where(s.township_code == township_code)
        return list(self.session.execute(stmt.order_by(s.starts_at)).scalars())

    def posts(self, township_code: str, first: date, last: date) -> list[Any]:
        """A township's scheduled sessions between two days, each as (session, its site's name, location,
        village): the market-day posts of the public calendar."""
        s, site = orm.Session, orm.MarketSiteCopy
        return list(self.session.execute(
            select(s, site.name, site.location, site.village_code).join(site, site.code == s.site_code)
            .where(s.township_code == township_code, s.status == "scheduled", s.day >= first,
                   s.day <= last)).all())

    def ended_unclosed(self, now: datetime, batch: int) -> list[str]:
        """The ids of sessions that ended and whose attendance is not closed yet (at most `batch`)."""
        s = orm.Session
        return list(self.session.execute(select(s.id).where(s.attendance_closed.is_(False), s.ends_at < now)
                                         .limit(batch)).scalars())

    def close_attendance(self, session_id: str) -> bool:
        """Claim closing a session's attendance: True for the one worker that wins; the others' transaction
        is rolled back."""
        s = orm.Session
        return self.uow.claim(update(s).where(s.id == session_id, s.attendance_closed.is_(False))
                              .values(attendance_closed=True))

    def scheduled_per_township(self, day: date) -> dict[str, int]:
        """How many sessions go ahead on a day, per township."""
        s = orm.Session
        return dict(self.session.execute(select(s.township_code, func.count()).where(
            s.day == day, s.status == "scheduled").group_by(s.township_code)).all())


class Roster(Repository):
    """Who is rostered on which session, and their check-in, check-out and attendance."""

    def get(self, session_id: str, staff_id: int) -> orm.RosterEntry | None:
        return self.session.get(orm.RosterEntry, (session_id, staff_id))

    def of_session(self, session_id: str) -> list[orm.RosterEntry]:
        """A session's roster, by staff id."""
        r = orm.RosterEntry
        return list(self.session.execute(select(r).where(r.session_id == session_id).order_by(r.staff_id)).scalars())

    def of_sessions(self, session_ids: list[str]) -> dict[str, list[orm.RosterEntry]]:
        """The rosters of some sessions (by staff id), by session; a session nobody is on is absent."""
        r = orm.RosterEntry
        rosters: dict[str, list[orm.RosterEntry]] = {}
        if session_ids:
            for entry in self.session.execute(select(r).where(r.session_id.in_(session_ids))
                                              .order_by(r.staff_id)).scalars():
                rosters.setdefault(entry.session_id, []).append(entry)
        return rosters

    def staff_of(self, session_id: str) -> list[int]:
        """The staff ids rostered on a session, in order."""
        r = orm.RosterEntry
        return list(self.session.execute(select(r.staff_id).where(r.session_id == session_id)
                                         .order_by(r.staff_id)).scalars())

    def add(self, entry: orm.RosterEntry) -> None:
        """Put a cadre on a session, at once (the next check of their day sees it)."""
        self.session.add(entry)
        self.session.flush()

    def remove(self, entry: orm.RosterEntry) -> None:
        """Take a cadre off a session, at once (their place is free for whom comes next)."""
        self.session.delete(entry)
        self.session.flush()


class Commitments(Repository):
    """Where cadres are due (rostered sessions and visits that are not cancelled), and the lock on a
    cadre's day that two assignments of them take turns on."""

    def lock_day(self, staff_id: int, day: date) -> None:
        """Serialise assignments of one cadre on one day until this transaction ends (a PostgreSQL row
        lock on the cadre's day, created if absent; SQLite has one writer)."""
        insert_or_ignore(self.session, orm.StaffDay, staff_id=staff_id, day=day)
        self.session.execute(select(orm.StaffDay).where(orm.StaffDay.staff_id == staff_id, orm.StaffDay.day == day)
                             .with_for_update())

    def of_staff(self, staff_ids: list[int], first: date, last: date) -> dict[int, list[Slot]]:
        """Where each cadre is already due between two days (every cadre named has a list, maybe empty)."""
        found: dict[int, list[Slot]] = {s: [] for s in staff_ids}
        r, m, s, v = orm.RosterEntry, orm.VisitMember, orm.Session, orm.Visit
        for staff_id, ref, day, starts_at, ends_at in self.session.execute(
                select(r.staff_id, r.session_id, r.day, r.starts_at, r.ends_at).join(s, s.id == r.session_id)
                .where(r.staff_id.in_(staff_ids), r.day >= first, r.day <= last, s.status != "cancelled")
                .union_all(select(m.staff_id, m.visit_id, m.day, m.starts_at, m.ends_at).join(v, v.id == m.visit_id)
                           .where(m.staff_id.in_(staff_ids), m.day >= first, m.day <= last,
                                  v.status != "cancelled"))):
            found[staff_id].append(Slot(ref=ref, day=day, starts_at=starts_at, ends_at=ends_at))
        return found


class LeaveBook(Repository):
    """Cadres' leave: the days they are away and cannot be rostered."""

    def add(self, row: orm.LeaveRow) -> None:
        self.session.add(row)

    def of_staff(self, staff_ids: list[int], first: date, last: date) -> list[Leave]:
        """The leave of some cadres that touches the days between `first` and `last`."""
        leave = orm.LeaveRow
        rows = self.session.execute(select(leave).where(
            leave.staff_id.in_(staff_ids), leave.last_day >= first, leave.first_day <= last)).scalars()
        return [Leave(r.staff_id, r.first_day, r.last_day) for r in rows]
