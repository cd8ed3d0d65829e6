"""Scheduling as a nameko service: market days from the sites' rules, market-day sessions 便民服务岗,
rosters, check-in and attendance, visits 下访 of the five kinds, reminders, appointment slots and the
public calendar. Market sites, villages, staff and the calendar are read models of the directory; what
was handled at a session or raised on a visit is learnt from intake's events."""
from __future__ import annotations

from datetime import date, timedelta

from nameko.timer import timer

from services.scheduling.adapters import orm
from services.scheduling.adapters.orm import Base
from services.scheduling.service_layer import (
    appointments,
    attendance,
    campaigns,
    linked_records,
    market_days,
    public_calendar,
    rosters,
    sessions,
    visit_planning,
    visit_series,
)
from services.scheduling.service_layer import days_off as d
from shared.clock import utcnow
from shared.contracts.base import parse, to_wire
from shared.contracts.envelope import EventEnvelope
from shared.contracts.scheduling import (
    BookingCreate,
    CampaignCreate,
    DateRange,
    DayOffDecision,
    LeaveCreate,
    RosterAssign,
    RosterGenerate,
    RosterSwap,
    SessionGenerate,
    SessionQuery,
    SlotsCreate,
    VisitPlan,
    VisitQuery,
    VisitReport,
    VisitSeriesChange,
    VisitSeriesCreate,
)
from shared.copies import KeepsCalendar, KeepsStaff, KeepsVillages, keep_calendar_day
from shared.db import Database
from shared.errors import ValidationFailed
from shared.messaging import DeadLetters, OutboxRelay, on_event
from shared.observability import Observed
from shared.service import CallerContext, PersonalData, rpc
from shared.settings import get_settings


class SchedulingService(KeepsStaff, KeepsVillages, KeepsCalendar, DeadLetters):
    name = "scheduling"
    staff_copy, village_copy, calendar_copy = orm.StaffCopy, orm.VillageCopy, orm.CalendarDayCopy

    db = Database(Base.metadata)
    relay = OutboxRelay()
    caller = CallerContext()
    vault = PersonalData()
    observed = Observed()

    @rpc
    def site_market_days(self, site_code: str, start: str, end: str) -> dict:
        """Preview: the market days of one site in a period (staff of its township, county roles)."""
        period = parse(DateRange, {"start": start, "end": end})
        return market_days.site_market_days(self.db, caller=self.caller(), site_code=site_code,
                                            period=period).model_dump(mode="json")

    @rpc
    def public_market_calendar(self, township_code: str, start: str, end: str) -> list:
        self.caller()
        period = parse(DateRange, {"start": start, "end": end})
        return [v.model_dump(mode="json") for v in
                market_days.public_market_calendar(self.db, township_code=township_code, period=period)]

    # ---- sessions and rosters ----------------------------------------------------------------------
    @rpc
    def generate_sessions(self, plan: dict) -> list:
        return to_wire(sessions.generate_sessions(self.db, caller=self.caller(), cmd=parse(SessionGenerate, plan),
                                                  now=utcnow()))

    @rpc
    def list_sessions(self, query: dict) -> list:
        return to_wire(sessions.list_sessions(self.db, caller=self.caller(), query=parse(SessionQuery, query)))

    @rpc
    def assign(self, session_id: str, assignment: dict) -> dict:
        return to_wire(rosters.assign(self.db, caller=self.caller(), session_id=session_id,
                                      cmd=parse(RosterAssign, assignment), now=utcnow()))

    @rpc
    def swap(self, session_id: str, swap: dict) -> dict:
        return to_wire(rosters.swap(self.db, caller=self.caller(), session_id=session_id, cmd=parse(RosterSwap, swap),
                                    now=utcnow()))

    @rpc
    def generate_roster(self, plan: dict) -> list:
        return to_wire(rosters.generate_roster(self.db, caller=self.caller(), cmd=parse(RosterGenerate, plan),
                                               now=utcnow()))

    @rpc
    def record_leave(self, leave: dict) -> dict:
        return rosters.record_leave(self.db, caller=self.caller(), cmd=parse(LeaveCreate, leave))

    @rpc
    def check(self, session_id: str, staff_id: int, out: bool = False) -> dict:
        return to_wire(attendance.check(self.db, caller=self.caller(), session_id=session_id, staff_id=staff_id,
                                        out=out, now=utcnow()))

    # ---- days off reaching what is scheduled ---------------------------------------------------------
    @rpc
    def restore_session(self, session_id: str) -> dict:
        return to_wire(d.restore_session(self.db, caller=self.caller(), session_id=session_id, now=utcnow()))

    @rpc
    def decide_session_day_off(self, session_id: str, decision: dict) -> dict:
        return to_wire(d.decide_session_day_off(self.db, caller=self.caller(), session_id=session_id,
                                                decision=parse(DayOffDecision, decision).decision, now=utcnow()))

    @rpc
    def restore_visit(self, visit_id: str) -> dict:
        return to_wire(d.restore_visit(self.db, caller=self.caller(), visit_id=visit_id, now=utcnow()))

    @rpc
    def decide_visit_day_off(self, visit_id: str, decision: dict) -> dict:
        return to_wire(d.decide_visit_day_off(self.db, caller=self.caller(), visit_id=visit_id,
                                              decision=parse(DayOffDecision, decision).decision, now=utcnow()))

    # ---- appointments ---------------------------------------------------------------------------
    @rpc
    def create_slots(self, session_id: str, slots: dict) -> list:
        return to_wire(appointments.create_slots(self.db, caller=self.caller(), session_id=session_id,
                                                 cmd=parse(SlotsCreate, slots)))

    @rpc
    def list_slots(self, session_id: str) -> list:
        self.caller()
        return to_wire(appointments.list_slots(self.db, session_id=session_id))

    @rpc
    def list_bookings(self, session_id: str) -> list:
        return to_wire(appointments.list_bookings(self.db, caller=self.caller(), session_id=session_id,
                                                  vault=self.vault))

    @rpc
    def book(self, slot_id: int, booking: dict) -> dict:
        return to_wire(appointments.book(self.db, caller=self.caller(), slot_id=slot_id,
                                         cmd=parse(BookingCreate, booking), vault=self.vault, now=utcnow()))

    @rpc
    def notice_contact(self, booking_id: str) -> str | None:
        self.caller()
        return appointments.notice_contact(self.db, booking_id=booking_id, vault=self.vault)

    @rpc
    def change_booking(self, booking_id: str, status: str) -> dict:
        if status not in ("cancelled", "served", "no_show"):
            raise ValidationFailed("status is cancelled, served or no_show", [{"field": "status", "message": status}])
        return to_wire(appointments.change_booking(self.db, caller=self.caller(), booking_id=booking_id,
                                                   status=status, vault=self.vault, now=utcnow()))

    # ---- visits 下访 --------------------------------------------------------------------------------
    @rpc
    def create_campaign(self, campaign: dict) -> dict:
        return to_wire(campaigns.create_campaign(self.db, caller=self.caller(), cmd=parse(CampaignCreate, campaign)))

    @rpc
    def list_campaigns(self) -> list:
        return to_wire(campaigns.list_campaigns(self.db, caller=self.caller()))

    @rpc
    def plan_visit(self, plan: dict) -> dict:
        return to_wire(visit_planning.plan_visit(self.db, caller=self.caller(), cmd=parse(VisitPlan, plan),
                                                 now=utcnow()))

    @rpc
    def create_visit_series(self, series: dict) -> dict:
        return to_wire(visit_series.create_series(self.db, caller=self.caller(), cmd=parse(VisitSeriesCreate, series),
                                                  now=utcnow()))

    @rpc
    def change_visit_series(self, series_id: int, change: dict) -> dict:
        return to_wire(visit_series.change_series(self.db, caller=self.caller(), series_id=series_id,
                                                  cmd=parse(VisitSeriesChange, change), now=utcnow()))

    @rpc
    def get_visit(self, visit_id: str) -> dict:
        return to_wire(visit_planning.get_visit(self.db, caller=self.caller(), visit_id=visit_id))

    @rpc
    def list_visits(self, query: dict) -> list:
        return to_wire(visit_planning.list_visits(self.db, caller=self.caller(), query=parse(VisitQuery, query)))

    @rpc
    def cancel_visit(self, visit_id: str) -> dict:
        return to_wire(visit_planning.cancel_visit(self.db, caller=self.caller(), visit_id=visit_id, now=utcnow()))

    @rpc
    def report_visit(self, visit_id: str, report: dict) -> dict:
        return to_wire(visit_planning.report_visit(self.db, caller=self.caller(), visit_id=visit_id,
                                                   cmd=parse(VisitReport, report), now=utcnow()))

    @rpc
    def create_visit_slots(self, visit_id: str, slots: dict) -> list:
        return to_wire(visit_planning.create_visit_slots(self.db, caller=self.caller(), visit_id=visit_id,
                                                         cmd=parse(SlotsCreate, slots)))

    @rpc
    def list_visit_slots(self, visit_id: str) -> list:
        self.caller()
        return to_wire(visit_planning.list_visit_slots(self.db, visit_id=visit_id))

    @rpc
    def list_visit_bookings(self, visit_id: str) -> list:
        return to_wire(visit_planning.list_visit_bookings(self.db, caller=self.caller(), visit_id=visit_id,
                                                          vault=self.vault))

    @rpc
    def public_calendar(self, township_code: str, start: str, end: str) -> list:
        self.caller()
        period = parse(DateRange, {"start": start, "end": end})
        return to_wire(public_calendar.public_calendar(self.db, township_code=township_code, period=period,
                                                       now=utcnow()))

    # ---- timers ------------------------------------------------------------------------------------
    @timer(interval=get_settings().sweep_seconds, eager=True)
    def close_and_remind(self) -> None:
        """Attendance of sessions that ended (no-shows announced) and reminders of those about to start."""
        now = utcnow()
        attendance.close_attendance(self.db, now=now)
        lead = timedelta(hours=get_settings().reminder_hours)
        attendance.send_reminders(self.db, now=now, lead=lead)
        visit_planning.send_visit_reminders(self.db, now=now, lead=lead)
        attendance.update_gauges(self.db, now=now)

    # ---- what the directory tells us -----------------------------------------------------------
    @on_event("directory", "calendar_changed")
    def on_calendar_changed(self, envelope: EventEnvelope) -> None:
        """The calendar copy (as KeepsCalendar), and what the change does to sessions and visits that day."""
        keep_calendar_day(self.db, self.calendar_copy, envelope.payload)
        p = envelope.payload  # read by key, as the copy is: a field the directory adds later breaks nothing
        d.follow_calendar_change(self.db, county=p["county_code"], day=date.fromisoformat(p["day"]), kind=p["kind"],
                                 name=p.get("name"), now=utcnow())

    @on_event("directory", "market_site_changed")
    def on_market_site_changed(self, envelope: EventEnvelope) -> None:
        market_days.keep_site(self.db, site=envelope.payload)

    # ---- what intake tells us: records handled at a session or raised on a visit ----------------------
    @on_event("intake", "application_filed", when=linked_records.at_an_occasion)
    def on_application_filed(self, envelope: EventEnvelope) -> None:
        p = envelope.payload
        linked_records.link_record(self.db, kind="application", ref=p["receipt_no"], township_code=p["township_code"],
                                   occurred_at=envelope.occurred_at, session_id=p.get("session_id"),
                                   visit_id=p.get("visit_id"))

    @on_event("intake", "activity_recorded",
              when=lambda p: p.get("kind") == "consultation" and linked_records.at_an_occasion(p))
    def on_activity_recorded(self, envelope: EventEnvelope) -> None:
        p = envelope.payload
        linked_records.link_record(self.db, kind="consultation", ref=str(p["id"]), township_code=p["township_code"],
                                   occurred_at=envelope.occurred_at, session_id=p.get("session_id"),
                                   visit_id=p.get("visit_id"))

    @on_event("complaints", "complaint_registered", when=linked_records.at_an_occasion)
    def on_complaint_registered(self, envelope: EventEnvelope) -> None:
        p = envelope.payload
        linked_records.link_record(self.db, kind="complaint", ref=p["receipt_no"], township_code=p["township_code"],
                                   occurred_at=envelope.occurred_at, session_id=p.get("session_id"),
                                   visit_id=p.get("visit_id"))
