"""What happens on and around a market day: cadres check in and out, attendance is closed and announced
after each session, reminders go out before sessions, and the dashboard's count of today's sessions and
visits is kept."""
from __future__ import annotations

from datetime import datetime, timedelta

from services.scheduling.adapters.repositories import SchedulingUnitOfWork
from services.scheduling.service_layer.sessions import SESSION_MANAGERS, find_session, session_view
from shared.clock import today_in_china
from shared.contracts.caller import STATION_ROLES, Caller
from shared.contracts.scheduling import AttendanceRecorded, SessionReminder, SessionView
from shared.errors import Conflict, Forbidden
from shared.observability import metrics


def check(uow: SchedulingUnitOfWork, *, caller: Caller, session_id: str, staff_id: int, out: bool,
          now: datetime) -> SessionView:
    """A rostered cadre checks in or out, themselves or through the station's staff, on the day."""
    session = find_session(uow, caller, session_id)
    if caller.staff_id != staff_id and caller.role not in STATION_ROLES | SESSION_MANAGERS:
        raise Forbidden("check in yourself, or ask the station", code="not_your_check_in")
    entry = uow.roster.get(session.id, staff_id)
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
    return session_view(uow, session)


def close_attendance(uow: SchedulingUnitOfWork, *, now: datetime, batch: int = 200) -> int:
    """After a session ends: who came and who did not, announced once per cadre (claimed like deadlines)."""
    closed = 0
    for session_id in uow.sessions.ended_unclosed(now, batch):
        if not uow.sessions.close_attendance(session_id):
            continue
        session = uow.sessions.get(session_id)
        if session.status == "scheduled":
            for entry in uow.roster.of_session(session_id):
                entry.attendance = "attended" if entry.checked_in_at else "no_show"
                event = AttendanceRecorded(session_id=session.id, site_code=session.site_code,
                                           township_code=session.township_code, day=session.day,
                                           staff_id=entry.staff_id, attendance=entry.attendance)
                uow.record_event("session_attendance_recorded", event.model_dump(mode="json"),
                                 township_code=session.township_code, now=now)
        uow.commit()
        closed += 1
    return closed


def send_reminders(uow: SchedulingUnitOfWork, *, now: datetime, lead: timedelta, batch: int = 200) -> int:
    """An event a set time before each session, for notifications to the rostered cadres."""
    sent = 0
    for session in uow.sessions.to_remind(now=now, lead=lead, batch=batch):
        reminder = SessionReminder(session_id=session.id, site_code=session.site_code,
                                   township_code=session.township_code, starts_at=session.starts_at,
                                   staff_ids=uow.roster.staff_of(session.id))
        uow.record_event("session_reminder", reminder.model_dump(mode="json"), township_code=session.township_code,
                         now=now)
        uow.commit()
        sent += 1
    return sent


_GAUGED: set[str] = set()


def update_gauges(uow: SchedulingUnitOfWork, *, now: datetime) -> None:
    """Market-day sessions and visits happening today, per township (the ops dashboard's "today")."""
    today = today_in_china(now)
    sessions = uow.sessions.scheduled_per_township(today)
    visits = uow.visits.not_cancelled_per_township(today)
    known = uow.villages.townships()  # 0, not absent
    uow.rollback()
    for township in _GAUGED | known | set(sessions) | set(visits):
        metrics.sessions_today.labels(township).set(sessions.get(township, 0))
        metrics.visits_today.labels(township).set(visits.get(township, 0))
    _GAUGED.update(sessions, visits)
