"""Evaluation 完善考评制度: the figures of any staff member, station, village, township or the county for
any period, the records behind each figure, and the township's report (JSON or CSV)."""
from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response

from gateway.auth import CurrentStaff
from gateway.routes import Calls
from shared.clock import today_in_china
from shared.contracts import evaluation as c

router = APIRouter(tags=["evaluation"])
Unit = Annotated[str | None, Query(pattern=r"^[A-Za-z0-9_-]{1,32}$",
                                   description="staff id, station code, village or township code; none for the county")]
Start = Annotated[date | None, Query(description="first day (default: 1 January of this year)")]
End = Annotated[date | None, Query(description="last day (default: today, China time)")]


def _period(start: date | None, end: date | None) -> dict[str, str]:
    today = today_in_china()
    return {"start": (start or date(today.year, 1, 1)).isoformat(), "end": (end or today).isoformat()}


@router.get("/figures", operation_id="figures", response_model=c.Figures)
async def figures(level: c.Level, caller: CurrentStaff, calls: Calls, unit: Unit = None, start: Start = None,
                  end: End = None) -> dict:
    """受理数, 办结数, 办结率, 承诺期限兑现率, 群众满意率, average working days, overdue, substantiated complaints,
    sessions, visits, consultations, activities and deeds of one unit over a period."""
    return await calls.call("evaluation", "figures", caller=caller,
                            query={"level": level, "unit": unit, **_period(start, end)})


@router.get("/figures/records", operation_id="figure_records", response_model=list[c.FactView])
async def figure_records(metric: c.Metric, level: c.Level, caller: CurrentStaff, calls: Calls, unit: Unit = None,
                         start: Start = None, end: End = None, limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                         offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0) -> list:
    """The records behind one figure (drill-down): every number can be traced."""
    return await calls.call("evaluation", "records", caller=caller, query={
        "metric": metric, "level": level, "unit": unit, **_period(start, end), "limit": limit, "offset": offset})


@router.get("/townships/{code}/report", operation_id="township_report", response_model=c.TownshipReport,
            responses={200: {"content": {"text/csv": {}}}})
async def township_report(code: Annotated[str, Path(pattern=r"^\d{9}$")], caller: CurrentStaff, calls: Calls,
                          start: Start = None, end: End = None,
                          format: Literal["json", "csv"] = "json") -> dict | Response:
    """The township's summary in its own words ("今年以来，全镇各服务站共开展六大服务活动…次…"), its figures
    and those of each station and village; `format=csv` for a spreadsheet."""
    query = {"township_code": code, **_period(start, end)}
    if format == "csv":
        text = await calls.call("evaluation", "township_report_csv", caller=caller, query=query)
        return Response(text.encode("utf-8-sig"), media_type="text/csv; charset=utf-8", headers={
            "Content-Disposition": f'attachment; filename="report-{code}-{query["start"]}-{query["end"]}.csv"'})
    return await calls.call("evaluation", "township_report", caller=caller, query=query)
