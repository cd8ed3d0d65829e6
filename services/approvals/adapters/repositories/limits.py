"""The running limits of cases (one deadline row each, swept by the timer) and the 督办 notices and 责任追究
records of late ones. The sweep reads only rows whose warning or due day has come (two indexes) and claims
each with a conditional UPDATE, so two instances or a restart never say anything twice."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import or_, select, update

from services.approvals.adapters import orm
from shared.contracts.caller import Caller, Role
from shared.db import Repository, insert_rows, within_scope

Limit = tuple[str, str | None, date]  # kind, step, the day its clock started: one limit of one case


class Deadlines(Repository):
    """One row per running limit of a case: its warning day, its due day, and whether each was acted on."""

    def of_case(self, application_id: str, *, in_order: bool = False) -> list[orm.DeadlineRow]:
        """The case's limits (`in_order`: as they were set, for the case's history)."""
        d = orm.DeadlineRow
        stmt = select(d).where(d.application_id == application_id)
        return list(self.session.execute(stmt.order_by(d.id) if in_order else stmt).scalars())

    def add(self, application_id: str, limits: dict[Limit, tuple[date, date]]) -> None:
        """New limits of the case, each with its warning day and due day: one plain INSERT for them all."""
        insert_rows(self.session, orm.DeadlineRow, [
            {"application_id": application_id, "kind": kind, "step_name": step, "started_on": started,
             "warn_on": warn, "due_on": due} for (kind, step, started), (warn, due) in limits.items()])

    def drop(self, deadline: orm.DeadlineRow) -> None:
        """A limit whose days changed, or that no longer runs (and never went overdue)."""
        self.session.delete(deadline)

    def get(self, deadline_id: int) -> orm.DeadlineRow | None:
        return self.session.get(orm.DeadlineRow, deadline_id)

    def to_warn(self, today: date, limit: int) -> list[tuple[int, str]]:
        """(deadline, case) of limits not warned about whose warning day has come and whose due day has not
        passed (a limit already past gets its overdue notice instead), earliest warning day first."""
        d = orm.DeadlineRow
        return [tuple(r) for r in self.session.execute(
            select(d.id, d.application_id).where(d.warned_at.is_(None), d.warn_on <= today, d.due_on >= today)
            .order_by(d.warn_on).limit(limit)).all()]

    def to_notice(self, today: date, limit: int) -> list[tuple[int, str]]:
        """(deadline, case) of limits past their due day with no overdue notice yet, earliest first."""
        d = orm.DeadlineRow
        return [tuple(r) for r in self.session.execute(
            select(d.id, d.application_id).where(d.overdue_at.is_(None), d.due_on < today)
            .order_by(d.due_on).limit(limit)).all()]

    def claim_warning(self, deadline_id: int, now: datetime) -> bool:
        """Mark the limit warned about, if nobody did: True for the one sweep that did (False rolls back)."""
        d = orm.DeadlineRow
        return self.uow.claim(update(d).where(d.id == deadline_id, d.warned_at.is_(None)).values(warned_at=now))

    def claim_notice(self, deadline_id: int, now: datetime) -> bool:
        """Mark the limit overdue, if nobody did: True for the one sweep that did (False rolls back)."""
        d = orm.DeadlineRow
        return self.uow.claim(update(d).where(d.id == deadline_id, d.overdue_at.is_(None)).values(overdue_at=now))


class Notices(Repository):
    """督办 supervision notices and 责任追究 accountability records, one of each per late limit."""

    def add(self, notice: orm.NoticeRow) -> None:
        self.session.add(notice)

    def close_supervision(self, deadline_ids: list[int], now: datetime) -> None:
        """The open 督办 of these limits closed: they stopped running (the step done, the case closed)."""
        n = orm.NoticeRow
        self.session.execute(update(n).where(n.deadline_id.in_(deadline_ids), n.kind == "supervision",
                                             n.closed_at.is_(None)).values(closed_at=now))

    def listed(self, caller: Caller, *, kind: str, limit: int, offset: int, township_code: str | None = None,
               open_only: bool = False) -> list[orm.NoticeRow]:
        """Newest first: a county role's within its county, a supervisor's of the township, anyone else's
        only those naming them; `township_code` narrows them to one township, `open_only` to 督办 not closed."""
        n = orm.NoticeRow
        stmt = select(n).where(n.kind == kind)
        if township_code is not None:
            stmt = stmt.where(n.township_code == township_code)
        stmt = stmt.where(*within_scope(caller, n.township_code))
        if not caller.is_county:
            stmt = stmt.where(n.township_code == caller.township_code)
            if caller.role is not Role.SUPERVISOR:
                stmt = stmt.where(or_(n.responsible_staff_id == caller.staff_id,
                                      n.accountable_staff_id == caller.staff_id))
        if open_only:
            stmt = stmt.where(n.closed_at.is_(None))
        stmt = stmt.order_by(n.recorded_at.desc(), n.id.desc()).limit(limit).offset(offset)
        return list(self.session.execute(stmt).scalars())
