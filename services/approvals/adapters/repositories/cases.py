"""Approval cases and their append-only audit trail. A new case goes in as one plain INSERT of a statement
built once, never through the ORM's flush (40 % of a new case's handler when it did); a case acted on is
locked first, the order every action, the sweep and the re-derivation take."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from sqlalchemy import case as sql_case
from sqlalchemy import func, or_, select

from services.approvals.adapters import orm
from services.approvals.domain.case import OPEN_STATUSES
from shared.contracts.caller import Caller
from shared.db import Repository, insert_rows, values_of, within_scope

OPEN = sorted(s.value for s in OPEN_STATUSES)


class Cases(Repository):
    """One case per filed application that waits for 受理, with its running limits' due days."""

    def add(self, row: orm.CaseRow) -> None:
        """A new case, never added to the session: one INSERT now (its limits and inbox rows follow it)."""
        insert_rows(self.session, orm.CaseRow, [values_of(row)])

    def save(self, row: orm.CaseRow) -> None:
        """A loaded case's changes, written now: its limits and inbox rows are replaced next, by statements of
        their own."""
        self.session.flush()

    def held(self, ref: str) -> orm.CaseRow | None:
        """The case a receipt number (with a `-`) or an application id names, locked for the rest of the
        transaction: one action (or re-derivation) at a time per case."""
        column = orm.CaseRow.receipt_no if "-" in ref else orm.CaseRow.application_id
        return self.session.execute(select(orm.CaseRow).where(column == ref).with_for_update()).scalar_one_or_none()

    def held_by_id(self, application_id: str) -> orm.CaseRow | None:
        """The application's case, locked (the sweep takes it before the deadline it claims)."""
        return self.session.execute(select(orm.CaseRow).where(orm.CaseRow.application_id == application_id)
                                    .with_for_update()).scalar_one_or_none()

    def open_held(self) -> list[orm.CaseRow]:
        """Every open case, locked in application order (a calendar change re-derives them all)."""
        return list(self.session.execute(select(orm.CaseRow).where(orm.CaseRow.status.in_(OPEN))
                                         .order_by(orm.CaseRow.application_id).with_for_update()).scalars())

    def by_ids(self, application_ids: Iterable[str]) -> dict[str, orm.CaseRow]:
        """The cases of these applications, by application id (none asked: nothing read)."""
        ids = list(application_ids)
        if not ids:
            return {}
        r = orm.CaseRow
        return {row.application_id: row for row in self.session.execute(
            select(r).where(r.application_id.in_(ids))).scalars()}

    def count_by_status(self, caller: Caller, township_code: str | None) -> dict[str, int]:
        """How many cases are in each status, within the caller's reach (and the township, if one is named)."""
        stmt = select(orm.CaseRow.status, func.count()).group_by(orm.CaseRow.status) \
            .where(*within_scope(caller, orm.CaseRow.township_code))
        if township_code is not None:
            stmt = stmt.where(orm.CaseRow.township_code == township_code)
        return {status: n for status, n in self.session.execute(stmt).all()}

    def open_per_township(self, today: date) -> dict[str, tuple[int, int]]:
        """Per township, its open cases and how many of them are past a limit today (one grouped count)."""
        r = orm.CaseRow
        overdue = sql_case((or_(r.overall_due < today, r.step_due < today), 1), else_=0)
        rows = self.session.execute(select(r.township_code, func.count(), func.sum(overdue))
                                    .where(r.status.in_(OPEN)).group_by(r.township_code)).all()
        return {township: (open_count, overdue_count or 0) for township, open_count, overdue_count in rows}

    def warned_per_township(self) -> dict[str, int]:
        """Per township, the open cases with a limit warned about and not yet overdue."""
        r, d = orm.CaseRow, orm.DeadlineRow
        return dict(self.session.execute(
            select(r.township_code, func.count(func.distinct(r.application_id)))
            .join(d, d.application_id == r.application_id)
            .where(r.status.in_(OPEN), d.warned_at.is_not(None), d.overdue_at.is_(None))
            .group_by(r.township_code)).all())


class AuditTrail(Repository):
    """What was done to each case, by whom and when: rows are added, never changed."""

    def add(self, entry: orm.AuditRow) -> None:
        self.session.add(entry)

    def of(self, application_id: str) -> list[orm.AuditRow]:
        """The case's entries in the order they were made."""
        a = orm.AuditRow
        return list(self.session.execute(select(a).where(a.application_id == application_id).order_by(a.id))
                    .scalars())
