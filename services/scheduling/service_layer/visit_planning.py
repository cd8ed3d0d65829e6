"""Visit use cases 下访: one-off visits (appointment, topical, joint) planned with the roster's hard
constraints, read, cancelled and reported, slots at appointment visits, and reminders before visits.
Series of visits are in visit_series.py, campaigns in campaigns.py."""
from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta

from services.scheduling.adapters import orm
from services.scheduling.adapters.repositories import SchedulingUnitOfWork
from services.scheduling.domain.rosters import Slot
from services.scheduling.domain.visits import check_in_campaign, check_report
from services.scheduling.service_layer.appointments import bookings_of, list_slots, make_slots
from services.scheduling.service_layer.linked_records import on_visits
from services.scheduling.service_layer.rosters import commit_cadre
from services.scheduling.service_layer.sessions import local_instant, require_manager
from shared.clock import today_in_china
from shared.contracts.caller import Caller, Role
from shared.contracts.scheduling import (
    BookingView,
    SlotsCreate,
    SlotView,
    VisitKind,
    VisitMemberView,
    VisitPlan,
    VisitQuery,
    VisitReminder,
    VisitReport,
    VisitReported,
    VisitView,
)
from shared.errors import Conflict, NotFound, ValidationFailed
from shared.pii import PersonalDataVault

# ---- planning visits -------------------------------------------------------------------------------


def village_township(uow: SchedulingUnitOfWork, caller: Caller, village_code: str) -> str:
    """The township of a village in the caller's reach; any other is refused as unknown."""
    village = uow.villages.get(village_code)
    if village is None or not caller.sees_township(village.township_code):
        raise ValidationFailed("the village is not in your township",
                               [{"field": "village_code", "message": "unknown village"}], code="unknown_village")
    return village.township_code


def plan_visit(uow: SchedulingUnitOfWork, *, caller: Caller, cmd: VisitPlan, now: datetime) -> VisitView:
    """One appointment, topical or joint visit, its cadres checked like a roster: of the township, not on
    leave, nowhere else at that time."""
    township = village_township(uow, caller, cmd.village_code)
    require_manager(caller, township)
    if cmd.day < today_in_china(now):
        raise ValidationFailed("visits are planned for today or later",
                               [{"field": "day", "message": "in the past"}], code="day_in_past")
    if cmd.campaign_id is not None:
        campaign = uow.campaigns.get(cmd.campaign_id)
        if campaign is None or campaign.township_code != township:
            raise ValidationFailed("no such campaign in this township",
                                   [{"field": "campaign_id", "message": "unknown campaign"}], code="unknown_campaign")
        check_in_campaign(cmd.day, campaign.first_day, campaign.last_day)
    visit = new_visit(uow, caller, kind=cmd.kind, township=township, village_code=cmd.village_code, title=cmd.title,
                      place=cmd.place, purpose=cmd.purpose, day=cmd.day, starts=cmd.starts, ends=cmd.ends,
                      campaign_id=cmd.campaign_id, now=now)
    for staff_id, department in cmd.members():
        add_member(uow, visit, staff_id, department)
    announce(uow, "visit_planned", visit, now)
    uow.commit()
    return visit_view(uow, visit)


def new_visit(uow: SchedulingUnitOfWork, caller: Caller, *, kind: str, township: str, village_code: str, title: str,
              place: str, purpose: str | None, day: date, starts: str, ends: str, now: datetime,
              campaign_id: int | None = None, series_id: int | None = None) -> orm.Visit:
    """A planned visit, kept at once (its cadres name it)."""
    visit = orm.Visit(id=uuid.uuid4().hex, kind=kind, township_code=township, village_code=village_code, title=title,
                      place=place, purpose=purpose, day=day, starts_at=local_instant(day, starts),
                      ends_at=local_instant(day, ends), status="planned", series_id=series_id,
                      campaign_id=campaign_id, reminded=False, restorable=False, created_by=caller.staff_id,
                      updated_at=now)
    uow.visits.add(visit)
    return visit


def add_member(uow: SchedulingUnitOfWork, visit: orm.Visit, staff_id: int, department: str | None) -> None:
    """A cadre on a visit, once the roster's hard constraints allow it (refused before writing anything)."""
    commit_cadre(uow, staff_id, visit.township_code,
                 Slot(ref=visit.id, day=visit.day, starts_at=visit.starts_at, ends_at=visit.ends_at))
    uow.visit_members.add(orm.VisitMember(visit_id=visit.id, staff_id=staff_id, department=department, day=visit.day,
                                          starts_at=visit.starts_at, ends_at=visit.ends_at))


def announce(uow: SchedulingUnitOfWork, event_type: str, visit: orm.Visit, now: datetime) -> None:
    """Tell the other services a visit was planned or cancelled, with its cadres."""
    staff = [m.staff_id for m in uow.visit_members.of_visit(visit.id)]
    uow.record_event(event_type, {"visit_id": visit.id, "kind": visit.kind, "township_code": visit.township_code,
                                  "village_code": visit.village_code, "day": visit.day.isoformat(),
                                  "starts_at": visit.starts_at.isoformat(), "ends_at": visit.ends_at.isoformat(),
                                  "staff_ids": staff},
                     township_code=visit.township_code, now=now)


# ---- reading, cancelling, reporting ----------------------------------------------------------------------

def find_visit(uow: SchedulingUnitOfWork, caller: Caller, visit_id: str) -> orm.Visit:
    """The visit, if the caller's reach takes it in; otherwise not found (no leak)."""
    visit = uow.visits.get(visit_id)
    if visit is None or not caller.sees_township(visit.township_code):
        raise NotFound("visit not found", code="visit_not_found")
    return visit


def get_visit(uow: SchedulingUnitOfWork, *, caller: Caller, visit_id: str) -> VisitView:
    return visit_view(uow, find_visit(uow, caller, visit_id))


def list_visits(uow: SchedulingUnitOfWork, *, caller: Caller, query: VisitQuery) -> list[VisitView]:
    if caller.role is Role.PUBLIC:
        raise NotFound("visit not found", code="visit_not_found")
    return views(uow, uow.visits.listed(caller, query.start, query.end,
                                        kind=query.kind.value if query.kind is not None else None,
                                        township_code=query.township_code, village_code=query.village_code,
                                        campaign_id=query.campaign_id, staff_id=query.staff_id, limit=query.limit))


def cancel_visit(uow: SchedulingUnitOfWork, *, caller: Caller, visit_id: str, now: datetime) -> VisitView:
    visit = find_visit(uow, caller, visit_id)
    require_manager(caller, visit.township_code)
    if visit.status != "planned" or visit.starts_at <= now:
        raise Conflict("only planned visits that have not begun are cancelled", code="visit_closed")
    visit.status, visit.updated_at = "cancelled", now
    announce(uow, "visit_cancelled", visit, now)
    uow.commit()
    return visit_view(uow, visit)


def report_visit(uow: SchedulingUnitOfWork, *, caller: Caller, visit_id: str, cmd: VisitReport,
                 now: datetime) -> VisitView:
    """Who went and what was raised, by one of the visit's cadres or a manager; announced for evaluation."""
    visit = find_visit(uow, caller, visit_id)
    members = uow.visit_members.of_visit(visit.id)
    if caller.staff_id not in {m.staff_id for m in members}:
        require_manager(caller, visit.township_code)
    check_report(status=visit.status, starts_at=visit.starts_at, now=now, members=[m.staff_id for m in members],
                 went=cmd.went_staff_ids)
    for member in members:
        member.went = member.staff_id in cmd.went_staff_ids
    visit.status, visit.summary, visit.raised, visit.people_met = "reported", cmd.summary, cmd.raised, cmd.people_met
    visit.reported_at, visit.reported_by, visit.updated_at = now, caller.staff_id, now
    event = VisitReported(visit_id=visit.id, kind=VisitKind(visit.kind), township_code=visit.township_code,
                          village_code=visit.village_code, day=visit.day,
                          went_staff_ids=sorted(m.staff_id for m in members if m.went),
                          missed_staff_ids=sorted(m.staff_id for m in members if not m.went),
                          raised_count=len(cmd.raised), people_met=cmd.people_met)
    uow.record_event("visit_reported", event.model_dump(mode="json"), township_code=visit.township_code, now=now)
    uow.commit()
    return visit_view(uow, visit)


def visit_view(uow: SchedulingUnitOfWork, visit: orm.Visit) -> VisitView:
    return views(uow, [visit])[0]


def views(uow: SchedulingUnitOfWork, visits: list[orm.Visit]) -> list[VisitView]:
    """Visits as their planners see them: their cadres and the records raised on them."""
    ids = [v.id for v in visits]
    members = {visit_id: [VisitMemberView(staff_id=m.staff_id, department=m.department, went=m.went) for m in rows]
               for visit_id, rows in uow.visit_members.of_visits(ids).items()}
    linked = on_visits(uow, ids)
    return [VisitView(id=v.id, kind=VisitKind(v.kind), title=v.title, township_code=v.township_code,
                      village_code=v.village_code, place=v.place, day=v.day, starts_at=v.starts_at, ends_at=v.ends_at,
                      status=v.status, purpose=v.purpose, series_id=v.series_id, campaign_id=v.campaign_id,
                      members=members.get(v.id, []), summary=v.summary, raised=v.raised or [],
                      people_met=v.people_met, reported_at=v.reported_at, linked=linked.get(v.id, []),
                      day_off=v.day_off, restorable=v.restorable)
            for v in visits]


# ---- appointment slots at visits -------------------------------------------------------------------------

def create_visit_slots(uow: SchedulingUnitOfWork, *, caller: Caller, visit_id: str,
                       cmd: SlotsCreate) -> list[SlotView]:
    visit = find_visit(uow, caller, visit_id)
    require_manager(caller, visit.township_code)
    if visit.kind != VisitKind.APPOINTMENT.value or visit.status != "planned":
        raise Conflict("slots are offered on planned appointment visits", code="not_an_appointment_visit")
    return make_slots(uow, visit.starts_at, visit.ends_at, cmd, visit_id=visit.id)


def list_visit_slots(uow: SchedulingUnitOfWork, *, visit_id: str) -> list[SlotView]:
    return list_slots(uow, visit_id=visit_id)


def list_visit_bookings(uow: SchedulingUnitOfWork, *, caller: Caller, visit_id: str,
                        vault: PersonalDataVault) -> list[BookingView]:
    """Who booked a place at an appointment visit 预约下访, by slot time (the township's staff)."""
    find_visit(uow, caller, visit_id)
    return bookings_of(uow, vault, visit_id=visit_id)


# ---- reminders ---------------------------------------------------------------------------------------

def send_visit_reminders(uow: SchedulingUnitOfWork, *, now: datetime, lead: timedelta, batch: int = 200) -> int:
    sent = 0
    for visit in uow.visits.to_remind(now=now, lead=lead, batch=batch):
        reminder = VisitReminder(visit_id=visit.id, kind=VisitKind(visit.kind), township_code=visit.township_code,
                                 village_code=visit.village_code, place=visit.place, starts_at=visit.starts_at,
                                 staff_ids=[m.staff_id for m in uow.visit_members.of_visit(visit.id)])
        uow.record_event("visit_reminder", reminder.model_dump(mode="json"), township_code=visit.township_code,
                         now=now)
        uow.commit()
        sent += 1
    return sent
