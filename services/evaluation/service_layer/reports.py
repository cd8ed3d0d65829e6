"""The township's report: its sentence with its figures, the figures of each of its stations, villages and
staff, and its months. Rendering it as a file (CSV, a workbook, the trend chart) is the adapter's
(adapters/reports.py), imported when a file is asked for."""
from __future__ import annotations

from datetime import datetime, timedelta

from services.evaluation.adapters.repositories import EvaluationUnitOfWork
from services.evaluation.domain.figures import COMPLETION_METRICS, rates
from services.evaluation.domain.report import township_summary
from services.evaluation.service_layer.figures import figures, unit_figures
from shared.clock import today_in_china
from shared.contracts import evaluation as c
from shared.contracts.caller import Caller


def township_report(uow: EvaluationUnitOfWork, *, caller: Caller, query: c.ReportQuery,
                    now: datetime) -> c.TownshipReport:
    """The township's sentence with its figures, and the figures of each of its stations and villages."""
    period = {"start": query.start, "end": query.end}
    township = figures(uow, caller=caller, query=c.FiguresQuery(level=c.Level.TOWNSHIP, unit=query.township_code,
                                                                basis=query.basis, **period))
    name = uow.townships.name_of(query.township_code)
    name = query.township_code if name is None else name

    def units(level: c.Level) -> list[c.Figures]:
        return unit_figures(uow, level, query.township_code, query.start, query.end, query.basis, within=caller)

    return c.TownshipReport(township_code=query.township_code, township_name=name, start=query.start,
                            end=query.end, basis=query.basis,
                            summary=township_summary(name, township, today_in_china(now)),
                            township=township, stations=units(c.Level.STATION), villages=units(c.Level.VILLAGE),
                            staff=units(c.Level.STAFF), months=_months(uow, query))


def _months(uow: EvaluationUnitOfWork, query: c.ReportQuery) -> list[c.MonthFigures]:
    """The township's figures month by month, from its daily totals: for a cohort, of what each month
    received; for a flow, what each month completed."""
    completed, on_time, _ = COMPLETION_METRICS[query.basis]
    wanted = [c.Metric.RECEIVED, completed, on_time, c.Metric.RATINGS, c.Metric.SATISFIED]
    by_month: dict[str, dict[c.Metric, float]] = {}
    day = query.start.replace(day=1)
    while day <= query.end:
        by_month[f"{day:%Y-%m}"] = {}
        day = (day + timedelta(days=32)).replace(day=1)
    for day, metric, total in uow.daily_totals.of_township(query.township_code, wanted, query.start, query.end):
        counts = by_month[f"{day:%Y-%m}"]
        counts[metric] = counts.get(metric, 0) + total
    return [c.MonthFigures(month=month, received=int(n.get(c.Metric.RECEIVED, 0)), completed=int(n.get(completed, 0)),
                           on_time_rate=r["on_time_rate"], satisfaction_rate=r["satisfaction_rate"])
            for month, n in by_month.items() for r in (rates(n, query.basis),)]


# ---- the report as a file: rendered by the adapter, loaded (with matplotlib and openpyxl) on first use ----

def report_csv(report: c.TownshipReport, names: c.ReportNames | None = None) -> str:
    """The report's figures as CSV in the workbook's words, one row per unit."""
    from services.evaluation.adapters import reports
    return reports.report_csv(report, names)


def report_xlsx(report: c.TownshipReport, names: c.ReportNames | None = None) -> bytes:
    """The report as a workbook: the summary, one sheet per level, then the months."""
    from services.evaluation.adapters import reports
    return reports.report_xlsx(report, names)


def trend_png(report: c.TownshipReport) -> bytes:
    """The monthly trend as a PNG chart."""
    from services.evaluation.adapters import reports
    return reports.trend_png(report)
