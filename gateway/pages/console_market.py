"""Market-day posts 便民服务岗 for the township's supervisor (and a county admin who chooses a township with
`?township=`): the market sites with their rule in words and upcoming market days; generating sessions
and a fair roster for a period (who got how many posts, said in words); the sessions with their roster by
name, check-in and check-out, attendance and no-shows; assigning, swapping, leave, appointment slots and
who booked, and the decision a day off asks for. Every call is the JSON API's RPC (scheduling.*,
directory.*), so the access matrix and the services decide."""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response

from gateway.audit import PERSONAL_DATA
from gateway.pages import console, words
from gateway.pages.session import StaffPage
from gateway.pages.web import (
    PAGE,
    Again,
    PageRoute,
    SessionPath,
    TownshipQuery,
    answer_once,
    forget_answer,
    read_form,
    refused_once,
    render,
    see_once,
    see_refused,
    submit,
    typed_fields,
)
from gateway.routes import Calls
from shared.clock import today_in_china, utcnow
from shared.contracts.caller import Caller, Role
from shared.contracts.scheduling import (
    LeaveCreate,
    RosterAssign,
    RosterGenerate,
    RosterSwap,
    SessionGenerate,
    SlotsCreate,
)
from shared.errors import CunbanError, NotFound

router = APIRouter(prefix="/console", route_class=PageRoute)

SiteQuery = Annotated[str | None, Query(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{1,31}$")]
DayPath = Annotated[date, Path()]
PLANNERS = frozenset({Role.SUPERVISOR, Role.COUNTY_ADMIN, Role.SYSTEM_ADMIN})
ROSTERABLE = frozenset({Role.TOWNSHIP_CADRE.value, Role.DEPARTMENT_STAFF.value, Role.SUPERVISOR.value})
PAGE_SIZE = 20  # sessions per page
AHEAD_DAYS = 30  # how far ahead a site's market days are shown
PERIOD_DAYS = 27  # the default period to generate: four weeks from today

# ---- a market-day rule in words (pure) --------------------------------------------------------------------

DIGITS = "〇一二三四五六七八九"
WEEKDAYS = "一二三四五六日"
SHOWN_DATES = 6


def lunar_day_name(n: int) -> str:
    """A day of the lunar month as it is said: 初一 … 初十, 十一 … 十九, 二十, 廿一 … 廿九, 三十."""
    if n <= 10:
        return "初" + ("十" if n == 10 else DIGITS[n])
    if n < 20:
        return "十" + DIGITS[n - 10]
    if n == 20:
        return "二十"
    if n < 30:
        return "廿" + DIGITS[n - 20]
    return "三十"


def _cycle(days: Iterable[int], month_days: int) -> str | None:
    """逢… when the days are every day of the month ending in some digits (逢一四七: 1, 4, 7, 11 … 27);
    None when they are not such a cycle."""
    days = set(days)
    if days == set(range(1, month_days + 1, 2)):
        return "逢单"
    if days == set(range(2, month_days + 1, 2)):
        return "逢双"
    endings = sorted({d % 10 for d in days})
    if not days or days != {d for d in range(1, month_days + 1) if d % 10 in endings}:
        return None
    said = "".join(DIGITS[e] for e in endings if e)
    return (f"逢{said}" if said else "") + ("逢十" if 0 in endings else "")


def _dates(days: Iterable[date | str]) -> str:
    days = sorted(date.fromisoformat(d) if isinstance(d, str) else d for d in days)
    said = "、".join(f"{d.year}年{d.month}月{d.day}日" for d in days[:SHOWN_DATES])
    return said + (f"等 {len(days)} 天" if len(days) > SHOWN_DATES else "")


def rule_words(rule: dict[str, Any]) -> str:
    """A site's market-day rule (MarketDayRule, as the directory returns it) as villagers say it:
    逢一四七（农历）, 农历每月初一、十五, 逢五逢十（公历）, 公历每月3日、18日, 每周二、周五, with its
    exceptions (正月初一至初七休市, days skipped, days added)."""
    kind, days = rule.get("kind"), rule.get("days") or []
    if kind == "lunar_days":
        cycle = rule.get("pattern") or _cycle(days, 30)
        text = f"{cycle}（农历）" if cycle else "农历每月" + "、".join(lunar_day_name(d) for d in sorted(days))
    elif kind == "solar_days":
        cycle = _cycle(days, 31)
        text = f"{cycle}（公历）" if cycle else "公历每月" + "、".join(f"{d}日" for d in sorted(days))
    elif kind == "weekly":
        weekdays = sorted(set(rule.get("weekdays") or []))
        text = "每天" if len(weekdays) == 7 else "每周" + "、".join(f"周{WEEKDAYS[d]}" for d in weekdays)[1:]
    else:
        text = "只在这些日子：" + _dates(rule.get("dates") or [])
    exceptions = rule.get("exceptions") or {}
    parts = [text]
    if (skip := exceptions.get("skip_lunar_new_year_days") or 0) > 0:
        parts.append("正月初一休市" if skip == 1 else f"正月初一至{lunar_day_name(skip)}休市")
    if exceptions.get("skip_dates"):
        parts.append(_dates(exceptions["skip_dates"]) + "不赶集")
    if exceptions.get("add_dates"):
        parts.append("另在" + _dates(exceptions["add_dates"]) + "赶集")
    return "；".join(parts)


def day_words(day: date | str, *, year: bool = False) -> str:
    """12月6日（周日）; with the year (2026年12月6日（周日）) where the page names one day alone."""
    day = date.fromisoformat(day) if isinstance(day, str) else day
    return (f"{day.year}年" if year else "") + f"{day.month}月{day.day}日（周{WEEKDAYS[day.weekday()]}）"


LINKED_WORDS = (("application", "受理申请", "件"), ("consultation", "接待咨询", "人次"),
                ("complaint", "登记诉求", "件"))


def handled_words(session: dict, now: datetime) -> str:
    """The 现场办理 of a session in the list: what was handled there (申请, 咨询, 诉求 counted), or why nothing
    is: not held (cancelled, or awaiting a decision), not begun yet, going on, or over with nothing recorded."""
    counts = Counter(linked["kind"] for linked in session.get("linked") or [])
    if counts:
        return "、".join(f"{word} {counts[kind]} {unit}" for kind, word, unit in LINKED_WORDS if counts[kind])
    if session.get("status") != "scheduled":
        return "不开展"
    if now < datetime.fromisoformat(session["starts_at"]):
        return "尚未开始"
    if now < datetime.fromisoformat(session["ends_at"]):
        return "正在进行，还没有登记办理的事"
    return "这一场没有登记办理的事"


# ---- what a roster and a leave come to, in words (pure) ---------------------------------------------------

def fairness(sessions: list[dict], cadre_ids: list[int], per_session: int, names: dict[int, str]) -> list[str]:
    """The summary of a generated roster: how many posts, who got how many (the cadres chosen, and anyone
    else already rostered in the period), how far apart the most and the fewest are, and the posts that
    could not be fully staffed."""
    open_ = [s for s in sessions if s["status"] != "cancelled"]
    if not open_:
        return ["这段时间没有可以排班的场次：请先生成场次（已过去和已取消的场次不排班）。"]
    counts: Counter[int] = Counter({c: 0 for c in cadre_ids})
    for s in open_:
        counts.update(r["staff_id"] for r in s["roster"])

    def name(staff_id: int) -> str:
        return names.get(staff_id, "（已不在本乡镇的人员）")

    span = f"{day_words(open_[0]['day'])}至{day_words(open_[-1]['day'])}"
    lines = [f"{span}共 {len(open_)} 场，每场排 {per_session} 人。"]
    order = sorted(counts, key=lambda c: (-counts[c], name(c)))
    lines.append("各人值岗次数：" + "、".join(f"{name(c)} {counts[c]} 次" for c in order) + "。")
    chosen = [counts[c] for c in cadre_ids]
    gap = max(chosen) - min(chosen) if chosen else 0
    lines.append("每人次数相同，很公平。" if gap == 0 else f"次数最多的比最少的多 {gap} 次"
                 + ("（请假或已有别的安排的人会少排）。" if gap > 1 else "，已尽量平均。"))
    short = [s for s in open_ if len(s["roster"]) < per_session]
    if short:
        lines.append(f"有 {len(short)} 场人手不够（" + "、".join(day_words(s["day"]) for s in short[:SHOWN_DATES])
                     + ("等" if len(short) > SHOWN_DATES else "")
                     + "）：可选的人都在请假或另有安排，请加人或手动安排。")
    return lines


def leave_effect(name: str, first: date, last: date, reason: str, posts: list[dict],
                 site_names: dict[str, str]) -> list[str]:
    """What a recorded leave means: the posts the cadre is still rostered on in it (to hand over), and that
    rosters from now on leave them out."""
    span = day_words(first) if first == last else f"{day_words(first)}至{day_words(last)}"
    lines = [f"已记录：{name} {span}请假（{reason}）。"]
    if posts:
        lines.append(f"请假期间{name}还排在 {len(posts)} 场服务岗："
                     + "、".join(f"{day_words(p['day'])}{site_names.get(p['site_code'], '')}" for p in posts)
                     + "。请点开这些场次换人。")
    else:
        lines.append(f"请假期间没有排{name}的服务岗。")
    lines.append("以后自动排班不会排到请假的日子；手动安排也会被拒绝。")
    return lines


SWAP_REASON = re.compile(r"^swap for (\d+): (.*)$", re.S)


def roster_reason(reason: str | None, names: dict[int, str]) -> str:
    """Why a cadre is on the roster, in words (the service keeps `rotation` and `swap for <id>: …`)."""
    if not reason:
        return "手动安排"
    if reason == "rotation":
        return "轮换排班"
    if m := SWAP_REASON.match(reason):
        return f"替换{names.get(int(m.group(1)), '另一位干部')}：{m.group(2)}"
    return reason


# ---- what every page of the area needs -------------------------------------------------------------------

def township_of(staff: Caller, chosen: str | None) -> str | None:
    """A county admin's chosen township; everyone else's own (another one asked for is refused)."""
    console.in_scope(staff, chosen)
    return chosen if staff.is_county else staff.township_code


def suffix(staff: Caller, township: str) -> str:
    return f"?township={township}" if staff.is_county else ""


async def _choose_township(request: Request, staff: Caller, calls: Calls, target: str) -> Response:
    townships = await calls.call("directory", "list_townships", caller=staff, page={"limit": 200, "offset": 0})
    return render(request, "console/market_choose.html", townships=townships, target=target)


async def _names(calls: Calls, staff: Caller, township: str) -> tuple[dict[int, str], list[dict]]:
    """Every staff member of the township by id → name, and those who may be rostered (active cadres,
    department staff and supervisors)."""
    people = await console.optional(calls.call("directory", "list_staff", caller=staff, township_code=township,
                                               page={"limit": 500, "offset": 0})) or []
    names = {p["id"]: p["full_name"] for p in people}
    rosterable = sorted((p for p in people if p["active"] and p["role"] in ROSTERABLE),
                        key=lambda p: (p["role"] != Role.TOWNSHIP_CADRE.value, p["full_name"]))
    return names, rosterable


async def _sites(calls: Calls, staff: Caller, township: str) -> list[dict]:
    return await calls.call("directory", "list_market_sites", caller=staff, township_code=township,
                            page={"limit": 50, "offset": 0})


async def _township_name(calls: Calls, staff: Caller, township: str) -> str:
    found = await calls.call("directory", "get_township", caller=staff, code=township)
    return found["name"]


def _date(value: str) -> date | None:
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


# ---- 赶集日: the sites, and the forms that plan a period ---------------------------------------------------

FIELDS = {
    "site_code": "请选择集市。", "start": "请填写开始日期。", "end": "结束日期要在开始日期之后，最多一年多（400天）。",
    "cadre_ids": "请至少勾选一位参加轮换的干部。", "per_session": "每场人数是 1 到 20 之间的整数。",
    "max_per_cadre": "每人最多次数是 1 到 400 之间的整数。", "staff_id": "请选择请假的人。",
    "first_day": "请填写请假开始日期。", "last_day": "请假结束日期不能早于开始日期。",
    "reason": "请写明原因（不超过500字）。",
    "minutes": "每个时段 10 到 240 分钟。", "capacity": "每个时段可约 1 到 500 人。",
    "to_staff_id": "请选择接替的人。", "from_staff_id": "请选择被替换的人。",
}


REQUIRED = {  # per form: what it cannot go without, said beside each field in one pass
    "sessions": {"site_code": FIELDS["site_code"], "start": "请选择开始日期。", "end": "请选择结束日期。"},
    "roster": {"start": "请选择开始日期。", "end": "请选择结束日期。", "cadre_ids": FIELDS["cadre_ids"]},
    "leave": {"staff_id": FIELDS["staff_id"], "first_day": "请选择请假开始日期。", "last_day": "请选择请假结束日期。",
              "reason": "请填写请假原因。"},
}


def _defaults(today: date) -> dict[str, str]:
    """A period to generate starts as the next four weeks; a leave's days are always chosen."""
    end = (today + timedelta(days=PERIOD_DAYS)).isoformat()
    return {"start": today.isoformat(), "end": end, "first_day": "", "last_day": "", "per_session": "2",
            "max_per_cadre": "31"}


async def _market_page(request: Request, staff: Caller, calls: Calls, township: str, *, status_code: int = 200,
                       typed: dict[str, Any] | None = None, **context: Any) -> Response:
    today = today_in_china()
    sites = await _sites(calls, staff, township)
    for site in sites:
        site["words"] = rule_words(site["rule"])
        preview = await console.optional(calls.call(
            "scheduling", "site_market_days", caller=staff, site_code=site["code"], start=today.isoformat(),
            end=(today + timedelta(days=AHEAD_DAYS)).isoformat()))
        site["days"] = preview["days"] if preview else []
    names, rosterable = await _names(calls, staff, township)
    return render(request, "console/market.html", status_code=status_code, sites=sites, rosterable=rosterable,
                  township=township, township_name=await _township_name(calls, staff, township),
                  suffix=suffix(staff, township), planner=staff.role in PLANNERS, day_words=day_words,
                  typed={**_defaults(today), **(typed or {})}, ahead=AHEAD_DAYS, **context)


@router.get("/market", operation_id="page_market", **PAGE)
async def market(request: Request, staff: StaffPage, calls: Calls, township: TownshipQuery = None) -> Response:
    chosen = township_of(staff, township)
    if chosen is None:
        return await _choose_township(request, staff, calls, "/console/market")
    return await _market_page(request, staff, calls, chosen)


def _form_township(staff: Caller, typed: dict[str, str]) -> str:
    chosen = township_of(staff, typed.get("township") if re.fullmatch(r"\d{9}", typed.get("township", "")) else None)
    if chosen is None:
        raise NotFound("choose a township", code="township_not_found")
    return chosen


def _sessions_url(staff: Caller, township: str, start: str, end: str, site: str | None = None) -> str:
    url = f"/console/market/sessions?start={start}&end={end}"
    return url + (f"&site={site}" if site else "") + (f"&township={township}" if staff.is_county else "")


def _again(request: Request, staff: Caller, calls: Calls, township: str, typed: dict[str, Any]) -> Again:
    async def again(status: int, errors: dict[str, str], message: str) -> Response:
        return await _market_page(request, staff, calls, township, status_code=status, typed=typed, errors=errors,
                                  message=message)
    return again


@router.post("/market/sessions/generate", operation_id="page_generate_sessions", **PAGE)
async def generate_sessions(request: Request, staff: StaffPage, calls: Calls) -> Response:
    typed = {**typed_fields(await read_form(request)), "form": "sessions"}
    township = _form_township(staff, typed)

    async def send(plan: SessionGenerate) -> Response:
        made = await calls.call("scheduling", "generate_sessions", caller=staff, plan=plan.model_dump(mode="json"))
        open_ = [s for s in made if s["status"] != "cancelled"]
        lines = [f"已生成 {plan.start.month}月{plan.start.day}日至{plan.end.month}月{plan.end.day}日的场次："
                 f"共 {len(open_)} 场" + (f"（另有 {len(made) - len(open_)} 场已取消）" if len(made) > len(open_)
                                        else "") + "。已有的场次保持不变；已过去的日子和休息日不开岗。"]
        if open_:
            lines.append("下一步：为这段时间排班。")
        return see_once(request, _sessions_url(staff, township, plan.start.isoformat(), plan.end.isoformat(),
                                               plan.site_code), {"lines": lines})

    return await submit(_again(request, staff, calls, township, typed), lambda: SessionGenerate.model_validate({
        "site_code": typed.get("site_code"), "start": typed.get("start"), "end": typed.get("end")}), send,
        fields=FIELDS, typed=typed, required=REQUIRED["sessions"], across="end", say=words.market_error)


@router.post("/market/roster", operation_id="page_generate_roster", **PAGE)
async def generate_roster(request: Request, staff: StaffPage, calls: Calls) -> Response:
    form = await read_form(request)
    cadres = [c for c in form.getlist("cadre_ids") if isinstance(c, str) and c.isdigit()][:200]
    typed = {**typed_fields(form), "form": "roster", "cadre_ids": cadres}
    township = _form_township(staff, typed)
    required = dict(REQUIRED["roster"])
    if staff.is_county:  # a county admin's roster stays inside one township
        required["site_code"] = FIELDS["site_code"]
    again = _again(request, staff, calls, township, typed)

    async def send(plan: RosterGenerate) -> Response:
        if plan.end < plan.start:
            return await again(422, {"end": FIELDS["end"]}, words.BY_STATUS[422])
        rostered = await calls.call("scheduling", "generate_roster", caller=staff, plan=plan.model_dump(mode="json"))
        names, _ = await _names(calls, staff, township)
        lines = fairness(rostered, plan.cadre_ids, plan.per_session, names)
        first = rostered[0]["day"] if rostered else plan.start.isoformat()
        last = rostered[-1]["day"] if rostered else plan.end.isoformat()
        return see_once(request, _sessions_url(staff, township, first, last, plan.site_code),
                        {"title": "排班结果", "lines": lines})

    return await submit(again, lambda: RosterGenerate.model_validate({
        "site_code": typed.get("site_code") or None, "start": typed.get("start"), "end": typed.get("end"),
        "cadre_ids": [int(c) for c in cadres], "per_session": typed.get("per_session") or 2,
        "max_per_cadre": typed.get("max_per_cadre") or 31}), send, fields=FIELDS, typed=typed, required=required,
        across="end", say=words.market_error)


@router.post("/market/leave", operation_id="page_record_leave", **PAGE)
async def record_leave(request: Request, staff: StaffPage, calls: Calls) -> Response:
    typed = {**typed_fields(await read_form(request)), "form": "leave"}
    township = _form_township(staff, typed)

    async def send(leave: LeaveCreate) -> Response:
        await calls.call("scheduling", "record_leave", caller=staff, leave=leave.model_dump(mode="json"))
        names, _ = await _names(calls, staff, township)
        sessions = await calls.call("scheduling", "list_sessions", caller=staff, query={
            "township_code": township, "start": leave.first_day.isoformat(), "end": leave.last_day.isoformat(),
            "limit": 500})
        posts = [s for s in sessions if s["status"] != "cancelled"
                 and any(r["staff_id"] == leave.staff_id for r in s["roster"])]
        site_names = {s["code"]: s["name"] for s in await _sites(calls, staff, township)}
        lines = leave_effect(names.get(leave.staff_id, "这位工作人员"), leave.first_day, leave.last_day,
                             leave.reason, posts, site_names)
        return see_once(request, _sessions_url(staff, township, leave.first_day.isoformat(),
                                               leave.last_day.isoformat()),
                        {"title": "请假", "lines": lines, "on_leave": leave.staff_id})

    return await submit(_again(request, staff, calls, township, typed), lambda: LeaveCreate.model_validate({
        "staff_id": typed.get("staff_id"), "first_day": typed.get("first_day"), "last_day": typed.get("last_day"),
        "reason": typed.get("reason")}), send, fields=FIELDS, typed=typed, required=REQUIRED["leave"],
        across="last_day", say=words.market_error)


# ---- 场次: the sessions of a period, by keyset on the day ---------------------------------------------------

@router.get("/market/sessions", operation_id="page_market_sessions", **PAGE)
async def sessions(request: Request, staff: StaffPage, calls: Calls, township: TownshipQuery = None,
                   start: Annotated[date | None, Query()] = None, end: Annotated[date | None, Query()] = None,
                   site: SiteQuery = None, cursor: Annotated[date | None, Query()] = None) -> Response:
    chosen = township_of(staff, township)
    if chosen is None:
        return await _choose_township(request, staff, calls, "/console/market/sessions")
    today = today_in_china()
    first = start or today
    last = end if end and end >= first else first + timedelta(days=PERIOD_DAYS)
    last = min(last, first + timedelta(days=400))
    found = await calls.call("scheduling", "list_sessions", caller=staff, query={
        "site_code": site, "township_code": chosen, "start": max(cursor or first, first).isoformat(),
        "end": last.isoformat(), "limit": PAGE_SIZE + 1})
    next_url = None
    if len(found) > PAGE_SIZE:
        following = date.fromisoformat(found[PAGE_SIZE]["day"])
        shown = [s for s in found if date.fromisoformat(s["day"]) < following]
        if not shown:  # more sessions on one day than a page holds: show them, go on the next day
            shown, following = found[:PAGE_SIZE], following + timedelta(days=1)
        found = shown
        next_url = _sessions_url(staff, chosen, first.isoformat(), last.isoformat(), site) + f"&cursor={following}"
    names, _ = await _names(calls, staff, chosen)
    sites = await _sites(calls, staff, chosen)
    once = answer_once(request)
    first_url = _sessions_url(staff, chosen, first.isoformat(), last.isoformat(), site) if cursor else None
    response = render(request, "console/market_sessions.html", first_url=first_url, sessions=found, names=names,
                      once=once,
                      site_names={s["code"]: s["name"] for s in sites}, sites=sites, township=chosen,
                      township_name=await _township_name(calls, staff, chosen), suffix=suffix(staff, chosen),
                      filters={"start": first.isoformat(), "end": last.isoformat(), "site": site or ""},
                      next_url=next_url, day_words=day_words, reason=roster_reason, today=today.isoformat(),
                      services=words.SERVICE, handled=handled_words, now=utcnow())
    return forget_answer(request, response) if once else response


# ---- 一场: its roster, slots and who booked, and what may be done to it --------------------------------------

async def _session_page(request: Request, staff: Caller, calls: Calls, township: str, day: date, session_id: str,
                        *, status_code: int = 200, **context: Any) -> Response:
    found = await calls.call("scheduling", "list_sessions", caller=staff, query={
        "township_code": township, "start": day.isoformat(), "end": day.isoformat(), "limit": 500})
    session = next((s for s in found if s["id"] == session_id), None)
    if session is None:
        raise NotFound("session not found", code="session_not_found")
    slots = await console.optional(calls.call("scheduling", "list_slots", caller=staff, session_id=session_id)) or []
    bookings = await console.optional(calls.call("scheduling", "list_bookings", caller=staff,
                                                 session_id=session_id)) or [] if slots else []
    names, rosterable = await _names(calls, staff, township)
    sites = {s["code"]: s for s in await _sites(calls, staff, township)}
    on_roster = {r["staff_id"] for r in session["roster"]}
    today = today_in_china()
    return render(request, "console/market_session.html", status_code=status_code, session=session, slots=slots,
                  bookings=bookings, names=names, free=[p for p in rosterable if p["id"] not in on_roster],
                  site=sites.get(session["site_code"]), township=township, suffix=suffix(staff, township),
                  township_name=await _township_name(calls, staff, township), day_words=day_words,
                  reason=roster_reason, planner=staff.role in PLANNERS, services=words.SERVICE,
                  upcoming=session["status"] == "scheduled" and day >= today, is_today=day == today,
                  action=f"/console/market/sessions/{day.isoformat()}/{session_id}", typed=context.pop("typed", {}),
                  **context)


@router.get("/market/sessions/{day}/{session_id}", operation_id="page_market_session", openapi_extra=PERSONAL_DATA,
            **PAGE)
async def session_page(request: Request, staff: StaffPage, calls: Calls, day: DayPath, session_id: SessionPath,
                       township: TownshipQuery = None) -> Response:
    chosen = township_of(staff, township)
    if chosen is None:
        return await _choose_township(request, staff, calls, "/console/market")
    once = answer_once(request)
    refused = refused_once(once)  # a form refused here: what to fix beside its fields, once
    response = await _session_page(request, staff, calls, chosen, day, session_id, once=None if refused else once,
                                   **refused)
    return forget_answer(request, response) if once else response


ACTIONS = r"^(assign|swap|slots|cancel|hold|restore)$"


@router.post("/market/sessions/{day}/{session_id}/{action}", operation_id="page_market_session_action", **PAGE)
async def session_action(request: Request, staff: StaffPage, calls: Calls, day: DayPath, session_id: SessionPath,
                         action: Annotated[str, Path(pattern=ACTIONS)]) -> Response:
    """Assign a cadre, swap one for another, open appointment slots, decide on a day off (cancel or hold),
    or restore a session a lifted day off had cancelled. Done or refused, the browser goes back to the
    session's own address (a reload posts nothing again)."""
    typed = {**typed_fields(await read_form(request)), "form": action}
    township = _form_township(staff, typed)
    back = f"/console/market/sessions/{day.isoformat()}/{session_id}" + suffix(staff, township)
    names, _ = await _names(calls, staff, township)
    contracts: dict[str, Callable[[], Any]] = {
        "assign": lambda: RosterAssign.model_validate({"staff_id": typed.get("staff_id"),
                                                       "reason": typed.get("reason") or None}),
        "swap": lambda: RosterSwap.model_validate({"from_staff_id": typed.get("from_staff_id"),
                                                   "to_staff_id": typed.get("to_staff_id"),
                                                   "reason": typed.get("reason")}),
        "slots": lambda: SlotsCreate.model_validate({"minutes": typed.get("minutes") or 30,
                                                     "capacity": typed.get("capacity") or 5}),
    }

    async def again(status: int, errors: dict[str, str], message: str) -> Response:
        return see_refused(request, back, errors, message, typed)

    def refused(exc: CunbanError) -> dict[str, str]:
        if exc.http_status == 404 and exc.code == "session_not_found":
            raise exc  # no such session: the page that says so
        return {}

    async def send(body: Any) -> Response:
        if action == "assign":
            await calls.call("scheduling", "assign", caller=staff, session_id=session_id,
                             assignment=body.model_dump(mode="json"))
            done = f"已安排{names.get(body.staff_id, '')}在这一场值岗。"
        elif action == "swap":
            await calls.call("scheduling", "swap", caller=staff, session_id=session_id,
                             swap=body.model_dump(mode="json"))
            done = (f"已换人：{names.get(body.from_staff_id, '')}不再值这一场，"
                    f"由{names.get(body.to_staff_id, '')}接替（{body.reason}）。")
        elif action == "slots":
            made = await calls.call("scheduling", "create_slots", caller=staff, session_id=session_id,
                                    slots=body.model_dump(mode="json"))
            done = f"已开放预约：{len(made)} 个时段，每个时段可约 {body.capacity} 人。群众可在赶集日历上预约。"
        elif action in ("cancel", "hold"):
            await calls.call("scheduling", "decide_session_day_off", caller=staff, session_id=session_id,
                             decision={"decision": action})
            done = ("已取消这一场：预约的群众会收到取消通知。" if action == "cancel"
                    else "这一场照常开岗，已预约的群众照常前来。")
        else:
            await calls.call("scheduling", "restore_session", caller=staff, session_id=session_id)
            done = "已恢复这一场，原来排班的干部照常值岗。"
        return see_once(request, back, {"lines": [done]})

    return await submit(again, contracts.get(action, lambda: None), send, fields=FIELDS, typed=typed,
                        refused=refused, say=words.market_error)


@router.post("/market/sessions/{day}/{session_id}/check/{staff_id}/{way}", operation_id="page_market_check", **PAGE)
async def check(request: Request, staff: StaffPage, calls: Calls, day: DayPath, session_id: SessionPath,
                staff_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
                way: Annotated[str, Path(pattern=r"^(in|out)$")]) -> Response:
    """The supervisor records a cadre's arrival or departure on the day (a cadre who forgot to check in)."""
    typed = typed_fields(await read_form(request))
    township = _form_township(staff, typed)
    back = f"/console/market/sessions/{day.isoformat()}/{session_id}" + suffix(staff, township)

    async def again(status: int, errors: dict[str, str], message: str) -> Response:
        return see_refused(request, back, errors, message)

    async def send(_: None) -> Response:
        await calls.call("scheduling", "check", caller=staff, session_id=session_id, staff_id=staff_id,
                         out=way == "out")
        names, _ = await _names(calls, staff, township)
        done = f"已为{names.get(staff_id, '')}登记{'签到' if way == 'in' else '签退'}。"
        return see_once(request, back, {"lines": [done]})

    return await submit(again, lambda: None, send, fields={}, say=words.market_error)
