"""Scheduling use cases: market days, market-day sessions 便民服务岗 and their rosters, attendance,
reminders, and appointment slots with bookings."""
from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update

from services.scheduling.adapters import orm
from services.scheduling.domain.market_days import market_days
from services.scheduling.domain.rosters import Leave, Slot, check_assignable, rotate
from shared.clock import CHINA, today_in_china
from shared.contracts.caller import STATION_ROLES, Caller, Role
from shared.contracts.directory import MarketDayRule
from shared.contracts.scheduling import (
    AttendanceRecorded,
    BookingChanged,
    BookingCreate,
    BookingView,
    DateRange,
    LeaveCreate,
    LinkedRecord,
    MarketDays,
    RosterAssign,
    RosterEntryView,
    RosterGenerate,
    RosterSwap,
    SessionGenerate,
    SessionQuery,
    SessionReminder,
    SessionView,
    SlotsCreate,
    SlotView,
)
from shared.db import UnitOfWork, insert_or_ignore, within_scope
from shared.divisions import county_of
from shared.errors import Conflict, Forbidden, NotFound, ValidationFailed
from shared.observability import metrics
from shared.pii import PersonalDataVault, mask_name, mask_phone

WEEKDAYS = "一二三四五六日"


def describe(rule: MarketDayRule) -> str:
    """The rule as villagers say it: 逢一四七 (农历), 每月5、15、25日, 每周日 …"""
    if rule.kind == "lunar_days":
        text = f"{rule.pattern}（农历）" if rule.pattern else "农历每月" + "、".join(f"{d}日" for d in rule.days)
        if rule.exceptions.skip_lunar_new_year_days:
            text += f"，正月初一至初{_chinese(rule.exceptions.skip_lunar_new_year_days)}休市"
        return text
    if rule.kind == "solar_days":
        return "每月" + "、".join(f"{d}日" for d in rule.days)
    if rule.kind == "weekly":
        return "每周" + "、".join(WEEKDAYS[d] for d in rule.weekdays)
    return "指定日期"


def _chinese(n: int) -> str:
    digits = "零一二三四五六七八九十"
    return digits[n] if n <= 10 else "十" + digits[n - 10]


def _view(site: orm.MarketSiteCopy, period: DateRange) -> MarketDays:
    rule = MarketDayRule.model_validate(site.rule)
    return MarketDays(site_code=site.code, site_name=site.name, township_code=site.township_code,
                      location=site.location, opens_at=site.opens_at, closes_at=site.closes_at,
                      rule_summary=describe(rule), days=market_days(rule, period.start, period.end))


def site_market_days(uow: UnitOfWork, *, caller: Caller, site_code: str, period: DateRange) -> MarketDays:
    site = uow.session.get(orm.MarketSiteCopy, site_code)
    if site is None or not caller.sees_township(site.township_code):
        raise NotFound("market site not found", code="market_site_not_found")
    return _view(site, period)


def public_market_calendar(uow: UnitOfWork, *, township_code: str, period: DateRange) -> list[MarketDays]:
    """公开: where and when a township's markets meet, for anyone; no personal data."""
    sites = uow.session.execute(select(orm.MarketSiteCopy).where(orm.MarketSiteCopy.township_code == township_code)
                                .order_by(orm.MarketSiteCopy.code)).scalars()
    return [_view(site, period) for site in sites]


def keep_site(uow: UnitOfWork, *, site: dict[str, Any]) -> None:
    uow.keep_newest(orm.MarketSiteCopy, site["code"], {k: site[k] for k in (
        "code", "township_code", "village_code", "name", "location", "rule", "opens_at", "closes_at", "version")})


# ---- sessions 便民服务岗 ---------------------------------------------------------------------------

SESSION_MANAGERS = frozenset({Role.SUPERVISOR, Role.COUNTY_ADMIN, Role.SYSTEM})
ROSTERABLE = frozenset({Role.TOWNSHIP_CADRE.value, Role.DEPARTMENT_STAFF.value, Role.SUPERVISOR.value})


def local_instant(day: date, hour_minute: str) -> datetime:
    """A site's opening hour on a day, in China, as the UTC instant it is stored as."""
    hour, minute = (int(x) for x in hour_minute.split(":"))
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=CHINA).astimezone(UTC)


def require_manager(caller: Caller, township_code: str) -> None:
    if caller.role not in SESSION_MANAGERS or not caller.sees_township(township_code):
        raise Forbidden("only the township's supervisors and county admins plan market-day posts",
                        code="not_a_planner")


def days_off(uow: UnitOfWork, township_code: str) -> set[date]:
    """The days off of the township's county (each county keeps its own)."""
    return set(uow.session.execute(select(orm.CalendarDayCopy.day).where(
        orm.CalendarDayCopy.county_code == county_of(township_code),
        orm.CalendarDayCopy.kind != "makeup_workday")).scalars())


def generate_sessions(uow: UnitOfWork, *, caller: Caller, cmd: SessionGenerate, now: datetime) -> list[SessionView]:
    """Sessions for the site's market days in the period. Idempotent: a day that has a session keeps
    it. Only the future changes: a market day the rule no longer names is cancelled (and announced),
    one it names again is scheduled again; past sessions are never touched. No post opens on a public
    holiday or a county day off."""
    site = uow.session.get(orm.MarketSiteCopy, cmd.site_code)
    if site is None or not caller.sees_township(site.township_code):
        raise NotFound("market site not found", [{"field": "site_code",
                                                 "message": "no such market site in your township"}],
                       code="market_site_not_found")
    require_manager(caller, site.township_code)
    today = today_in_china(now)
    start = max(cmd.start, today)
    if cmd.end < start:
        return []
    wanted = set(market_days(MarketDayRule.model_validate(site.rule), start, cmd.end)) \
        - days_off(uow, site.township_code)
    existing = {s.day: s for s in uow.session.execute(select(orm.Session).where(
        orm.Session.site_code == site.code, orm.Session.day >= start, orm.Session.day <= cmd.end)).scalars()}
    for day in sorted(wanted | set(existing)):
        session = existing.get(day)
        if session is None:
            session = orm.Session(id=uuid.uuid4().hex, site_code=site.code, township_code=site.township_code, day=day,
                                  starts_at=local_instant(day, site.opens_at),
                                  ends_at=local_instant(day, site.closes_at), status="scheduled",
                                  services=[c.value for c in cmd.services], restorable=False, updated_at=now)
            uow.session.add(session)
            _announce(uow, "session_scheduled", session, now)
        elif day in wanted and session.status == "cancelled":
            session.status, session.updated_at = "scheduled", now
            session.day_off, session.restorable = None, False
            _announce(uow, "session_scheduled", session, now)
        elif day not in wanted and session.status == "scheduled" and session.day_off is None:  # not held on one
            session.status, session.updated_at = "cancelled", now
            _announce(uow, "session_cancelled", session, now)
    uow.commit()
    return list_sessions(uow, caller=caller, query=SessionQuery(site_code=site.code, start=start, end=cmd.end))


def _announce(uow: UnitOfWork, event_type: str, session: orm.Session, now: datetime) -> None:
    uow.record_event(event_type, {"session_id": session.id, "site_code": session.site_code,
                                  "township_code": session.township_code, "day": session.day.isoformat(),
                                  "starts_at": session.starts_at.isoformat(), "ends_at": session.ends_at.isoformat()},
                     township_code=session.township_code, now=now)


def list_sessions(uow: UnitOfWork, *, caller: Caller, query: SessionQuery) -> list[SessionView]:
    s = orm.Session
    stmt = select(s).where(s.day >= query.start, s.day <= query.end)
    if query.site_code:
        stmt = stmt.where(s.site_code == query.site_code)
    if query.township_code:
        stmt = stmt.where(s.township_code == query.township_code)
    if caller.role is Role.PUBLIC:
        raise NotFound("session not found", code="session_not_found")
    stmt = stmt.where(*within_scope(caller, s.township_code))
    sessions = list(uow.session.execute(stmt.order_by(s.day, s.site_code).limit(query.limit)).scalars())
    rosters: dict[str, list[orm.RosterEntry]] = {}
    if sessions:
        for entry in uow.session.execute(select(orm.RosterEntry).where(
                orm.RosterEntry.session_id.in_([x.id for x in sessions])).order_by(orm.RosterEntry.staff_id)).scalars():
            rosters.setdefault(entry.session_id, []).append(entry)
    linked = linked_records(uow, orm.LinkedRecordRow.session_id, [x.id for x in sessions])
    return [_session_view(x, rosters.get(x.id, []), linked.get(x.id, [])) for x in sessions]


def _session_view(session: orm.Session, roster: list[orm.RosterEntry], linked: list[LinkedRecord]) -> SessionView:
    return SessionView(id=session.id, site_code=session.site_code, township_code=session.township_code,
                       day=session.day, starts_at=session.starts_at, ends_at=session.ends_at, status=session.status,
                       services=session.services, day_off=session.day_off, restorable=session.restorable,
                       roster=[RosterEntryView(staff_id=e.staff_id, reason=e.reason, checked_in_at=e.checked_in_at,
                                               checked_out_at=e.checked_out_at, attendance=e.attendance)
                               for e in roster], linked=linked)


def linked_records(uow: UnitOfWork, column: Any, ids: list[str]) -> dict[str, list[LinkedRecord]]:
    """The records handled at each of some sessions (or raised on some visits), oldest first."""
    found: dict[str, list[LinkedRecord]] = {}
    if ids:
        for r in uow.session.execute(select(orm.LinkedRecordRow).where(column.in_(ids))
                                     .order_by(orm.LinkedRecordRow.occurred_at)).scalars():
            found.setdefault(getattr(r, column.key), []).append(
                LinkedRecord(kind=r.kind, ref=r.ref, occurred_at=r.occurred_at))
    return found


def _session(uow: UnitOfWork, caller: Caller, session_id: str) -> orm.Session:
    session = uow.session.get(orm.Session, session_id)
    if session is None or not caller.sees_township(session.township_code):
        raise NotFound("session not found", code="session_not_found")
    return session


# ---- rosters ---------------------------------------------------------------------------------------

def _slot(session: orm.Session) -> Slot:
    return Slot(ref=session.id, day=session.day, starts_at=session.starts_at, ends_at=session.ends_at)


def _lock_staff_day(uow: UnitOfWork, staff_id: int, day: date) -> None:
    """Serialise assignments of one cadre on one day (PostgreSQL row lock; SQLite has one writer)."""
    insert_or_ignore(uow.session, orm.StaffDay, staff_id=staff_id, day=day)
    uow.session.execute(select(orm.StaffDay).where(orm.StaffDay.staff_id == staff_id, orm.StaffDay.day == day)
                        .with_for_update())


def busy(uow: UnitOfWork, staff_ids: list[int], first: date, last: date) -> dict[int, list[Slot]]:
    """Where each cadre is already due between two days: rostered sessions and visits not cancelled."""
    found: dict[int, list[Slot]] = {s: [] for s in staff_ids}
    r, m, s, v = orm.RosterEntry, orm.VisitMember, orm.Session, orm.Visit
    for staff_id, ref, day, starts_at, ends_at in uow.session.execute(
            select(r.staff_id, r.session_id, r.day, r.starts_at, r.ends_at).join(s, s.id == r.session_id)
            .where(r.staff_id.in_(staff_ids), r.day >= first, r.day <= last, s.status != "cancelled")
            .union_all(select(m.staff_id, m.visit_id, m.day, m.starts_at, m.ends_at).join(v, v.id == m.visit_id)
                       .where(m.staff_id.in_(staff_ids), m.day >= first, m.day <= last, v.status != "cancelled"))):
        found[staff_id].append(Slot(ref=ref, day=day, starts_at=starts_at, ends_at=ends_at))
    return found


def commit_cadre(uow: UnitOfWork, staff_id: int, township_code: str, slot: Slot) -> None:
    """The hard constraints on one cadre going somewhere (a session or a visit), checked under a lock on
    the cadre's day: of the township, active, not on leave, not elsewhere at the same time."""
    check_cadre(uow, staff_id, township_code)
    _lock_staff_day(uow, staff_id, slot.day)
    check_assignable(staff_id, slot, busy(uow, [staff_id], slot.day, slot.day)[staff_id],
                     leave(uow, [staff_id], slot.day, slot.day))


def leave(uow: UnitOfWork, staff_ids: list[int], first: date, last: date) -> list[Leave]:
    rows = uow.session.execute(select(orm.LeaveRow).where(
        orm.LeaveRow.staff_id.in_(staff_ids), orm.LeaveRow.last_day >= first, orm.LeaveRow.first_day <= last)).scalars()
    return [Leave(r.staff_id, r.first_day, r.last_day) for r in rows]


def check_cadre(uow: UnitOfWork, staff_id: int, township_code: str, *, field: str = "staff_id") -> None:
    staff = uow.session.get(orm.StaffCopy, staff_id)
    if staff is None or not staff.active or staff.township_code != township_code or staff.role not in ROSTERABLE:
        raise ValidationFailed("only active cadres, department staff and supervisors of the township are rostered",
                               [{"field": field, "message": f"{staff_id} is not a cadre of this township"}],
                               code="not_a_cadre")


def _add_to_roster(uow: UnitOfWork, session: orm.Session, staff_id: int, caller: Caller, reason: str | None) -> None:
    commit_cadre(uow, staff_id, session.township_code, _slot(session))
    if uow.session.get(orm.RosterEntry, (session.id, staff_id)) is None:
        uow.session.add(orm.RosterEntry(session_id=session.id, staff_id=staff_id, township_code=session.township_code,
                                        day=session.day, starts_at=session.starts_at, ends_at=session.ends_at,
                                        assigned_by=caller.staff_id, reason=reason))
        uow.session.flush()


def assign(uow: UnitOfWork, *, caller: Caller, session_id: str, cmd: RosterAssign, now: datetime) -> SessionView:
    session = _session(uow, caller, session_id)
    require_manager(caller, session.township_code)
    if session.status != "scheduled" or session.ends_at <= now:
        raise Conflict("only upcoming scheduled sessions are rostered", code="session_closed")
    _add_to_roster(uow, session, cmd.staff_id, caller, cmd.reason)
    uow.commit()
    return _one(uow, session)


def swap(uow: UnitOfWork, *, caller: Caller, session_id: str, cmd: RosterSwap, now: datetime) -> SessionView:
    """One cadre hands a session to another, with a reason; the newcomer must be free."""
    session = _session(uow, caller, session_id)
    require_manager(caller, session.township_code)
    leaving = uow.session.get(orm.RosterEntry, (session.id, cmd.from_staff_id))
    if leaving is None or session.ends_at <= now:
        raise Conflict(f"staff {cmd.from_staff_id} is not rostered on this upcoming session", code="not_rostered")
    uow.session.delete(leaving)
    uow.session.flush()
    _add_to_roster(uow, session, cmd.to_staff_id, caller, f"swap for {cmd.from_staff_id}: {cmd.reason}")
    uow.commit()
    return _one(uow, session)


def generate_roster(uow: UnitOfWork, *, caller: Caller, cmd: RosterGenerate, now: datetime) -> list[SessionView]:
    """Fill the upcoming sessions of a period by fair rotation among the given cadres. The site and the
    cadres named must be the township's, whether or not the period has sessions to fill."""
    township = caller.township_code if not caller.is_county else None
    if cmd.site_code:
        site = uow.session.get(orm.MarketSiteCopy, cmd.site_code)
        if site is None or not caller.sees_township(site.township_code):
            raise NotFound("market site not found", [{"field": "site_code",
                                                     "message": "no such market site in your township"}],
                           code="market_site_not_found")
        township = site.township_code
    if township is not None:
        require_manager(caller, township)
        for staff_id in cmd.cadre_ids:
            check_cadre(uow, staff_id, township, field="cadre_ids")
    s = orm.Session
    stmt = select(s).where(s.status == "scheduled", s.day >= max(cmd.start, today_in_china(now)), s.day <= cmd.end,
                           *within_scope(caller, s.township_code))
    if cmd.site_code:
        stmt = stmt.where(s.site_code == cmd.site_code)
    if township is not None:
        stmt = stmt.where(s.township_code == township)
    sessions = list(uow.session.execute(stmt.order_by(s.starts_at)).scalars())
    if not sessions:
        return []
    for township_code in {x.township_code for x in sessions} - {township}:  # a county-wide roster
        require_manager(caller, township_code)
        for staff_id in cmd.cadre_ids:
            check_cadre(uow, staff_id, township_code, field="cadre_ids")
    first, last = sessions[0].day, sessions[-1].day
    plan = rotate([_slot(x) for x in sessions], cmd.cadre_ids, per_session=cmd.per_session,
                  max_per_cadre=cmd.max_per_cadre, existing=busy(uow, cmd.cadre_ids, first, last),
                  leave=leave(uow, cmd.cadre_ids, first, last))
    by_id = {x.id: x for x in sessions}
    for session_id, staff_ids in plan.items():
        for staff_id in staff_ids:
            _add_to_roster(uow, by_id[session_id], staff_id, caller, "rotation")
    uow.commit()
    return list_sessions(uow, caller=caller, query=SessionQuery(site_code=cmd.site_code, start=first, end=last,
                                                                limit=500))


def record_leave(uow: UnitOfWork, *, caller: Caller, cmd: LeaveCreate) -> dict:
    staff = uow.session.get(orm.StaffCopy, cmd.staff_id)
    if staff is None or staff.township_code is None:
        raise NotFound("staff not found", code="staff_not_found")
    require_manager(caller, staff.township_code)
    row = orm.LeaveRow(staff_id=cmd.staff_id, township_code=staff.township_code, first_day=cmd.first_day,
                       last_day=cmd.last_day, reason=cmd.reason)
    uow.session.add(row)
    uow.commit()
    return {"id": row.id, **cmd.model_dump(mode="json")}


def _one(uow: UnitOfWork, session: orm.Session) -> SessionView:
    roster = list(uow.session.execute(select(orm.RosterEntry).where(orm.RosterEntry.session_id == session.id)
                                      .order_by(orm.RosterEntry.staff_id)).scalars())
    return _session_view(session, roster,
                         linked_records(uow, orm.LinkedRecordRow.session_id, [session.id]).get(session.id, []))


# ---- check-in, check-out, attendance ------------------------------------------------------------------

def check(uow: UnitOfWork, *, caller: Caller, session_id: str, staff_id: int, out: bool, now: datetime) -> SessionView:
    """A rostered cadre checks in or out, themselves or through the station's staff, on the day."""
    session = _session(uow, caller, session_id)
    if caller.staff_id != staff_id and caller.role not in STATION_ROLES | SESSION_MANAGERS:
        raise Forbidden("check in yourself, or ask the station", code="not_your_check_in")
    entry = uow.session.get(orm.RosterEntry, (session.id, staff_id))
    if entry is None:
        raise Conflict(f"staff {staff_id} is not rostered on this session", code="not_rostered")
    if today_in_china(now) != session.day or session.attendance_closed:
        raise Conflict("check in and out on the session's day, before it closes", code="not_today")
    if out:
        if entry.checked_in_at is None:
            raise Conflict("check in first", code="not_checked_in")
        entry.checked_out_at = entry.checked_out_at or now
    else:
        entry.checked_in_at = entry.checked_in_at or now
    uow.commit()
    return _one(uow, session)


def close_attendance(uow: UnitOfWork, *, now: datetime, batch: int = 200) -> int:
    """After a session ends: who came and who did not, announced once per cadre (claimed like deadlines)."""
    ids = list(uow.session.execute(select(orm.Session.id).where(
        orm.Session.attendance_closed.is_(False), orm.Session.ends_at < now).limit(batch)).scalars())
    closed = 0
    for session_id in ids:
        if not uow.claim(update(orm.Session).where(orm.Session.id == session_id,
                                                   orm.Session.attendance_closed.is_(False))
                         .values(attendance_closed=True)):
            continue
        session = uow.session.get(orm.Session, session_id)
        if session.status == "scheduled":
            for entry in uow.session.execute(select(orm.RosterEntry).where(
                    orm.RosterEntry.session_id == session_id)).scalars():
                entry.attendance = "attended" if entry.checked_in_at else "no_show"
                event = AttendanceRecorded(session_id=session.id, site_code=session.site_code,
                                           township_code=session.township_code, day=session.day,
                                           staff_id=entry.staff_id, attendance=entry.attendance)
                uow.record_event("session_attendance_recorded", event.model_dump(mode="json"),
                                 township_code=session.township_code, now=now)
        uow.commit()
        closed += 1
    return closed


def send_reminders(uow: UnitOfWork, *, now: datetime, lead: timedelta, batch: int = 200) -> int:
    """An event a set time before each session, for notifications to the rostered cadres."""
    sent = 0
    for session in due_reminders(uow, orm.Session, now=now, lead=lead, batch=batch, open_status="scheduled"):
        staff = list(uow.session.execute(select(orm.RosterEntry.staff_id).where(
            orm.RosterEntry.session_id == session.id)).scalars())
        reminder = SessionReminder(session_id=session.id, site_code=session.site_code,
                                   township_code=session.township_code, starts_at=session.starts_at, staff_ids=staff)
        uow.record_event("session_reminder", reminder.model_dump(mode="json"), township_code=session.township_code,
                         now=now)
        uow.commit()
        sent += 1
    return sent


def due_reminders(uow: UnitOfWork, model: type[orm.Session] | type[orm.Visit], *, now: datetime, lead: timedelta,
                  batch: int, open_status: str) -> Iterator[Any]:
    """Sessions or visits starting within `lead`, each claimed once (two instances never both remind);
    the caller records the reminder and commits."""
    ids = list(uow.session.execute(select(model.id).where(
        model.reminded.is_(False), model.starts_at <= now + lead, model.starts_at > now,
        model.status == open_status).limit(batch)).scalars())
    for occasion_id in ids:
        if uow.claim(update(model).where(model.id == occasion_id, model.reminded.is_(False)).values(reminded=True)):
            yield uow.session.get(model, occasion_id)


# ---- appointments 预约 ---------------------------------------------------------------------------------

def create_slots(uow: UnitOfWork, *, caller: Caller, session_id: str, cmd: SlotsCreate) -> list[SlotView]:
    session = _session(uow, caller, session_id)
    require_manager(caller, session.township_code)
    return make_slots(uow, session.starts_at, session.ends_at, cmd, session_id=session.id)


def make_slots(uow: UnitOfWork, starts_at: datetime, ends_at: datetime, cmd: SlotsCreate, *,
               session_id: str | None = None, visit_id: str | None = None) -> list[SlotView]:
    """Cut an occasion's hours into slots of `cmd.minutes`, once per occasion."""
    column = orm.SlotRow.session_id if session_id else orm.SlotRow.visit_id
    if uow.session.execute(select(orm.SlotRow.id).where(column == (session_id or visit_id))).first():
        raise Conflict("slots are offered here already", code="slots_exist")
    step = timedelta(minutes=cmd.minutes)
    starts = starts_at
    while starts + step <= ends_at:
        uow.session.add(orm.SlotRow(session_id=session_id, visit_id=visit_id, starts_at=starts, ends_at=starts + step,
                                    capacity=cmd.capacity, booked=0))
        starts += step
    uow.commit()
    return list_slots(uow, session_id=session_id, visit_id=visit_id)


def list_slots(uow: UnitOfWork, *, session_id: str | None = None, visit_id: str | None = None) -> list[SlotView]:
    column = orm.SlotRow.session_id if session_id else orm.SlotRow.visit_id
    return [SlotView(id=s.id, session_id=s.session_id, visit_id=s.visit_id, starts_at=s.starts_at, ends_at=s.ends_at,
                     capacity=s.capacity, booked=s.booked)
            for s in uow.session.execute(select(orm.SlotRow).where(column == (session_id or visit_id))
                                         .order_by(orm.SlotRow.starts_at)).scalars()]


def list_bookings(uow: UnitOfWork, *, caller: Caller, session_id: str, vault: PersonalDataVault) -> list[BookingView]:
    """Who booked a place at a market-day post, by slot time: for the township's staff who serve it
    (names and phones in full, to call a villager who is late)."""
    _session(uow, caller, session_id)
    return bookings_of(uow, vault, session_id=session_id)


def bookings_of(uow: UnitOfWork, vault: PersonalDataVault, *, session_id: str | None = None,
                visit_id: str | None = None) -> list[BookingView]:
    column = orm.SlotRow.session_id if session_id else orm.SlotRow.visit_id
    rows = uow.session.execute(select(orm.Booking, orm.SlotRow).join(orm.SlotRow, orm.Booking.slot_id == orm.SlotRow.id)
                               .where(column == (session_id or visit_id))
                               .order_by(orm.SlotRow.starts_at, orm.Booking.booked_at)).all()
    return [_booking_view(booking, slot, vault, full=True) for booking, slot in rows]


def _slot_occasion(uow: UnitOfWork, slot: orm.SlotRow) -> tuple[str, bool]:
    """The township a slot belongs to, and whether its session or visit still takes bookings."""
    if slot.session_id:
        session = uow.session.get(orm.Session, slot.session_id)
        return session.township_code, session.status == "scheduled"
    visit = uow.session.get(orm.Visit, slot.visit_id)
    return visit.township_code, visit.status == "planned"


def book(uow: UnitOfWork, *, caller: Caller, slot_id: int, cmd: BookingCreate, vault: PersonalDataVault,
         now: datetime) -> BookingView:
    """Take a place in a slot: one per phone number (a second tap or a second visit to the page books
    nothing twice). The capacity check and the count are one conditional UPDATE, so parallel bookings can
    never overfill a slot."""
    slot = uow.session.get(orm.SlotRow, slot_id)
    if slot is None:
        raise NotFound("slot not found", code="slot_not_found")
    township_code, open_ = _slot_occasion(uow, slot)
    if caller.role is not Role.PUBLIC and not caller.sees_township(township_code):  # staff book in their own
        raise NotFound("slot not found", code="slot_not_found")
    if not open_ or slot.starts_at <= now:
        raise Conflict("this slot is no longer open for booking", code="slot_closed")
    if not uow.claim(update(orm.SlotRow).where(orm.SlotRow.id == slot_id, orm.SlotRow.booked < orm.SlotRow.capacity)
                     .values(booked=orm.SlotRow.booked + 1)):
        raise Conflict("this slot is full", code="slot_full")
    held = uow.session.scalars(select(orm.Booking.phone_enc).where(orm.Booking.slot_id == slot_id,
                                                                  orm.Booking.status == "booked"))
    if any(vault.decrypt(phone) == cmd.phone for phone in held):  # a slot holds a few places: reading them is cheap
        raise Conflict("this phone number has a place in this slot already", code="already_booked")
    booking = orm.Booking(id=uuid.uuid4().hex, slot_id=slot_id, name_enc=vault.encrypt(cmd.name),
                          phone_enc=vault.encrypt(cmd.phone), topic=cmd.topic, status="booked", booked_at=now,
                          booked_by=caller.staff_id)
    uow.session.add(booking)
    _booking_changed(uow, booking, slot, now)
    uow.commit()
    return _booking_view(booking, slot, vault, full=caller.role is not Role.PUBLIC)


def change_booking(uow: UnitOfWork, *, caller: Caller, booking_id: str, status: str, vault: PersonalDataVault,
                   now: datetime) -> BookingView:
    """Cancel (frees the place), or mark served / no-show (staff of the township)."""
    booking = uow.session.get(orm.Booking, booking_id)
    if booking is None:
        raise NotFound("booking not found", code="booking_not_found")
    slot = uow.session.get(orm.SlotRow, booking.slot_id)
    township_code, _ = _slot_occasion(uow, slot)
    # the villager cancels with the booking's id; staff act only on their own township's bookings
    if (status != "cancelled" or caller.role is not Role.PUBLIC) and not caller.sees_township(township_code):
        raise NotFound("booking not found", code="booking_not_found")
    if booking.status != "booked":
        raise Conflict(f"the booking is {booking.status} already", code="booking_closed")
    booking.status = status
    if status == "cancelled":
        uow.session.execute(update(orm.SlotRow).where(orm.SlotRow.id == slot.id).values(booked=orm.SlotRow.booked - 1))
    _booking_changed(uow, booking, slot, now)
    uow.commit()
    return _booking_view(booking, slot, vault, full=caller.role is not Role.PUBLIC)


def _booking_changed(uow: UnitOfWork, booking: orm.Booking, slot: orm.SlotRow, now: datetime) -> None:
    if slot.session_id:
        session = uow.session.get(orm.Session, slot.session_id)
        site = uow.session.get(orm.MarketSiteCopy, session.site_code)
        occasion, occasion_id, township, place = ("session", session.id, session.township_code,
                                                  site.name if site else session.site_code)
    else:
        visit = uow.session.get(orm.Visit, slot.visit_id)
        occasion, occasion_id, township, place = "visit", visit.id, visit.township_code, visit.place
    event = BookingChanged(booking_id=booking.id, status=booking.status, occasion=occasion, occasion_id=occasion_id,
                           township_code=township, starts_at=slot.starts_at, place=place)
    uow.record_event("booking_changed", event.model_dump(mode="json"), township_code=township, now=now)


def notice_contact(uow: UnitOfWork, *, booking_id: str, vault: PersonalDataVault) -> str | None:
    """The phone a villager booked with, for the message notifications is about to send (the platform's own
    caller only)."""
    phone_enc = uow.session.execute(select(orm.Booking.phone_enc).where(orm.Booking.id == booking_id)
                                    ).scalar_one_or_none()
    return vault.decrypt(phone_enc) if phone_enc else None


def _booking_view(booking: orm.Booking, slot: orm.SlotRow, vault: PersonalDataVault, *, full: bool) -> BookingView:
    name, phone = vault.decrypt(booking.name_enc), vault.decrypt(booking.phone_enc)
    return BookingView(id=booking.id, slot_id=slot.id, starts_at=slot.starts_at, status=booking.status,
                       name=name if full else mask_name(name), phone=phone if full else mask_phone(phone),
                       topic=booking.topic)


_GAUGED: set[str] = set()


def update_gauges(uow: UnitOfWork, *, now: datetime) -> None:
    """Market-day sessions and visits happening today, per township (the ops dashboard's "today")."""
    today = today_in_china(now)
    sessions = dict(uow.session.execute(select(orm.Session.township_code, func.count()).where(
        orm.Session.day == today, orm.Session.status == "scheduled").group_by(orm.Session.township_code)).all())
    visits = dict(uow.session.execute(select(orm.Visit.township_code, func.count()).where(
        orm.Visit.day == today, orm.Visit.status != "cancelled").group_by(orm.Visit.township_code)).all())
    known = set(uow.session.execute(select(orm.VillageCopy.township_code).distinct()).scalars())  # 0, not absent
    uow.rollback()
    for township in _GAUGED | known | set(sessions) | set(visits):
        metrics.sessions_today.labels(township).set(sessions.get(township, 0))
        metrics.visits_today.labels(township).set(visits.get(township, 0))
    _GAUGED.update(sessions, visits)
