"""Complaints with their running stage clock, their append-only history, the 督办 notices of late stages,
and the receipt numbers of the day: the lists and counts of the inbox (by time left, inside the caller's
reach), and the sweep's reads and claims on the stage-due indexes."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import case, func, select, update

from services.complaints.adapters import orm
from services.complaints.domain.complaint import MANAGERS, OPEN
from shared.contracts import complaints as c
from shared.contracts.caller import Caller
from shared.db import Repository, within_scope
from shared.receipts import next_sequence

HANDLER_WAITS = [c.ComplaintStatus.ASSIGNED.value, c.ComplaintStatus.SIGNED.value, c.ComplaintStatus.HANDLING.value]
MANAGER_WAITS = [c.ComplaintStatus.REGISTERED.value, c.ComplaintStatus.REPLIED.value]
OPEN_STATUSES = [s.value for s in OPEN]


class Complaints(Repository):
    """Complaints, each with the one stage clock that runs on it."""

    def get(self, complaint_id: str) -> orm.ComplaintRow | None:
        return self.session.get(orm.ComplaintRow, complaint_id)

    def add(self, complaint: orm.ComplaintRow) -> None:
        self.session.add(complaint)

    def by_ref(self, ref: str, *, lock: bool = False) -> orm.ComplaintRow | None:
        """The complaint a receipt number (`…-TS…`) or an id names; with `lock`, held until the transaction
        ends, so that two actions on one complaint take turns instead of one overwriting the other."""
        r = orm.ComplaintRow
        statement = select(r).where((r.receipt_no if "-TS" in ref else r.id) == ref)
        return self.session.execute(statement.with_for_update() if lock else statement).scalar_one_or_none()

    def by_receipt_no(self, receipt_no: str) -> orm.ComplaintRow | None:
        r = orm.ComplaintRow
        return self.session.execute(select(r).where(r.receipt_no == receipt_no)).scalar_one_or_none()

    def phone_of(self, complaint_id: str) -> str | None:
        """The complainant's phone as stored (encrypted); None when anonymous or unknown."""
        r = orm.ComplaintRow
        return self.session.execute(select(r.complainant_phone_enc).where(r.id == complaint_id)).scalar_one_or_none()

    def listed(self, caller: Caller, query: c.ComplaintQuery, today: date,
               after: orm.ComplaintRow | None = None) -> list[orm.ComplaintRow]:
        """One page of the inbox or a list, inside the caller's reach and the query's filters: running clocks
        by due day (overdue first), then those with none; newest registered first within a day; then by id.
        `after` (a complaint of the list, checked by the caller) starts the page after it, whatever changed
        meanwhile."""
        r = orm.ComplaintRow
        statement = select(r).where(*self._reach(caller))
        for name in ("status", "kind", "network", "category"):
            value = getattr(query, name)
            if value is not None:
                statement = statement.where(getattr(r, name) == value.value)
        if query.township_code:
            statement = statement.where(r.township_code == query.township_code)
        if query.village_code:
            statement = statement.where(r.village_code == query.village_code)
        if query.mine:
            statement = statement.where(r.handler_staff_id == caller.staff_id)
        if query.waiting:
            statement = statement.where(_waiting_for(caller))
        if query.overdue is True:
            statement = statement.where(r.stage_due_on < today, r.status.in_(OPEN_STATUSES))
        elif query.overdue is False:
            statement = statement.where((r.stage_due_on >= today) | r.stage_due_on.is_(None))
        if after is not None:
            statement = statement.where(_after(after))
        open_first = case((r.stage_due_on.is_(None), 1), else_=0)
        statement = statement.order_by(open_first, r.stage_due_on, r.registered_at.desc(), r.id) \
            .limit(query.limit).offset(query.offset)
        return list(self.session.execute(statement).scalars())

    def waiting_counts(self, caller: Caller, today: date, soon: date) -> tuple[int, int, int]:
        """How many complaints wait for this person (inside their reach), how many of those are past their
        stage's limit, and how many are due between today and `soon`: one counting query."""
        r = orm.ComplaintRow
        statement = select(func.count(), func.sum(case((r.stage_due_on < today, 1), else_=0)),
                           func.sum(case(((r.stage_due_on >= today) & (r.stage_due_on <= soon), 1), else_=0))) \
            .where(_waiting_for(caller)).where(*self._reach(caller))
        waiting, overdue, due_soon = self.session.execute(statement).one()
        return waiting, overdue or 0, due_soon or 0

    @staticmethod
    def _reach(caller: Caller) -> list[Any]:
        clauses = within_scope(caller, orm.ComplaintRow.township_code)
        if (station := caller.station_filter()) is not None:
            clauses.append(orm.ComplaintRow.station_code == station)
        return clauses

    # ---- the sweep -----------------------------------------------------------------------------------

    def to_warn(self, today: date, limit: int) -> list[tuple[str, int]]:
        """(id, stage clock) of complaints whose stage reached its warning day today, not yet warned and not
        yet late, at most `limit` (the warning index)."""
        r = orm.ComplaintRow
        return [tuple(row) for row in self.session.execute(select(r.id, r.stage_seq).where(
            r.warned_at.is_(None), r.stage_warn_on <= today, r.stage_due_on >= today).limit(limit))]

    def to_notice(self, today: date, limit: int) -> list[tuple[str, int]]:
        """(id, stage clock) of complaints whose stage passed its limit before today and has no 督办 notice
        yet, at most `limit` (the notice index)."""
        r = orm.ComplaintRow
        return [tuple(row) for row in self.session.execute(select(r.id, r.stage_seq).where(
            r.overdue_at.is_(None), r.stage_due_on < today).limit(limit))]

    def claim_warning(self, complaint_id: str, stage_seq: int, now: datetime) -> bool:
        """Mark the stage clock warned unless another sweep did (or the clock moved on): True for the one
        sweep that may warn; the others' transactions are rolled back."""
        return self._claim(complaint_id, stage_seq, orm.ComplaintRow.warned_at, now)

    def claim_notice(self, complaint_id: str, stage_seq: int, now: datetime) -> bool:
        """Mark the stage clock late unless another sweep did (or the clock moved on): True for the one
        sweep that may issue the 督办 notice."""
        return self._claim(complaint_id, stage_seq, orm.ComplaintRow.overdue_at, now)

    def _claim(self, complaint_id: str, stage_seq: int, flag: Any, now: datetime) -> bool:
        r = orm.ComplaintRow
        return self.uow.claim(update(r).where(r.id == complaint_id, r.stage_seq == stage_seq, flag.is_(None))
                              .values({flag.key: now}))

    def open_per_township(self, today: date) -> dict[str, tuple[int, int, int]]:
        """Per township: open complaints, those past their stage's limit, those at or past its warning day."""
        r = orm.ComplaintRow
        rows = self.session.execute(select(
            r.township_code, func.count(), func.sum(case((r.stage_due_on < today, 1), else_=0)),
            func.sum(case((r.stage_warn_on <= today, 1), else_=0)))
            .where(r.status.in_(OPEN_STATUSES)).group_by(r.township_code)).all()
        return {township: (n, overdue or 0, warned or 0) for township, n, overdue, warned in rows}

    def registered_since(self, village_code: str, category: str, since: datetime) -> list[str]:
        """The ids of the village's complaints of a category registered from `since` on (an alert's
        complaints)."""
        r = orm.ComplaintRow
        return list(self.session.execute(select(r.id).where(
            r.village_code == village_code, r.category == category, r.registered_at >= since)).scalars())


def _waiting_for(caller: Caller) -> Any:
    """The complaints waiting for an action of this person's: their 签收 or 答复 as the handler; for a
    township's supervisor also the township's waiting to be assigned (分派) or called back (回访) — not one
    they handle or one about them. (The county's roles may act too, but a township's dispatch is not theirs
    to wait on.)"""
    r = orm.ComplaintRow
    mine = (r.handler_staff_id == caller.staff_id) & r.status.in_(HANDLER_WAITS)
    if caller.role not in MANAGERS or caller.township_code is None:
        return mine
    theirs = r.status.in_(MANAGER_WAITS) & ((r.handler_staff_id != caller.staff_id) | r.handler_staff_id.is_(None)) \
        & ((r.accused_staff_id != caller.staff_id) | r.accused_staff_id.is_(None))
    return mine | theirs


def _after(last: orm.ComplaintRow) -> Any:
    """Keyset: the complaints after this one in the list's order (running clocks by due day, then those with
    none; newest registered first within a day; then by id)."""
    r = orm.ComplaintRow
    later = (r.registered_at < last.registered_at) | ((r.registered_at == last.registered_at) & (r.id > last.id))
    if last.stage_due_on is None:
        return r.stage_due_on.is_(None) & later
    return r.stage_due_on.is_(None) | (r.stage_due_on > last.stage_due_on) | (
        (r.stage_due_on == last.stage_due_on) & later)


class History(Repository):
    """Every action on a complaint, never updated or deleted."""

    def add(self, entry: orm.HistoryRow) -> None:
        self.session.add(entry)

    def of(self, complaint_id: str) -> list[orm.HistoryRow]:
        """A complaint's entries, oldest first."""
        h = orm.HistoryRow
        return list(self.session.execute(select(h).where(h.complaint_id == complaint_id).order_by(h.id)).scalars())

    def statuses_of(self, complaint_id: str) -> list[tuple[str, datetime]]:
        """The status each entry left the complaint in, and when, oldest first (the public look-up's steps)."""
        h = orm.HistoryRow
        return [tuple(row) for row in self.session.execute(
            select(h.to_status, h.at).where(h.complaint_id == complaint_id).order_by(h.id))]


class Notices(Repository):
    """督办 notices: one per stage clock that passed its limit."""

    def add(self, notice: orm.NoticeRow) -> None:
        self.session.add(notice)


class ReceiptNumbers(Repository):
    """Each township's count of complaints registered on a day, for their receipt numbers."""

    def next_of_day(self, township_code: str, day: date) -> int:
        """The township's next number of the day (the first is 1), its counter held until the transaction
        ends so that two registrations at once never share one."""
        return next_sequence(self.session, orm.ReceiptCounter, township_code, day)
