"""What approvals keeps of the directory: each county's working calendar with the count of its changes
(the calendar is read again only when that count moved), and the staff, for the supervisor who answers
for a late step nobody claimed."""
from __future__ import annotations

from sqlalchemy import select, update

from services.approvals.adapters import orm
from shared.contracts.caller import Role
from shared.copies import working_calendar
from shared.db import Repository
from shared.divisions import county_of
from shared.working_days import WorkingCalendar

_CALENDARS: dict[str, tuple[int, WorkingCalendar]] = {}  # per database: the calendar, at its change count
# built once and asked each time, of the table rather than the mapped class: no ORM query context for one number
CALENDAR_CHANGED = select(orm.CalendarState.__table__.c.changed).where(orm.CalendarState.__table__.c.id == 1)


class Calendars(Repository):
    """The counties' working calendars as copied here, and calendar_state: bumped at every change, the
    sweep re-derives the open deadlines when it moved."""

    def of_township(self, township_code: str) -> WorkingCalendar:
        """The working calendar of the township's county, read again only when calendar_state says it
        changed (every event and action needs it; reading a few hundred days each time was a fifth of this
        service's time under load)."""
        county = county_of(township_code)
        session = self.session
        if any(isinstance(o, (orm.CalendarState, orm.CalendarDayCopy))
               for o in (*session.new, *session.dirty, *session.deleted)):
            return working_calendar(self.uow, orm.CalendarDayCopy, county)  # changed in this very transaction
        changed = session.execute(CALENDAR_CHANGED).scalar() or 0
        key = f"{session.get_bind().url}#{county}"
        cached = _CALENDARS.get(key)
        if cached is not None and cached[0] == changed:
            return cached[1]
        cal = working_calendar(self.uow, orm.CalendarDayCopy, county)
        _CALENDARS[key] = (changed, cal)
        return cal

    def note_change(self) -> None:
        """A day changed: every open case is to be re-derived at the next sweep."""
        state = self.session.get(orm.CalendarState, 1)
        if state is None:
            self.session.add(orm.CalendarState(id=1, changed=1, applied=0))
        else:
            state.changed += 1

    def claim_rederivation(self) -> bool:
        """True for the one instance that takes the calendar's changes since the last re-derivation (the
        conditional UPDATE elects it); False, rolled back, when there are none or another took them."""
        s = orm.CalendarState
        return self.uow.claim(update(s).where(s.id == 1, s.applied != s.changed).values(applied=s.changed))


class Staff(Repository):
    """The directory's staff, as copied here."""

    def active_supervisors(self, township_code: str) -> list[int]:
        """The ids of the township's active supervisors."""
        s = orm.StaffCopy
        return list(self.session.execute(select(s.id).where(
            s.township_code == township_code, s.role == Role.SUPERVISOR.value, s.active.is_(True))).scalars())
