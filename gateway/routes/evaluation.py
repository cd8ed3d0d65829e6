"""Evaluation 完善考评制度: the figures of any staff member, station, village, township or the county for
any period, the records behind each figure, and the township's report (JSON or CSV)."""
from __future__ import annotations

import base64
from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Body, Path, Query, Request
from fastapi.responses import Response

from gateway.audit import client_of
from gateway.auth import CurrentStaff, PublicCaller
from gateway.routes import Calls
from shared.clock import today_in_china
from shared.contracts import evaluation as c
from shared.contracts.caller import Caller

router = APIRouter(tags=["evaluation"])
Unit = Annotated[str | None, Query(pattern=r"^[A-Za-z0-9_-]{1,32}$",
                                   description="staff id, station code, village or township code; none for the county")]
Start = Annotated[date | None, Query(description="first day (default: 1 January of this year)")]
End = Annotated[date | None, Query(
    description="last day (default: today, China time): on or after start, at most 3700 days after it")]
BasisQuery = Annotated[c.Basis, Query(description="cohort (default): of the applications received in the period, "
                                                  "how many are completed and on time; flow: what happened in the "
                                                  "period, whenever received (no completion rate)")]


def _period(start: date | None, end: date | None) -> dict[str, str]:
    today = today_in_china()
    return {"start": (start or date(today.year, 1, 1)).isoformat(), "end": (end or today).isoformat()}


@router.get("/figures", operation_id="figures", response_model=c.Figures)
async def figures(level: c.Level, caller: CurrentStaff, calls: Calls, unit: Unit = None, start: Start = None,
                  end: End = None, basis: BasisQuery = c.Basis.COHORT) -> dict:
    """受理数, 办结数, 办结率, 承诺期限兑现率, 群众满意率, average working days, overdue, substantiated complaints,
    sessions, visits, consultations, activities and deeds of one unit over a period."""
    return await calls.call("evaluation", "figures", caller=caller,
                            query={"level": level, "unit": unit, **_period(start, end), "basis": basis})


@router.get("/figures/records", operation_id="figure_records", response_model=list[c.FactView])
async def figure_records(metric: c.Metric, level: c.Level, caller: CurrentStaff, calls: Calls, unit: Unit = None,
                         start: Start = None, end: End = None, limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                         offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0) -> list:
    """The records behind one figure (drill-down): every number can be traced."""
    return await calls.call("evaluation", "records", caller=caller, query={
        "metric": metric, "level": level, "unit": unit, **_period(start, end), "limit": limit, "offset": offset})


NAMES_PAGE = 500


async def _all(calls: Calls, caller: Caller, rpc: str, township_code: str, most: int = 20) -> list[dict]:
    found: list[dict] = []
    for page in range(most):
        rows = await calls.call("directory", rpc, caller=caller, township_code=township_code,
                                page={"limit": NAMES_PAGE, "offset": page * NAMES_PAGE})
        found += rows
        if len(rows) < NAMES_PAGE:
            break
    return found


async def report_names(calls: Calls, caller: Caller, township_code: str) -> dict[str, dict[str, str]]:
    """The directory's names of a township's stations, villages and staff, for the report's files (the
    evaluation service counts by code; people read names)."""
    return {"stations": {s["code"]: s["name"] for s in await _all(calls, caller, "list_stations", township_code)},
            "villages": {v["code"]: v["name"] for v in await _all(calls, caller, "list_villages", township_code)},
            "staff": {str(s["id"]): s["full_name"] for s in await _all(calls, caller, "list_staff", township_code)}}


FILE_TYPES = {"csv": "text/csv; charset=utf-8",
              "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "png": "image/png"}


@router.get("/townships/{code}/report", operation_id="township_report", response_model=c.TownshipReport,
            responses={200: {"content": {media: {} for media in FILE_TYPES.values()}}})
async def township_report(code: Annotated[str, Path(pattern=r"^\d{9}$")], caller: CurrentStaff, calls: Calls,
                          start: Start = None, end: End = None, basis: BasisQuery = c.Basis.COHORT,
                          format: Literal["json", "csv", "xlsx", "png"] = "json") -> dict | Response:
    """The township's summary in its own words ("今年以来，全镇各服务站共开展六大服务活动…次…"), its figures
    and those of each station, village and staff member, and the monthly trend; `format=csv` or `xlsx`
    (one sheet per level, each unit by name) for a spreadsheet, `png` for the trend chart."""
    query = {"township_code": code, **_period(start, end), "basis": basis}
    if format == "json":
        return await calls.call("evaluation", "township_report", caller=caller, query=query)
    names = await report_names(calls, caller, code) if format != "png" else None
    data = await calls.call("evaluation", "township_report_file", caller=caller, query=query, format=format,
                            names=names)
    content = data.encode("utf-8-sig") if format == "csv" else base64.b64decode(data)
    name = f"report-{code}-{query['start']}-{query['end']}.{format}"
    disposition = "inline" if format == "png" else f'attachment; filename="{name}"'
    return Response(content, media_type=FILE_TYPES[format], headers={"Content-Disposition": disposition})


# ---- ratings 好差评 ---------------------------------------------------------------------------------------

ReceiptPath = Annotated[str, Path(pattern=r"^\d{9}-(TS)?\d{8}-\d{4,6}$")]


@router.post("/ratings", tags=["ratings"], operation_id="rate", status_code=201, response_model=c.RatingView)
async def rate(body: c.RatingCreate, caller: CurrentStaff, calls: Calls) -> dict:
    """A villager's rating recorded at a station or a market-day post: once per completed application or
    replied complaint; not by the staff member whose work is rated. 不满意 or worse opens a follow-up
    to be called back within 15 working days."""
    return await calls.call("evaluation", "rate", caller=caller, rating=body.model_dump(mode="json"))


@router.post("/public/ratings", tags=["public", "ratings"], operation_id="rate_in_public", status_code=201,
             response_model=c.RatingView)
async def rate_in_public(body: Annotated[c.PublicRating, Body()], request: Request, public: PublicCaller,
                         calls: Calls) -> dict:
    """好差评 by the villager: the receipt number with the phone's last four digits (or an anonymous
    complaint's look-up code). Wrong guesses are limited (429 `lookup_locked`)."""
    client = client_of(request)  # behind the ingress: from X-Forwarded-For (CUNBAN_TRUSTED_PROXIES)
    return await calls.call("evaluation", "rate_public", caller=public,
                            rating={**body.model_dump(mode="json"), "client": client})


@router.get("/ratings/{receipt_no}", tags=["ratings"], operation_id="get_rating", response_model=c.RatingView)
async def get_rating(receipt_no: ReceiptPath, caller: CurrentStaff, calls: Calls) -> dict:
    return await calls.call("evaluation", "get_rating", caller=caller, receipt_no=receipt_no)


@router.post("/ratings/{receipt_no}/follow-up", tags=["ratings"], operation_id="follow_up_rating",
             response_model=c.RatingView)
async def follow_up_rating(receipt_no: ReceiptPath, body: c.FollowUpNote, caller: CurrentStaff,
                           calls: Calls) -> dict:
    """The call-back after a bad rating (差评回访); late ones get a 督办."""
    return await calls.call("evaluation", "follow_up", caller=caller, receipt_no=receipt_no, note=body.note)


# ---- composite score, rankings, commendation and accountability ---------------------------------------

Township = Annotated[str | None, Query(pattern=r"^\d{9}$", description="within this township; none: the county")]


County = Annotated[str | None, Query(pattern=r"^\d{6}$", description="6-digit county code (the system "
                                    "administrator's choice; others: their own county)")]


@router.get("/score-settings", operation_id="score_settings", response_model=c.ScoreSettings)
async def score_settings(caller: CurrentStaff, calls: Calls, county: County = None) -> dict:
    """The weights the county's scores are made with: its own once set, else the installation's default."""
    return await calls.call("evaluation", "score_settings", caller=caller, county_code=county)


@router.put("/score-settings", operation_id="set_score_settings", response_model=c.ScoreSettings)
async def set_score_settings(body: c.ScoreSettings, caller: CurrentStaff, calls: Calls, county: County = None) -> dict:
    """County admins, for their county (the system administrator: the installation's default, or the
    `county` named): the weights (non-negative, adding up to 1), the minimum sample, and the lines for the
    commendation and accountability lists."""
    return await calls.call("evaluation", "set_score_settings", caller=caller, settings=body.model_dump(mode="json"),
                            county_code=county)


@router.get("/rankings", operation_id="ranking", response_model=c.Ranking)
async def ranking(level: c.Level, caller: CurrentStaff, calls: Calls, township: Township = None,
                  start: Start = None, end: End = None, basis: BasisQuery = c.Basis.COHORT) -> dict:
    """Staff, stations or villages within a township, or townships across the county, by composite score
    with each component shown; units below the minimum sample are shown but not ranked."""
    return await calls.call("evaluation", "ranking", caller=caller,
                            query={"level": level, "township_code": township, **_period(start, end), "basis": basis})


@router.get("/honours", operation_id="honour_lists", response_model=c.HonourLists)
async def honour_lists(level: c.Level, caller: CurrentStaff, calls: Calls, township: Township = None,
                       start: Start = None, end: End = None, basis: BasisQuery = c.Basis.COHORT) -> dict:
    """表彰 and 责任追究 lists, each entry with its reasons and the records behind them."""
    return await calls.call("evaluation", "honour_lists", caller=caller,
                            query={"level": level, "township_code": township, **_period(start, end), "basis": basis})
