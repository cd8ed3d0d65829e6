"""Approvals use cases: open a case for each filed application, apply staff actions, keep deadline rows
and the inbox in step, and sweep due deadlines into warnings, 督办 notices and 责任追究 records."""
from __future__ import annotations

import base64
import binascii
import json
from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, delete, func, literal, or_, select, tuple_, update
from sqlalchemy import case as sql_case

from services.approvals.adapters import orm
from services.approvals.domain.case import OPEN_STATUSES, Action, Case, CaseStatus
from shared.clock import today_in_china
from shared.contracts import approvals as c
from shared.contracts.caller import STATION_ROLES, Caller, Role
from shared.contracts.directory import HandlingLevel, WorkflowDefinition, default_workflow
from shared.contracts.intake import ApplicationFiled
from shared.copies import keep_calendar_day, working_calendar
from shared.db import UnitOfWork, insert_rows, values_of, within_scope
from shared.divisions import county_of
from shared.errors import Forbidden, NotFound, ValidationFailed
from shared.idempotency import earlier_use, remember, request_hash
from shared.observability import metrics
from shared.working_days import (
    Pause,
    WorkingCalendar,
    is_overdue,
    warning_day,
    working_days_left,
)

SWEEP_BATCH = 500
OPEN = sorted(s.value for s in OPEN_STATUSES)
_GAUGED_TOWNSHIPS: set[str] = set()


# ---- from rows to the domain and back -----------------------------------------------------------------

def _case(row: orm.CaseRow) -> Case:
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


_CALENDARS: dict[str, tuple[int, WorkingCalendar]] = {}  # per database: the calendar, at its change count
# built once and asked each time, of the table rather than the mapped class: no ORM query context for one number
CALENDAR_CHANGED = select(orm.CalendarState.__table__.c.changed).where(orm.CalendarState.__table__.c.id == 1)


def calendar(uow: UnitOfWork, township_code: str) -> WorkingCalendar:
    """The working calendar of the township's county, read again only when calendar_state says it changed
    (every event and action needs it; reading a few hundred days each time was a fifth of this service's
    time under load)."""
    county = county_of(township_code)
    if any(isinstance(o, (orm.CalendarState, orm.CalendarDayCopy))
           for o in (*uow.session.new, *uow.session.dirty, *uow.session.deleted)):
        return working_calendar(uow, orm.CalendarDayCopy, county)  # changed in this very transaction: not cached
    changed = uow.session.execute(CALENDAR_CHANGED).scalar() or 0
    key = f"{uow.session.get_bind().url}#{county}"
    cached = _CALENDARS.get(key)
    if cached is not None and cached[0] == changed:
        return cached[1]
    cal = working_calendar(uow, orm.CalendarDayCopy, county)
    _CALENDARS[key] = (changed, cal)
    return cal


def _store(uow: UnitOfWork, row: orm.CaseRow, case: Case, cal: WorkingCalendar, now: datetime,
           new: bool = False) -> None:
    """Write the case back, with its running limits and who it waits for (a `new` case has neither yet), and
    tell intake of its clock when the promised deadline, the pause or the state changed."""
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
    if new or not row.clock_seq or row.overall_due != due_before or (row.status != status_before
                                                                     and case.status is not CaseStatus.DELIVERED):
        _announce_clock(uow, row, case, cal, now)  # (a case opened before clocks were announced: at once)
    if new:  # the row was never added to the session: it goes in as one INSERT, its limits and inbox after it
        insert_rows(uow.session, orm.CaseRow, [values_of(row)])
    else:
        uow.session.flush()
    _sync_deadlines(uow, case, row, cal, new, now)
    _sync_waiting(uow, case, row, cal, new)


def _announce_clock(uow: UnitOfWork, row: orm.CaseRow, case: Case, cal: WorkingCalendar, now: datetime) -> None:
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


Limit = tuple[str, str | None, date]  # kind, step, the day its clock started: one limit of one case


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


def _sync_deadlines(uow: UnitOfWork, case: Case, row: orm.CaseRow, cal: WorkingCalendar, new: bool,
                    now: datetime) -> None:
    """Keep one row per running limit. A limit whose days have not changed keeps its row (no second
    warning); a limit that already fired its overdue notice is never raised again, even when a calendar
    change moves its due day; a step entered again (after a return) is a new limit. A late limit that no
    longer runs (its step done, the case closed) closes its 督办."""
    wanted = _desired_deadlines(case, row, cal)
    existing = [] if new else uow.session.execute(select(orm.DeadlineRow).where(
        orm.DeadlineRow.application_id == row.application_id)).scalars()
    ended = []
    for deadline_row in existing:
        limit = (deadline_row.kind, deadline_row.step_name, deadline_row.started_on)
        if deadline_row.overdue_at is not None and not _runs(case, deadline_row):
            ended.append(deadline_row.id)
        if deadline_row.overdue_at is not None or wanted.get(limit) == (deadline_row.warn_on, deadline_row.due_on):
            wanted.pop(limit, None)
        else:
            uow.session.delete(deadline_row)
    insert_rows(uow.session, orm.DeadlineRow, [
        {"application_id": row.application_id, "kind": kind, "step_name": step, "started_on": started,
         "warn_on": warn, "due_on": due} for (kind, step, started), (warn, due) in wanted.items()])
    if ended:
        n = orm.NoticeRow
        uow.session.execute(update(n).where(n.deadline_id.in_(ended), n.kind == "supervision", n.closed_at.is_(None))
                            .values(closed_at=now))


STEP_RUNNING = (CaseStatus.PENDING_ACCEPTANCE, CaseStatus.IN_REVIEW, CaseStatus.AWAITING_SUPPLEMENT)


def _runs(case: Case, deadline_row: orm.DeadlineRow) -> bool:
    """The limit still runs: the whole item's while the case is open; a step's while the case is still at
    that step, entered that day (a 补正 pauses it, it does not end it)."""
    if deadline_row.kind == "overall":
        return case.is_open
    return case.status in STEP_RUNNING and (deadline_row.step_name, deadline_row.started_on) == (
        case.step.name, case.step_entered_on or case.received_on)


def _sync_waiting(uow: UnitOfWork, case: Case, row: orm.CaseRow, cal: WorkingCalendar, new: bool) -> None:
    """Who the case waits for now, in the inbox: the current step's roles (also while a 补正 is out: they
    record the materials when they come), the last step's for 办结, the station for the hand-over."""
    if not new:
        uow.session.execute(delete(orm.WaitingRow).where(orm.WaitingRow.application_id == row.application_id))
    warn_on = _limit_now(case, row, cal)[0]
    # what the inbox filters and orders by, kept beside who it waits for: a page is read from here alone
    kept = {"item_code": row.item_code, "village_code": row.village_code, "status": case.status.value,
            "filed_at": row.filed_at}
    if case.status in (CaseStatus.PENDING_ACCEPTANCE, CaseStatus.IN_REVIEW, CaseStatus.AWAITING_SUPPLEMENT):
        step = case.step
    elif case.status is CaseStatus.READY_TO_COMPLETE:
        step = case.workflow.steps[-1]
    elif case.status is CaseStatus.COMPLETED:  # waiting to be handed over at the station
        roles = sorted(STATION_ROLES) if case.station_code else [Role.TOWNSHIP_CADRE]
        insert_rows(uow.session, orm.WaitingRow, [
            {"application_id": row.application_id, "role": role.value, "township_code": case.township_code,
             "station_code": case.station_code, "due_on": None, "warn_on": None, **kept} for role in roles])
        return
    else:
        return
    station = case.station_code if step.level is HandlingLevel.VILLAGE else None
    insert_rows(uow.session, orm.WaitingRow, [
        {"application_id": row.application_id, "role": role.value, "township_code": case.township_code,
         "station_code": station, "due_on": row.step_due or row.overall_due, "warn_on": warn_on, **kept}
        for role in step.roles])


def _limit_now(case: Case, row: orm.CaseRow, cal: WorkingCalendar) -> tuple[date | None, date | None]:
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


# ---- opening a case ---------------------------------------------------------------------------------------

def open_case(uow: UnitOfWork, *, filed: ApplicationFiled, now: datetime) -> bool:
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
    _store(uow, row, case, calendar(uow, row.township_code), now, new=True)  # the row is written by _store, never added
    return True


# ---- staff actions ----------------------------------------------------------------------------------------

def _find(uow: UnitOfWork, caller: Caller, ref: str) -> orm.CaseRow:
    column = orm.CaseRow.receipt_no if "-" in ref else orm.CaseRow.application_id
    # locked for the rest of the transaction: one action (or re-derivation) at a time per case
    row = uow.session.execute(select(orm.CaseRow).where(column == ref).with_for_update()).scalar_one_or_none()
    if row is None or not caller.sees_station(row.township_code, row.station_code):
        raise NotFound("no approval case for this application", code="case_not_found")
    return row


def act(uow: UnitOfWork, *, caller: Caller, ref: str, cmd: c.CaseAction, now: datetime,
        idempotency_key: str | None = None) -> c.CaseView:
    """One staff action on the case. With an Idempotency-Key, the action is taken once: the same request
    again (a station's retry, or the broker handing the call out again after the service died before
    answering) gets the case as it is now; the key with another request is 409 `idempotency_key_reused`."""
    row = _find(uow, caller, ref)  # locked: a racing retry waits here, then finds the key
    if idempotency_key is not None:
        digest = request_hash(cmd, row.application_id)
        if earlier_use(uow, orm.IdempotencyKey, caller, idempotency_key, digest) is not None:
            uow.rollback()
            return get_case(uow, caller=caller, ref=ref, now=now)
        remember(uow, orm.IdempotencyKey, caller, idempotency_key, digest, row.application_id, now)
    cal = calendar(uow, row.township_code)
    held = _case(row)
    new, entry, progress = held.act(Action(cmd.action), caller, now=now, today=today_in_china(now),
                                    calendar=cal, reason=cmd.reason, materials=cmd.materials, days=cmd.days)
    _store(uow, row, new, cal, now)
    uow.session.add(orm.AuditRow(application_id=row.application_id, action=entry.action.value,
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


ENTERING = (c.ProgressStage.ACCEPTED, c.ProgressStage.STEP_CHANGED)  # actions that may put a case into a step


def get_case(uow: UnitOfWork, *, caller: Caller, ref: str, now: datetime) -> c.CaseView:
    return case_view(uow, _find(uow, caller, ref), today_in_china(now), with_history=True, caller=caller)


def case_view(uow: UnitOfWork, row: orm.CaseRow, today: date, *, with_history: bool = False,
              caller: Caller | None = None, cal: WorkingCalendar | None = None) -> c.CaseView:
    """The case as staff see it; with `caller`, the actions that person may take on it now (`cal`: the
    working calendar, when the caller has it already)."""
    case = _case(row)
    audit, deadlines = [], []
    if with_history:
        audit = [c.AuditEntryView(action=a.action, actor_staff_id=a.actor_staff_id, actor_role=a.actor_role, at=a.at,
                                  reason=a.reason, step=a.step, from_status=a.from_status, to_status=a.to_status,
                                  step_days_used=a.step_days_used, overall_days_used=a.overall_days_used,
                                  details=a.details)
                 for a in uow.session.execute(select(orm.AuditRow).where(
                     orm.AuditRow.application_id == row.application_id).order_by(orm.AuditRow.id)).scalars()]
        deadlines = [c.DeadlineView(kind=d.kind, step_name=d.step_name, warn_on=d.warn_on, due_on=d.due_on,
                                    warned_at=d.warned_at, overdue_at=d.overdue_at)
                     for d in uow.session.execute(select(orm.DeadlineRow).where(
                         orm.DeadlineRow.application_id == row.application_id).order_by(orm.DeadlineRow.id)).scalars()]
    cal = cal or calendar(uow, row.township_code)
    warn_on, due = _limit_now(case, row, cal) if case.is_open else (None, None)
    return c.CaseView(
        application_id=row.application_id, receipt_no=row.receipt_no, township_code=row.township_code,
        station_code=row.station_code, item_code=row.item_code, status=row.status, step_name=case.step.name,
        step_title=case.step.title, step_roles=[r.value for r in case.step.roles],
        assignee_staff_id=row.assignee_staff_id, accountable_staff_id=row.accountable_staff_id, outcome=row.outcome,
        received_on=row.received_on, promised_days=row.promised_days, extension_days=row.extension_days,
        overall_due=row.overall_due, step_due=row.step_due,
        overdue=is_overdue(row.overall_due, today) or is_overdue(row.step_due, today),
        paused=row.status == CaseStatus.AWAITING_SUPPLEMENT.value, paused_on=case.paused_on,
        awaiting_materials=list(case.awaiting_materials), audit=audit, deadlines=deadlines,
        village_code=row.village_code, warn_on=warn_on,
        warned=warn_on is not None and due is not None and warn_on <= today <= due,
        working_days_left=working_days_left(cal, due, today),
        allowed_actions=[a.value for a in case.actions_for(caller)] if caller is not None else [])


# ---- what waits for whom ------------------------------------------------------------------------------

FAR = date(9999, 12, 31)  # where a case with no clock running sorts, among its tier
TIERS = ("overdue", "warned", "on_time", "no_clock")


def _inbox_order(today: date) -> tuple[Any, ...]:
    """overdue (0), warned (1), the rest (2) by the day each is due, then no clock running (3); in filing
    order within a day. All of it on the waiting row: a township's inbox is sorted without reading a case."""
    w = orm.WaitingRow
    tier = sql_case((w.due_on < today, 0), (w.warn_on <= today, 1), (w.due_on.is_(None), 3), else_=2)
    return tier, func.coalesce(w.due_on, FAR), w.filed_at, w.application_id


def _inbox_cursor(tier: int, due: date | None, filed_at: datetime, application_id: str) -> str:
    raw = json.dumps([tier, (due or FAR).isoformat(), filed_at.isoformat(), application_id])
    return base64.urlsafe_b64encode(raw.encode()).decode()


def _read_inbox_cursor(cursor: str) -> tuple[int, date, datetime, str]:
    try:
        tier, due, filed_at, application_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        moment = datetime.fromisoformat(filed_at)
        if not isinstance(tier, int) or not isinstance(application_id, str) or moment.tzinfo is None:
            raise ValueError("not ours")
        return tier, date.fromisoformat(due), moment, application_id
    except (ValueError, TypeError, UnicodeDecodeError, binascii.Error):
        raise ValidationFailed("cursor is not one this service issued", [{"field": "cursor", "message": "invalid"}],
                               code="cursor_invalid") from None


def inbox(uow: UnitOfWork, *, caller: Caller, query: c.InboxQuery, now: datetime) -> c.InboxPage:
    """What waits for my role at my station or township: overdue first, then those past their warning day,
    then the rest by the day each is due; those with no clock running (补正, to hand over) last."""
    if caller.role is Role.PUBLIC or caller.township_code is None:
        return c.InboxPage(items=[])
    today = today_in_china(now)
    w, r = orm.WaitingRow, orm.CaseRow
    order = _inbox_order(today)
    mine = [w.role == caller.role.value, w.township_code == caller.township_code,
            or_(w.station_code.is_(None), w.station_code == caller.station_code)]
    if query.item_code is not None:
        mine.append(w.item_code == query.item_code)
    if query.status is not None:
        mine.append(w.status == query.status)
    if query.village_code is not None:
        mine.append(w.village_code == query.village_code)
    tiers = select(order[0].label("tier")).where(*mine).subquery()  # (PostgreSQL groups by a column)
    counts = {name: 0 for name in TIERS}
    counts.update({TIERS[tier]: n for tier, n in uow.session.execute(
        select(tiers.c.tier, func.count()).group_by(tiers.c.tier)).all()})
    stmt = select(w.application_id, order[0], w.due_on, w.filed_at).where(*mine)
    if query.cursor:
        tier, due, filed_at, application_id = _read_inbox_cursor(query.cursor)
        stmt = stmt.where(tuple_(*order) > tuple_(literal(tier), literal(due, Date()),
                                                  literal(filed_at, w.filed_at.type), literal(application_id)))
    found = uow.session.execute(stmt.order_by(*order).limit(query.limit + 1)).all()
    more = len(found) > query.limit
    found = found[:query.limit]
    cursor = _inbox_cursor(found[-1][1], found[-1][2], found[-1][3], found[-1][0]) if more else None
    rows = {row.application_id: row for row in uow.session.execute(
        select(r).where(r.application_id.in_([f[0] for f in found]))).scalars()} if found else {}
    return c.InboxPage(items=[case_view(uow, rows[f[0]], today, caller=caller) for f in found],
                       next_cursor=cursor, counts=counts)


def counts(uow: UnitOfWork, *, caller: Caller, township_code: str | None) -> dict[str, int]:
    if caller.role is Role.PUBLIC:
        raise Forbidden("staff only", code="staff_only")
    if township_code is not None and not caller.sees_township(township_code):
        raise NotFound("township not found", code="township_not_found")
    stmt = select(orm.CaseRow.status, func.count()).group_by(orm.CaseRow.status) \
        .where(*within_scope(caller, orm.CaseRow.township_code))
    if township_code is not None:
        stmt = stmt.where(orm.CaseRow.township_code == township_code)
    return {status: n for status, n in uow.session.execute(stmt).all()}


def notices(uow: UnitOfWork, *, caller: Caller, kind: str, limit: int, offset: int,
            township_code: str | None = None, open_only: bool = False) -> list[c.NoticeView]:
    """Supervisors and county roles see their township's notices; anyone sees the records against them.
    `township_code` narrows them to one township (the county's roles choose one; others have theirs);
    `open_only` to the 督办 whose late limit still runs."""
    n = orm.NoticeRow
    stmt = select(n).where(n.kind == kind)
    if caller.role is Role.PUBLIC:
        raise Forbidden("staff only", code="staff_only")
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
    return [c.NoticeView(id=r.id, kind=r.kind, application_id=r.application_id, receipt_no=r.receipt_no,
                         township_code=r.township_code, deadline_kind=r.deadline_kind, step_name=r.step_name,
                         due_on=r.due_on, recorded_at=r.recorded_at, responsible_staff_id=r.responsible_staff_id,
                         responsible_basis=r.responsible_basis, accountable_staff_id=r.accountable_staff_id,
                         closed_at=r.closed_at)
            for r in uow.session.execute(stmt).scalars()]


# ---- the sweep ---------------------------------------------------------------------------------------

def sweep(uow: UnitOfWork, *, now: datetime) -> tuple[int, int]:
    """Warn about limits whose warning day has come and act on limits that have passed. Reads only
    deadline rows that are due (two indexes), claims each with a conditional UPDATE so that two
    instances or a restart never send a notice twice, and commits each claim with its events."""
    today = today_in_china(now)
    _rederive_if_calendar_changed(uow, now)
    d = orm.DeadlineRow
    # a limit already past gets its overdue notice instead of a warning
    to_warn = uow.session.execute(select(d.id, d.application_id).where(d.warned_at.is_(None), d.warn_on <= today,
                                                                       d.due_on >= today)
                                  .order_by(d.warn_on).limit(SWEEP_BATCH)).all()
    warned = sum(_claim(uow, deadline_id, case_id, d.warned_at, now, _warn) for deadline_id, case_id in to_warn)
    to_notice = uow.session.execute(select(d.id, d.application_id).where(d.overdue_at.is_(None), d.due_on < today)
                                    .order_by(d.due_on).limit(SWEEP_BATCH)).all()
    noticed = sum(_claim(uow, deadline_id, case_id, d.overdue_at, now, _supervise)
                  for deadline_id, case_id in to_notice)
    return warned, noticed


def _claim(uow: UnitOfWork, deadline_id: int, case_id: str, flag: Any, now: datetime, effect: Any) -> int:
    """Lock the case before its deadline, the order every staff action and the re-derivation take:
    claiming the deadline first would wait on an action holding the case while the action waits on
    the deadline (a deadlock PostgreSQL breaks by failing one of them)."""
    case_row = uow.session.execute(select(orm.CaseRow).where(orm.CaseRow.application_id == case_id)
                                   .with_for_update()).scalar_one_or_none()
    if case_row is None:
        uow.rollback()
        return 0
    if not uow.claim(update(orm.DeadlineRow).where(orm.DeadlineRow.id == deadline_id, flag.is_(None))
                     .values({flag.key: now})):
        return 0
    deadline_row = uow.session.get(orm.DeadlineRow, deadline_id)
    effect(uow, deadline_row, case_row, now)
    uow.commit()
    return 1


def responsible(uow: UnitOfWork, case_row: orm.CaseRow) -> tuple[int, c.Responsible]:
    """Who answers for a late limit of the case (`Case.who_answers`); the township's active supervisors are
    read only when nobody claimed the step."""
    case = _case(case_row)
    if case.assignee_staff_id is not None:
        return case.who_answers(())
    s = orm.StaffCopy
    supervisors = uow.session.execute(select(s.id).where(
        s.township_code == case_row.township_code, s.role == Role.SUPERVISOR.value, s.active.is_(True))).scalars()
    return case.who_answers(supervisors)


def _deadline_event(deadline_row: orm.DeadlineRow, case_row: orm.CaseRow,
                    answers: tuple[int, c.Responsible]) -> dict[str, Any]:
    return c.DeadlineEvent(application_id=case_row.application_id, receipt_no=case_row.receipt_no,
                           township_code=case_row.township_code, deadline_kind=deadline_row.kind,
                           step_name=deadline_row.step_name, due_on=deadline_row.due_on,
                           responsible_staff_id=answers[0], responsible_basis=answers[1],
                           accountable_staff_id=case_row.accountable_staff_id).model_dump(mode="json")


def _warn(uow: UnitOfWork, deadline_row: orm.DeadlineRow, case_row: orm.CaseRow, now: datetime) -> None:
    uow.record_event("approval_warning", _deadline_event(deadline_row, case_row, responsible(uow, case_row)),
                     township_code=case_row.township_code, now=now)


def _supervise(uow: UnitOfWork, deadline_row: orm.DeadlineRow, case_row: orm.CaseRow, now: datetime) -> None:
    """At the limit: 督办 to the township's supervisors, 责任追究 against the person who answers for the
    late step (`responsible`: never an anonymous record), and the first-contact staff member is told."""
    if deadline_row.warned_at is None:
        deadline_row.warned_at = now
    answers = responsible(uow, case_row)
    for kind in ("supervision", "accountability"):
        uow.session.add(orm.NoticeRow(
            kind=kind, application_id=case_row.application_id, receipt_no=case_row.receipt_no,
            township_code=case_row.township_code, deadline_id=deadline_row.id, deadline_kind=deadline_row.kind,
            step_name=deadline_row.step_name, due_on=deadline_row.due_on, recorded_at=now,
            responsible_staff_id=answers[0], responsible_basis=answers[1],
            accountable_staff_id=case_row.accountable_staff_id))
    event = _deadline_event(deadline_row, case_row, answers)
    uow.record_event("supervision_notice_issued", event, township_code=case_row.township_code, now=now)
    uow.record_event("accountability_recorded", event, township_code=case_row.township_code, now=now)


def _rederive_if_calendar_changed(uow: UnitOfWork, now: datetime) -> None:
    """A county that adds a day off moves every open deadline: re-derive them once per change burst.
    The conditional UPDATE elects one instance to do it; the case rows are locked against actions."""
    if not uow.claim(update(orm.CalendarState).where(orm.CalendarState.id == 1,
                                                     orm.CalendarState.applied != orm.CalendarState.changed)
                     .values(applied=orm.CalendarState.changed)):
        return
    for row in uow.session.execute(select(orm.CaseRow).where(orm.CaseRow.status.in_(OPEN))
                                   .order_by(orm.CaseRow.application_id).with_for_update()).scalars():
        _store(uow, row, _case(row), calendar(uow, row.township_code), now)
    uow.commit()


def note_calendar_change(uow: UnitOfWork, *, payload: dict) -> None:
    """A day that changed sets every open case to be re-derived at the next sweep; a day announced again as
    it is (`cunban up` announces the calendar at every start) does not."""
    if not keep_calendar_day(uow, orm.CalendarDayCopy, payload):
        return
    state = uow.session.get(orm.CalendarState, 1)
    if state is None:
        uow.session.add(orm.CalendarState(id=1, changed=1, applied=0))
    else:
        state.changed += 1


def keep_workflow(uow: UnitOfWork, *, item: dict[str, Any]) -> None:
    uow.keep_newest(orm.CatalogueWorkflowCopy, (item["township_code"], item["code"]),
                    {k: item[k] for k in ("township_code", "code", "workflow", "version")})


def update_gauges(uow: UnitOfWork, *, now: datetime) -> None:
    """Open, warned and overdue applications per township, for the dashboards."""
    today = today_in_china(now)
    r = orm.CaseRow
    overdue = sql_case((or_(r.overall_due < today, r.step_due < today), 1), else_=0)
    rows = uow.session.execute(select(r.township_code, func.count(), func.sum(overdue))
                               .where(r.status.in_(OPEN)).group_by(r.township_code)).all()
    warned = dict(uow.session.execute(
        select(r.township_code, func.count(func.distinct(r.application_id)))
        .join(orm.DeadlineRow, orm.DeadlineRow.application_id == r.application_id)
        .where(r.status.in_(OPEN), orm.DeadlineRow.warned_at.is_not(None),
               orm.DeadlineRow.overdue_at.is_(None)).group_by(r.township_code)).all())
    seen = {township: (open_count, overdue_count or 0) for township, open_count, overdue_count in rows}
    for township in _GAUGED_TOWNSHIPS | set(seen):  # a township whose last case closed goes back to 0
        open_count, overdue_count = seen.get(township, (0, 0))
        metrics.applications_open.labels(township).set(open_count)
        metrics.applications_overdue.labels(township).set(overdue_count)
        metrics.applications_warned.labels(township).set(warned.get(township, 0))
    _GAUGED_TOWNSHIPS.update(seen)

