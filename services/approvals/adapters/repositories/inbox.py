"""The staff inbox (待办): who each case waits for now, one row per role, with what the inbox filters and
orders by kept beside it (the case's item, village, status and filing time, the limit's warning and due
day), so that a township's page is counted, sorted and cut from these rows alone, by keyset."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, delete, func, literal, or_, select, tuple_
from sqlalchemy import case as sql_case

from services.approvals.adapters import orm
from shared.contracts import approvals as c
from shared.contracts.caller import Caller, Role
from shared.db import Repository, insert_rows

FAR = date(9999, 12, 31)  # where a case with no clock running sorts, among its tier
InboxKey = tuple[int, date, datetime, str]  # tier, due day (FAR without one), filing time, application id


class Waiting(Repository):
    """Who may act on each case now, and by when."""

    def clear(self, application_id: str) -> None:
        """The case waits for nobody (until `add` says who it waits for now)."""
        self.session.execute(delete(orm.WaitingRow).where(orm.WaitingRow.application_id == application_id))

    def add(self, case: orm.CaseRow, roles: Iterable[Role], *, station_code: str | None, due_on: date | None,
            warn_on: date | None) -> None:
        """The case waits for these roles (at the station, if one is named), by that due day: one plain
        INSERT for them all, with the case's item, village, status and filing time kept beside them."""
        kept = {"item_code": case.item_code, "village_code": case.village_code, "status": case.status,
                "filed_at": case.filed_at}
        insert_rows(self.session, orm.WaitingRow, [
            {"application_id": case.application_id, "role": role.value, "township_code": case.township_code,
             "station_code": station_code, "due_on": due_on, "warn_on": warn_on, **kept} for role in roles])

    def tier_counts(self, caller: Caller, query: c.InboxQuery, today: date) -> dict[int, int]:
        """How many of the caller's waiting cases (as the query filters them) are in each tier."""
        tiers = select(_order(today)[0].label("tier")).where(*_mine(caller, query)).subquery()
        # (PostgreSQL groups by a column)
        return dict(self.session.execute(select(tiers.c.tier, func.count()).group_by(tiers.c.tier)).all())

    def page(self, caller: Caller, query: c.InboxQuery, today: date, *, after: InboxKey | None,
             limit: int) -> list[InboxKey]:
        """Up to `limit` of the caller's waiting cases, in inbox order (`_order`) after the key `after`, each
        as its key in that order."""
        w = orm.WaitingRow
        order = _order(today)
        stmt = select(w.application_id, order[0], w.due_on, w.filed_at).where(*_mine(caller, query))
        if after is not None:
            tier, due, filed_at, application_id = after
            stmt = stmt.where(tuple_(*order) > tuple_(literal(tier), literal(due, Date()),
                                                      literal(filed_at, w.filed_at.type), literal(application_id)))
        return [(tier, due or FAR, filed_at, application_id) for application_id, tier, due, filed_at in
                self.session.execute(stmt.order_by(*order).limit(limit)).all()]


def _mine(caller: Caller, query: c.InboxQuery) -> list[Any]:
    """The caller's role at the caller's township, at their station or at none, as the query filters it."""
    w = orm.WaitingRow
    mine = [w.role == caller.role.value, w.township_code == caller.township_code,
            or_(w.station_code.is_(None), w.station_code == caller.station_code)]
    if query.item_code is not None:
        mine.append(w.item_code == query.item_code)
    if query.status is not None:
        mine.append(w.status == query.status)
    if query.village_code is not None:
        mine.append(w.village_code == query.village_code)
    return mine


def _order(today: date) -> tuple[Any, ...]:
    """overdue (0), warned (1), the rest (2) by the day each is due, then no clock running (3); in filing
    order within a day. All of it on the waiting row: a township's inbox is sorted without reading a case."""
    w = orm.WaitingRow
    tier = sql_case((w.due_on < today, 0), (w.warn_on <= today, 1), (w.due_on.is_(None), 3), else_=2)
    return tier, func.coalesce(w.due_on, FAR), w.filed_at, w.application_id
