"""Opening a case for each filed application, and keeping what follows from its state in step whenever it
is written back: its promised deadline announced to intake (application_clock_changed), one deadline row
per running limit, and who it waits for in the inbox."""
from __future__ import annotations

from datetime import date, datetime

from services.approvals.adapters import orm
from services.approvals.adapters.repositories import ApprovalsUnitOfWork, Limit
from services.approvals.domain.case import Case, CaseStatus
from shared.clock import today_in_china
from shared.contracts import approvals as c
from shared.contracts.caller import STATION_ROLES, Role
from shared.contracts.directory import HandlingLevel, WorkflowDefinition, default_workflow
from shared.contracts.intake import ApplicationFiled
from shared.working_days import Pause, WorkingCalendar, warning_day


def case_of(row: orm.CaseRow) -> Case:
    """The case as the domain takes it, from its row."""
    return Case(
        application_id=row.application_id, receipt_no=row.receipt_no, township_code=row.township_code,
        station_code=row.station_code, accountable_staff_id=row.accountable_staff_id,
        workflow=WorkflowDefinition.model_validate(row.workflow), promised_days=row.promised_days,
        received_on=row.received_on, status=CaseStatus(row.status), step_index=row.step_index,
        step_entered_on=row.step_entered_on, assignee_staff_id=row.assignee_staff_id,
        resume_status=CaseStatus(row.resume_status) if row.resume_status else None,
        outcome=c.Outcome(row.outcome) if row.outcome else None, extension_days=row.extension_days,
        pauses=tuple(Pause(date.fromisoformat(a), date.fromisoformat(b) if b else None) for a, b in row.pauses),
        awaiting_materials=tuple(row.awaiting_materials or ()))


def open_case(uow: ApprovalsUnitOfWork, *, filed: ApplicationFiled, now: datetime) -> bool:
    """Every application intake files waits here for 受理, unless it was completed on the spot. Its one
    application_filed event comes once (the inbox): the case is not looked for first."""
    if filed.completed_on_the_spot:
        return False
    copy = uow.copy(orm.CatalogueWorkflowCopy, (filed.township_code, filed.item_code))
    workflow = WorkflowDefinition.model_validate(copy.workflow) if copy else \
        default_workflow(filed.handling_level, filed.promised_days)
    case = Case(application_id=filed.id, receipt_no=filed.receipt_no, township_code=filed.township_code,
                station_code=filed.station_code, accountable_staff_id=filed.accountable_staff_id, workflow=workflow,
                promised_days=filed.promised_days, received_on=today_in_china(filed.filed_at))
    row = orm.CaseRow(application_id=filed.id, receipt_no=filed.receipt_no, township_code=filed.township_code,
                      station_code=filed.station_code, item_code=filed.item_code, village_code=filed.village_code,
                      accountable_staff_id=filed.accountable_staff_id, workflow=workflow.model_dump(mode="json"),
                      promised_days=filed.promised_days, received_on=case.received_on, filed_at=filed.filed_at,
                      status=case.status.value, step_index=0, extension_days=0, pauses=[], clock_seq=0,
                      updated_at=now)
    cal = uow.calendars.of_township(row.township_code)
    if filed.promised_deadline is not None and filed.promised_deadline == case.promised_deadline(cal):
        row.clock_seq = 1  # the filing told intake this very clock: the next change is the second
    # the row is written by store as one INSERT, never added
    store(uow, row, case, cal, now, new=True)
    return True


def store(uow: ApprovalsUnitOfWork, row: orm.CaseRow, case: Case, cal: WorkingCalendar, now: datetime,
          new: bool = False) -> None:
    """Write the case back, with its running limits and who it waits for (a `new` case has neither yet), and
    tell intake of its clock when the promised deadline, the pause or the state changed; a `new` case's
    unless its filing carried the same deadline (open_case)."""
    due_before, status_before = (None, None) if new else (row.overall_due, row.status)
    row.status, row.step_index, row.step_entered_on = case.status.value, case.step_index, case.step_entered_on
    row.assignee_staff_id, row.outcome, row.extension_days = case.assignee_staff_id, case.outcome, case.extension_days
    row.resume_status = case.resume_status.value if case.resume_status else None
    row.pauses = [[p.requested_on.isoformat(), p.received_on.isoformat() if p.received_on else None]
                  for p in case.pauses]
    row.awaiting_materials = list(case.awaiting_materials) or None
    row.overall_due = case.overall_deadline(cal) if case.is_open else None
    row.step_due = case.step_deadline(cal) if case.is_open else None
    row.updated_at = now
    if not row.clock_seq or (not new and (row.overall_due != due_before or (
            row.status != status_before and case.status is not CaseStatus.DELIVERED))):
        _announce_clock(uow, row, case, cal, now)  # (a case opened before clocks were announced: at once)
    if new:  # one INSERT, its limits and inbox after it
        uow.cases.add(row)
    else:
        uow.cases.save(row)
    _sync_deadlines(uow, case, row, cal, new, now)
    _sync_waiting(uow, case, row, cal, new)


def _announce_clock(uow: ApprovalsUnitOfWork, row: orm.CaseRow, case: Case, cal: WorkingCalendar,
                    now: datetime) -> None:
    """application_clock_changed: the promised deadline from the filing on, the pause and what it waits for,
    and at 办结 the working days it was late. Numbered per case (the case row is locked meanwhile)."""
    row.clock_seq = (row.clock_seq or 0) + 1
    today = today_in_china(now)
    clock = c.ApplicationClock(
        application_id=row.application_id, receipt_no=row.receipt_no, township_code=row.township_code,
        seq=row.clock_seq, occurred_at=now, promised_deadline=case.promised_deadline(cal), paused_on=case.paused_on,
        awaiting_materials=list(case.awaiting_materials) if case.paused_on else [],
        days_late=case.days_late(cal, today) if case.status is CaseStatus.COMPLETED else None)
    uow.record_event("application_clock_changed", clock.model_dump(mode="json"), township_code=row.township_code,
                     now=now)


def _desired_deadlines(case: Case, row: orm.CaseRow, cal: WorkingCalendar) -> dict[Limit, tuple[date, date]]:
    """The running limits of a case, each with its warning day and due day."""
    share = case.workflow.warning_share
    wanted: dict[Limit, tuple[date, date]] = {}
    if case.is_open and row.overall_due is not None:
        warn = warning_day(cal, case.received_on, case.promised_days + case.extension_days, share, case.pauses)
        wanted[("overall", None, case.received_on)] = (warn, row.overall_due)
    if case.is_open and row.step_due is not None and len(case.workflow.steps) > 1:
        # with one step, the step is the whole item: its limit is the overall one, tracked once
        started = case.step_entered_on or case.received_on
        warn = warning_day(cal, started, case.step.limit_days + case.extension_days, share, case.pauses)
        wanted[("step", case.step.name, started)] = (warn, row.step_due)
    return wanted


def _sync_deadlines(uow: ApprovalsUnitOfWork, case: Case, row: orm.CaseRow, cal: WorkingCalendar, new: bool,
                    now: datetime) -> None:
    """Keep one row per running limit. A limit whose days have not changed keeps its row (no second
    warning); a limit that already fired its overdue notice is never raised again, even when a calendar
    change moves its due day; a step entered again (after a return) is a new limit. A late limit that no
    longer runs (its step done, the case closed) closes its 督办."""
    wanted = _desired_deadlines(case, row, cal)
    existing = [] if new else uow.deadlines.of_case(row.application_id)
    ended = []
    for deadline_row in existing:
        limit = (deadline_row.kind, deadline_row.step_name, deadline_row.started_on)
        if deadline_row.overdue_at is not None and not _runs(case, deadline_row):
            ended.append(deadline_row.id)
        if deadline_row.overdue_at is not None or wanted.get(limit) == (deadline_row.warn_on, deadline_row.due_on):
            wanted.pop(limit, None)
        else:
            uow.deadlines.drop(deadline_row)
    uow.deadlines.add(row.application_id, wanted)
    if ended:
        uow.notices.close_supervision(ended, now)


STEP_RUNNING = (CaseStatus.PENDING_ACCEPTANCE, CaseStatus.IN_REVIEW, CaseStatus.AWAITING_SUPPLEMENT)


def _runs(case: Case, deadline_row: orm.DeadlineRow) -> bool:
    """The limit still runs: the whole item's while the case is open; a step's while the case is still at
    that step, entered that day (a 补正 pauses it, it does not end it)."""
    if deadline_row.kind == "overall":
        return case.is_open
    return case.status in STEP_RUNNING and (deadline_row.step_name, deadline_row.started_on) == (
        case.step.name, case.step_entered_on or case.received_on)


def _sync_waiting(uow: ApprovalsUnitOfWork, case: Case, row: orm.CaseRow, cal: WorkingCalendar, new: bool) -> None:
    """Who the case waits for now, in the inbox: the current step's roles (also while a 补正 is out: they
    record the materials when they come), the last step's for 办结, the station for the hand-over."""
    if not new:
        uow.waiting.clear(row.application_id)
    warn_on = limit_now(case, row, cal)[0]
    if case.status in (CaseStatus.PENDING_ACCEPTANCE, CaseStatus.IN_REVIEW, CaseStatus.AWAITING_SUPPLEMENT):
        step = case.step
    elif case.status is CaseStatus.READY_TO_COMPLETE:
        step = case.workflow.steps[-1]
    elif case.status is CaseStatus.COMPLETED:  # waiting to be handed over at the station
        roles = sorted(STATION_ROLES) if case.station_code else [Role.TOWNSHIP_CADRE]
        uow.waiting.add(row, roles, station_code=case.station_code, due_on=None, warn_on=None)
        return
    else:
        return
    station = case.station_code if step.level is HandlingLevel.VILLAGE else None
    uow.waiting.add(row, step.roles, station_code=station, due_on=row.step_due or row.overall_due, warn_on=warn_on)


def limit_now(case: Case, row: orm.CaseRow, cal: WorkingCalendar) -> tuple[date | None, date | None]:
    """The limit the case waits on now — its step's while in review, else the whole item's — as its
    warning day and its due day (both None while no clock runs: a 补正, or closed)."""
    share = case.workflow.warning_share
    if row.step_due is not None:
        started = case.step_entered_on or case.received_on
        return warning_day(cal, started, case.step.limit_days + case.extension_days, share, case.pauses), row.step_due
    if row.overall_due is not None:
        return warning_day(cal, case.received_on, case.promised_days + case.extension_days, share,
                           case.pauses), row.overall_due
    return None, None
