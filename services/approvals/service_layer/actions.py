"""Staff actions on a case (受理, 签收, approve, return, 补正, 办结, hand-over…): the domain decides, the case
is written back with its limits and inbox, the audit trail grows by one entry, and intake hears of the
progress (and a station of a case now waiting in review)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from services.approvals.adapters import orm
from services.approvals.adapters.repositories import ApprovalsUnitOfWork
from services.approvals.domain.case import Action, Case, CaseStatus
from services.approvals.service_layer.opening import case_of, store
from services.approvals.service_layer.reading import case_view, find, get_case
from shared.clock import today_in_china
from shared.contracts import approvals as c
from shared.contracts.caller import Caller
from shared.idempotency import earlier_use, remember, request_hash
from shared.working_days import WorkingCalendar

ENTERING = (c.ProgressStage.ACCEPTED, c.ProgressStage.STEP_CHANGED)  # actions that may put a case into a step


def act(uow: ApprovalsUnitOfWork, *, caller: Caller, ref: str, cmd: c.CaseAction, now: datetime,
        idempotency_key: str | None = None) -> c.CaseView:
    """One staff action on the case. With an Idempotency-Key, the action is taken once: the same request
    again (a station's retry, or the broker handing the call out again after the service died before
    answering) gets the case as it is now; the key with another request is 409 `idempotency_key_reused`."""
    row = find(uow, caller, ref)  # locked: a racing retry waits here, then finds the key
    if idempotency_key is not None:
        digest = request_hash(cmd, row.application_id)
        if earlier_use(uow, orm.IdempotencyKey, caller, idempotency_key, digest) is not None:
            uow.rollback()
            return get_case(uow, caller=caller, ref=ref, now=now)
        remember(uow, orm.IdempotencyKey, caller, idempotency_key, digest, row.application_id, now)
    cal = uow.calendars.of_township(row.township_code)
    held = case_of(row)
    new, entry, progress = held.act(Action(cmd.action), caller, now=now, today=today_in_china(now),
                                    calendar=cal, reason=cmd.reason, materials=cmd.materials, days=cmd.days)
    store(uow, row, new, cal, now)
    uow.audit.add(orm.AuditRow(application_id=row.application_id, action=entry.action.value,
                               actor_staff_id=entry.actor_staff_id, actor_role=entry.actor_role, at=entry.at,
                               reason=entry.reason, step=entry.step, from_status=entry.from_status.value,
                               to_status=entry.to_status.value, step_days_used=entry.step_days_used,
                               overall_days_used=entry.overall_days_used, details=entry.details))
    if progress is not None:
        event = c.ApplicationProgressed(
            application_id=row.application_id, receipt_no=row.receipt_no, township_code=row.township_code,
            stage=progress.stage, occurred_at=now, actor_staff_id=caller.staff_id, step_name=progress.step_name,
            promised_deadline=new.promised_deadline(cal), outcome=progress.outcome, reason=progress.reason,
            missing_materials=list(progress.missing_materials),
            **_handled_step(held, cal, caller) if progress.stage is c.ProgressStage.STEP_CHANGED else {})
        uow.record_event("application_progressed", event.model_dump(mode="json"), township_code=row.township_code,
                         now=now)
        if progress.stage in ENTERING and new.status is CaseStatus.IN_REVIEW:
            waiting = c.CaseWaiting(
                application_id=row.application_id, receipt_no=row.receipt_no, township_code=row.township_code,
                station_code=row.station_code, step_name=new.step.name,
                step_roles=[r.value for r in new.step.roles], step_level=new.step.level.value,
                promised_deadline=event.promised_deadline, actor_staff_id=caller.staff_id, occurred_at=now)
            uow.record_event("case_waiting", waiting.model_dump(mode="json"), township_code=row.township_code,
                             now=now)
    uow.commit()
    return case_view(uow, row, today_in_china(now), with_history=True, caller=caller)


def _handled_step(held: Case, cal: WorkingCalendar, caller: Caller) -> dict[str, Any]:
    """The review step an action closed, its due day and who held it: what evaluation measures each
    person's steps by (the same holder a late step's 责任追究 names, or the actor if nobody claimed it)."""
    return {"handled_step": held.step.name, "handled_step_due": held.step_deadline(cal),
            "step_holder_staff_id": held.assignee_staff_id or caller.staff_id}
