"""The console's workbench (工作台): the clerk's day at a glance — what to remember today (with the complaints
waiting for them, `complaints.list_complaints` with `waiting`), the market-day posts and visits they are on
with who booked a place, their unread notices (消息), and their applications by time left."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Path, Request, Response

from gateway.audit import PERSONAL_DATA
from gateway.pages import console, words
from gateway.pages.console_complaints import clock
from gateway.pages.session import StaffPage
from gateway.pages.web import PAGE, PageRoute, SessionPath, china_time, read_form, render, see_other
from gateway.routes import Calls
from shared.clock import today_in_china, utcnow
from shared.contracts import intake
from shared.contracts.caller import Caller

router = APIRouter(prefix="/console", route_class=PageRoute)

BookingPath = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$")]
WARN_DAYS = 3  # an application this close to its promised deadline shows amber and is reminded of
AHEAD_DAYS = 14  # how far ahead the workbench lists posts and visits
NOTICE_DAYS = 14  # how long a 督办 notice or an accountability record stays among the reminders
OPEN_VISIT = {"planned", "needs_decision"}
COMPLAINT_REMINDERS = 5  # complaints waiting for this person named one by one; the rest are counted
WAITING_COMPLAINTS = "/console/complaints?mine=waiting"


@dataclass(frozen=True)
class Reminder:
    text: str
    level: str = ""  # "bad" (red), "warn" (amber) or plain
    href: str | None = None


def _month_day(day: date | str) -> str:
    day = date.fromisoformat(day) if isinstance(day, str) else day
    return f"{day.month}月{day.day}日"


def _when(day: date, today: date) -> str:
    return {0: "今天", 1: "明天"}.get((day - today).days) or _month_day(day)


def reminders(*, today: date, now: datetime, mine: list[tuple[tuple[int, int, str], dict]], sessions: list[dict],
              visits: list[dict], notices: list[dict], site_names: dict[str, str],
              village_names: dict[str, str], complaints: list[dict] = (),
              complaints_waiting: int = 0) -> list[Reminder]:
    """What the clerk should not forget: 督办 and accountability records about them, applications overdue or
    close to their deadline, those waiting for the applicant's 补正, the complaints waiting for their 签收 or
    答复 (a supervisor's: 分派 and 回访) by time left (`complaints_waiting` of them in all), and their posts and
    visits of today and tomorrow."""
    found: list[Reminder] = []
    for notice in notices:
        if datetime.fromisoformat(notice["recorded_at"]) < now - timedelta(days=NOTICE_DAYS):
            continue
        href = f"/console/applications/{notice['receipt_no']}"
        step = f"“{notice['step_name']}”环节" if notice.get("step_name") else "办理"
        if notice["kind"] == "supervision":
            found.append(Reminder(f"督办：{notice['receipt_no']} 的{step}已超过期限"
                                  f"（应在 {_month_day(notice['due_on'])}前），"
                                  "请尽快办理并说明情况。", "bad", href))
        else:
            found.append(Reminder(f"责任追究：{notice['receipt_no']} 的{step}超期，已记入责任追究。", "bad", href))
    overdue = sum(1 for key, _ in mine if key[0] == 0)
    close = sum(1 for key, _ in mine if key[0] == 1 and key[1] <= WARN_DAYS)
    waiting = sum(1 for _, a in mine if a["status"] not in console.CLOSED and a.get("paused"))
    if overdue:
        found.append(Reminder(f"{overdue} 件申请已超过承诺办结日期，请尽快办结。", "bad", "#mine"))
    if close:
        found.append(Reminder(f"{close} 件申请 {WARN_DAYS} 天内到期。", "warn", "#mine"))
    if waiting:
        found.append(Reminder(f"{waiting} 件申请在等群众补正材料（暂停计时），可以打电话提醒。", "", "#mine"))
    by_time_left = sorted(complaints, key=lambda c: c["working_days_left"] if c.get("working_days_left") is not None
                          else 10**6)
    for complaint in by_time_left:
        words_, level = clock(complaint)
        found.append(Reminder(f"诉求 {complaint['receipt_no']}：{words_}", level,
                              f"/console/complaints/{complaint['receipt_no']}"))
    if complaints_waiting > len(complaints):
        found.append(Reminder(f"还有 {complaints_waiting - len(complaints)} 件诉求等您办理。", "", WAITING_COMPLAINTS))
    for s in sessions:
        day = date.fromisoformat(s["day"])
        if (day - today).days <= 1:
            booked = sum(slot["booked"] for slot in s.get("slots", []))
            site = site_names.get(s["site_code"], "赶集日")
            found.append(Reminder(
                f"{_when(day, today)} {china_time(s['starts_at'], '%H:%M')} 在{site}便民服务岗值岗"
                + (f"，已有 {booked} 人预约。" if booked else "。"), "", f"#post-{s['id']}"))
    for v in visits:
        day = date.fromisoformat(v["day"])
        if (day - today).days <= 1:
            found.append(Reminder(
                f"{_when(day, today)} {china_time(v['starts_at'], '%H:%M')} {words.VISIT_KIND.get(v['kind'], '下访')}："
                f"{village_names.get(v['village_code'], '')}{v['place']}。", "", f"#visit-{v['id']}"))
    return found


async def _with_bookings(calls: Calls, staff: Caller, occasions: list[dict], *, visits: bool) -> None:
    """Each post's or visit's appointment slots and who booked them (in full: the staff serve them)."""
    slots, booked = ("list_visit_slots", "list_visit_bookings") if visits else ("list_slots", "list_bookings")
    key = "visit_id" if visits else "session_id"
    for occasion in occasions:
        occasion["slots"] = await console.optional(calls.call("scheduling", slots, caller=staff,
                                                              **{key: occasion["id"]})) or []
        occasion["bookings"] = (await console.optional(calls.call("scheduling", booked, caller=staff,
                                                                  **{key: occasion["id"]})) or []
                                if occasion["slots"] else [])


@router.get("", operation_id="page_console", openapi_extra=PERSONAL_DATA, **PAGE)
async def workbench(request: Request, staff: StaffPage, calls: Calls) -> Response:
    me = await calls.call("directory", "get_staff", caller=staff, staff_id=staff.staff_id)
    today = today_in_china()
    page = await console.optional(calls.call("intake", "list_applications", caller=staff, query=intake.ApplicationQuery(
        mine=True, limit=100).model_dump(mode="json"))) or {"items": []}
    mine = [(console.time_left(a, today), a) for a in page["items"]]
    mine.sort(key=lambda pair: pair[0][:2])
    sessions = [s for s in await console.upcoming_sessions(calls, staff, days=AHEAD_DAYS)
                if any(r["staff_id"] == staff.staff_id for r in s.get("roster", []))][:5]
    await _with_bookings(calls, staff, sessions, visits=False)
    visits = [v for v in await console.optional(calls.call("scheduling", "list_visits", caller=staff, query={
        "start": today.isoformat(), "end": (today + timedelta(days=AHEAD_DAYS)).isoformat(),
        "staff_id": staff.staff_id, "limit": 20})) or [] if v["status"] in OPEN_VISIT][:5]
    await _with_bookings(calls, staff, visits, visits=True)
    notices = []
    for kind in ("supervision", "accountability"):
        notices += [n for n in await console.optional(calls.call("approvals", "notices", caller=staff, kind=kind,
                                                                 limit=20, open_only=kind == "supervision")) or []
                    if staff.staff_id in (n["responsible_staff_id"], n["accountable_staff_id"])]
    sites = await console.optional(calls.call("directory", "list_market_sites", caller=staff)) or []
    site_names = {s["code"]: s["name"] for s in sites}
    village_names = {v["code"]: v["name"] for v in await console.optional(console.villages(calls, staff)) or []}
    items = {i["code"]: i["name"] for i in await console.optional(console.catalogue(calls, staff)) or []}
    complaints = await console.optional(calls.call("complaints", "list_complaints", caller=staff, query={
        "waiting": True, "limit": COMPLAINT_REMINDERS})) or []
    counted = await console.optional(calls.call("complaints", "waiting_counts", caller=staff)) or {}
    unread = await console.optional(calls.call("notifications", "my_notices", caller=staff,
                                               query={"unread": True, "limit": 3}))
    notes = reminders(today=today, now=utcnow(), mine=mine, sessions=sessions, visits=visits, notices=notices,
                      site_names=site_names, village_names=village_names, complaints=complaints,
                      complaints_waiting=counted.get("waiting", 0))
    return render(request, "console/home.html", me=me, mine=mine, sessions=sessions, visits=visits, items=items,
                  reminders=notes, site_names=site_names, village_names=village_names, warn_days=WARN_DAYS,
                  categories=words.SERVICE, today=today.isoformat(), unread=unread)


@router.post("/sessions/{session_id}/{action}", operation_id="page_check", **PAGE)
async def check(request: Request, staff: StaffPage, calls: Calls, session_id: SessionPath,
                action: Annotated[str, Path(pattern=r"^(check-in|check-out)$")]) -> Response:
    await read_form(request)
    await calls.call("scheduling", "check", caller=staff, session_id=session_id, staff_id=staff.staff_id,
                     out=action == "check-out")
    return see_other("/console")


@router.post("/bookings/{booking_id}/{status}", operation_id="page_mark_booking", **PAGE)
async def mark_booking(request: Request, staff: StaffPage, calls: Calls, booking_id: BookingPath,
                       status: Annotated[str, Path(pattern=r"^(served|no_show)$")]) -> Response:
    """The villager who booked came and was served (已接待), or did not come (未到)."""
    await read_form(request)
    await calls.call("scheduling", "change_booking", caller=staff, booking_id=booking_id, status=status)
    return see_other("/console")
