"""Early warning (苗头性问题): each new complaint is counted in its village and category; a burst or a rise
against the village's own past raises an alert, which collects the complaints that follow within the
rule's window until a supervisor acknowledges it."""
from __future__ import annotations

from datetime import date, datetime, time

from services.complaints.adapters import orm
from services.complaints.adapters.repositories import ComplaintsUnitOfWork
from services.complaints.domain.complaint import MANAGERS
from services.complaints.domain.early_warning import assess, history_start, window_start
from services.complaints.service_layer.county_settings import warning_rule
from shared.clock import CHINA
from shared.contracts import complaints as c
from shared.contracts.caller import Caller, Role
from shared.errors import Forbidden, NotFound


def watch(uow: ComplaintsUnitOfWork, row: orm.ComplaintRow, today: date, now: datetime) -> None:
    """Count the complaint in its village and category; join the recent alert there, or raise one."""
    uow.daily_counts.count_one(row.village_code, row.category, today)
    rule = warning_rule(uow)
    first = window_start(rule, today)
    recent = uow.alerts.latest_since(row.village_code, row.category, first)
    if recent is not None:  # an alert raised within the window collects the newcomers
        recent.count += 1
        uow.alerts.join(recent.id, [row.id])
        return
    daily = uow.daily_counts.between(row.village_code, row.category, history_start(rule, today), today)
    verdict = assess(rule, daily, today)
    if verdict is None:
        return
    alert = orm.AlertRow(township_code=row.township_code, village_code=row.village_code, category=row.category,
                         rule=verdict.rule, count=verdict.count, window_days=rule.window_days, raised_on=today,
                         raised_at=now, status="open")
    uow.alerts.add(alert)
    behind = uow.complaints.registered_since(row.village_code, row.category,
                                             datetime.combine(first, time.min, tzinfo=CHINA))
    uow.alerts.join(alert.id, set(behind) | {row.id})
    event = c.AlertRaised(alert_id=alert.id, township_code=row.township_code, village_code=row.village_code,
                          category=row.category, rule=verdict.rule, count=verdict.count, window_days=rule.window_days)
    uow.record_event("early_warning_raised", event.model_dump(mode="json"), township_code=row.township_code, now=now)


def list_alerts(uow: ComplaintsUnitOfWork, *, caller: Caller, status: str | None) -> list[c.AlertView]:
    if caller.role is Role.PUBLIC:
        raise NotFound("alert not found", code="alert_not_found")
    return [_alert_view(uow, row) for row in uow.alerts.listed(caller, status)]


def acknowledge_alert(uow: ComplaintsUnitOfWork, *, caller: Caller, alert_id: int, cmd: c.AlertAcknowledge,
                      now: datetime) -> c.AlertView:
    row = uow.alerts.get(alert_id)
    if row is None or not caller.sees_township(row.township_code):
        raise NotFound("alert not found", code="alert_not_found")
    if caller.role not in MANAGERS:
        raise Forbidden("supervisors acknowledge early warnings", code="not_a_supervisor")
    if row.status == "open":
        row.status, row.acknowledged_by, row.acknowledged_at, row.note = "acknowledged", caller.staff_id, now, cmd.note
        uow.record_event("early_warning_acknowledged", {"alert_id": row.id, "township_code": row.township_code,
                                                        "by_staff_id": caller.staff_id},
                         township_code=row.township_code, now=now)
        uow.commit()
    return _alert_view(uow, row)


def _alert_view(uow: ComplaintsUnitOfWork, row: orm.AlertRow) -> c.AlertView:
    return c.AlertView(id=row.id, township_code=row.township_code, village_code=row.village_code,
                       category=row.category, rule=row.rule, count=row.count, window_days=row.window_days,
                       raised_at=row.raised_at, status=row.status, acknowledged_by=row.acknowledged_by,
                       acknowledged_at=row.acknowledged_at, note=row.note,
                       complaints=uow.alerts.receipts_of(row.id))
