"""Intake's repositories: what its use cases ask for rows through (shared/db.py, Repository). The speed-ups a
filing depends on live here: a new application and its stages go in as plain INSERTs of statements built
once, never through the ORM's flush (a quarter of intake's time when they did); the receipt counter is one
upsert; approvals' clock is one UPDATE of a row never loaded."""
from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from sqlalchemy import bindparam, or_, select, tuple_, update

from services.intake.adapters import orm
from shared.contracts.approvals import ApplicationClock
from shared.db import Repository, UnitOfWork, insert_rows, repository, values_of, within_scope
from shared.receipts import next_sequence


class Applications(Repository):
    """Filed applications, their stages and the staff who handled them."""

    def add(self, app: orm.Application, stages: list[orm.ApplicationStage]) -> None:
        """A new application with its first stages: objects never added to the session, so nothing waits
        for the flush; the application's primary key and receipt number stop a racing duplicate."""
        insert_rows(self.session, orm.Application, [values_of(app)])
        insert_rows(self.session, orm.ApplicationStage, [values_of(stage) for stage in stages])

    def get(self, application_id: str) -> orm.Application | None:
        return self.session.get(orm.Application, application_id)

    def by_receipt(self, receipt_no: str) -> orm.Application | None:
        return self.session.execute(select(orm.Application).where(orm.Application.receipt_no == receipt_no)
                                    ).scalar_one_or_none()

    def phone_of(self, application_id: str) -> str | None:
        """The applicant's phone, as stored (encrypted)."""
        return self.session.execute(select(orm.Application.applicant_phone_enc)
                                    .where(orm.Application.id == application_id)).scalar_one_or_none()

    def page(self, caller: Any, *, after: tuple[datetime, str] | None, limit: int, mine: bool,
             equal: dict[str, Any], filed_from: datetime | None, filed_before: datetime | None,
             overdue_on: date | None, overdue: bool | None, completed_late: bool | None,
             final_statuses: Iterable[str]) -> list[orm.Application]:
        """Newest first within the caller's reach, keyset-paged on (filed_at, id): each page one index range
        scan. `equal` names columns and the value each must have; up to `limit` + 1 rows (one more says
        there is a next page)."""
        a = orm.Application
        stmt = select(a).where(*within_scope(caller, a.township_code))
        if (station := caller.station_filter()) is not None:
            stmt = stmt.where(a.station_code == station)
        for name, value in equal.items():
            if value is not None:
                stmt = stmt.where(getattr(a, name) == value)
        if mine:
            stmt = stmt.where(a.accountable_staff_id == caller.staff_id)
        if filed_from:
            stmt = stmt.where(a.filed_at >= filed_from)
        if filed_before:
            stmt = stmt.where(a.filed_at < filed_before)
        if overdue is not None:
            late = (a.promised_deadline < overdue_on) & a.status.not_in(list(final_statuses))
            stmt = stmt.where(late if overdue else ~late | a.promised_deadline.is_(None))
        if completed_late is not None:
            late = a.completed_at.is_not(None) & (a.days_late > 0)
            stmt = stmt.where(late if completed_late else ~late | a.days_late.is_(None))
        if after:
            stmt = stmt.where(tuple_(a.filed_at, a.id) < tuple_(*after))
        return list(self.session.execute(stmt.order_by(a.filed_at.desc(), a.id.desc()).limit(limit + 1)).scalars())

    def stages_of(self, ids: list[str]) -> dict[str, list[orm.ApplicationStage]]:
        """Each application's stages, in the order they happened."""
        stages: dict[str, list[orm.ApplicationStage]] = defaultdict(list)
        if ids:
            s = orm.ApplicationStage
            for stage in self.session.execute(select(s).where(s.application_id.in_(ids))
                                              .order_by(s.occurred_at, s.id)).scalars():
                stages[stage.application_id].append(stage)
        return stages

    def handlers_of(self, ids: list[str]) -> dict[str, list[int]]:
        """The staff who acted on each application besides the accountable one, by id."""
        handlers: dict[str, list[int]] = defaultdict(list)
        if ids:
            h = orm.ApplicationHandler
            for handler in self.session.execute(select(h).where(h.application_id.in_(ids))).scalars():
                handlers[handler.application_id].append(handler.staff_id)
        return handlers

    def add_stage(self, stage: orm.ApplicationStage) -> None:
        self.session.add(stage)

    def add_handler(self, application_id: str, staff_id: int, at: datetime) -> None:
        """The staff member among the application's handlers, once."""
        if self.session.get(orm.ApplicationHandler, (application_id, staff_id)) is None:
            self.session.add(orm.ApplicationHandler(application_id=application_id, staff_id=staff_id, first_at=at))

    def stage_history(self, application_id: str) -> list[tuple[str, datetime]]:
        """Every stage reached so far (with what this transaction added), as (stage, when)."""
        self.session.flush()
        s = orm.ApplicationStage
        return [(row.stage, row.occurred_at) for row in
                self.session.execute(select(s.stage, s.occurred_at).where(s.application_id == application_id))]

    def set_clock(self, clock: ApplicationClock) -> bool:
        """Take approvals' count of the promised deadline unless a newer one (by `seq`) is here already: one
        UPDATE, the row never loaded. False when the application is not known here."""
        values = {"application": clock.application_id, "seq": clock.seq, "deadline": clock.promised_deadline,
                  "paused": clock.paused_on, "awaiting": clock.awaiting_materials or None}
        if clock.days_late is not None:
            values["late"] = clock.days_late
        if self.session.execute(_set_clock(clock.days_late is not None), values).rowcount:
            return True
        return self.session.execute(_known, {"application": clock.application_id}).first() is not None


_applications = orm.Application.__table__
_known = select(_applications.c.id).where(_applications.c.id == bindparam("application"))


@functools.cache
def _set_clock(with_days_late: bool) -> Any:
    """The clock's UPDATE, built once (each application's clock moves at least once)."""
    values = {"clock_seq": bindparam("seq"), "promised_deadline": bindparam("deadline"),
              "paused_on": bindparam("paused"), "awaiting_materials": bindparam("awaiting")}
    if with_days_late:
        values["days_late"] = bindparam("late")
    return update(_applications).where(_applications.c.id == bindparam("application"), or_(
        _applications.c.clock_seq.is_(None), _applications.c.clock_seq < bindparam("seq"))).values(values)


class ReceiptCounters(Repository):
    """Each township's count of the day's receipt numbers."""

    def next_number(self, township_code: str, day: date) -> int:
        """The township's next number of the day; its counter row is held until the transaction ends, so
        filings of a township take turns on it and never share a number."""
        return next_sequence(self.session, orm.ReceiptCounter, township_code, day)


class Activities(Repository):
    """Consultations, service activities and practical deeds."""

    def add(self, record: orm.ActivityRecord) -> orm.ActivityRecord:
        """The record, written now so that it has its id."""
        self.session.add(record)
        self.session.flush()
        return record

    def listed(self, caller: Any, *, kind: str, village_code: str | None, occurred_from: date | None,
               occurred_to: date | None, limit: int, offset: int) -> list[orm.ActivityRecord]:
        """Newest first within the caller's reach."""
        r = orm.ActivityRecord
        stmt = select(r).where(r.kind == kind, *within_scope(caller, r.township_code))
        if (station := caller.station_filter()) is not None:
            stmt = stmt.where(r.station_code == station)
        if village_code:
            stmt = stmt.where(r.village_code == village_code)
        if occurred_from:
            stmt = stmt.where(r.occurred_on >= occurred_from)
        if occurred_to:
            stmt = stmt.where(r.occurred_on <= occurred_to)
        stmt = stmt.order_by(r.occurred_on.desc(), r.id.desc()).limit(limit).offset(offset)
        return list(self.session.execute(stmt).scalars())


class IntakeUnitOfWork(UnitOfWork):
    """One transaction of intake, and the repositories its use cases read and write through."""

    applications = repository(Applications)
    receipt_counters = repository(ReceiptCounters)
    activities = repository(Activities)
