"""Visits 下访: campaigns 专题, the series periodic and fixed-point visits are generated from, the visits
themselves, and the cadres on each."""
from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from services.scheduling.adapters import orm
from services.scheduling.adapters.repositories.occasions import Occasions
from shared.contracts.caller import Caller
from shared.db import Repository, within_scope


class Campaigns(Repository):
    def add(self, campaign: orm.Campaign) -> None:
        self.session.add(campaign)

    def get(self, campaign_id: int) -> orm.Campaign | None:
        return self.session.get(orm.Campaign, campaign_id)

    def visible_to(self, scope: Caller, limit: int = 200) -> list[orm.Campaign]:
        """The campaigns within the caller's reach, latest first."""
        c = orm.Campaign
        stmt = select(c).order_by(c.first_day.desc(), c.id.desc()).where(*within_scope(scope, c.township_code))
        return list(self.session.execute(stmt.limit(limit)).scalars())


class VisitSeriesBook(Repository):
    """The series of periodic 定期 and fixed-point 定点 visits."""

    def add(self, series: orm.VisitSeries) -> None:
        """Keep a new series, at once (its visits name it)."""
        self.session.add(series)
        self.session.flush()

    def get(self, series_id: int) -> orm.VisitSeries | None:
        return self.session.get(orm.VisitSeries, series_id)


class Visits(Occasions):
    """Visits of the five kinds, `planned` while going ahead."""

    model = orm.Visit
    open_status = "planned"

    def add(self, visit: orm.Visit) -> None:
        """Keep a new visit, at once (its cadres and slots name it)."""
        self.session.add(visit)
        self.session.flush()

    def of_series(self, series_id: int, *, since: date | None = None) -> list[orm.Visit]:
        """A series' visits (from a day on), by day."""
        v = orm.Visit
        stmt = select(v).where(v.series_id == series_id)
        if since is not None:
            stmt = stmt.where(v.day >= since)
        return list(self.session.execute(stmt.order_by(v.day)).scalars())

    def listed(self, scope: Caller, first: date, last: date, *, kind: str | None = None,
               township_code: str | None = None, village_code: str | None = None, campaign_id: int | None = None,
               staff_id: int | None = None, limit: int) -> list[orm.Visit]:
        """The visits between two days within the caller's reach, narrowed to a kind, township, village,
        campaign or a cadre on them, in the order they start, at most `limit`."""
        v = orm.Visit
        stmt = select(v).where(v.day >= first, v.day <= last)
        stmt = stmt.where(*within_scope(scope, v.township_code))
        if kind is not None:
            stmt = stmt.where(v.kind == kind)
        if township_code:
            stmt = stmt.where(v.township_code == township_code)
        if village_code:
            stmt = stmt.where(v.village_code == village_code)
        if campaign_id:
            stmt = stmt.where(v.campaign_id == campaign_id)
        if staff_id:
            stmt = stmt.where(v.id.in_(select(orm.VisitMember.visit_id).where(orm.VisitMember.staff_id == staff_id)))
        return list(self.session.execute(stmt.order_by(v.starts_at, v.id).limit(limit)).scalars())

    def planned_in(self, township_code: str, first: date, last: date) -> list[orm.Visit]:
        """A township's planned visits between two days: the visits of the public calendar."""
        v = orm.Visit
        return list(self.session.execute(select(v).where(
            v.township_code == township_code, v.status == "planned", v.day >= first, v.day <= last)).scalars())

    def not_cancelled_per_township(self, day: date) -> dict[str, int]:
        """How many visits happen on a day (planned, reported or waiting for a decision), per township."""
        v = orm.Visit
        return dict(self.session.execute(select(v.township_code, func.count()).where(
            v.day == day, v.status != "cancelled").group_by(v.township_code)).all())


class VisitMembers(Repository):
    """The cadres on each visit (with their department on a joint visit), and whether they went."""

    def of_visit(self, visit_id: str) -> list[orm.VisitMember]:
        """A visit's cadres, by department and staff id."""
        m = orm.VisitMember
        return list(self.session.execute(select(m).where(m.visit_id == visit_id)
                                         .order_by(m.department, m.staff_id)).scalars())

    def of_visits(self, visit_ids: list[str]) -> dict[str, list[orm.VisitMember]]:
        """The cadres of some visits (by department and staff id), by visit; a visit with none is absent."""
        m = orm.VisitMember
        members: dict[str, list[orm.VisitMember]] = {}
        if visit_ids:
            for member in self.session.execute(select(m).where(m.visit_id.in_(visit_ids))
                                               .order_by(m.department, m.staff_id)).scalars():
                members.setdefault(member.visit_id, []).append(member)
        return members

    def add(self, member: orm.VisitMember) -> None:
        """Put a cadre on a visit, at once (the next check of their day sees it)."""
        self.session.add(member)
        self.session.flush()

    def remove(self, members: list[orm.VisitMember]) -> None:
        """Take cadres off a visit, at once (their time is free for whom comes next)."""
        for member in members:
            self.session.delete(member)
        self.session.flush()
