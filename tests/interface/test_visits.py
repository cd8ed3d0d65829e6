"""Visits 下访 of the five kinds on a real database: planning with the roster's hard constraints, series
regenerated without duplicates, campaigns, reports announced for evaluation, slots at appointment
visits, reminders, the records raised on a visit, and the public calendar."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from services.scheduling.service_layer import (
    appointments,
    campaigns,
    public_calendar,
    rosters,
    sessions,
    visit_planning,
    visit_series,
)
from shared.contracts.base import parse
from shared.contracts.caller import Caller, Role
from shared.contracts.scheduling import (
    BookingCreate,
    CampaignCreate,
    DateRange,
    LeaveCreate,
    RosterAssign,
    SessionGenerate,
    SessionQuery,
    SlotsCreate,
    VisitPlan,
    VisitQuery,
    VisitReport,
    VisitSeriesChange,
    VisitSeriesCreate,
)
from shared.errors import Conflict, Forbidden, ValidationFailed
from tests.interface.scheduling_support import LX, NOW, QS, SUPERVISOR, VAULT, deliverer, outbox_events, run

VILLAGE = f"{QS}001"
CADRE3 = Caller(staff_id=3, role=Role.TOWNSHIP_CADRE, township_code=QS)


def _plan(db, **fields):
    plan = {"kind": "appointment", "title": "医保政策上门", "village_code": VILLAGE, "place": "村委会",
            "day": "2026-12-09", "starts": "09:00", "ends": "11:00", "staff_ids": [3], **fields}
    return run(db, visit_planning.plan_visit, caller=SUPERVISOR, cmd=parse(VisitPlan, plan), now=NOW)


def test_a_joint_visit_lists_each_departments_cadres_and_is_announced(planned):
    visit = _plan(planned, kind="joint", staff_ids=[], departments=[
        {"department": "司法所", "staff_ids": [3]}, {"department": "农技站", "staff_ids": [5, 4]}])
    assert [(m.department, m.staff_id) for m in visit.members] == [("农技站", 4), ("农技站", 5), ("司法所", 3)]
    assert visit.status == "planned" and visit.starts_at == datetime(2026, 12, 9, 1, tzinfo=UTC)  # 09:00 China
    [event] = outbox_events(planned, "visit_planned")
    assert event["visit_id"] == visit.id and sorted(event["staff_ids"]) == [3, 4, 5]


def test_a_cadre_is_never_on_a_visit_and_at_a_market_day_post_at_once(planned):
    posts = run(planned, sessions.generate_sessions, caller=SUPERVISOR, cmd=SessionGenerate(
        site_code="QS-JISHI", start="2026-12-09", end="2026-12-09"), now=NOW)
    assert [s.day for s in posts] == [date(2026, 12, 9)]  # a market day, 07:30–12:00
    run(planned, rosters.assign, caller=SUPERVISOR, session_id=posts[0].id, cmd=RosterAssign(staff_id=3), now=NOW)
    with pytest.raises(Conflict) as clash:
        _plan(planned, staff_ids=[3])
    assert clash.value.code == "double_booked"
    visit = _plan(planned, staff_ids=[4])  # another cadre is free
    with pytest.raises(Conflict) as clash:
        run(planned, rosters.assign, caller=SUPERVISOR, session_id=posts[0].id, cmd=RosterAssign(staff_id=4), now=NOW)
    assert clash.value.code == "double_booked"
    run(planned, visit_planning.cancel_visit, caller=SUPERVISOR, visit_id=visit.id,
        now=NOW)  # a cancelled visit frees them
    run(planned, rosters.assign, caller=SUPERVISOR, session_id=posts[0].id, cmd=RosterAssign(staff_id=4), now=NOW)
    _plan(planned, staff_ids=[3], starts="13:00", ends="16:00")  # after the market closes: fine


def test_visits_respect_leave_the_township_and_who_may_plan(planned):
    run(planned, rosters.record_leave, caller=SUPERVISOR, cmd=LeaveCreate(staff_id=3, first_day="2026-12-09",
                                                                   last_day="2026-12-09", reason="年假"))
    with pytest.raises(Conflict) as away:
        _plan(planned, staff_ids=[3])
    assert away.value.code == "on_leave"
    with pytest.raises(ValidationFailed) as stranger:
        _plan(planned, staff_ids=[40])  # a cadre of 柳溪乡
    assert stranger.value.code == "not_a_cadre"
    with pytest.raises(ValidationFailed) as elsewhere:
        _plan(planned, village_code=f"{LX}001", staff_ids=[4])
    assert elsewhere.value.code == "unknown_village"
    with pytest.raises(Forbidden):
        run(planned, visit_planning.plan_visit, caller=CADRE3, now=NOW, cmd=parse(VisitPlan, {
            "kind": "appointment", "title": "x", "village_code": VILLAGE, "place": "村委会", "day": "2026-12-09",
            "staff_ids": [4]}))
    with pytest.raises(ValidationFailed):
        _plan(planned, day="2026-11-30")  # yesterday


def test_a_topical_visit_falls_inside_its_campaign(planned):
    campaign = run(planned, campaigns.create_campaign, caller=SUPERVISOR, cmd=CampaignCreate(
        township_code=QS, theme="医保政策进村", first_day="2026-12-01", last_day="2026-12-15"))
    visit = _plan(planned, kind="topical", campaign_id=campaign.id)
    assert visit.campaign_id == campaign.id
    with pytest.raises(ValidationFailed) as outside:
        _plan(planned, kind="topical", campaign_id=campaign.id, day="2026-12-20", staff_ids=[4])
    assert outside.value.code == "outside_campaign"
    with pytest.raises(ValidationFailed):
        parse(VisitPlan, {"kind": "topical", "title": "x", "village_code": VILLAGE, "place": "p",
                          "day": "2026-12-09", "staff_ids": [3]})  # no campaign
    with pytest.raises(Forbidden):
        run(planned, campaigns.create_campaign, caller=SUPERVISOR, cmd=CampaignCreate(
            township_code=LX, theme="x", first_day="2026-12-01", last_day="2026-12-15"))
    assert [c.theme for c in run(planned, campaigns.list_campaigns, caller=CADRE3)] == ["医保政策进村"]


def _series(db, **fields):
    series = {"kind": "periodic", "title": "包村干部每周六走访", "village_code": VILLAGE, "rule": {
        "kind": "weekly", "weekdays": [5]}, "first_day": "2026-12-01", "last_day": "2026-12-31",
        "staff_ids": [3, 4], **fields}
    return run(db, visit_series.create_series, caller=SUPERVISOR, cmd=parse(VisitSeriesCreate, series), now=NOW)


def test_a_periodic_series_makes_one_visit_a_day_skipping_days_off_and_regenerates_idempotently(planned):
    run(planned, rosters.record_leave, caller=SUPERVISOR, cmd=LeaveCreate(staff_id=4, first_day="2026-12-12",
                                                                   last_day="2026-12-12", reason="病假"))
    series = _series(planned)
    # Saturdays of December 2026: the 19th is the county's day off
    assert [x.day.day for x in series.visits] == [5, 12, 26]
    assert series.rule_summary == "每周六" and series.place == "村001"  # a periodic visit goes to the village
    on_12th = next(x for x in series.visits if x.day.day == 12)
    assert [m.staff_id for m in on_12th.members] == [3]
    assert series.unavailable == [{"day": "2026-12-12", "staff_id": 4, "code": "on_leave"}]
    again = run(planned, visit_series.change_series, caller=SUPERVISOR, series_id=series.id, cmd=VisitSeriesChange(),
                now=NOW)
    assert [x.id for x in again.visits] == [x.id for x in series.visits]
    assert len(outbox_events(planned, "visit_planned")) == 3  # nothing changed, nothing announced again


def test_a_changed_series_moves_future_visits_and_leaves_the_past(planned):
    series = _series(planned)
    later = datetime(2026, 12, 10, 2, tzinfo=UTC)
    changed = run(planned, visit_series.change_series, caller=SUPERVISOR, series_id=series.id, now=later,
                  cmd=parse(VisitSeriesChange, {"rule": {"kind": "weekly", "weekdays": [2]}, "staff_ids": [5]}))
    by_day = {x.day.day: x for x in changed.visits}
    assert by_day[5].status == "planned" and [m.staff_id for m in by_day[5].members] == [3, 4]  # past: as it was
    assert by_day[12].status == "cancelled" and by_day[26].status == "cancelled"
    assert [d for d, x in sorted(by_day.items()) if x.status == "planned" and d > 10] == [16, 23, 30]
    assert all([m.staff_id for m in by_day[d].members] == [5] for d in (16, 23, 30))
    assert len(outbox_events(planned, "visit_cancelled")) == 2


def test_a_fixed_point_series_names_its_place():
    with pytest.raises(ValidationFailed):
        parse(VisitSeriesCreate, {"kind": "fixed_point", "title": "x", "village_code": VILLAGE,
                                  "rule": {"kind": "solar_days", "days": [10]}, "first_day": "2026-12-01",
                                  "last_day": "2027-02-28", "staff_ids": [3]})


def test_a_report_says_who_went_and_what_was_raised_once_the_visit_has_begun(planned):
    visit = _plan(planned, kind="joint", staff_ids=[], departments=[
        {"department": "司法所", "staff_ids": [3]}, {"department": "农技站", "staff_ids": [4]}])
    report = VisitReport(went_staff_ids=[3], summary="调解宅基地纠纷一起，解答农技问题",
                         raised=["宅基地纠纷", "柑橘病虫害"], people_met=23)
    with pytest.raises(Conflict) as early:
        run(planned, visit_planning.report_visit, caller=CADRE3, visit_id=visit.id, cmd=report, now=NOW)
    assert early.value.code == "visit_not_started"
    during = visit.starts_at + timedelta(hours=1)
    with pytest.raises(ValidationFailed) as stranger:
        run(planned, visit_planning.report_visit, caller=CADRE3, visit_id=visit.id, now=during,
            cmd=report.model_copy(update={"went_staff_ids": [3, 5]}))
    assert stranger.value.code == "not_on_visit"
    with pytest.raises(Forbidden):  # neither on the visit nor a manager
        run(planned, visit_planning.report_visit, caller=Caller(staff_id=5, role=Role.DEPARTMENT_STAFF,
                                                                township_code=QS),
            visit_id=visit.id, cmd=report, now=during)
    done = run(planned, visit_planning.report_visit, caller=CADRE3, visit_id=visit.id, cmd=report, now=during)
    assert done.status == "reported" and done.raised == ["宅基地纠纷", "柑橘病虫害"] and done.people_met == 23
    assert {m.staff_id: m.went for m in done.members} == {3: True, 4: False}
    [event] = outbox_events(planned, "visit_reported")
    assert (event["went_staff_ids"], event["missed_staff_ids"], event["raised_count"]) == ([3], [4], 2)
    with pytest.raises(Conflict):
        run(planned, visit_planning.report_visit, caller=CADRE3, visit_id=visit.id, cmd=report, now=during)


def test_applications_and_consultations_raised_on_a_visit_are_linked_to_it_once(planned, scheduling):
    visit = _plan(planned)
    deliver = deliverer(scheduling, source="intake")
    filed = {"receipt_no": "431099101-20261209-0001", "township_code": QS, "visit_id": visit.id,
             "session_id": None}
    deliver("application_filed", filed)
    deliver("application_filed", filed)  # the same application again (another event id): still one link
    deliver("activity_recorded", {"id": 7, "kind": "consultation", "township_code": QS, "visit_id": visit.id})
    deliver("activity_recorded", {"id": 8, "kind": "practical_deed", "township_code": QS})
    deliver("application_filed", {**filed, "receipt_no": "431099101-20261209-0002", "visit_id": None})
    linked = run(planned, visit_planning.get_visit, caller=CADRE3, visit_id=visit.id).linked
    assert [(x.kind, x.ref) for x in linked] == [("application", "431099101-20261209-0001"), ("consultation", "7")]


def test_appointment_visits_offer_slots_that_close_when_the_visit_is_cancelled(planned):
    visit = _plan(planned)
    slots = run(planned, visit_planning.create_visit_slots, caller=SUPERVISOR, visit_id=visit.id,
                cmd=SlotsCreate(minutes=30, capacity=2))
    assert len(slots) == 4 and slots[0].visit_id == visit.id and slots[0].session_id is None
    booking = BookingCreate(name="李四", phone="13912345678", topic="医保报销")
    made = run(planned, appointments.book, caller=Caller.public(), slot_id=slots[0].id, cmd=booking, vault=VAULT,
               now=NOW)
    assert made.name == "李*" and made.phone.startswith("139")
    admin = Caller(staff_id=1, role=Role.COUNTY_ADMIN, county_code="431099")
    one_township = {"start": "2026-12-09", "end": "2026-12-09", "township_code": QS}
    listed = run(planned, visit_planning.list_visits, caller=admin, query=parse(VisitQuery, one_township))
    assert [x.id for x in listed] == [visit.id]
    other = parse(VisitQuery, {**one_township, "township_code": LX})
    assert run(planned, visit_planning.list_visits, caller=admin, query=other) == []
    [seen] = run(planned, visit_planning.list_visit_bookings, caller=CADRE3, visit_id=visit.id, vault=VAULT)
    assert (seen.name, seen.phone, seen.topic) == ("李四", "13912345678", "医保报销")  # in full, for the staff
    day = parse(DateRange, {"start": "2026-12-09", "end": "2026-12-09"})
    [entry] = run(planned, public_calendar.public_calendar, township_code=QS, period=day, now=NOW)
    assert (entry.kind, entry.visit_kind, entry.free_places) == ("visit", "appointment", 7)
    # once the first two slots have begun, only the last two's places are left to book
    [entry] = run(planned, public_calendar.public_calendar, township_code=QS, period=day, now=slots[1].starts_at)
    assert entry.free_places == 4
    run(planned, visit_planning.cancel_visit, caller=SUPERVISOR, visit_id=visit.id, now=NOW)
    with pytest.raises(Conflict) as closed:
        run(planned, appointments.book, caller=Caller.public(), slot_id=slots[1].id, cmd=booking, vault=VAULT, now=NOW)
    assert closed.value.code == "slot_closed"
    joint = _plan(planned, kind="joint", staff_ids=[], starts="14:00", ends="16:00", departments=[
        {"department": "司法所", "staff_ids": [3]}, {"department": "农技站", "staff_ids": [4]}])
    with pytest.raises(Conflict):
        run(planned, visit_planning.create_visit_slots, caller=SUPERVISOR, visit_id=joint.id, cmd=SlotsCreate())


def test_reminders_go_once_before_each_visit(planned):
    visit = _plan(planned)
    before = visit.starts_at - timedelta(hours=2)
    assert run(planned, visit_planning.send_visit_reminders, now=before - timedelta(days=2),
               lead=timedelta(hours=12)) == 0
    assert run(planned, visit_planning.send_visit_reminders, now=before, lead=timedelta(hours=12)) == 1
    assert run(planned, visit_planning.send_visit_reminders, now=before, lead=timedelta(hours=12)) == 0
    [event] = outbox_events(planned, "visit_reminder")
    assert event["staff_ids"] == [3] and event["place"] == "村委会"


def test_the_public_calendar_shows_posts_with_their_services_and_visits_but_nobody_by_name(planned):
    posts = run(planned, sessions.generate_sessions, caller=SUPERVISOR, cmd=SessionGenerate(
        site_code="QS-JISHI", start="2026-12-09", end="2026-12-12", services=["agency", "farming"]),
        now=NOW)
    run(planned, rosters.assign, caller=SUPERVISOR, session_id=posts[0].id, cmd=RosterAssign(staff_id=3), now=NOW)
    _plan(planned, staff_ids=[4], starts="14:00", ends="16:00")
    calendar = run(planned, public_calendar.public_calendar, township_code=QS, period=parse(
        DateRange, {"start": "2026-12-09", "end": "2026-12-12"}), now=NOW)
    assert [(e.kind, e.day.day) for e in calendar] == [("market_day_post", 9), ("visit", 9),
                                                         ("market_day_post", 12)]
    assert calendar[0].title == "青石镇老街集市" and calendar[0].services == ["agency", "farming"]
    assert "staff" not in str([e.model_dump() for e in calendar])
    assert run(planned, public_calendar.public_calendar, township_code=LX, period=parse(
        DateRange, {"start": "2026-12-09", "end": "2026-12-12"}), now=NOW) == []


def test_what_was_handled_at_a_market_day_post_shows_on_its_session(planned, scheduling):
    [session] = run(planned, sessions.generate_sessions, caller=SUPERVISOR, cmd=SessionGenerate(
        site_code="QS-JISHI", start="2026-12-09", end="2026-12-09"), now=NOW)
    deliver = deliverer(scheduling, source="intake")
    deliver("application_filed", {"receipt_no": "431099101-20261209-0007", "township_code": QS,
                                  "session_id": session.id, "visit_id": None})
    deliverer(scheduling, source="complaints")("complaint_registered", {
        "receipt_no": "431099101-TS20261209-0001", "township_code": QS, "session_id": session.id, "visit_id": None})
    [seen] = run(planned, sessions.list_sessions, caller=CADRE3, query=parse(
        SessionQuery, {"start": "2026-12-09", "end": "2026-12-09"}))
    assert [(x.kind, x.ref) for x in seen.linked] == [("application", "431099101-20261209-0007"),
                                                      ("complaint", "431099101-TS20261209-0001")]
