"""Series use cases: periodic 定期 and fixed-point 定点 visits generated from a rule, kept in step with
it (and with the team) as either changes; past visits stay as they happened."""
from __future__ import annotations

from datetime import datetime

from services.scheduling.adapters import orm
from services.scheduling.adapters.repositories import SchedulingUnitOfWork
from services.scheduling.domain.visits import series_days
from services.scheduling.service_layer.market_days import describe
from services.scheduling.service_layer.rosters import check_cadre
from services.scheduling.service_layer.sessions import days_off, require_manager
from services.scheduling.service_layer.visit_planning import add_member, announce, new_visit, views, village_township
from shared.clock import today_in_china
from shared.contracts.caller import Caller
from shared.contracts.directory import MarketDayRule
from shared.contracts.scheduling import VisitKind, VisitSeriesChange, VisitSeriesCreate, VisitSeriesView
from shared.errors import Conflict, NotFound, ValidationFailed


def create_series(uow: SchedulingUnitOfWork, *, caller: Caller, cmd: VisitSeriesCreate,
                  now: datetime) -> VisitSeriesView:
    township = village_township(uow, caller, cmd.village_code)
    require_manager(caller, township)
    for staff_id in cmd.staff_ids:  # refuse a stranger outright rather than leave them off every visit
        check_cadre(uow, staff_id, township)
    village = uow.villages.get(cmd.village_code)
    series = orm.VisitSeries(kind=cmd.kind, township_code=township, village_code=cmd.village_code, title=cmd.title,
                             place=cmd.place or village.name, rule=cmd.rule.model_dump(mode="json"), starts=cmd.starts,
                             ends=cmd.ends, first_day=cmd.first_day, last_day=cmd.last_day,
                             staff_ids=list(cmd.staff_ids), created_by=caller.staff_id)
    uow.visit_series.add(series)
    unavailable = _generate(uow, caller, series, now)
    uow.commit()
    return _series_view(uow, series, unavailable)


def change_series(uow: SchedulingUnitOfWork, *, caller: Caller, series_id: int, cmd: VisitSeriesChange,
                  now: datetime) -> VisitSeriesView:
    """A new rule, end or team: future visits follow it, past ones stay as they happened."""
    series = uow.visit_series.get(series_id)
    if series is None or not caller.sees_township(series.township_code):
        raise NotFound("visit series not found", code="visit_series_not_found")
    require_manager(caller, series.township_code)
    if cmd.rule is not None:
        series.rule = cmd.rule.model_dump(mode="json")
    if cmd.last_day is not None:
        if cmd.last_day < series.first_day or (cmd.last_day - series.first_day).days > 400:
            raise ValidationFailed("a series spans at most 400 days, last_day after first_day",
                                   [{"field": "last_day", "message": "out of range"}])
        series.last_day = cmd.last_day
    if cmd.staff_ids is not None:
        for staff_id in cmd.staff_ids:
            check_cadre(uow, staff_id, series.township_code)
        series.staff_ids = list(cmd.staff_ids)
    unavailable = _generate(uow, caller, series, now)
    uow.commit()
    return _series_view(uow, series, unavailable)


def _generate(uow: SchedulingUnitOfWork, caller: Caller, series: orm.VisitSeries, now: datetime) -> list[dict]:
    """Make the series' future visits match its rule and team; idempotent. A cadre who cannot go on a day
    (leave, elsewhere) is left off that visit and listed as unavailable. Visits that have begun stay."""
    start = max(series.first_day, today_in_china(now))
    wanted = set(series_days(MarketDayRule.model_validate(series.rule), start, series.last_day,
                             days_off(uow, series.township_code)))
    existing = {v.day: v for v in uow.visits.of_series(series.id, since=start)}
    unavailable: list[dict] = []
    for day in sorted(wanted | set(existing)):
        visit = existing.get(day)
        if visit is not None and (visit.status == "reported" or visit.starts_at <= now):
            continue
        if day not in wanted:
            if visit.status == "planned" and visit.day_off is None:  # one held on a day off stays
                visit.status, visit.updated_at = "cancelled", now
                announce(uow, "visit_cancelled", visit, now)
            continue
        changed = visit is None or visit.status == "cancelled"
        if visit is None:
            visit = new_visit(uow, caller, kind=series.kind, township=series.township_code,
                              village_code=series.village_code, title=series.title, place=series.place, purpose=None,
                              day=day, starts=series.starts, ends=series.ends, series_id=series.id, now=now)
        visit.status, visit.updated_at, visit.day_off, visit.restorable = "planned", now, None, False
        members = {m.staff_id: m for m in uow.visit_members.of_visit(visit.id)}
        leaving = [members[staff_id] for staff_id in set(members) - set(series.staff_ids)]
        uow.visit_members.remove(leaving)
        changed = changed or bool(leaving)
        for staff_id in series.staff_ids:
            if staff_id in members:
                continue
            try:
                add_member(uow, visit, staff_id, None)  # refuses before writing anything
                changed = True
            except Conflict as clash:
                unavailable.append({"day": day.isoformat(), "staff_id": staff_id, "code": clash.code})
        if changed:
            announce(uow, "visit_planned", visit, now)
    return unavailable


def _series_view(uow: SchedulingUnitOfWork, series: orm.VisitSeries, unavailable: list[dict]) -> VisitSeriesView:
    return VisitSeriesView(id=series.id, kind=VisitKind(series.kind), title=series.title,
                           township_code=series.township_code, village_code=series.village_code, place=series.place,
                           rule_summary=describe(MarketDayRule.model_validate(series.rule)),
                           first_day=series.first_day, last_day=series.last_day, staff_ids=series.staff_ids,
                           visits=views(uow, uow.visits.of_series(series.id)), unavailable=unavailable)
