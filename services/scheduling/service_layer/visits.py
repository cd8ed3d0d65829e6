"""Visit use cases 下访: campaigns 专题, one-off visits (appointment, topical, joint), series of periodic
and fixed-point visits, reports of what happened, reminders, the records raised on a visit, and the
public calendar of upcoming posts and visits."""
from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from services.scheduling.adapters import orm
from services.scheduling.domain.rosters import Slot
from services.scheduling.domain.visits import check_in_campaign, check_report, series_days
from services.scheduling.service_layer.handlers import (
    bookings_of,
    check_cadre,
    commit_cadre,
    days_off,
    describe,
    due_reminders,
    linked_records,
    list_slots,
    local_instant,
    make_slots,
    require_manager,
)
from shared.clock import today_in_china
from shared.contracts.caller import Caller, Role
from shared.contracts.directory import MarketDayRule
from shared.contracts.scheduling import (
    BookingView,
    CampaignCreate,
    CampaignView,
    DateRange,
    PublicCalendarEntry,
    SlotsCreate,
    SlotView,
    VisitKind,
    VisitMemberView,
    VisitPlan,
    VisitQuery,
    VisitReminder,
    VisitReport,
    VisitReported,
    VisitSeriesChange,
    VisitSeriesCreate,
    VisitSeriesView,
    VisitView,
)
from shared.db import UnitOfWork, within_scope
from shared.errors import Conflict, NotFound, ValidationFailed
from shared.pii import PersonalDataVault

# ---- campaigns 专题 -----------------------------------------------------------------------------------


def create_campaign(uow: UnitOfWork, *, caller: Caller, cmd: CampaignCreate) -> CampaignView:
    require_manager(caller, cmd.township_code)
    row = orm.Campaign(township_code=cmd.township_code, theme=cmd.theme, description=cmd.description,
                       first_day=cmd.first_day, last_day=cmd.last_day, created_by=caller.staff_id)
    uow.session.add(row)
    uow.commit()
    return _campaign_view(row)


def list_campaigns(uow: UnitOfWork, *, caller: Caller) -> list[CampaignView]:
    if caller.role is Role.PUBLIC:
        return []
    stmt = select(orm.Campaign).order_by(orm.Campaign.first_day.desc(), orm.Campaign.id.desc())
    stmt = stmt.where(*within_scope(caller, orm.Campaign.township_code))
    return [_campaign_view(row) for row in uow.session.execute(stmt.limit(200)).scalars()]


def _campaign_view(row: orm.Campaign) -> CampaignView:
    return CampaignView(id=row.id, township_code=row.township_code, theme=row.theme, description=row.description,
                        first_day=row.first_day, last_day=row.last_day)


# ---- planning visits -------------------------------------------------------------------------------

def _village_township(uow: UnitOfWork, caller: Caller, village_code: str) -> str:
    village = uow.session.get(orm.VillageCopy, village_code)
    if village is None or not caller.sees_township(village.township_code):
        raise ValidationFailed("the village is not in your township",
                               [{"field": "village_code", "message": "unknown village"}], code="unknown_village")
    return village.township_code


def plan_visit(uow: UnitOfWork, *, caller: Caller, cmd: VisitPlan, now: datetime) -> VisitView:
    """One appointment, topical or joint visit, its cadres checked like a roster: of the township, not on
    leave, nowhere else at that time."""
    township = _village_township(uow, caller, cmd.village_code)
    require_manager(caller, township)
    if cmd.day < today_in_china(now):
        raise ValidationFailed("visits are planned for today or later",
                               [{"field": "day", "message": "in the past"}], code="day_in_past")
    if cmd.campaign_id is not None:
        campaign = uow.session.get(orm.Campaign, cmd.campaign_id)
        if campaign is None or campaign.township_code != township:
            raise ValidationFailed("no such campaign in this township",
                                   [{"field": "campaign_id", "message": "unknown campaign"}], code="unknown_campaign")
        check_in_campaign(cmd.day, campaign.first_day, campaign.last_day)
    visit = _new_visit(uow, caller, kind=cmd.kind, township=township, village_code=cmd.village_code, title=cmd.title,
                       place=cmd.place, purpose=cmd.purpose, day=cmd.day, starts=cmd.starts, ends=cmd.ends,
                       campaign_id=cmd.campaign_id, now=now)
    for staff_id, department in cmd.members():
        _add_member(uow, visit, staff_id, department)
    _announce(uow, "visit_planned", visit, now)
    uow.commit()
    return visit_view(uow, visit)


def _new_visit(uow: UnitOfWork, caller: Caller, *, kind: str, township: str, village_code: str, title: str,
               place: str, purpose: str | None, day: date, starts: str, ends: str, now: datetime,
               campaign_id: int | None = None, series_id: int | None = None) -> orm.Visit:
    visit = orm.Visit(id=uuid.uuid4().hex, kind=kind, township_code=township, village_code=village_code, title=title,
                      place=place, purpose=purpose, day=day, starts_at=local_instant(day, starts),
                      ends_at=local_instant(day, ends), status="planned", series_id=series_id,
                      campaign_id=campaign_id, reminded=False, restorable=False, created_by=caller.staff_id,
                      updated_at=now)
    uow.session.add(visit)
    uow.session.flush()
    return visit


def _add_member(uow: UnitOfWork, visit: orm.Visit, staff_id: int, department: str | None) -> None:
    commit_cadre(uow, staff_id, visit.township_code,
                 Slot(ref=visit.id, day=visit.day, starts_at=visit.starts_at, ends_at=visit.ends_at))
    uow.session.add(orm.VisitMember(visit_id=visit.id, staff_id=staff_id, department=department, day=visit.day,
                                    starts_at=visit.starts_at, ends_at=visit.ends_at))
    uow.session.flush()


def _announce(uow: UnitOfWork, event_type: str, visit: orm.Visit, now: datetime) -> None:
    staff = [m.staff_id for m in _members(uow, visit.id)]
    uow.record_event(event_type, {"visit_id": visit.id, "kind": visit.kind, "township_code": visit.township_code,
                                  "village_code": visit.village_code, "day": visit.day.isoformat(),
                                  "starts_at": visit.starts_at.isoformat(), "ends_at": visit.ends_at.isoformat(),
                                  "staff_ids": staff},
                     township_code=visit.township_code, now=now)


# ---- series: periodic 定期 and fixed-point 定点 ------------------------------------------------------------

def create_series(uow: UnitOfWork, *, caller: Caller, cmd: VisitSeriesCreate, now: datetime) -> VisitSeriesView:
    township = _village_township(uow, caller, cmd.village_code)
    require_manager(caller, township)
    for staff_id in cmd.staff_ids:  # refuse a stranger outright rather than leave them off every visit
        check_cadre(uow, staff_id, township)
    village = uow.session.get(orm.VillageCopy, cmd.village_code)
    series = orm.VisitSeries(kind=cmd.kind, township_code=township, village_code=cmd.village_code, title=cmd.title,
                             place=cmd.place or village.name, rule=cmd.rule.model_dump(mode="json"), starts=cmd.starts,
                             ends=cmd.ends, first_day=cmd.first_day, last_day=cmd.last_day,
                             staff_ids=list(cmd.staff_ids), created_by=caller.staff_id)
    uow.session.add(series)
    uow.session.flush()
    unavailable = _generate(uow, caller, series, now)
    uow.commit()
    return _series_view(uow, series, unavailable)


def change_series(uow: UnitOfWork, *, caller: Caller, series_id: int, cmd: VisitSeriesChange,
                  now: datetime) -> VisitSeriesView:
    """A new rule, end or team: future visits follow it, past ones stay as they happened."""
    series = uow.session.get(orm.VisitSeries, series_id)
    if series is None or not caller.sees_township(series.township_code):
        raise NotFound("visit series not found", code="visit_series_not_found")
    require_manager(caller, series.township_code)
    if cmd.rule is not None:
        series.rule = cmd.rule.model_dump(mode="json")
    if cmd.last_day is not None:
        if cmd.last_day < series.first_day or (cmd.last_day - series.first_day).days > 400:
            raise ValidationFailed("a series spans at most 400 days, last_day after first_day",
                                   [{"field": "last_day", "message": "out of range"}])
        series.last_day = cmd.last_day
    if cmd.staff_ids is not None:
        for staff_id in cmd.staff_ids:
            check_cadre(uow, staff_id, series.township_code)
        series.staff_ids = list(cmd.staff_ids)
    unavailable = _generate(uow, caller, series, now)
    uow.commit()
    return _series_view(uow, series, unavailable)


def _generate(uow: UnitOfWork, caller: Caller, series: orm.VisitSeries, now: datetime) -> list[dict]:
    """Make the series' future visits match its rule and team; idempotent. A cadre who cannot go on a day
    (leave, elsewhere) is left off that visit and listed as unavailable. Visits that have begun stay."""
    start = max(series.first_day, today_in_china(now))
    wanted = set(series_days(MarketDayRule.model_validate(series.rule), start, series.last_day,
                                 days_off(uow, series.township_code)))
    existing = {v.day: v for v in uow.session.execute(select(orm.Visit).where(
        orm.Visit.series_id == series.id, orm.Visit.day >= start)).scalars()}
    unavailable: list[dict] = []
    for day in sorted(wanted | set(existing)):
        visit = existing.get(day)
        if visit is not None and (visit.status == "reported" or visit.starts_at <= now):
            continue
        if day not in wanted:
            if visit.status == "planned" and visit.day_off is None:  # one held on a day off stays
                visit.status, visit.updated_at = "cancelled", now
                _announce(uow, "visit_cancelled", visit, now)
            continue
        changed = visit is None or visit.status == "cancelled"
        if visit is None:
            visit = _new_visit(uow, caller, kind=series.kind, township=series.township_code,
                               village_code=series.village_code, title=series.title, place=series.place, purpose=None,
                               day=day, starts=series.starts, ends=series.ends, series_id=series.id, now=now)
        visit.status, visit.updated_at, visit.day_off, visit.restorable = "planned", now, None, False
        members = {m.staff_id: m for m in _members(uow, visit.id)}
        for staff_id in set(members) - set(series.staff_ids):
            uow.session.delete(members[staff_id])
            changed = True
        uow.session.flush()
        for staff_id in series.staff_ids:
            if staff_id in members:
                continue
            try:
                _add_member(uow, visit, staff_id, None)  # refuses before writing anything
                changed = True
            except Conflict as clash:
                unavailable.append({"day": day.isoformat(), "staff_id": staff_id, "code": clash.code})
        if changed:
            _announce(uow, "visit_planned", visit, now)
    return unavailable


def _series_view(uow: UnitOfWork, series: orm.VisitSeries, unavailable: list[dict]) -> VisitSeriesView:
    visits = list(uow.session.execute(select(orm.Visit).where(orm.Visit.series_id == series.id)
                                      .order_by(orm.Visit.day)).scalars())
    return VisitSeriesView(id=series.id, kind=VisitKind(series.kind), title=series.title,
                           township_code=series.township_code, village_code=series.village_code, place=series.place,
                           rule_summary=describe(MarketDayRule.model_validate(series.rule)),
                           first_day=series.first_day, last_day=series.last_day, staff_ids=series.staff_ids,
                           visits=_views(uow, visits), unavailable=unavailable)


# ---- reading, cancelling, reporting ----------------------------------------------------------------------

def _visit(uow: UnitOfWork, caller: Caller, visit_id: str) -> orm.Visit:
    visit = uow.session.get(orm.Visit, visit_id)
    if visit is None or not caller.sees_township(visit.township_code):
        raise NotFound("visit not found", code="visit_not_found")
    return visit


def _members(uow: UnitOfWork, visit_id: str) -> list[orm.VisitMember]:
    return list(uow.session.execute(select(orm.VisitMember).where(orm.VisitMember.visit_id == visit_id)
                                    .order_by(orm.VisitMember.department, orm.VisitMember.staff_id)).scalars())


def get_visit(uow: UnitOfWork, *, caller: Caller, visit_id: str) -> VisitView:
    return visit_view(uow, _visit(uow, caller, visit_id))


def list_visits(uow: UnitOfWork, *, caller: Caller, query: VisitQuery) -> list[VisitView]:
    if caller.role is Role.PUBLIC:
        raise NotFound("visit not found", code="visit_not_found")
    v = orm.Visit
    stmt = select(v).where(v.day >= query.start, v.day <= query.end)
    stmt = stmt.where(*within_scope(caller, v.township_code))
    if query.kind is not None:
        stmt = stmt.where(v.kind == query.kind.value)
    if query.township_code:
        stmt = stmt.where(v.township_code == query.township_code)
    if query.village_code:
        stmt = stmt.where(v.village_code == query.village_code)
    if query.campaign_id:
        stmt = stmt.where(v.campaign_id == query.campaign_id)
    if query.staff_id:
        stmt = stmt.where(v.id.in_(select(orm.VisitMember.visit_id).where(orm.VisitMember.staff_id == query.staff_id)))
    return _views(uow, list(uow.session.execute(stmt.order_by(v.starts_at, v.id).limit(query.limit)).scalars()))


def cancel_visit(uow: UnitOfWork, *, caller: Caller, visit_id: str, now: datetime) -> VisitView:
    visit = _visit(uow, caller, visit_id)
    require_manager(caller, visit.township_code)
    if visit.status != "planned" or visit.starts_at <= now:
        raise Conflict("only planned visits that have not begun are cancelled", code="visit_closed")
    visit.status, visit.updated_at = "cancelled", now
    _announce(uow, "visit_cancelled", visit, now)
    uow.commit()
    return visit_view(uow, visit)


def report_visit(uow: UnitOfWork, *, caller: Caller, visit_id: str, cmd: VisitReport, now: datetime) -> VisitView:
    """Who went and what was raised, by one of the visit's cadres or a manager; announced for evaluation."""
    visit = _visit(uow, caller, visit_id)
    members = _members(uow, visit.id)
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


def visit_view(uow: UnitOfWork, visit: orm.Visit) -> VisitView:
    return _views(uow, [visit])[0]


def _views(uow: UnitOfWork, visits: list[orm.Visit]) -> list[VisitView]:
    ids = [v.id for v in visits]
    members: dict[str, list[VisitMemberView]] = {}
    if ids:
        for m in uow.session.execute(select(orm.VisitMember).where(orm.VisitMember.visit_id.in_(ids))
                                     .order_by(orm.VisitMember.department, orm.VisitMember.staff_id)).scalars():
            members.setdefault(m.visit_id, []).append(VisitMemberView(staff_id=m.staff_id, department=m.department,
                                                                      went=m.went))
    linked = linked_records(uow, orm.LinkedRecordRow.visit_id, ids)
    return [VisitView(id=v.id, kind=VisitKind(v.kind), title=v.title, township_code=v.township_code,
                      village_code=v.village_code, place=v.place, day=v.day, starts_at=v.starts_at, ends_at=v.ends_at,
                      status=v.status, purpose=v.purpose, series_id=v.series_id, campaign_id=v.campaign_id,
                      members=members.get(v.id, []), summary=v.summary, raised=v.raised or [],
                      people_met=v.people_met, reported_at=v.reported_at, linked=linked.get(v.id, []),
                      day_off=v.day_off, restorable=v.restorable)
            for v in visits]


# ---- appointment slots at visits -------------------------------------------------------------------------

def create_visit_slots(uow: UnitOfWork, *, caller: Caller, visit_id: str, cmd: SlotsCreate) -> list[SlotView]:
    visit = _visit(uow, caller, visit_id)
    require_manager(caller, visit.township_code)
    if visit.kind != VisitKind.APPOINTMENT.value or visit.status != "planned":
        raise Conflict("slots are offered on planned appointment visits", code="not_an_appointment_visit")
    return make_slots(uow, visit.starts_at, visit.ends_at, cmd, visit_id=visit.id)


def list_visit_slots(uow: UnitOfWork, *, visit_id: str) -> list[SlotView]:
    return list_slots(uow, visit_id=visit_id)


def list_visit_bookings(uow: UnitOfWork, *, caller: Caller, visit_id: str,
                        vault: PersonalDataVault) -> list[BookingView]:
    """Who booked a place at an appointment visit 预约下访, by slot time (the township's staff)."""
    _visit(uow, caller, visit_id)
    return bookings_of(uow, vault, visit_id=visit_id)


# ---- reminders ---------------------------------------------------------------------------------------

def send_visit_reminders(uow: UnitOfWork, *, now: datetime, lead: timedelta, batch: int = 200) -> int:
    sent = 0
    for visit in due_reminders(uow, orm.Visit, now=now, lead=lead, batch=batch, open_status="planned"):
        reminder = VisitReminder(visit_id=visit.id, kind=VisitKind(visit.kind), township_code=visit.township_code,
                                 village_code=visit.village_code, place=visit.place, starts_at=visit.starts_at,
                                 staff_ids=[m.staff_id for m in _members(uow, visit.id)])
        uow.record_event("visit_reminder", reminder.model_dump(mode="json"), township_code=visit.township_code,
                         now=now)
        uow.commit()
        sent += 1
    return sent


# ---- records handled at a session or raised on a visit ----------------------------------------------------

def at_an_occasion(record: dict[str, Any]) -> bool:
    """Whether a record (an event's payload) was handled at a market-day session or raised on a visit: only
    those are linked here, and other services' events about any other record are none of scheduling's."""
    return bool(record.get("session_id") or record.get("visit_id"))


def link_record(uow: UnitOfWork, *, kind: str, ref: str, township_code: str, occurred_at: datetime,
                session_id: str | None, visit_id: str | None) -> None:
    """Idempotent: the same record arriving twice is linked once."""
    if not at_an_occasion({"session_id": session_id, "visit_id": visit_id}) or \
            uow.session.get(orm.LinkedRecordRow, (kind, ref)) is not None:
        return
    uow.session.add(orm.LinkedRecordRow(kind=kind, ref=ref, township_code=township_code, occurred_at=occurred_at,
                                        session_id=session_id, visit_id=visit_id))


# ---- the public calendar ---------------------------------------------------------------------------------

def public_calendar(uow: UnitOfWork, *, township_code: str, period: DateRange) -> list[PublicCalendarEntry]:
    """公开: a township's upcoming market-day posts and visits: where, when, which services, and how many
    appointment places are left. Nothing about who staffs them."""
    s, site, v = orm.Session, orm.MarketSiteCopy, orm.Visit
    posts = uow.session.execute(
        select(s, site.name, site.location, site.village_code).join(site, site.code == s.site_code)
        .where(s.township_code == township_code, s.status == "scheduled", s.day >= period.start,
               s.day <= period.end)).all()
    visits = list(uow.session.execute(select(v).where(
        v.township_code == township_code, v.status == "planned", v.day >= period.start,
        v.day <= period.end)).scalars())
    free = _free_places(uow, [x.id for x, *_ in posts], [x.id for x in visits])
    entries = [PublicCalendarEntry(kind="market_day_post", id=x.id, day=x.day, starts_at=x.starts_at,
                                   ends_at=x.ends_at, title=name, place=location, village_code=village,
                                   services=x.services, free_places=free.get(x.id))
               for x, name, location, village in posts]
    entries += [PublicCalendarEntry(kind="visit", id=x.id, day=x.day, starts_at=x.starts_at, ends_at=x.ends_at,
                                    title=x.title, place=x.place, village_code=x.village_code, services=[],
                                    visit_kind=VisitKind(x.kind), free_places=free.get(x.id))
                for x in visits]
    return sorted(entries, key=lambda e: (e.starts_at, e.kind, e.id))


def _free_places(uow: UnitOfWork, session_ids: list[str], visit_ids: list[str]) -> dict[str, int]:
    """Appointment places left per session or visit that offers slots."""
    free: dict[str, int] = {}
    for column, ids in ((orm.SlotRow.session_id, session_ids), (orm.SlotRow.visit_id, visit_ids)):
        if ids:
            free.update(uow.session.execute(select(column, func.sum(orm.SlotRow.capacity - orm.SlotRow.booked))
                                            .where(column.in_(ids)).group_by(column)).all())
    return free
