"""Roster use cases: cadres assigned to market-day sessions by hand, swapped, or by fair rotation, the
hard constraints every assignment (and every visit's cadre) is checked against under a lock on the
cadre's day, and leave."""
from __future__ import annotations

from datetime import date, datetime

from services.scheduling.adapters import orm
from services.scheduling.adapters.repositories import SchedulingUnitOfWork
from services.scheduling.domain.rosters import Leave, Slot, check_assignable, rotate
from services.scheduling.service_layer.sessions import find_session, list_sessions, require_manager, session_view
from shared.clock import today_in_china
from shared.contracts.caller import Caller, Role
from shared.contracts.scheduling import LeaveCreate, RosterAssign, RosterGenerate, RosterSwap, SessionQuery, SessionView
from shared.errors import Conflict, NotFound, ValidationFailed

ROSTERABLE = frozenset({Role.TOWNSHIP_CADRE.value, Role.DEPARTMENT_STAFF.value, Role.SUPERVISOR.value})


def _slot(session: orm.Session) -> Slot:
    return Slot(ref=session.id, day=session.day, starts_at=session.starts_at, ends_at=session.ends_at)


def busy(uow: SchedulingUnitOfWork, staff_ids: list[int], first: date, last: date) -> dict[int, list[Slot]]:
    """Where each cadre is already due between two days: rostered sessions and visits not cancelled."""
    return uow.commitments.of_staff(staff_ids, first, last)


def leave(uow: SchedulingUnitOfWork, staff_ids: list[int], first: date, last: date) -> list[Leave]:
    return uow.leave.of_staff(staff_ids, first, last)


def commit_cadre(uow: SchedulingUnitOfWork, staff_id: int, township_code: str, slot: Slot) -> None:
    """The hard constraints on one cadre going somewhere (a session or a visit), checked under a lock on
    the cadre's day: of the township, active, not on leave, not elsewhere at the same time."""
    check_cadre(uow, staff_id, township_code)
    uow.commitments.lock_day(staff_id, slot.day)
    check_assignable(staff_id, slot, busy(uow, [staff_id], slot.day, slot.day)[staff_id],
                     leave(uow, [staff_id], slot.day, slot.day))


def check_cadre(uow: SchedulingUnitOfWork, staff_id: int, township_code: str, *, field: str = "staff_id") -> None:
    staff = uow.staff.get(staff_id)
    if staff is None or not staff.active or staff.township_code != township_code or staff.role not in ROSTERABLE:
        raise ValidationFailed("only active cadres, department staff and supervisors of the township are rostered",
                               [{"field": field, "message": f"{staff_id} is not a cadre of this township"}],
                               code="not_a_cadre")


def _add_to_roster(uow: SchedulingUnitOfWork, session: orm.Session, staff_id: int, caller: Caller,
                   reason: str | None) -> None:
    commit_cadre(uow, staff_id, session.township_code, _slot(session))
    if uow.roster.get(session.id, staff_id) is None:
        uow.roster.add(orm.RosterEntry(session_id=session.id, staff_id=staff_id, township_code=session.township_code,
                                       day=session.day, starts_at=session.starts_at, ends_at=session.ends_at,
                                       assigned_by=caller.staff_id, reason=reason))


def assign(uow: SchedulingUnitOfWork, *, caller: Caller, session_id: str, cmd: RosterAssign,
           now: datetime) -> SessionView:
    session = find_session(uow, caller, session_id)
    require_manager(caller, session.township_code)
    if session.status != "scheduled" or session.ends_at <= now:
        raise Conflict("only upcoming scheduled sessions are rostered", code="session_closed")
    _add_to_roster(uow, session, cmd.staff_id, caller, cmd.reason)
    uow.commit()
    return session_view(uow, session)


def swap(uow: SchedulingUnitOfWork, *, caller: Caller, session_id: str, cmd: RosterSwap, now: datetime) -> SessionView:
    """One cadre hands a session to another, with a reason; the newcomer must be free."""
    session = find_session(uow, caller, session_id)
    require_manager(caller, session.township_code)
    leaving = uow.roster.get(session.id, cmd.from_staff_id)
    if leaving is None or session.ends_at <= now:
        raise Conflict(f"staff {cmd.from_staff_id} is not rostered on this upcoming session", code="not_rostered")
    uow.roster.remove(leaving)
    _add_to_roster(uow, session, cmd.to_staff_id, caller, f"swap for {cmd.from_staff_id}: {cmd.reason}")
    uow.commit()
    return session_view(uow, session)


def generate_roster(uow: SchedulingUnitOfWork, *, caller: Caller, cmd: RosterGenerate,
                    now: datetime) -> list[SessionView]:
    """Fill the upcoming sessions of a period by fair rotation among the given cadres. The site and the
    cadres named must be the township's, whether or not the period has sessions to fill."""
    township = caller.township_code if not caller.is_county else None
    if cmd.site_code:
        site = uow.market_sites.get(cmd.site_code)
        if site is None or not caller.sees_township(site.township_code):
            raise NotFound("market site not found", [{"field": "site_code",
                                                     "message": "no such market site in your township"}],
                           code="market_site_not_found")
        township = site.township_code
    if township is not None:
        require_manager(caller, township)
        for staff_id in cmd.cadre_ids:
            check_cadre(uow, staff_id, township, field="cadre_ids")
    sessions = uow.sessions.to_roster(caller, max(cmd.start, today_in_china(now)), cmd.end, site_code=cmd.site_code,
                                      township_code=township)
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


def record_leave(uow: SchedulingUnitOfWork, *, caller: Caller, cmd: LeaveCreate) -> dict:
    staff = uow.staff.get(cmd.staff_id)
    if staff is None or staff.township_code is None:
        raise NotFound("staff not found", code="staff_not_found")
    require_manager(caller, staff.township_code)
    row = orm.LeaveRow(staff_id=cmd.staff_id, township_code=staff.township_code, first_day=cmd.first_day,
                       last_day=cmd.last_day, reason=cmd.reason)
    uow.leave.add(row)
    uow.commit()
    return {"id": row.id, **cmd.model_dump(mode="json")}
