"""The deadline sweep: a warning when a limit's warning day has come, and at the limit 督办 to the
township's supervisors and 责任追究 against whoever answers for the late step; open deadlines re-derived
once after a calendar change; and the gauges of open, warned and overdue applications per township."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from services.approvals.adapters import orm
from services.approvals.adapters.repositories import ApprovalsUnitOfWork
from services.approvals.service_layer.opening import case_of, store
from shared.clock import today_in_china
from shared.contracts import approvals as c
from shared.observability import metrics

SWEEP_BATCH = 500
_GAUGED_TOWNSHIPS: set[str] = set()


def sweep(uow: ApprovalsUnitOfWork, *, now: datetime) -> tuple[int, int]:
    """Warn about limits whose warning day has come and act on limits that have passed. Reads only
    deadline rows that are due (two indexes), claims each with a conditional UPDATE so that two
    instances or a restart never send a notice twice, and commits each claim with its events."""
    today = today_in_china(now)
    _rederive_if_calendar_changed(uow, now)
    deadlines = uow.deadlines
    # a limit already past gets its overdue notice instead of a warning
    to_warn = deadlines.to_warn(today, SWEEP_BATCH)
    warned = sum(_claim(uow, deadline_id, case_id, deadlines.claim_warning, now, _warn)
                 for deadline_id, case_id in to_warn)
    to_notice = deadlines.to_notice(today, SWEEP_BATCH)
    noticed = sum(_claim(uow, deadline_id, case_id, deadlines.claim_notice, now, _supervise)
                  for deadline_id, case_id in to_notice)
    return warned, noticed


def _claim(uow: ApprovalsUnitOfWork, deadline_id: int, case_id: str, claim: Callable[[int, datetime], bool],
           now: datetime, effect: Any) -> int:
    """Lock the case before its deadline, the order every staff action and the re-derivation take:
    claiming the deadline first would wait on an action holding the case while the action waits on
    the deadline (a deadlock PostgreSQL breaks by failing one of them)."""
    case_row = uow.cases.held_by_id(case_id)
    if case_row is None:
        uow.rollback()
        return 0
    if not claim(deadline_id, now):
        return 0
    effect(uow, uow.deadlines.get(deadline_id), case_row, now)
    uow.commit()
    return 1


def responsible(uow: ApprovalsUnitOfWork, case_row: orm.CaseRow) -> tuple[int, c.Responsible]:
    """Who answers for a late limit of the case (`Case.who_answers`); the township's active supervisors are
    read only when nobody claimed the step."""
    case = case_of(case_row)
    if case.assignee_staff_id is not None:
        return case.who_answers(())
    return case.who_answers(uow.staff.active_supervisors(case_row.township_code))


def _deadline_event(deadline_row: orm.DeadlineRow, case_row: orm.CaseRow,
                    answers: tuple[int, c.Responsible]) -> dict[str, Any]:
    return c.DeadlineEvent(application_id=case_row.application_id, receipt_no=case_row.receipt_no,
                           township_code=case_row.township_code, deadline_kind=deadline_row.kind,
                           step_name=deadline_row.step_name, due_on=deadline_row.due_on,
                           responsible_staff_id=answers[0], responsible_basis=answers[1],
                           accountable_staff_id=case_row.accountable_staff_id).model_dump(mode="json")


def _warn(uow: ApprovalsUnitOfWork, deadline_row: orm.DeadlineRow, case_row: orm.CaseRow, now: datetime) -> None:
    uow.record_event("approval_warning", _deadline_event(deadline_row, case_row, responsible(uow, case_row)),
                     township_code=case_row.township_code, now=now)


def _supervise(uow: ApprovalsUnitOfWork, deadline_row: orm.DeadlineRow, case_row: orm.CaseRow,
               now: datetime) -> None:
    """At the limit: 督办 to the township's supervisors, 责任追究 against the person who answers for the
    late step (`responsible`: never an anonymous record), and the first-contact staff member is told."""
    if deadline_row.warned_at is None:
        deadline_row.warned_at = now
    answers = responsible(uow, case_row)
    for kind in ("supervision", "accountability"):
        uow.notices.add(orm.NoticeRow(
            kind=kind, application_id=case_row.application_id, receipt_no=case_row.receipt_no,
            township_code=case_row.township_code, deadline_id=deadline_row.id, deadline_kind=deadline_row.kind,
            step_name=deadline_row.step_name, due_on=deadline_row.due_on, recorded_at=now,
            responsible_staff_id=answers[0], responsible_basis=answers[1],
            accountable_staff_id=case_row.accountable_staff_id))
    event = _deadline_event(deadline_row, case_row, answers)
    uow.record_event("supervision_notice_issued", event, township_code=case_row.township_code, now=now)
    uow.record_event("accountability_recorded", event, township_code=case_row.township_code, now=now)


def _rederive_if_calendar_changed(uow: ApprovalsUnitOfWork, now: datetime) -> None:
    """A county that adds a day off moves every open deadline: re-derive them once per change burst.
    The conditional UPDATE elects one instance to do it; the case rows are locked against actions."""
    if not uow.calendars.claim_rederivation():
        return
    for row in uow.cases.open_held():
        store(uow, row, case_of(row), uow.calendars.of_township(row.township_code), now)
    uow.commit()


def update_gauges(uow: ApprovalsUnitOfWork, *, now: datetime) -> None:
    """Open, warned and overdue applications per township, for the dashboards."""
    seen = uow.cases.open_per_township(today_in_china(now))
    warned = uow.cases.warned_per_township()
    for township in _GAUGED_TOWNSHIPS | set(seen):  # a township whose last case closed goes back to 0
        open_count, overdue_count = seen.get(township, (0, 0))
        metrics.applications_open.labels(township).set(open_count)
        metrics.applications_overdue.labels(township).set(overdue_count)
        metrics.applications_warned.labels(township).set(warned.get(township, 0))
    _GAUGED_TOWNSHIPS.update(seen)
