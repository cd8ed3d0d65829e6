"""Market-day session use cases 便民服务岗: sessions generated from a site's market days (none on a county
day off), listed with their rosters and the records handled there, and the rules every planning use case
shares (who plans, a site's hours as instants, a county's days off)."""
from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

from services.scheduling.adapters import orm
from services.scheduling.adapters.repositories import SchedulingUnitOfWork
from services.scheduling.domain.market_days import market_days
from services.scheduling.service_layer.linked_records import at_sessions
from shared.clock import CHINA, today_in_china
from shared.contracts.caller import Caller, Role
from shared.contracts.directory import MarketDayRule
from shared.contracts.scheduling import LinkedRecord, RosterEntryView, SessionGenerate, SessionQuery, SessionView
from shared.divisions import county_of
from shared.errors import Forbidden, NotFound

SESSION_MANAGERS = frozenset({Role.SUPERVISOR, Role.COUNTY_ADMIN, Role.SYSTEM})


def local_instant(day: date, hour_minute: str) -> datetime:
    """A site's opening hour on a day, in China, as the UTC instant it is stored as."""
    hour, minute = (int(x) for x in hour_minute.split(":"))
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=CHINA).astimezone(UTC)


def require_manager(caller: Caller, township_code: str) -> None:
    if caller.role not in SESSION_MANAGERS or not caller.sees_township(township_code):
        raise Forbidden("only the township's supervisors and county admins plan market-day posts",
                        code="not_a_planner")


def days_off(uow: SchedulingUnitOfWork, township_code: str) -> set[date]:
    """The days off of the township's county (each county keeps its own)."""
    return uow.calendar.days_off(county_of(township_code))


def generate_sessions(uow: SchedulingUnitOfWork, *, caller: Caller, cmd: SessionGenerate,
                      now: datetime) -> list[SessionView]:
    """Sessions for the site's market days in the period. Idempotent: a day that has a session keeps
    it. Only the future changes: a market day the rule no longer names is cancelled (and announced),
    one it names again is scheduled again; past sessions are never touched. No post opens on a public
    holiday or a county day off."""
    site = uow.market_sites.get(cmd.site_code)
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
    existing = {s.day: s for s in uow.sessions.at_site(site.code, start, cmd.end)}
    for day in sorted(wanted | set(existing)):
        session = existing.get(day)
        if session is None:
            session = orm.Session(id=uuid.uuid4().hex, site_code=site.code, township_code=site.township_code, day=day,
                                  starts_at=local_instant(day, site.opens_at),
                                  ends_at=local_instant(day, site.closes_at), status="scheduled",
                                  services=[c.value for c in cmd.services], restorable=False, updated_at=now)
            uow.sessions.add(session)
            announce(uow, "session_scheduled", session, now)
        elif day in wanted and session.status == "cancelled":
            session.status, session.updated_at = "scheduled", now
            session.day_off, session.restorable = None, False
            announce(uow, "session_scheduled", session, now)
        elif day not in wanted and session.status == "scheduled" and session.day_off is None:  # not held on one
            session.status, session.updated_at = "cancelled", now
            announce(uow, "session_cancelled", session, now)
    uow.commit()
    return list_sessions(uow, caller=caller, query=SessionQuery(site_code=site.code, start=start, end=cmd.end))


def announce(uow: SchedulingUnitOfWork, event_type: str, session: orm.Session, now: datetime) -> None:
    """Tell the other services a session was scheduled or cancelled (intake lets records name it)."""
    uow.record_event(event_type, {"session_id": session.id, "site_code": session.site_code,
                                  "township_code": session.township_code, "day": session.day.isoformat(),
                                  "starts_at": session.starts_at.isoformat(), "ends_at": session.ends_at.isoformat()},
                     township_code=session.township_code, now=now)


def list_sessions(uow: SchedulingUnitOfWork, *, caller: Caller, query: SessionQuery) -> list[SessionView]:
    if caller.role is Role.PUBLIC:
        raise NotFound("session not found", code="session_not_found")
    sessions = uow.sessions.listed(caller, query.start, query.end, site_code=query.site_code,
                                   township_code=query.township_code, limit=query.limit)
    rosters = uow.roster.of_sessions([x.id for x in sessions])
    linked = at_sessions(uow, [x.id for x in sessions])
    return [_session_view(x, rosters.get(x.id, []), linked.get(x.id, [])) for x in sessions]


def _session_view(session: orm.Session, roster: list[orm.RosterEntry], linked: list[LinkedRecord]) -> SessionView:
    return SessionView(id=session.id, site_code=session.site_code, township_code=session.township_code,
                       day=session.day, starts_at=session.starts_at, ends_at=session.ends_at, status=session.status,
                       services=session.services, day_off=session.day_off, restorable=session.restorable,
                       roster=[RosterEntryView(staff_id=e.staff_id, reason=e.reason, checked_in_at=e.checked_in_at,
                                               checked_out_at=e.checked_out_at, attendance=e.attendance)
                               for e in roster], linked=linked)


def find_session(uow: SchedulingUnitOfWork, caller: Caller, session_id: str) -> orm.Session:
    """The session, if the caller's reach takes it in; otherwise not found (no leak)."""
    session = uow.sessions.get(session_id)
    if session is None or not caller.sees_township(session.township_code):
        raise NotFound("session not found", code="session_not_found")
    return session


def session_view(uow: SchedulingUnitOfWork, session: orm.Session) -> SessionView:
    """One session as its planners see it: its roster and the records handled there."""
    return _session_view(session, uow.roster.of_session(session.id),
                         at_sessions(uow, [session.id]).get(session.id, []))
