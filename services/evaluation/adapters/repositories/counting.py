"""What counting writes and figures read: the event log (each event once), the applications followed from
their events, the facts (each record once per metric), the daily totals per unit and which township each
unit counts under. Every filing passes through here, so the speed-ups stay as they were: the log and the
facts are each one INSERT … ON CONFLICT DO NOTHING RETURNING, an application is held (one upsert that
locks and returns it), the daily totals are gathered over the transaction and written as one upsert just
before the commit, and a unit's township is inserted once and then read through the process's copies."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, func, select, text

from services.evaluation.adapters import orm
from shared.contracts import evaluation as c
from shared.contracts.caller import Caller
from shared.db import Repository, UnitOfWork, insert_new, insert_or_add, insert_or_ignore, within_scope
from shared.divisions import township_range


class EventLog(Repository):
    """Every event evaluation counted, as it came: the history a rebuild replays."""

    def add(self, *, event_id: str, source: str, event_type: str, occurred_at: datetime,
            payload: dict[str, Any]) -> bool:
        """Log an event; False when its id is in the log already (one statement: a racing copy of the same
        event waits for the first, then finds it)."""
        return insert_new(self.session, orm.EventLogRow, event_id=event_id, source=source, event_type=event_type,
                          occurred_at=occurred_at, payload=payload)

    def in_order(self, batch: int) -> Iterator[list[orm.EventLogRow]]:
        """The log in the order it arrived, `batch` events at a time; each chunk's rows are let go of before
        the next is read (a whole log is not held in memory)."""
        last = 0
        while True:
            rows = list(self.session.execute(select(orm.EventLogRow).where(orm.EventLogRow.seq > last)
                                             .order_by(orm.EventLogRow.seq).limit(batch)).scalars())
            if not rows:
                return
            last = rows[-1].seq
            yield rows
            self.session.expunge_all()

    def forget_what_was_counted(self) -> None:
        """Delete every figure and what was learnt from the log (daily totals, facts, units' townships, the
        applications followed), keeping the log. On PostgreSQL the tables are locked first: events arriving
        meanwhile wait, then count on top of the rebuild."""
        if self.session.bind.dialect.name == "postgresql":
            self.session.execute(text("LOCK TABLE event_log, facts, daily_totals, unit_townships, applications "
                                      "IN EXCLUSIVE MODE"))
        for model in (orm.DailyTotal, orm.FactRow, orm.UnitTownship, orm.ApplicationRow):
            self.session.execute(delete(model))


class Applications(Repository):
    """What evaluation knows of each application, learnt from its events in whatever order they come."""

    def hold(self, app_id: str, **first: Any) -> orm.ApplicationRow:
        """The application, inserted as `first` when this is its first event, locked until the commit (two
        of its events counted at once take turns)."""
        return self.uow.hold(orm.ApplicationRow, app_id, **{**first, "id": app_id})


UNIT_COLUMNS = {c.Level.STAFF: orm.FactRow.staff_id, c.Level.STATION: orm.FactRow.station_code,
                c.Level.VILLAGE: orm.FactRow.village_code, c.Level.TOWNSHIP: orm.FactRow.township_code}


class Facts(Repository):
    """One record counted under one metric: what every figure drills down to."""

    def add(self, *, metric: str, ref: str, day: date, township_code: str, station_code: str | None,
            village_code: str | None, staff_id: int | None, value: float) -> bool:
        """Count a record under a metric; False when it was counted already (one statement)."""
        return insert_new(self.session, orm.FactRow, metric=metric, ref=ref, day=day, township_code=township_code,
                          station_code=station_code, village_code=village_code, staff_id=staff_id, value=value)

    def behind(self, metric: c.Metric, level: c.Level, unit: str, start: date, end: date, *, limit: int,
               offset: int) -> list[orm.FactRow]:
        """The records under a metric of a unit (for the county, of its townships) over a period, by day and
        reference, a page at a time."""
        r = orm.FactRow
        stmt = select(r).where(r.metric == metric.value, r.day >= start, r.day <= end)
        if level is c.Level.COUNTY:
            first, last = township_range(unit)
            stmt = stmt.where(r.township_code.between(first, last))
        else:
            stmt = stmt.where(UNIT_COLUMNS[level] == (int(unit) if level is c.Level.STAFF else unit))
        return list(self.session.execute(stmt.order_by(r.day, r.ref).limit(limit).offset(offset)).scalars())


class DailyTotals(Repository):
    """The sum and number of facts per unit, metric and day, which figures are summed from."""

    def add(self, metric: str, day: date, units: list[tuple[c.Level, str]], value: float) -> None:
        """Add a fact to the daily totals of every unit it belongs to: gathered over the transaction, summed
        per row, and written as one upsert just before the commit (`_write`)."""
        totals = self.uow.gathered("daily_totals", _write)
        for level, unit in units:
            key = (level.value, unit, metric, day)
            total, records = totals.get(key, (0, 0))
            totals[key] = (total + value, records + 1)

    def sums(self, level: c.Level, units: list[str], start: date, end: date) -> dict[str, dict[c.Metric, float]]:
        """Every metric's total for each unit over a period (0 where nothing was counted): one grouped query."""
        t = orm.DailyTotal
        sums: dict[str, dict[c.Metric, float]] = {unit: dict.fromkeys(c.Metric, 0.0) for unit in units}
        if units:
            for unit, metric, total in self.session.execute(
                    select(t.unit, t.metric, func.sum(t.total)).where(
                        t.level == level.value, t.unit.in_(units), t.day >= start, t.day <= end)
                    .group_by(t.unit, t.metric)):
                sums[unit][c.Metric(metric)] = float(total)
        return sums

    def of_township(self, township_code: str, metrics: list[c.Metric], start: date,
                    end: date) -> list[tuple[date, c.Metric, float]]:
        """A township's daily totals of some metrics over a period, day by day."""
        t = orm.DailyTotal
        return [(day, c.Metric(metric), total) for day, metric, total in self.session.execute(
            select(t.day, t.metric, t.total).where(
                t.level == c.Level.TOWNSHIP.value, t.unit == township_code, t.metric.in_([m.value for m in metrics]),
                t.day >= start, t.day <= end))]


def _write(uow: UnitOfWork, totals: dict[tuple[str, str, str, date], tuple[float, int]]) -> None:
    """One upsert adding what the transaction counted to each daily total, in key order (two transactions
    adding to the same rows lock them in the same order)."""
    insert_or_add(uow.session, orm.DailyTotal, [
        {"level": level, "unit": unit, "metric": metric, "day": day, "total": total, "records": records}
        for (level, unit, metric, day), (total, records) in sorted(totals.items())],
        key=["level", "unit", "metric", "day"], summed=["total", "records"])


class UnitTownships(Repository):
    """Which township a staff member, station or village counted under (for scope checks and rankings)."""

    def learn(self, units: list[tuple[c.Level, str]], township_code: str) -> None:
        """Note the township of units not known yet. Written once and read through the process's copy
        cache: a busy station's facts find it there instead of inserting it again and again."""
        unknown = [{"level": level.value, "unit": unit, "township_code": township_code}
                   for level, unit in units
                   if level is not c.Level.COUNTY and self.uow.copy(orm.UnitTownship, (level.value, unit)) is None]
        if unknown:
            insert_or_ignore(self.session, orm.UnitTownship, unknown)

    def township_of(self, level: c.Level, unit: str | None) -> str | None:
        u = orm.UnitTownship
        return self.session.execute(select(u.township_code).where(u.level == level.value, u.unit == unit)
                                    ).scalar_one_or_none()

    def of_level(self, level: c.Level, township_code: str | None, within: Caller | None) -> dict[str, str]:
        """Each unit of a level and its township, by unit: in one township, or all those `within` the
        caller's reach."""
        u = orm.UnitTownship
        stmt = select(u.unit, u.township_code).where(u.level == level.value).order_by(u.unit)
        if within is not None:
            stmt = stmt.where(*within_scope(within, u.township_code))
        if township_code:
            stmt = stmt.where(u.township_code == township_code)
        return dict(self.session.execute(stmt).all())
