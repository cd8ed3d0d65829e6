"""Stage clocks: one runs at a time on an open complaint, counted in working days of its county's
calendar; the sweep warns at 75 % of a stage's limit and issues a 督办 notice once it has passed, and the
gauges show open, warned and overdue complaints per township."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from services.complaints.adapters import orm
from services.complaints.adapters.repositories import ComplaintsUnitOfWork
from services.complaints.service_layer.county_settings import limits_of
from shared.clock import today_in_china
from shared.contracts import complaints as c
from shared.copies import working_calendar
from shared.divisions import county_of
from shared.observability import metrics
from shared.working_days import deadline, warning_day

WARNING_SHARE = 0.75
SWEEP_BATCH = 200
_GAUGED: set[str] = set()


def start_clock(uow: ComplaintsUnitOfWork, row: orm.ComplaintRow, stage: c.Stage, today: date) -> None:
    """A new stage: a new clock (counted in working days from today), warnings and notices afresh."""
    row.stage, row.stage_seq, row.stage_started_on = stage.value, row.stage_seq + 1, today
    row.stage_limit_days = getattr(limits_of(uow, row.kind), stage.value)
    row.warned_at = row.overdue_at = None
    set_due(uow, row)


def set_due(uow: ComplaintsUnitOfWork, row: orm.ComplaintRow) -> None:
    calendar = working_calendar(uow, orm.CalendarDayCopy, county_of(row.township_code))
    row.stage_due_on = deadline(calendar, row.stage_started_on, row.stage_limit_days)
    row.stage_warn_on = warning_day(calendar, row.stage_started_on, row.stage_limit_days, WARNING_SHARE)


def stop_clock(row: orm.ComplaintRow) -> None:
    row.stage = row.stage_started_on = row.stage_limit_days = row.stage_due_on = row.stage_warn_on = None


# ---- the sweep: warnings and 督办 -----------------------------------------------------------------------

def sweep(uow: ComplaintsUnitOfWork, *, now: datetime) -> tuple[int, int]:
    """Warn at 75% of a stage's limit and issue a 督办 notice once it has passed. Reads only complaints
    whose warning or due day has come (two indexes); each is claimed with a conditional UPDATE so two
    instances or a restart never say anything twice."""
    today = today_in_china(now)
    complaints = uow.complaints
    warned = sum(_claimed(uow, complaints.claim_warning(cid, seq, now), cid, now, _warn)
                 for cid, seq in complaints.to_warn(today, SWEEP_BATCH))
    noticed = sum(_claimed(uow, complaints.claim_notice(cid, seq, now), cid, now, _supervise)
                  for cid, seq in complaints.to_notice(today, SWEEP_BATCH))
    return warned, noticed


def _claimed(uow: ComplaintsUnitOfWork, won: bool, complaint_id: str, now: datetime, effect: Any) -> int:
    """Say it (and commit) when this sweep won the claim; 1 when it did."""
    if not won:
        return 0
    effect(uow, uow.complaints.get(complaint_id), now)
    uow.commit()
    return 1


def _overdue_event(row: orm.ComplaintRow) -> dict[str, Any]:
    return c.StageOverdue(complaint_id=row.id, receipt_no=row.receipt_no, township_code=row.township_code,
                          stage=row.stage, due_on=row.stage_due_on,
                          handler_staff_id=row.handler_staff_id).model_dump(mode="json")


def _warn(uow: ComplaintsUnitOfWork, row: orm.ComplaintRow, now: datetime) -> None:
    uow.record_event("complaint_warning", _overdue_event(row), township_code=row.township_code, now=now)


def _supervise(uow: ComplaintsUnitOfWork, row: orm.ComplaintRow, now: datetime) -> None:
    row.warned_at = row.warned_at or now
    uow.notices.add(orm.NoticeRow(complaint_id=row.id, stage_seq=row.stage_seq, stage=row.stage,
                                  township_code=row.township_code, due_on=row.stage_due_on, recorded_at=now,
                                  handler_staff_id=row.handler_staff_id))
    uow.record_event("complaint_supervision_notice_issued", _overdue_event(row), township_code=row.township_code,
                     now=now)


def update_gauges(uow: ComplaintsUnitOfWork, *, now: datetime) -> None:
    """Open, warned and overdue complaints and open early-warning alerts per township."""
    seen = uow.complaints.open_per_township(today_in_china(now))
    alerts = uow.alerts.open_per_township()
    known = uow.villages.townships()  # 0, not absent
    for township in _GAUGED | known | set(seen) | set(alerts):
        n, overdue, warned = seen.get(township, (0, 0, 0))
        metrics.complaints_open.labels(township).set(n)
        metrics.complaints_overdue.labels(township).set(overdue)
        metrics.complaints_warned.labels(township).set(warned - overdue)
        metrics.early_warnings_open.labels(township).set(alerts.get(township, 0))
    _GAUGED.update(seen, alerts)
