"""Figures: any unit's counts and rates for a period, summed from its daily totals; the records behind a
figure (the numbers are never a black box); every unit of a level at once; and the dashboards' gauges."""
from __future__ import annotations

from datetime import date, datetime

from services.evaluation.adapters.repositories import EvaluationUnitOfWork
from services.evaluation.domain.figures import rates
from shared.clock import today_in_china
from shared.contracts import evaluation as c
from shared.contracts.caller import Caller, Role
from shared.errors import Forbidden, NotFound, ValidationFailed
from shared.observability import metrics


def _township_of(uow: EvaluationUnitOfWork, caller: Caller, level: c.Level, unit: str | None) -> str | None:
    """The unit's township, after checking the caller may see the unit's figures."""
    if caller.role is Role.PUBLIC:
        raise NotFound("no figures for this unit", code="unit_not_found")
    if level is c.Level.COUNTY:
        if not caller.is_county:
            raise Forbidden("the county's figures are for the county's roles", code="not_county")
        if unit is None and caller.county is None:
            raise ValidationFailed("name the county", [{"field": "unit", "message": "a 6-digit county code"}],
                                   code="county_required")
        if unit is not None and not caller.sees_county(unit):
            raise NotFound("no figures for this unit", code="unit_not_found")
        return None
    township = unit if level is c.Level.TOWNSHIP else uow.unit_townships.township_of(level, unit)
    if township is None or not caller.sees_township(township):
        raise NotFound("no figures for this unit", code="unit_not_found")
    return township


def figures(uow: EvaluationUnitOfWork, *, caller: Caller, query: c.FiguresQuery) -> c.Figures:
    township = _township_of(uow, caller, query.level, query.unit)
    unit = query.unit or caller.county if query.level is c.Level.COUNTY else query.unit
    counts = uow.daily_totals.sums(query.level, [unit], query.start, query.end)[unit]
    return c.Figures(level=query.level, unit=query.unit, township_code=township, start=query.start, end=query.end,
                     basis=query.basis, counts=counts, **rates(counts, query.basis))


def records(uow: EvaluationUnitOfWork, *, caller: Caller, query: c.RecordsQuery) -> list[c.FactView]:
    """The records behind one figure: the numbers are never a black box."""
    _township_of(uow, caller, query.level, query.unit)
    unit = query.unit or caller.county if query.level is c.Level.COUNTY else query.unit
    return [c.FactView(metric=x.metric, ref=x.ref, day=x.day, township_code=x.township_code,
                       station_code=x.station_code, village_code=x.village_code, staff_id=x.staff_id, value=x.value)
            for x in uow.facts.behind(query.metric, query.level, unit, query.start, query.end, limit=query.limit,
                                      offset=query.offset)]


def unit_figures(uow: EvaluationUnitOfWork, level: c.Level, township_code: str | None, start: date,
                 end: date, basis: c.Basis = c.Basis.COHORT, *, within: Caller | None = None) -> list[c.Figures]:
    """The figures of every unit of a level (in one township, or all those `within` the caller's reach),
    with one grouped query."""
    townships = uow.unit_townships.of_level(level, township_code, within)
    sums = uow.daily_totals.sums(level, list(townships), start, end)
    return [c.Figures(level=level, unit=unit, township_code=township, start=start, end=end, basis=basis,
                      counts=sums[unit], **rates(sums[unit], basis)) for unit, township in townships.items()]


def update_gauges(uow: EvaluationUnitOfWork, *, now: datetime) -> None:
    """This year's rates per township, for the dashboards (NaN while a rate has nothing under it)."""
    today = today_in_china(now)
    for township in unit_figures(uow, c.Level.TOWNSHIP, None, date(today.year, 1, 1), today):
        for gauge, value in ((metrics.township_completion_ratio, township.completion_rate),
                             (metrics.township_on_time_ratio, township.on_time_rate),
                             (metrics.township_satisfaction_ratio, township.satisfaction_rate)):
            gauge.labels(township.unit).set(float("nan") if value is None else value)
        for metric in (c.Metric.RECEIVED, c.Metric.COMPLETED, c.Metric.COMPLAINTS):
            metrics.township_year_count.labels(township.unit, metric.value).set(township.counts.get(metric, 0))
