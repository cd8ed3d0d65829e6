"""The township supervisor's screens (分管领导 / 督办): 一览 (the township's figures for a period, the monthly
trend as an inline SVG chart, the same per station, village and staff member in tables sorted by a link,
each figure opening the records behind it), 督办 (督办 and 责任追究 notices with who answers for each,
overdue applications and complaints, early warnings 苗头性问题 to acknowledge) and 考评 (rankings, the 表彰
and 责任追究 lists with their records, the township report to read and to download). County admins have
no township: they choose one (`?township=`)."""
from __future__ import annotations

import base64
import re
from datetime import date
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Path, Query, Request, Response
from markupsafe import Markup

from gateway.audit import PERSONAL_DATA
from gateway.pages import console, words
from gateway.pages.session import StaffPage
from gateway.pages.web import PAGE, PageRoute, TownshipQuery, read_form, render, see_other, text
from gateway.routes import Calls
from gateway.routes.evaluation import FILE_TYPES, report_names
from shared.clock import today_in_china
from shared.contracts import evaluation as c
from shared.contracts.base import CleanStr
from shared.errors import ValidationFailed

router = APIRouter(prefix="/console", route_class=PageRoute)

DayQuery = Annotated[str | None, Query(pattern=r"^(\d{4}-\d{2}-\d{2})?$")]
BasisQuery = Annotated[c.Basis, Query()]
COLUMNS = ("name", "received", "completed", "completion_rate", "on_time_rate", "satisfaction_rate")
SortQuery = Annotated[str | None, Query(pattern=r"^-?(" + "|".join(COLUMNS) + r")?$")]
UnitLevel = Annotated[str, Query(pattern=r"^(township|station|village|staff)$")]
RankLevel = Annotated[str, Query(pattern=r"^(staff|station|village)$")]
UnitQuery = Annotated[str, Query(pattern=r"^[A-Za-z0-9_-]{1,32}$")]
OffsetQuery = Annotated[int, Query(ge=0, le=100_000)]
RECEIPT = re.compile(r"^\d{9}-\d{8}-\d{4,6}$")  # an application's: opens its page
SHOWN = re.compile(r"^\d{9}-(TS)?\d{8}-\d{4,6}$")  # a complaint's too (other records by what they are)
RECORDS_PAGE = 50
NOTICES_PAGE = 20


# ---- what every screen shares: the township, the period -------------------------------------------------

def period_of(start: str | None, end: str | None) -> dict[str, str]:
    """The chosen period (default: this year up to today, China time); an impossible one is said in words."""
    today = today_in_china()
    try:
        first = date.fromisoformat(start) if start else date(today.year, 1, 1)
        last = date.fromisoformat(end) if end else today
    except ValueError:
        raise ValidationFailed("not a date", [{"field": "start", "message": "not a date"}],
                               code="bad_period") from None
    if last < first or (last - first).days > 3700:
        raise ValidationFailed("a period of at most ten years, end after start",
                               [{"field": "end", "message": "end before start"}], code="bad_period")
    return {"start": first.isoformat(), "end": last.isoformat()}


def address(path: str, **params: Any) -> str:
    """A page's address with its query (empty values left out)."""
    kept = {k: v for k, v in params.items() if v not in (None, "")}
    return f"{path}?{urlencode(kept)}" if kept else path


def percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f}%"


# ---- 一览 --------------------------------------------------------------------------------------------------

COMPLETED = {c.Basis.COHORT: ("cohort_completed", "cohort_on_time"), c.Basis.FLOW: ("completed", "on_time")}


def figure_row(figures: dict, name: str, basis: c.Basis) -> dict[str, Any]:
    """One unit's figures as a table row: the counts behind each rate, the rates, and what to open."""
    counts = figures["counts"]
    completed, on_time = COMPLETED[basis]
    return {"name": name, "level": figures["level"], "unit": figures["unit"],
            "received": int(counts.get("received", 0)), "completed": int(counts.get(completed, 0)),
            "on_time": int(counts.get(on_time, 0)), "completed_late": int(counts.get("completed_late", 0)),
            "ratings": int(counts.get("ratings", 0)), "satisfied": int(counts.get("satisfied", 0)),
            "overdue": int(counts.get("overdue", 0)), "completion_rate": figures["completion_rate"],
            "on_time_rate": figures["on_time_rate"], "satisfaction_rate": figures["satisfaction_rate"],
            "metric_completed": completed, "metric_on_time": on_time}


def sorted_rows(rows: list[dict], sort: str | None) -> list[dict]:
    """By a column (`-` first: largest first); a rate with nothing under it (—) always last."""
    if not sort:
        return rows
    column, descending = sort.lstrip("-"), sort.startswith("-")
    present = [r for r in rows if r[column] is not None]
    absent = [r for r in rows if r[column] is None]
    return sorted(present, key=lambda r: r[column], reverse=descending) + absent


def trend_chart(months: list[dict]) -> Markup:
    """The monthly trend drawn on the server as SVG: per month a bar of applications received and one of
    those completed, and the 承诺期限兑现率 as a line with a point per month that has one. Colours come from
    classes in the stylesheet (the CSP allows no style attribute)."""
    width, height, left, right, top, bottom = 720, 300, 48, 64, 16, 44
    inner_w, inner_h = width - left - right, height - top - bottom
    most = max([m["received"] for m in months] + [m["completed"] for m in months] + [1])
    ceiling = _nice(most)
    slot = inner_w / max(len(months), 1)
    bar = max(min(slot * 0.36, 28), 1.5)
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-labelledby="trend-title trend-desc" '
             f'xmlns="http://www.w3.org/2000/svg">',
             '<title id="trend-title">月度趋势：受理数、办结数和承诺期限兑现率</title>',
             f'<desc id="trend-desc">{len(months)} 个月，每月两根柱：受理数和办结数；折线：承诺期限兑现率。</desc>']
    for i in range(5):  # the grid, counts on the left, rates on the right
        y = top + inner_h - inner_h * i / 4
        parts.append(f'<line class="grid" x1="{left}" y1="{y:.1f}" x2="{left + inner_w}" y2="{y:.1f}"/>')
        parts.append(f'<text class="tick" x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">'
                     f'{_whole(ceiling * i / 4)}</text>')
        parts.append(f'<text class="tick" x="{left + inner_w + 6}" y="{y + 4:.1f}">{25 * i}%</text>')
    points = []
    step = max(1, len(months) // 12)  # at most about twelve month labels
    for i, m in enumerate(months):
        x = left + slot * i + slot / 2
        year, month = m["month"].split("-")
        label = f"{int(year)}年{int(month)}月"
        for value, offset, kind, word in ((m["received"], -bar, "received", "受理"),
                                          (m["completed"], 0, "completed", "办结")):
            h = inner_h * value / ceiling
            parts.append(f'<rect class="bar-{kind}" data-month="{m["month"]}" data-value="{value}" '
                         f'x="{x + offset:.1f}" y="{top + inner_h - h:.1f}" width="{bar:.1f}" height="{h:.1f}">'
                         f'<title>{label}{word} {value} 件</title></rect>')
        if i % step == 0:
            minor = " minor" if (i // step) % 2 else ""  # left out on a phone
            parts.append(f'<text class="tick{minor}" x="{x:.1f}" y="{top + inner_h + 16}" text-anchor="middle">'
                         f'{int(month)}月</text>')
            if i == 0 or month == "01":
                parts.append(f'<text class="tick" x="{x:.1f}" y="{top + inner_h + 32}" text-anchor="middle">'
                             f'{int(year)}年</text>')
        if m["on_time_rate"] is not None:
            y = top + inner_h - inner_h * m["on_time_rate"]
            points.append((x, y, label, m["on_time_rate"], m["month"]))
    if len(points) > 1:
        parts.append('<polyline class="rate-line" points="' + " ".join(f"{x:.1f},{y:.1f}" for x, y, *_ in points)
                     + '"/>')
    for x, y, label, rate, month in points:
        parts.append(f'<circle class="rate-point" data-month="{month}" data-value="{rate}" cx="{x:.1f}" '
                     f'cy="{y:.1f}" r="4"><title>{label}承诺期限兑现率 {percent(rate)}</title></circle>')
    parts.append(f'<line class="axis" x1="{left}" y1="{top + inner_h}" x2="{left + inner_w}" y2="{top + inner_h}"/>')
    parts.append("</svg>")
    return Markup("".join(parts))


def _nice(most: float) -> int:
    """A round top for the count axis, divisible by 4 (so the grid's labels are whole)."""
    for ceiling in (4, 8, 12, 20, 40, 60, 80, 100, 200, 400, 600, 800, 1000):
        if most <= ceiling:
            return ceiling
    power = 10 ** (len(str(int(most))) - 1)
    return -(-int(most) // (power * 4)) * power * 4


def _whole(value: float) -> str:
    return str(int(round(value)))


@router.get("/overview", operation_id="page_overview", **PAGE)
async def overview(request: Request, staff: StaffPage, calls: Calls, township: TownshipQuery = None,
                   start: DayQuery = None, end: DayQuery = None, basis: BasisQuery = c.Basis.COHORT,
                   sort: SortQuery = None) -> Response:
    chosen, townships = await console.township_choice(calls, staff, township)
    period = period_of(start, end)
    context: dict[str, Any] = {"townships": townships, "chosen": chosen, "period": period, "basis": basis,
                               "sort": sort or "", "basis_words": words.BASIS}
    if chosen is None:
        return render(request, "console/overview.html", **context)
    report = await calls.call("evaluation", "township_report", caller=staff,
                              query={"township_code": chosen, **period, "basis": basis})
    names = await report_names(calls, staff, chosen)
    tables = {level: sorted_rows([figure_row(f, names[key].get(str(f["unit"]), "（已撤销）"), basis)
                                  for f in report[key]], sort)
              for level, key in (("station", "stations"), ("village", "villages"), ("staff", "staff"))}
    common = {"township": chosen if not staff.township_code else None, **period, "basis": basis.value}

    def sort_link(column: str) -> str:
        """The column's link: largest first on the first click (names: 甲 to 乙), the other way on the next."""
        first = column if column == "name" else f"-{column}"
        other = first[1:] if first.startswith("-") else f"-{first}"
        return address("/console/overview", **common, sort=other if sort == first else first)

    def records_link(metric: str, level: str, unit: str) -> str:
        return address("/console/overview/records", **common, metric=metric, level=level, unit=unit)

    return render(request, "console/overview.html", **context, report=report,
                  township_row=figure_row(report["township"], report["township_name"], basis),
                  tables=tables, chart=trend_chart(report["months"]), months=report["months"],
                  sort_link=sort_link, records_link=records_link, percent=percent, common=common,
                  flow_link=address("/console/overview", **{**common, "basis": "flow"}),
                  cohort_link=address("/console/overview", **{**common, "basis": "cohort"}))


@router.get("/overview/records", operation_id="page_figure_records", openapi_extra=PERSONAL_DATA, **PAGE)
async def figure_records(request: Request, staff: StaffPage, calls: Calls, metric: c.Metric, level: UnitLevel,
                         unit: UnitQuery, township: TownshipQuery = None, start: DayQuery = None,
                         end: DayQuery = None, basis: BasisQuery = c.Basis.COHORT, offset: OffsetQuery = 0) -> Response:
    """The records behind one figure: the receipt numbers (each opens its application), day, station, village
    and staff member by name."""
    chosen, _ = await console.township_choice(calls, staff, township)
    if level in ("township", "village"):  # a village's code starts with its township's
        console.in_scope(staff, unit[:9])
    period = period_of(start, end)
    found = await calls.call("evaluation", "records", caller=staff, query={
        "metric": metric.value, "level": level, "unit": unit, **period, "limit": RECORDS_PAGE + 1,
        "offset": offset})
    place = chosen or (found[0]["township_code"] if found else None) or (unit if level == "township" else None)
    names = await report_names(calls, staff, place) if place else {"stations": {}, "villages": {}, "staff": {}}
    township_name = ""
    if place:
        township_name = (await console.optional(calls.call("directory", "get_township", caller=staff,
                                                           code=place)) or {}).get("name", "")
    unit_name = township_name if level == "township" else \
        names[{"station": "stations", "village": "villages", "staff": "staff"}[level]].get(unit, "")
    common = {"township": chosen if not staff.township_code else None, **period, "basis": basis.value}
    more = address("/console/overview/records", **common, metric=metric.value, level=level, unit=unit,
                   offset=offset + RECORDS_PAGE) if len(found) > RECORDS_PAGE else None
    return render(request, "console/figure_records.html", rows=found[:RECORDS_PAGE], names=names,
                  metric_word=words.METRIC.get(metric.value, metric.value), unit_name=unit_name,
                  level_word=words.LEVEL.get(level, ""), period=period, more=more, offset=offset,
                  linkable=RECEIPT, shown=SHOWN, back=address("/console/overview", **common))


# ---- 督办 --------------------------------------------------------------------------------------------------

@router.get("/supervision", operation_id="page_supervision", openapi_extra=PERSONAL_DATA, **PAGE)
async def supervision(request: Request, staff: StaffPage, calls: Calls, township: TownshipQuery = None,
                      supervision_from: OffsetQuery = 0, accountability_from: OffsetQuery = 0,
                      cases: Annotated[CleanStr | None, Query(max_length=200)] = None,
                      done: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
                      notices: Annotated[str | None, Query(pattern=r"^(all)?$")] = None) -> Response:
    """督办 (the open notices by default, `?notices=all` with the closed ones), 责任追究, overdue cases and
    complaints, early warnings."""
    chosen, townships = await console.township_choice(calls, staff, township)
    every = notices == "all"
    context: dict[str, Any] = {"townships": townships, "chosen": chosen, "done": done, "every_notice": every}
    if chosen is None:
        return render(request, "console/supervision.html", **context)
    common = {"township": chosen if not staff.township_code else None}
    lists = {}
    for kind, start in (("supervision", supervision_from), ("accountability", accountability_from)):
        found = await calls.call("approvals", "notices", caller=staff, kind=kind, limit=NOTICES_PAGE + 1,
                                 offset=start, township_code=chosen,
                                 open_only=kind == "supervision" and not every)
        more = {**common, "supervision_from": supervision_from, "accountability_from": accountability_from,
                "notices": "all" if every else None}
        more[f"{kind}_from"] = start + NOTICES_PAGE
        lists[kind] = {"rows": found[:NOTICES_PAGE], "more": address("/console/supervision", **more)
                       if len(found) > NOTICES_PAGE else None, "first": start > 0}
    overdue = await calls.call("intake", "list_applications", caller=staff, query={
        "township_code": chosen, "overdue": True, "mine": False, "limit": 20, "cursor": cases or None})
    overdue_complaints = await console.optional(calls.call("complaints", "list_complaints", caller=staff, query={
        "township_code": chosen, "overdue": True, "limit": 50, "offset": 0})) or []
    alerts = await console.optional(calls.call("complaints", "alerts", caller=staff, status=None)) or []
    names = await report_names(calls, staff, chosen)
    alerts = sorted([a for a in alerts if a["township_code"] == chosen], key=lambda a: a["status"] != "open")
    next_cases = address("/console/supervision", **common, cases=overdue["next_cursor"]) \
        if overdue.get("next_cursor") else None
    notice_toggle = address("/console/supervision", **common, notices=None if every else "all")
    return render(request, "console/supervision.html", **context, lists=lists, common=common,
                  notice_toggle=notice_toggle,
                  overdue=overdue["items"], next_cases=next_cases,
                  first_cases=address("/console/supervision", **common) if cases else None,
                  complaints=overdue_complaints,
                  alerts=alerts, villages=names["villages"], stations=names["stations"],
                  people={int(k): v for k, v in names["staff"].items()},
                  basis_words=words.RESPONSIBLE,
                  rule_words=words.ALERT_RULE, categories=words.COMPLAINT_CATEGORY,
                  may_acknowledge=staff.role.value in ("supervisor", "county_admin"))


AlertPath = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.post("/supervision/alerts/{alert_id}/acknowledge", operation_id="page_acknowledge_alert", **PAGE)
async def acknowledge(request: Request, staff: StaffPage, calls: Calls, alert_id: AlertPath) -> Response:
    form = await read_form(request)
    note = text(form, "note", 500)
    township = text(form, "township", 9)
    township = township if re.fullmatch(r"\d{9}", township) else None
    if not note:
        raise ValidationFailed("say what was done", [{"field": "note", "message": "required"}],
                               code="acknowledgement_note_missing")
    await calls.call("complaints", "acknowledge_alert", caller=staff, alert_id=alert_id,
                     acknowledgement={"note": note})
    return see_other(address("/console/supervision", township=township, done=alert_id) + f"#alert-{alert_id}")


# ---- 考评 --------------------------------------------------------------------------------------------------

@router.get("/rankings", operation_id="page_rankings", **PAGE)
async def rankings(request: Request, staff: StaffPage, calls: Calls, township: TownshipQuery = None,
                   level: Annotated[str, Query(pattern=r"^(staff|station|village)$")] = "staff",
                   start: DayQuery = None, end: DayQuery = None, basis: BasisQuery = c.Basis.COHORT) -> Response:
    chosen, townships = await console.township_choice(calls, staff, township)
    period = period_of(start, end)
    context: dict[str, Any] = {"townships": townships, "chosen": chosen, "period": period, "level": level,
                               "basis": basis, "basis_words": words.BASIS, "levels": words.RANK_LEVEL}
    if chosen is None:
        return render(request, "console/rankings.html", **context)
    query = {"level": level, "township_code": chosen, **period, "basis": basis.value}
    ranked = await calls.call("evaluation", "ranking", caller=staff, query=query)
    honours = await calls.call("evaluation", "honour_lists", caller=staff, query=query)
    report = await calls.call("evaluation", "township_report", caller=staff,
                              query={"township_code": chosen, **period, "basis": basis.value})
    names = await report_names(calls, staff, chosen)
    by_level = names[{"station": "stations", "village": "villages", "staff": "staff"}[level]]
    common = {"township": chosen if not staff.township_code else None, **period, "basis": basis.value}
    downloads = {fmt: address(f"/console/rankings/report.{fmt}", **common) for fmt in ("xlsx", "csv", "png")}
    return render(request, "console/rankings.html", **context, ranked=ranked, honours=honours, report=report,
                  unit_names=by_level, names=names, percent=percent, components=words.SCORE_COMPONENT,
                  metric_words=words.METRIC, downloads=downloads, linkable=RECEIPT, shown=SHOWN, common=common,
                  level_link=lambda lv: address("/console/rankings", **common, level=lv))


FILE_WORDS = {"xlsx": "工作簿", "csv": "表格", "png": "趋势图"}


@router.get("/rankings/report.{fmt}", operation_id="page_report_file", **PAGE)
async def report_file(request: Request, staff: StaffPage, calls: Calls,
                      fmt: Annotated[str, Path(pattern=r"^(xlsx|csv|png)$")], township: TownshipQuery = None,
                      start: DayQuery = None, end: DayQuery = None, basis: BasisQuery = c.Basis.COHORT) -> Response:
    """The township report as a file to keep: a workbook, CSV or the trend chart, named in Chinese."""
    chosen, _ = await console.township_choice(calls, staff, township)
    if chosen is None:
        return see_other("/console/rankings")
    period = period_of(start, end)
    query = {"township_code": chosen, **period, "basis": basis.value}
    names = await report_names(calls, staff, chosen) if fmt != "png" else None
    data = await calls.call("evaluation", "township_report_file", caller=staff, query=query, format=fmt,
                            names=names)
    content = data.encode("utf-8-sig") if fmt == "csv" else base64.b64decode(data)
    place = (await console.optional(calls.call("directory", "get_township", caller=staff, code=chosen)) or {}) \
        .get("name", chosen)
    name = f"{place}考评报告{FILE_WORDS[fmt]}-{period['start']}至{period['end']}.{fmt}"
    ascii_name = f"report-{chosen}-{period['start']}-{period['end']}.{fmt}"
    disposition = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"
    response = Response(content, media_type=FILE_TYPES[fmt], headers={"Content-Disposition": disposition})
    response.headers["Cache-Control"] = "no-store"
    return response


