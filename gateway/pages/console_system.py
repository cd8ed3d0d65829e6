"""The county administrator's system pages (县信息中心 / 县政务服务): the working-day calendar of a year as
a month grid (holidays and 调休 marked, the warning while next year's official schedule is missing,
entering days and declaring a year complete); the composite score's weights and thresholds with the
complaints' stage limits and early-warning rule; the audit log with its filters; and system health (the
readiness `/readyz` reports, each service's dead letters with replay, links to the Grafana dashboards).

Every page calls the same RPCs as the JSON API. What a page offers to change follows the access matrix:
county admins get the forms, other staff whose role may read a setting see it read-only, and a role that
may not read it gets the services' refusal as the error page."""
from __future__ import annotations

import calendar as month_calendar
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.routing import APIRoute
from pydantic import ValidationError

from gateway.pages import console, words
from gateway.pages.session import StaffPage
from gateway.pages.web import (
    PAGE,
    PageRoute,
    china_date,
    field_errors,
    read_form,
    render,
    see_other,
    templates,
    typed_fields,
)
from gateway.routes import Calls
from gateway.routes.health import readiness
from shared.clock import CHINA
from shared.contracts import access
from shared.contracts import complaints as cc
from shared.contracts import directory as dc
from shared.contracts import evaluation as ec
from shared.contracts.base import CleanStr
from shared.contracts.caller import Caller
from shared.errors import CunbanError
from shared.service_names import SERVICE_NAMES

router = APIRouter(prefix="/console/admin", route_class=PageRoute)

YearQuery = Annotated[int | None, Query(ge=2000, le=2100)]
YearPath = Annotated[int, Path(ge=2000, le=2100)]
DayQuery = Annotated[date | None, Query()]
CountyQuery = Annotated[str | None, Query(pattern=r"^\d{6}$")]
WEEKDAYS = ("一", "二", "三", "四", "五", "六", "日")
WEEKDAY_NAMES = ("星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "星期日")
WEEK = tuple(zip(WEEKDAYS, WEEKDAY_NAMES, strict=True))  # a month table's head, from Monday


def may(staff: Caller, action: str) -> bool:
    """Whether the access matrix lets this staff member's role try `action` (the service still decides)."""
    return staff.role in access.roles_for(action)


# the system pages, each with the RPC it is built on: linked to each other for the roles that may open them
SECTIONS = (("/console/admin/calendar", "工作日历", "directory.calendar_year"),
            ("/console/admin/scores", "考评设置", "evaluation.score_settings"),
            ("/console/admin/audit", "操作日志", "directory.audit_log"),
            ("/console/admin/sms", "短信", "notifications.templates"),
            ("/console/admin/health", "系统状态", "directory.dead_letters"))


def sections(staff: Caller | None) -> list[tuple[str, str]]:
    return [(href, label) for href, label, action in SECTIONS if staff is not None and may(staff, action)]


templates.env.globals.update(system_sections=sections)


# ---- 日历: the year's working days ----------------------------------------------------------------------

def month_grid(year: int, entries: list[dict], today: date) -> list[dict[str, Any]]:
    """Twelve months, each as weeks of seven cells from Monday (None outside the month); a cell says
    whether the day is worked, and the calendar's entry for it if there is one."""
    by_day = {date.fromisoformat(e["day"]): e for e in entries}
    months = []
    for month in range(1, 13):
        weeks = []
        for week in month_calendar.Calendar(firstweekday=0).monthdatescalendar(year, month):
            cells = []
            for day in week:
                if day.month != month:
                    cells.append(None)
                    continue
                entry = by_day.get(day)
                working = entry["working"] if entry else day.weekday() < 5
                kind = entry["kind"] if entry else ("weekday" if working else "weekend")
                cells.append({"day": day, "entry": entry, "working": working, "kind": kind, "today": day == today,
                              "weekday": WEEKDAY_NAMES[day.weekday()]})
            weeks.append(cells)
        months.append({"number": month, "weeks": weeks})
    return months


def calendar_warning(status: dict) -> str | None:
    """The API's warning, in Chinese: the year under way not complete (deadlines are wrong now), or — from
    November, when the API starts warning — next year's schedule not complete, saying whether any of it
    has been entered yet."""
    today = date.fromisoformat(status["today"])
    if status.get("this_year_missing"):
        return (f"{today.year}年的全年法定节假日安排还没有确认完整：现在计算办理期限时，节假日会被当作工作日。"
                "请按国务院办公厅的放假通知录入放假和调休上班的日子，再确认全年已录入完整。")
    if not status.get("warning"):
        return None
    year, days = status["next_year"], status.get("days_until_next_year", 0)
    entered = (f"已录入{year}年的部分日期，但还没有确认全年已录入完整。" if year in status.get("official_years", [])
               else f"{year}年的日子一天也还没有录入。")
    return (f"{year}年的国务院节假日安排还没有录入完整，离{year}年还有{days}天。{entered}"
            "请按国务院办公厅的放假通知录入放假和调休上班的日子，录完后确认全年已录入完整。")


DAY_FIELDS = {"day": "请填写日期。", "kind": "请选择是放假、调休上班还是本县休息日。",
              "name": "请填写名称，例如 元旦、春节（不超过100个字）。",
              "to_day": "请填写结束日期，或者空着只录入一天。"}
# the directory's refusals of a day, said beside the field they are about
DAY_ERRORS = {"makeup_day_not_weekend": "day", "calendar_range_invalid": "to_day"}
CONFIRM = "confirm_complete_year"


def day_of(typed: dict[str, str]) -> dc.CalendarDaySet | dc.CalendarRangeSet:
    """One day as typed, or — with an end date after it — every day from the one to the other."""
    kind = typed.get("kind") or None
    fields = {"kind": kind, "name": typed.get("name") or None, CONFIRM: typed.get(CONFIRM) == "1",
              "source": "local" if kind == dc.CalendarDayKind.LOCAL_DAY_OFF.value else "official"}
    last = typed.get("to_day") or None
    if last and last != typed.get("day"):
        return dc.CalendarRangeSet.model_validate({**fields, "from_day": typed.get("day") or None, "to_day": last})
    return dc.CalendarDaySet.model_validate({**fields, "day": typed.get("day") or None})


async def _refused_change(request: Request, staff: Caller, calls: Calls, year: int | None, exc: CunbanError,
                          typed: dict[str, str], action: str) -> Response:
    """The directory's refusal as the page says it: beside its field, or — for a year confirmed complete —
    the question whether to change it all the same, with a button that sends the same change confirmed."""
    if exc.code == "calendar_year_complete":
        changed = exc.details.get("year") if isinstance(exc.details, dict) else year
        return await _calendar_page(request, staff, calls, changed or year, exc.http_status, typed=typed,
                                    confirm_change={"year": changed, "action": action,
                                                    "fields": {k: v for k, v in typed.items() if k != CONFIRM}})
    errors = {DAY_ERRORS[exc.code]: words.error_message(exc)} if exc.code in DAY_ERRORS else {}
    return await _calendar_page(request, staff, calls, year, exc.http_status, typed=typed, errors=errors,
                                message=words.error_message(exc))


async def _calendar_page(request: Request, staff: Caller, calls: Calls, year: int | None, status_code: int = 200,
                         county: str | None = None, **context: Any) -> Response:
    # each county keeps its own calendar: its county admin keeps it; the system administrator reads the one
    # of the county it chooses (the first until it has chosen; another code is the directory's 404)
    counties = await calls.call("directory", "list_counties", caller=staff) if staff.is_installation else []
    county = (county or next((c["code"] for c in counties), None)) if staff.is_installation else None
    status = await calls.call("directory", "calendar_status", caller=staff, county_code=county)
    today = date.fromisoformat(status["today"])
    shown = year or today.year
    entries = await calls.call("directory", "calendar_year", caller=staff, year=shown, county_code=county)
    completed = {y["year"]: y for y in await calls.call("directory", "calendar_years", caller=staff,
                                                        county_code=county)}
    keeper = not staff.is_installation  # the county's own admin enters its days
    context.setdefault("typed", {"day": f"{shown}-01-01" if shown != today.year else today.isoformat()})
    return render(request, "console/admin_calendar.html", status_code=status_code, year=shown, today=today,
                  status=status, warning=calendar_warning(status), months=month_grid(shown, entries, today),
                  entries=entries, completed=completed.get(shown), weekdays=WEEK,
                  kinds=words.CALENDAR_KIND, marks=words.CALENDAR_MARK, sources=words.CALENDAR_SOURCE,
                  bases=words.CALENDAR_BASIS, may_set=keeper and may(staff, "directory.set_calendar_day"),
                  may_clear=keeper and may(staff, "directory.clear_calendar_day"),
                  may_complete=keeper and may(staff, "directory.complete_calendar_year"),
                  counties=counties, county=county, county_q=f"&county={county}" if county else "",
                  weekday_of=lambda day: WEEKDAY_NAMES[date.fromisoformat(day).weekday()], **context)


@router.get("/calendar", operation_id="page_calendar", **PAGE)
async def calendar_page(request: Request, staff: StaffPage, calls: Calls, year: YearQuery = None,
                        saved: DayQuery = None, through: DayQuery = None, cleared: DayQuery = None,
                        completed: bool = False, county: CountyQuery = None) -> Response:
    return await _calendar_page(request, staff, calls, year, county=county, saved=saved,
                                through=through if saved else None, cleared=cleared, just_completed=completed)


@router.post("/calendar/days", operation_id="page_set_calendar_day", **PAGE)
async def set_calendar_day(request: Request, staff: StaffPage, calls: Calls) -> Response:
    typed = typed_fields(await read_form(request), limit=200)
    year = int(typed["year"]) if typed.get("year", "").isdigit() and 2000 <= int(typed["year"]) <= 2100 else None
    try:
        day = day_of(typed)
    except ValidationError as exc:
        errors = field_errors(exc, DAY_FIELDS, across="kind")
        if "from_day" in errors:
            errors["day"] = errors.pop("from_day", DAY_FIELDS["day"])
        return await _calendar_page(request, staff, calls, year, 422, typed=typed, errors=errors,
                                    message=words.BY_STATUS[422])
    try:
        if isinstance(day, dc.CalendarRangeSet):
            await calls.call("directory", "set_calendar_range", caller=staff, days=day.model_dump(mode="json"))
            first, last = day.from_day, day.to_day
        else:
            await calls.call("directory", "set_calendar_day", caller=staff, day=day.model_dump(mode="json"))
            first = last = day.day
    except CunbanError as exc:
        return await _refused_change(request, staff, calls, year, exc, typed, "/console/admin/calendar/days")
    shown = {"year": first.year, "saved": first.isoformat(), **({"through": last.isoformat()} if last != first else {})}
    return see_other(f"/console/admin/calendar?{urlencode(shown)}")


@router.post("/calendar/days/{day}/clear", operation_id="page_clear_calendar_day", **PAGE)
async def clear_calendar_day(request: Request, staff: StaffPage, calls: Calls, day: date) -> Response:
    form = await read_form(request)
    try:
        await calls.call("directory", "clear_calendar_day", caller=staff, day=day.isoformat(),
                         confirm_complete_year=form.get(CONFIRM) == "1")
    except CunbanError as exc:
        return await _refused_change(request, staff, calls, day.year, exc, {},
                                     f"/console/admin/calendar/days/{day.isoformat()}/clear")
    return see_other(f"/console/admin/calendar?{urlencode({'year': day.year, 'cleared': day.isoformat()})}")


@router.post("/calendar/years/{year}/complete", operation_id="page_complete_calendar_year", **PAGE)
async def complete_calendar_year(request: Request, staff: StaffPage, calls: Calls, year: YearPath) -> Response:
    form = await read_form(request)
    if form.get("confirm") != "1":
        return await _calendar_page(request, staff, calls, year, 422, message=words.BY_STATUS[422],
                                    errors={"confirm": "请先核对国务院办公厅的放假通知，勾选确认后再提交。"})
    try:
        await calls.call("directory", "complete_calendar_year", caller=staff, year=year)
    except CunbanError as exc:
        return await _calendar_page(request, staff, calls, year, exc.http_status, message=words.error_message(exc))
    return see_other(f"/console/admin/calendar?year={year}&completed=true")


# ---- 考评: the composite score's weights and thresholds; complaints' stage limits and warning rule -----------

SCORE_FIELDS = {
    "weights": "五项权重加起来要等于100%。", "min_sample": "请填写1到100000之间的整数。",
    "commend_top": "请填写0到100之间的整数。", "commend_share": "请填写大于0、不超过100的百分比。",
    "accountability_below": "请填写0到100之间的分数。", "accountability_overdue": "请填写1到1000之间的整数。",
}
LIMIT_FIELDS = {"assign": "请填写0到60之间的整数（工作日）。", "sign": "请填写0到30之间的整数（工作日）。",
                "reply": "请填写1到90之间的整数（工作日）。", "call_back": "请填写0到30之间的整数（工作日）。"}
RULE_FIELDS = {"threshold": "请填写2到1000之间的整数。", "window_days": "请填写1到90之间的整数（天）。",
               "baseline_days": "请填写14到365之间的整数（天）。", "rise_factor": "请填写1.5到50之间的数。",
               "rise_min": "请填写2到1000之间的整数。"}
KindPath = Annotated[str, Path(pattern="^(" + "|".join(k.value for k in cc.ComplaintKind) + ")$")]
Saved = Annotated[str | None, Query(pattern=r"^(scores|limits|rule)$")]


def _percent(typed: dict[str, str], name: str, errors: dict[str, str], word: str) -> float | str:
    """A percentage as typed (25 or 25%) as the share the contract takes (0.25); a field that is not a
    number is named, and left as typed for the contract to refuse too."""
    value = typed.get(name, "").removesuffix("%").strip()
    try:
        return float(value) / 100
    except ValueError:
        errors.setdefault(name, word)
        return value


def score_settings_of(typed: dict[str, str]) -> tuple[ec.ScoreSettings | None, dict[str, str]]:
    """The settings as typed on the page (shares in per cent, the score threshold in points of 100),
    checked by the same contract as `PUT /score-settings`; errors beside their fields."""
    errors: dict[str, str] = {}
    weights: dict[str, Any] = {}
    for component in ec.ScoreComponent:
        name = f"weight_{component.value}"
        share = _percent(typed, name, errors, "请填写0到100之间的数字（百分比）。")
        if isinstance(share, float) and not 0 <= share <= 1:
            errors[name] = "权重要在0到100%之间，不能是负数。"
        weights[component.value] = share
    payload = {"weights": weights, "min_sample": typed.get("min_sample"), "commend_top": typed.get("commend_top"),
               "commend_share": _percent(typed, "commend_share", errors, SCORE_FIELDS["commend_share"]),
               "accountability_below": _percent(typed, "accountability_below", errors,
                                                SCORE_FIELDS["accountability_below"]),
               "accountability_overdue": typed.get("accountability_overdue")}
    if errors:
        return None, errors
    try:
        return ec.ScoreSettings.model_validate(payload), {}
    except ValidationError as exc:
        found = field_errors(exc, SCORE_FIELDS, across="weights")
        if "weights" in found:
            total = sum(w for w in weights.values() if isinstance(w, float)) * 100
            found["weights"] = f"五项权重加起来要等于100%，现在是{total:g}%。"
        return None, found


def _score_form(settings: dict) -> dict[str, str]:
    typed = {f"weight_{k}": f"{v * 100:g}" for k, v in settings["weights"].items()}
    return {**typed, "min_sample": str(settings["min_sample"]), "commend_top": str(settings["commend_top"]),
            "commend_share": f"{settings['commend_share'] * 100:g}",
            "accountability_below": f"{settings['accountability_below'] * 100:g}",
            "accountability_overdue": str(settings["accountability_overdue"])}


async def _scores_page(request: Request, staff: Caller, calls: Calls, status_code: int = 200,
                       **context: Any) -> Response:
    settings = await calls.call("evaluation", "score_settings", caller=staff)
    limits = await console.optional(calls.call("complaints", "limits", caller=staff))
    rule = await console.optional(calls.call("complaints", "warning_rule", caller=staff))
    context.setdefault("typed", _score_form(settings))
    context.setdefault("typed_limits", {f"{kind}.{stage}": str(days) for kind, stages in (limits or {}).items()
                                        for stage, days in stages.items()})
    context.setdefault("typed_rule", {k: f"{v:g}" for k, v in (rule or {}).items()})
    return render(request, "console/admin_scores.html", status_code=status_code, settings=settings, limits=limits,
                  rule=rule, components=words.SCORE_COMPONENT, limit_kinds=words.COMPLAINT_LIMIT_KIND,
                  stages=words.COMPLAINT_LIMIT_STAGE, may_set=may(staff, "evaluation.set_score_settings"),
                  may_set_limits=may(staff, "complaints.set_limits"),
                  may_set_rule=may(staff, "complaints.set_warning_rule"), **context)


@router.get("/scores", operation_id="page_scores", **PAGE)
async def scores(request: Request, staff: StaffPage, calls: Calls, saved: Saved = None) -> Response:
    return await _scores_page(request, staff, calls, saved=saved)


@router.post("/scores", operation_id="page_set_score_settings", **PAGE)
async def set_scores(request: Request, staff: StaffPage, calls: Calls) -> Response:
    typed = typed_fields(await read_form(request), limit=20)
    settings, errors = score_settings_of(typed)
    if settings is None:
        return await _scores_page(request, staff, calls, 422, typed=typed, errors=errors, message=words.BY_STATUS[422])
    try:
        await calls.call("evaluation", "set_score_settings", caller=staff, settings=settings.model_dump(mode="json"))
    except CunbanError as exc:
        return await _scores_page(request, staff, calls, exc.http_status, typed=typed, message=words.error_message(exc))
    return see_other("/console/admin/scores?saved=scores#scores")


@router.post("/scores/limits/{kind}", operation_id="page_set_complaint_limits", **PAGE)
async def set_limits(request: Request, staff: StaffPage, calls: Calls, kind: KindPath) -> Response:
    typed = typed_fields(await read_form(request), limit=20)
    try:
        limits = cc.StageLimits.model_validate({stage: typed.get(stage) for stage in LIMIT_FIELDS})
    except ValidationError as exc:
        errors = {f"{kind}.{name}": word for name, word in field_errors(exc, LIMIT_FIELDS, across="reply").items()}
        return await _scores_page(request, staff, calls, 422, errors=errors, message=words.BY_STATUS[422],
                                  typed_limits={f"{kind}.{k}": v for k, v in typed.items()}, typed_kind=kind)
    try:
        await calls.call("complaints", "set_limits", caller=staff, kind=kind, limits=limits.model_dump())
    except CunbanError as exc:
        return await _scores_page(request, staff, calls, exc.http_status, message=words.error_message(exc))
    return see_other("/console/admin/scores?saved=limits#limits")


@router.post("/scores/warning-rule", operation_id="page_set_warning_rule", **PAGE)
async def set_warning_rule(request: Request, staff: StaffPage, calls: Calls) -> Response:
    typed = typed_fields(await read_form(request), limit=20)
    try:
        rule = cc.WarningRule.model_validate({name: typed.get(name) for name in RULE_FIELDS})
    except ValidationError as exc:
        errors = {f"rule.{name}": word for name, word in field_errors(exc, RULE_FIELDS, across="threshold").items()}
        return await _scores_page(request, staff, calls, 422, errors=errors, message=words.BY_STATUS[422],
                                  typed_rule=typed)
    try:
        await calls.call("complaints", "set_warning_rule", caller=staff, rule=rule.model_dump())
    except CunbanError as exc:
        return await _scores_page(request, staff, calls, exc.http_status, message=words.error_message(exc))
    return see_other("/console/admin/scores?saved=rule#rule")


# ---- 操作日志: the audit log --------------------------------------------------------------------------------

AUDIT_FIELDS = {"username": "请填写登录用户名（不超过64个字符）。",
                "correlation_id": "关联编号只含字母、数字和 . _ -，不超过64个字符。",
                "action": "请从列表中选择操作。", "township_code": "请从列表中选择乡镇。",
                "since": "请填写日期。", "until": "请填写日期。", "before": "翻页参数不对，请回到第一页。"}
PAGE_SIZE = 50


def _china_midnight(day: str) -> datetime | str:
    try:
        return datetime.combine(date.fromisoformat(day), time(), tzinfo=CHINA)
    except ValueError:
        return day  # the contract refuses it, beside its field


def audit_query(typed: dict[str, str]) -> dc.AuditQuery:
    """The filters as typed (dates are China's days, `until` taken whole) as the API's `AuditQuery`."""
    until = _china_midnight(typed["until"]) if typed.get("until") else None
    return dc.AuditQuery.model_validate({
        "username": typed.get("username") or None, "action": typed.get("action") or None,
        "township_code": typed.get("township") or None, "correlation_id": typed.get("correlation_id") or None,
        "since": _china_midnight(typed["since"]) if typed.get("since") else None,
        "until": until + timedelta(days=1) if isinstance(until, datetime) else until,
        "personal_data": True if typed.get("personal_data") == "1" else None,
        "failed": True if typed.get("failed") == "1" else None,
        "before": typed.get("before") or None, "limit": PAGE_SIZE})


def outcome_words(status: int) -> str:
    if status < 400:
        return "成功"
    return "出错" if status >= 500 else "被拒绝"


@router.get("/audit", operation_id="page_audit_log", **PAGE)
async def audit(request: Request, staff: StaffPage, calls: Calls,
                username: Annotated[CleanStr | None, Query(max_length=64)] = None,
                action: Annotated[str | None, Query(pattern=r"^[a-z_]{0,100}$")] = None,
                township: Annotated[str | None, Query(pattern=r"^(\d{9})?$")] = None,
                since: Annotated[str | None, Query(pattern=r"^(\d{4}-\d{2}-\d{2})?$")] = None,
                until: Annotated[str | None, Query(pattern=r"^(\d{4}-\d{2}-\d{2})?$")] = None,
                personal_data: Annotated[str | None, Query(pattern=r"^1?$")] = None,
                failed: Annotated[str | None, Query(pattern=r"^1?$")] = None,
                correlation_id: Annotated[CleanStr | None, Query(max_length=64)] = None,
                before: Annotated[int | None, Query(ge=1, le=2**62)] = None) -> Response:
    typed = {k: str(v).strip() for k, v in {
        "username": username, "action": action, "township": township, "since": since, "until": until,
        "personal_data": personal_data, "failed": failed, "correlation_id": correlation_id}.items() if v}
    townships = await console.optional(calls.call("directory", "list_townships", caller=staff,
                                                  page=console.FIRST_PAGE)) or []
    try:
        query = audit_query({**typed, "before": str(before or "")})
    except ValidationError as exc:
        # the log itself stays behind its own check: a refused role sees the refusal, not the filter's error
        await calls.call("directory", "audit_log", caller=staff, query={"limit": 1})
        errors = {("township" if k == "township_code" else k): v
                  for k, v in field_errors(exc, AUDIT_FIELDS, across="since").items()}
        return _audit_page(request, [], typed, townships, {}, errors=errors, message=words.BY_STATUS[422],
                           status_code=422)
    entries = await calls.call("directory", "audit_log", caller=staff, query=query.model_dump(mode="json"))
    objects = [audit_object(request.app, e) for e in entries]
    found = await calls.call("directory", "names", caller=staff, query=names_query(entries, objects))
    names = {int(staff_id): name for staff_id, name in found["staff"].items()}
    for entry, obj in zip(entries, objects, strict=True):
        entry["object"] = object_words(obj, found)
    next_url = (f"/console/admin/audit?{urlencode({**typed, 'before': entries[-1]['seq']})}"
                if len(entries) == PAGE_SIZE else None)
    first_url = f"/console/admin/audit?{urlencode(typed)}" if before else None
    return _audit_page(request, entries, typed, townships, names, next_url=next_url, first_url=first_url)


# the object of an audited request, from its operation's path: the kind a path parameter names, by the
# parameter's name, or for a code by the path segment before it (`/villages/{code}`: a village)
PARAM_KIND = {"staff_id": "staff", "receipt_no": "application", "session_id": "session", "visit_id": "visit",
              "slot_id": "slot", "booking_id": "booking", "alert_id": "alert", "key_id": "station_key",
              "series_id": "series", "day": "day", "year": "year", "township_code": "township"}
SEGMENT_KIND = {"townships": "township", "villages": "village", "stations": "station", "market-sites": "market_site",
                "applications": "application", "complaints": "complaint", "complaint-limits": "complaint_kind",
                "limits": "complaint_kind", "ratings": "application"}
FIRST = ("item", "session")  # a session's address starts with its day; an item's with its township


def _routes(routes: Any) -> Any:
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "original_router"):
            yield from _routes(route.original_router.routes)


def audited_routes(app: Any) -> dict[str, APIRoute]:
    """The app's routes by operation id (looked up once per app)."""
    found = getattr(app.state, "audited_routes", None)
    if found is None:
        found = app.state.audited_routes = {r.operation_id: r for r in _routes(app.routes) if r.operation_id}
    return found


def audit_object(app: Any, entry: dict) -> tuple[str, str] | None:
    """(kind, key) of what an audited request acted on, read from its path as its operation's route has it:
    ("village", "431099101001"), ("item", "431099101/YB-002"), ("day", "2027-02-09") …; None when the path
    names nothing (a record created by a POST to its list) or the operation is no longer served."""
    route = audited_routes(app).get(entry["action"])
    matched = route.path_regex.match(entry["target"]) if route is not None else None
    if matched is None:
        return None
    params, found = matched.groupdict(), []
    segments = route.path.split("/")
    for before, segment in zip(segments, segments[1:], strict=False):
        if not (segment.startswith("{") and segment.endswith("}")):
            continue
        name = segment[1:-1].split(":")[0]
        if name == "code" and before == "{township_code}":
            found = [("item", f"{params['township_code']}/{params['code']}")]
            break
        kind = SEGMENT_KIND.get(before) if name in ("code", "ref", "kind") else PARAM_KIND.get(name)
        if kind:
            found.append((kind, params[name]))
    first = next((f for f in found if f[0] in FIRST), None)
    return first or (found[0] if found else None)


def names_query(entries: list[dict], objects: list[tuple[str, str] | None]) -> dict[str, list]:
    """One look-up for a page of the log: the people who acted and every object that has a name."""
    asked: dict[str, dict] = {"townships": {}, "villages": {}, "stations": {}, "staff": {}, "items": {}}
    for entry in entries:
        if entry["staff_id"]:
            asked["staff"][entry["staff_id"]] = None
    for obj in objects:
        kind, key = obj or ("", "")
        if kind in ("township", "village", "station"):
            asked[f"{kind}s"][key] = None
        elif kind == "staff" and key.isdigit():
            asked["staff"][int(key)] = None
        elif kind == "item":
            township_code, code = key.split("/", 1)
            asked["items"][(township_code, code)] = None
    return {**{k: list(v) for k, v in asked.items() if k != "items"},
            "items": [{"township_code": t, "code": c} for t, c in asked["items"]]}


def object_words(obj: tuple[str, str] | None, names: dict) -> str | None:
    """"村：石门村", "人员：张三", "办件：<receipt>" …; a record that cannot be named (gone, or its code
    malformed) by its kind and code."""
    if obj is None:
        return None
    kind, key = obj
    label = words.AUDIT_OBJECT_KIND.get(kind, kind)
    if kind == "village" and key in names["villages"]:
        village = names["villages"][key]
        return f"{words.VILLAGE_KIND_WORD.get(village['kind'], label)}：{village['name']}"
    named = {"township": names["townships"], "station": names["stations"], "staff": names["staff"],
             "item": names["items"]}.get(kind, {})
    if key in named:
        return f"{label}：{named[key]}"
    if kind == "day":
        try:
            return f"{label}：{china_date(date.fromisoformat(key))}"
        except ValueError:
            pass
    if kind == "year":
        return f"{label}：{key}年"
    if kind == "complaint_kind":
        return f"{label}：{words.COMPLAINT_LIMIT_KIND.get(key, key)}"
    return f"{label}：{key}"


def _audit_page(request: Request, entries: list[dict], typed: dict[str, str], townships: list[dict],
                names: dict[int, str], status_code: int = 200, **context: Any) -> Response:
    labels = words.AUDIT_ACTION
    actions = sorted(labels.items(), key=lambda pair: pair[1])
    if typed.get("action") and typed["action"] not in labels:
        actions.insert(0, (typed["action"], typed["action"]))
    return render(request, "console/admin_audit.html", status_code=status_code, entries=entries, typed=typed,
                  townships=townships, township_names={t["code"]: t["name"] for t in townships}, names=names,
                  actions=actions, labels=labels, outcome_words=outcome_words, **context)


# ---- 系统状态: readiness, dead letters, dashboards ------------------------------------------------------------

SERVICE_WORDS = {"directory": "基础信息（乡镇、村、人员、事项、日历）", "intake": "受理登记", "approvals": "审批办理",
                 "scheduling": "赶集日和下访", "complaints": "诉求办理", "evaluation": "统计考评",
                 "notifications": "短信和消息"}
# the dashboards provisioned from deploy/grafana/dashboards/ (by uid), linked as <CUNBAN_GRAFANA_URL>/d/<uid>
DASHBOARDS = (("cunban-system", "系统运行概况", "请求量和耗时、各服务的消息队列、死信、数据库"),
              ("cunban-delivery", "各乡镇服务情况", "办件量、办结率、承诺期限兑现率、诉求"))
ServiceName = Annotated[str, Query(pattern="^(" + "|".join(SERVICE_NAMES) + ")$")]
LETTERS_SHOWN = 20


def dashboards(grafana_url: str | None) -> list[dict[str, str]]:
    if not grafana_url:
        return []
    base = grafana_url.rstrip("/")
    return [{"href": f"{base}/d/{uid}", "title": title, "hint": hint} for uid, title, hint in DASHBOARDS]


@router.get("/health", operation_id="page_health", **PAGE)
async def health(request: Request, staff: StaffPage, calls: Calls, replayed: ServiceName | None = None,
                 done: Annotated[int, Query(ge=0, le=100_000)] = 0,
                 still: Annotated[int, Query(ge=0, le=100_000)] = 0) -> Response:
    try:
        ready = (await readiness(calls))["status"] == "ready"
    except CunbanError:
        ready = False
    services = []
    for name in SERVICE_NAMES:
        row: dict[str, Any] = {"name": name, "words": SERVICE_WORDS.get(name, name), "answering": False, "letters": []}
        if ready:
            try:
                row["letters"] = await calls.call(name, "dead_letters", caller=staff,
                                                  query={"include_replayed": False, "limit": LETTERS_SHOWN})
                row["answering"] = True
            except CunbanError as exc:
                if exc.http_status in (401, 403):
                    raise  # not the county's IT: the refusal is the page
        services.append(row)
    return render(request, "console/admin_health.html", ready=ready, services=services, shown=LETTERS_SHOWN,
                  all_answering=ready and all(s["answering"] for s in services),
                  dashboards=dashboards(request.app.state.settings.grafana_url),
                  may_replay=all(may(staff, f"{s}.replay_dead_letters") for s in SERVICE_NAMES),
                  replayed=replayed and {"service": SERVICE_WORDS.get(replayed, replayed), "done": done,
                                         "still": still})


@router.post("/health/replay", operation_id="page_replay_dead_letters", **PAGE)
async def replay(request: Request, staff: StaffPage, calls: Calls) -> Response:
    form = await read_form(request)
    service = str(form.get("service", ""))
    if service not in SERVICE_NAMES:
        return see_other("/console/admin/health")
    result = await calls.call(service, "replay_dead_letters", caller=staff, request={"ids": None})
    query = {"replayed": service, "done": len(result["replayed"]), "still": len(result["failed"])}
    return see_other(f"/console/admin/health?{urlencode(query)}#{service}")
