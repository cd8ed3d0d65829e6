"""Reading cases: one case as staff see it (with its history and the actions the caller may take), the
inbox of what waits for the caller by time left, the counts per status, and the 督办 and 责任追究 lists."""
from __future__ import annotations

import base64
import binascii
import json
from datetime import date, datetime

from services.approvals.adapters import orm
from services.approvals.adapters.repositories import FAR, ApprovalsUnitOfWork, InboxKey
from services.approvals.domain.case import CaseStatus
from services.approvals.service_layer.opening import case_of, limit_now
from shared.clock import today_in_china
from shared.contracts import approvals as c
from shared.contracts.caller import Caller, Role
from shared.errors import Forbidden, NotFound, ValidationFailed
from shared.working_days import WorkingCalendar, is_overdue, working_days_left

TIERS = ("overdue", "warned", "on_time", "no_clock")


def find(uow: ApprovalsUnitOfWork, caller: Caller, ref: str) -> orm.CaseRow:
    """The case a receipt number or an application id names, locked for the rest of the transaction (one
    action at a time per case); NotFound when there is none the caller may see."""
    row = uow.cases.held(ref)
    if row is None or not caller.sees_station(row.township_code, row.station_code):
        raise NotFound("no approval case for this application", code="case_not_found")
    return row


def get_case(uow: ApprovalsUnitOfWork, *, caller: Caller, ref: str, now: datetime) -> c.CaseView:
    return case_view(uow, find(uow, caller, ref), today_in_china(now), with_history=True, caller=caller)


def case_view(uow: ApprovalsUnitOfWork, row: orm.CaseRow, today: date, *, with_history: bool = False,
              caller: Caller | None = None, cal: WorkingCalendar | None = None) -> c.CaseView:
    """The case as staff see it; with `caller`, the actions that person may take on it now (`cal`: the
    working calendar, when the caller has it already)."""
    case = case_of(row)
    audit, deadlines = [], []
    if with_history:
        audit = [c.AuditEntryView(action=a.action, actor_staff_id=a.actor_staff_id, actor_role=a.actor_role, at=a.at,
                                  reason=a.reason, step=a.step, from_status=a.from_status, to_status=a.to_status,
                                  step_days_used=a.step_days_used, overall_days_used=a.overall_days_used,
                                  details=a.details)
                 for a in uow.audit.of(row.application_id)]
        deadlines = [c.DeadlineView(kind=d.kind, step_name=d.step_name, warn_on=d.warn_on, due_on=d.due_on,
                                    warned_at=d.warned_at, overdue_at=d.overdue_at)
                     for d in uow.deadlines.of_case(row.application_id, in_order=True)]
    cal = cal or uow.calendars.of_township(row.township_code)
    warn_on, due = limit_now(case, row, cal) if case.is_open else (None, None)
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

def _inbox_cursor(key: InboxKey) -> str:
    tier, due, filed_at, application_id = key
    raw = json.dumps([tier, (due or FAR).isoformat(), filed_at.isoformat(), application_id])
    return base64.urlsafe_b64encode(raw.encode()).decode()


def _read_inbox_cursor(cursor: str) -> InboxKey:
    try:
        tier, due, filed_at, application_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        moment = datetime.fromisoformat(filed_at)
        if not isinstance(tier, int) or not isinstance(application_id, str) or moment.tzinfo is None:
            raise ValueError("not ours")
        return tier, date.fromisoformat(due), moment, application_id
    except (ValueError, TypeError, UnicodeDecodeError, binascii.Error):
        raise ValidationFailed("cursor is not one this service issued", [{"field": "cursor", "message": "invalid"}],
                               code="cursor_invalid") from None


def inbox(uow: ApprovalsUnitOfWork, *, caller: Caller, query: c.InboxQuery, now: datetime) -> c.InboxPage:
    """What waits for my role at my station or township: overdue first, then those past their warning day,
    then the rest by the day each is due; those with no clock running (补正, to hand over) last."""
    if caller.role is Role.PUBLIC or caller.township_code is None:
        return c.InboxPage(items=[])
    today = today_in_china(now)
    counts = {name: 0 for name in TIERS}
    counts.update({TIERS[tier]: n for tier, n in uow.waiting.tier_counts(caller, query, today).items()})
    after = _read_inbox_cursor(query.cursor) if query.cursor else None
    found = uow.waiting.page(caller, query, today, after=after, limit=query.limit + 1)
    more = len(found) > query.limit
    found = found[:query.limit]
    cursor = _inbox_cursor(found[-1]) if more else None
    rows = uow.cases.by_ids(key[3] for key in found)
    return c.InboxPage(items=[case_view(uow, rows[key[3]], today, caller=caller) for key in found],
                       next_cursor=cursor, counts=counts)


def counts(uow: ApprovalsUnitOfWork, *, caller: Caller, township_code: str | None) -> dict[str, int]:
    if caller.role is Role.PUBLIC:
        raise Forbidden("staff only", code="staff_only")
    if township_code is not None and not caller.sees_township(township_code):
        raise NotFound("township not found", code="township_not_found")
    return uow.cases.count_by_status(caller, township_code)


def notices(uow: ApprovalsUnitOfWork, *, caller: Caller, kind: str, limit: int, offset: int,
            township_code: str | None = None, open_only: bool = False) -> list[c.NoticeView]:
    """Supervisors and county roles see their township's notices; anyone sees the records against them.
    `township_code` narrows them to one township (the county's roles choose one; others have theirs);
    `open_only` to the 督办 whose late limit still runs."""
    if caller.role is Role.PUBLIC:
        raise Forbidden("staff only", code="staff_only")
    return [c.NoticeView(id=r.id, kind=r.kind, application_id=r.application_id, receipt_no=r.receipt_no,
                         township_code=r.township_code, deadline_kind=r.deadline_kind, step_name=r.step_name,
                         due_on=r.due_on, recorded_at=r.recorded_at, responsible_staff_id=r.responsible_staff_id,
                         responsible_basis=r.responsible_basis, accountable_staff_id=r.accountable_staff_id,
                         closed_at=r.closed_at)
            for r in uow.notices.listed(caller, kind=kind, limit=limit, offset=offset, township_code=township_code,
                                        open_only=open_only)]
