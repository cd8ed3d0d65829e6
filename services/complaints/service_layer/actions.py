"""Actions on a complaint through its lifecycle (分派, 签收, 退单, 答复, 回访, 重办, extensions and findings):
the rules decide, the stage clock starts, stops or moves, the history keeps who did what, and the change
is announced."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from services.complaints.adapters import orm
from services.complaints.adapters.repositories import ComplaintsUnitOfWork
from services.complaints.domain.complaint import HANDLER_ROLES, decide
from services.complaints.service_layer.reading import actor_of, state_of, view_of, visible
from services.complaints.service_layer.stages import set_due, start_clock, stop_clock
from shared.clock import today_in_china
from shared.contracts import complaints as c
from shared.contracts.caller import Caller, Role
from shared.errors import ValidationFailed
from shared.pii import PersonalDataVault


def act(uow: ComplaintsUnitOfWork, *, caller: Caller, ref: str, cmd: c.ComplaintAction, vault: PersonalDataVault,
        now: datetime) -> c.ComplaintView:
    row = visible(uow, caller, ref, lock=True)
    today = today_in_china(now)
    if cmd.action == "assign":
        _check_handler(uow, cmd.staff_id, row.township_code)
    before = c.ComplaintStatus(row.status)
    decision = decide(state_of(row), cmd, actor_of(caller))
    on_time = row.stage_due_on is None or today <= row.stage_due_on
    after = decision.state
    row.status, row.handler_staff_id, row.reopen_count = after.status.value, after.handler_staff_id, after.reopen_count
    row.finding = after.finding.value if after.finding else None
    if decision.restart_clock:
        start_clock(uow, row, after.stage, today)
    elif after.stage is None and row.stage is not None:
        stop_clock(row)
    if decision.extension_days:
        row.stage_limit_days += decision.extension_days
        set_due(uow, row)
        if row.stage_due_on >= today:
            row.overdue_at = None  # the new limit is not yet passed: a fresh notice is possible again
    details = _apply_fields(row, cmd, now)
    record_history(uow, row, cmd.action, caller, now, before, note=cmd.note or cmd.reason, details=details)
    progressed = c.ComplaintProgressed(
        id=row.id, receipt_no=row.receipt_no, township_code=row.township_code, action=cmd.action, from_status=before,
        to_status=after.status, actor_staff_id=caller.staff_id, handler_staff_id=row.handler_staff_id,
        stage=row.stage, stage_due=row.stage_due_on, occurred_at=now, rating=cmd.rating, resolved=cmd.resolved,
        on_time=on_time if cmd.action == "reply" else None)
    uow.record_event("complaint_progressed", progressed.model_dump(mode="json"), township_code=row.township_code,
                     now=now)
    if cmd.action == "finding":
        finding = c.FindingRecorded(complaint_id=row.id, receipt_no=row.receipt_no, township_code=row.township_code,
                                    accused_staff_id=row.accused_staff_id, finding=cmd.finding,
                                    by_staff_id=caller.staff_id, occurred_at=now)
        uow.record_event("complaint_finding_recorded", finding.model_dump(mode="json"),
                         township_code=row.township_code, now=now)
    uow.commit()
    return view_of(uow, row, caller, vault, today, history=True)


def _apply_fields(row: orm.ComplaintRow, cmd: c.ComplaintAction, now: datetime) -> dict[str, Any]:
    """What an action records on the complaint besides its status; returns the history's details."""
    if cmd.action == "reply":
        row.reply = cmd.note
    elif cmd.action == "call_back":
        row.rating, row.resolved, row.closed_at = cmd.rating, cmd.resolved, now
        return {"rating": cmd.rating, "resolved": cmd.resolved}
    elif cmd.action == "reopen":
        row.rating = row.resolved = row.closed_at = None
    elif cmd.action == "mediate":
        return {"parties": cmd.parties, "agreement": cmd.agreement}
    elif cmd.action == "assign":
        return {"staff_id": cmd.staff_id}
    elif cmd.action == "extend":
        return {"days": cmd.days, "due_on": row.stage_due_on.isoformat()}
    elif cmd.action == "finding":
        return {"finding": cmd.finding.value}
    return {}


def _check_handler(uow: ComplaintsUnitOfWork, staff_id: int, township: str) -> None:
    staff = uow.staff.get(staff_id)
    if staff is None or not staff.active or staff.township_code != township or Role(staff.role) not in HANDLER_ROLES:
        raise ValidationFailed("complaints are handled by the township's active cadres, department staff and "
                               "supervisors", [{"field": "staff_id", "message": "not a handler here"}],
                               code="not_a_handler")


def record_history(uow: ComplaintsUnitOfWork, row: orm.ComplaintRow, action: str, caller: Caller, now: datetime,
                   before: c.ComplaintStatus | None, *, note: str | None, details: dict[str, Any]) -> None:
    """Keep who did what to the complaint, and the status it left it in."""
    uow.history.add(orm.HistoryRow(complaint_id=row.id, action=action, actor_staff_id=caller.staff_id,
                                   actor_role=caller.role.value, at=now, from_status=before and before.value,
                                   to_status=row.status, note=note, details=details))
