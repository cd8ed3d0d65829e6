"""Scheduling's repositories on SQLite and PostgreSQL: what each hands its use cases (sessions of a site or
within a caller's reach, rosters, a cadre's commitments and leave, visits and their cadres, slots and
bookings, the records linked to an occasion), and the edges that matter: scope filters, orderings, a
claim won once, a full slot refused, a day off reaching only its own county."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from services.scheduling.adapters import orm
from services.scheduling.adapters.repositories import SchedulingUnitOfWork
from services.scheduling.domain.rosters import Leave, Slot
from shared.contracts.caller import Caller, Role

COUNTY, OTHER_COUNTY = "431099", "431121"
QS, LX, ELSEWHERE = "431099101", "431099102", "431121101"  # two townships of one county, one of another
NOW = datetime(2026, 12, 1, 2, tzinfo=UTC)
DAY = date(2026, 12, 9)
QS_SUPERVISOR = Caller(staff_id=31, role=Role.SUPERVISOR, township_code=QS)
COUNTY_ADMIN = Caller(staff_id=90, role=Role.COUNTY_ADMIN, county_code=COUNTY)


@pytest.fixture
def db(service_db):
    return service_db("scheduling", orm.Base.metadata)


def _write(db, *rows) -> None:
    """Rows stored and committed in a unit of work of their own."""
    uow = db.unit_of_work()
    try:
        uow.session.add_all(rows)
        uow.commit()
    finally:
        uow.close()


@pytest.fixture
def uow(db):
    opened = db.unit_of_work()
    yield opened
    opened.close()


def _at(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def _session(id_: str, *, township: str = QS, site: str | None = None, day: date = DAY, hour: int = 1,
             status: str = "scheduled", day_off: str | None = None, restorable: bool = False) -> orm.Session:
    """A session at a site of its own unless one is named (a site has one session a day)."""
    return orm.Session(id=id_, site_code=site or id_, township_code=township, day=day, starts_at=_at(day, hour),
                       ends_at=_at(day, hour + 4), status=status, services=["social_security"], day_off=day_off,
                       restorable=restorable, updated_at=NOW)


def _visit(id_: str, *, township: str = QS, day: date = DAY, hour: int = 1, status: str = "planned",
           series_id: int | None = None, kind: str = "appointment", day_off: str | None = None,
           restorable: bool = False) -> orm.Visit:
    return orm.Visit(id=id_, kind=kind, township_code=township, village_code=township + "001", title="上门",
                     place="村委会", day=day, starts_at=_at(day, hour), ends_at=_at(day, hour + 2), status=status,
                     series_id=series_id, day_off=day_off, restorable=restorable, updated_at=NOW)


def _site(code: str, township: str = QS) -> orm.MarketSiteCopy:
    return orm.MarketSiteCopy(code=code, township_code=township, village_code=None, name=f"{code} 集市",
                              location="主街", rule={"kind": "weekly"}, opens_at="07:30", closes_at="12:00", version=1)


def test_the_scheduling_database_hands_out_schedulings_unit_of_work(uow):
    assert isinstance(uow, SchedulingUnitOfWork)
    assert uow.sessions is uow.sessions and uow.sessions.uow is uow  # one repository per unit of work


def test_copies_of_the_directory(db, uow):
    _write(db, _site("QS-B"), _site("QS-A"), _site("LX-A", LX),
           orm.StaffCopy(id=3, township_code=QS, station_code=None, role="township_cadre", active=True, version=1),
           orm.VillageCopy(code=QS + "001", township_code=QS, name="村一", version=1),
           orm.VillageCopy(code=QS + "002", township_code=QS, name="村二", version=1),
           orm.VillageCopy(code=LX + "001", township_code=LX, name="村三", version=1),
           orm.CalendarDayCopy(county_code=COUNTY, day=date(2026, 12, 19), kind="local_day_off"),
           orm.CalendarDayCopy(county_code=COUNTY, day=date(2026, 12, 20), kind="makeup_workday"),
           orm.CalendarDayCopy(county_code=OTHER_COUNTY, day=date(2026, 12, 21), kind="public_holiday"))
    assert [s.code for s in uow.market_sites.of_township(QS)] == ["QS-A", "QS-B"]
    assert uow.market_sites.get("LX-A").township_code == LX and uow.market_sites.get("nowhere") is None
    assert uow.staff.get(3).role == "township_cadre" and uow.staff.get(4) is None
    assert uow.villages.get(QS + "002").name == "村二"
    assert uow.villages.townships() == {QS, LX}
    assert uow.calendar.days_off(COUNTY) == {date(2026, 12, 19)}  # not the 调休 workday, not the other county's


def test_sessions_of_a_site_and_within_a_callers_reach(db, uow):
    later = DAY + timedelta(days=3)
    _write(db, _site("QS-JISHI"), _site("QS-B"), _site("LX-A", LX),
           _session("s1", site="QS-JISHI", day=later), _session("s2", site="QS-JISHI"),
           _session("s3", site="QS-B", status="cancelled"), _session("s4", township=LX, site="LX-A"),
           _session("s5", site="QS-JISHI", day=DAY + timedelta(days=40)))
    assert {s.id for s in uow.sessions.at_site("QS-JISHI", DAY, later)} == {"s1", "s2"}
    assert [s.id for s in uow.sessions.listed(QS_SUPERVISOR, DAY, later, limit=10)] == ["s3", "s2", "s1"]
    assert [s.id for s in uow.sessions.listed(COUNTY_ADMIN, DAY, later, limit=10)] == ["s4", "s3", "s2", "s1"]
    assert [s.id for s in uow.sessions.listed(COUNTY_ADMIN, DAY, later, township_code=LX, limit=10)] == ["s4"]
    assert [s.id for s in uow.sessions.listed(QS_SUPERVISOR, DAY, later, site_code="QS-B", limit=10)] == ["s3"]
    assert len(uow.sessions.listed(COUNTY_ADMIN, DAY, later, limit=2)) == 2
    # what a rotation fills: only scheduled ones, in the order they start
    assert [s.id for s in uow.sessions.to_roster(COUNTY_ADMIN, DAY, later, township_code=QS)] == ["s2", "s1"]
    assert [s.id for s in uow.sessions.to_roster(QS_SUPERVISOR, DAY, later + timedelta(days=60))] == \
        ["s2", "s1", "s5"]
    posts = uow.sessions.posts(QS, DAY, later)
    assert sorted((s.id, name) for s, name, _location, _village in posts) == [("s1", "QS-JISHI 集市"),
                                                                               ("s2", "QS-JISHI 集市")]
    assert uow.sessions.scheduled_per_township(DAY) == {QS: 1, LX: 1}


def test_attendance_of_an_ended_session_is_closed_once(db, uow):
    _write(db, _session("ended", day=date(2026, 11, 30)), _session("upcoming"))
    assert uow.sessions.ended_unclosed(NOW, 10) == ["ended"]
    assert uow.sessions.close_attendance("ended") is True
    uow.commit()
    assert uow.sessions.close_attendance("ended") is False  # another worker got there first
    assert uow.sessions.ended_unclosed(NOW, 10) == []


@pytest.mark.parametrize("kind", ["sessions", "visits"])
def test_an_occasion_is_reminded_of_once(db, kind):
    soon = NOW + timedelta(hours=3)
    make = _session if kind == "sessions" else _visit
    _write(db, make("soon", day=soon.date(), hour=soon.hour), make("later", day=DAY),
           make("off", day=soon.date(), hour=soon.hour + 1, status="cancelled"))
    first, second = db.unit_of_work(), db.unit_of_work()
    try:
        reminded = [o.id for o in getattr(first, kind).to_remind(now=NOW, lead=timedelta(hours=12), batch=10)]
        first.commit()
        assert reminded == ["soon"]
        assert list(getattr(second, kind).to_remind(now=NOW, lead=timedelta(hours=12), batch=10)) == []
    finally:
        first.close()
        second.close()


@pytest.mark.parametrize("kind", ["sessions", "visits"])
def test_a_day_off_reaches_its_own_countys_occasions_on_that_day(db, uow, kind):
    make = _session if kind == "sessions" else _visit
    now = _at(DAY, 2)
    _write(db, make("late", hour=5), make("early", hour=3), make("begun", hour=1),
           make("begun held", hour=0, day_off="县庆"), make("held", hour=4, day_off="县庆"),
           make("offered", hour=6, status="cancelled", day_off="国庆", restorable=True),
           make("next day", day=DAY + timedelta(days=1)), make("other county", township=ELSEWHERE, hour=3),
           make("offered elsewhere", township=ELSEWHERE, hour=6, status="cancelled", day_off="国庆",
                restorable=True))
    occasions = getattr(uow, kind)
    assert [o.id for o in occasions.to_call_off(COUNTY, DAY, now)] == ["early", "late"]
    assert [o.id for o in occasions.reached_by_day_off(COUNTY, DAY, now)] == ["held", "offered"]
    occasions.withdraw_offers(COUNTY, DAY, "县庆")
    uow.commit()
    with db.sessions() as session:
        withdrawn = {row.id: (row.restorable, row.day_off) for row in session.query(occasions.model)
                     if row.id.startswith("offered")}
    assert withdrawn == {"offered": (False, "县庆"), "offered elsewhere": (True, "国庆")}
    assert occasions.get("held").day_off == "县庆"


def test_a_roster_and_what_cadres_are_committed_to(db, uow):
    _write(db, _session("s1", hour=1), _session("s2", hour=8), _session("gone", status="cancelled"),
           _visit("v1", hour=5), _visit("v-off", hour=9, status="cancelled"))
    for session_id in ("s1", "gone"):
        for staff_id in (4, 3):
            uow.roster.add(orm.RosterEntry(session_id=session_id, staff_id=staff_id, township_code=QS, day=DAY,
                                           starts_at=_at(DAY, 1), ends_at=_at(DAY, 5), reason="rotation"))
    for visit_id in ("v1", "v-off"):
        uow.visit_members.add(orm.VisitMember(visit_id=visit_id, staff_id=3, department=None, day=DAY,
                                              starts_at=_at(DAY, 5), ends_at=_at(DAY, 7)))
    uow.commit()
    assert [e.staff_id for e in uow.roster.of_session("s1")] == [3, 4]
    assert uow.roster.staff_of("s1") == [3, 4] and uow.roster.staff_of("s2") == []
    assert {k: [e.staff_id for e in v] for k, v in uow.roster.of_sessions(["s1", "s2"]).items()} == {"s1": [3, 4]}
    assert uow.roster.of_sessions([]) == {}
    found = uow.commitments.of_staff([3, 4, 5], DAY, DAY)
    assert sorted(slot.ref for slot in found[3]) == ["s1", "v1"]  # not the cancelled session or visit
    assert [slot.ref for slot in found[4]] == ["s1"] and found[5] == []
    assert Slot(ref="v1", day=DAY, starts_at=_at(DAY, 5), ends_at=_at(DAY, 7)) in found[3]
    assert uow.commitments.of_staff([3], DAY + timedelta(days=1), DAY + timedelta(days=2)) == {3: []}
    uow.roster.remove(uow.roster.get("s1", 4))
    uow.commit()
    assert uow.roster.get("s1", 4) is None and uow.roster.staff_of("s1") == [3]


def test_a_cadres_day_is_locked_again_and_again_without_a_conflict(db, uow):
    uow.commitments.lock_day(3, DAY)
    uow.commitments.lock_day(3, DAY)  # the row exists: taken again, not inserted twice
    uow.commit()
    uow.commitments.lock_day(3, DAY)
    uow.commit()
    with db.sessions() as session:
        assert session.query(orm.StaffDay).count() == 1


def test_leave_touching_a_period(db, uow):
    _write(db, *[orm.LeaveRow(staff_id=staff, township_code=QS, first_day=first, last_day=last, reason="事假")
                 for staff, first, last in [(3, date(2026, 12, 1), date(2026, 12, 9)),
                                            (3, date(2026, 12, 10), date(2026, 12, 12)),
                                            (4, date(2026, 12, 9), date(2026, 12, 9)),
                                            (5, date(2026, 12, 9), date(2026, 12, 9))]])
    assert sorted(uow.leave.of_staff([3, 4], DAY, DAY), key=lambda x: x.staff_id) == [
        Leave(3, date(2026, 12, 1), date(2026, 12, 9)), Leave(4, DAY, DAY)]
    assert len(uow.leave.of_staff([3], date(2026, 12, 12), date(2026, 12, 20))) == 1
    uow.leave.add(orm.LeaveRow(staff_id=6, township_code=QS, first_day=DAY, last_day=DAY, reason="病假"))
    uow.commit()
    assert uow.leave.of_staff([6], DAY, DAY) == [Leave(6, DAY, DAY)]


def test_campaigns_within_a_callers_reach_latest_first(db, uow):
    for township, theme, first in [(QS, "医保", date(2026, 11, 1)), (QS, "防汛", date(2026, 12, 1)),
                                   (LX, "春耕", date(2026, 10, 1)), (ELSEWHERE, "外县", date(2026, 12, 5))]:
        uow.campaigns.add(orm.Campaign(township_code=township, theme=theme, first_day=first,
                                       last_day=first + timedelta(days=20)))
    uow.commit()
    assert [c.theme for c in uow.campaigns.visible_to(QS_SUPERVISOR)] == ["防汛", "医保"]
    assert [c.theme for c in uow.campaigns.visible_to(COUNTY_ADMIN)] == ["防汛", "医保", "春耕"]
    assert len(uow.campaigns.visible_to(Caller.system(), limit=1)) == 1


def test_visits_of_a_series_and_within_a_callers_reach(db, uow):
    series = orm.VisitSeries(kind="periodic", township_code=QS, village_code=QS + "001", title="定期", place="村委会",
                             rule={"kind": "weekly"}, starts="09:00", ends="11:00", first_day=DAY,
                             last_day=DAY + timedelta(days=30), staff_ids=[3])
    uow.visit_series.add(series)
    assert series.id is not None  # kept at once: its visits name it
    for visit in [_visit("v3", day=DAY + timedelta(days=14), series_id=series.id, kind="periodic"),
                  _visit("v1", day=DAY - timedelta(days=7), series_id=series.id, kind="periodic", status="reported"),
                  _visit("v2", day=DAY, series_id=series.id, kind="periodic"),
                  _visit("lx", township=LX, hour=3, status="cancelled"), _visit("topical", kind="topical", hour=6)]:
        uow.visits.add(visit)
    uow.visit_members.add(orm.VisitMember(visit_id="topical", staff_id=7, department="民政", day=DAY,
                                          starts_at=_at(DAY, 6), ends_at=_at(DAY, 8)))
    uow.commit()
    assert uow.visit_series.get(series.id).title == "定期"
    assert [v.id for v in uow.visits.of_series(series.id)] == ["v1", "v2", "v3"]
    assert [v.id for v in uow.visits.of_series(series.id, since=DAY)] == ["v2", "v3"]
    month = (DAY - timedelta(days=10), DAY + timedelta(days=20))
    assert [v.id for v in uow.visits.listed(QS_SUPERVISOR, *month, limit=10)] == ["v1", "v2", "topical", "v3"]
    assert [v.id for v in uow.visits.listed(COUNTY_ADMIN, DAY, DAY, limit=10)] == ["v2", "lx", "topical"]
    assert [v.id for v in uow.visits.listed(COUNTY_ADMIN, *month, kind="topical", limit=10)] == ["topical"]
    assert [v.id for v in uow.visits.listed(COUNTY_ADMIN, *month, staff_id=7, limit=10)] == ["topical"]
    assert [v.id for v in uow.visits.listed(COUNTY_ADMIN, *month, township_code=LX, limit=10)] == ["lx"]
    assert [v.id for v in uow.visits.listed(COUNTY_ADMIN, *month, limit=1)] == ["v1"]
    assert sorted(v.id for v in uow.visits.planned_in(QS, *month)) == ["topical", "v2", "v3"]
    assert uow.visits.not_cancelled_per_township(DAY) == {QS: 2}


def test_a_visits_cadres_by_department(db, uow):
    _write(db, _visit("joint"), _visit("other", hour=5))
    for staff_id, department in [(9, "civil affairs"), (3, "agriculture"), (5, "civil affairs")]:
        uow.visit_members.add(orm.VisitMember(visit_id="joint", staff_id=staff_id, department=department, day=DAY,
                                              starts_at=_at(DAY, 1), ends_at=_at(DAY, 3)))
    uow.commit()
    assert [m.staff_id for m in uow.visit_members.of_visit("joint")] == [3, 5, 9]  # by department, then by id
    assert {k: [m.staff_id for m in v] for k, v in uow.visit_members.of_visits(["joint", "other"]).items()} == \
        {"joint": [3, 5, 9]}
    uow.visit_members.remove([m for m in uow.visit_members.of_visit("joint") if m.department == "civil affairs"])
    uow.commit()
    assert [m.staff_id for m in uow.visit_members.of_visit("joint")] == [3]


BEFORE = _at(DAY - timedelta(days=1), 12)


def test_slots_fill_up_to_their_capacity_and_count_what_is_left(db, uow):
    _write(db, _session("s1"), _visit("v1"))
    assert not uow.slots.offered(session_id="s1")
    for hour in (2, 1):
        uow.slots.add(orm.SlotRow(session_id="s1", starts_at=_at(DAY, hour), ends_at=_at(DAY, hour + 1),
                                  capacity=2, booked=0))
    uow.slots.add(orm.SlotRow(visit_id="v1", starts_at=_at(DAY, 1), ends_at=_at(DAY, 2), capacity=3, booked=0))
    uow.commit()
    assert uow.slots.offered(session_id="s1") and uow.slots.offered(visit_id="v1")
    first, second = uow.slots.at(session_id="s1")
    assert first.starts_at < second.starts_at and [s.capacity for s in uow.slots.at(visit_id="v1")] == [3]
    assert uow.slots.take_place(first.id) and uow.slots.take_place(first.id)
    uow.commit()
    assert uow.slots.take_place(first.id) is False  # full: refused, and nothing else changed
    assert uow.slots.free_places(["s1"], ["v1"], now=BEFORE) == {"s1": 2, "v1": 3}
    uow.slots.give_back_place(first.id)
    uow.commit()
    assert uow.slots.get(first.id).starts_at == _at(DAY, 1) and uow.slots.get(999) is None
    assert uow.slots.free_places(["s1", "unknown"], [], now=BEFORE) == {"s1": 3}
    assert uow.slots.free_places([], [], now=BEFORE) == {}
    # a slot that has begun takes no booking: its places are not left; once all have begun, none are
    assert uow.slots.free_places(["s1"], ["v1"], now=_at(DAY, 1)) == {"s1": 2, "v1": 0}
    assert uow.slots.free_places(["s1"], [], now=_at(DAY, 2)) == {"s1": 0}


def test_bookings_of_an_occasion(db, uow):
    _write(db, _session("s1"), _visit("v1"))
    early = orm.SlotRow(session_id="s1", starts_at=_at(DAY, 1), ends_at=_at(DAY, 2), capacity=5, booked=0)
    late = orm.SlotRow(session_id="s1", starts_at=_at(DAY, 3), ends_at=_at(DAY, 4), capacity=5, booked=0)
    at_visit = orm.SlotRow(visit_id="v1", starts_at=_at(DAY, 1), ends_at=_at(DAY, 2), capacity=5, booked=0)
    _write(db, early, late, at_visit)
    for id_, slot, minute, status in [("b-late", late, 1, "booked"), ("b2", early, 2, "booked"),
                                      ("b1", early, 1, "cancelled"), ("bv", at_visit, 1, "booked")]:
        uow.bookings.add(orm.Booking(id=id_, slot_id=slot.id, name_enc="n", phone_enc=f"phone-{id_}", status=status,
                                     booked_at=NOW + timedelta(minutes=minute)))
    uow.commit()
    assert [(b.id, s.id) for b, s in uow.bookings.at(session_id="s1")] == [
        ("b1", early.id), ("b2", early.id), ("b-late", late.id)]
    assert [b.id for b in uow.bookings.active_at(session_id="s1")] == ["b-late", "b2"]
    assert [b.id for b in uow.bookings.active_at(visit_id="v1")] == ["bv"]
    assert uow.bookings.phones_held(early.id) == ["phone-b2"]  # not the cancelled one
    assert uow.bookings.phone_of("b1") == "phone-b1" and uow.bookings.phone_of("nobody") is None
    assert uow.bookings.get("bv").slot_id == at_visit.id


def test_records_linked_to_sessions_and_visits(db, uow):
    for kind, ref, session_id, visit_id, minute in [("application", "A2", "s1", None, 2),
                                                    ("consultation", "7", "s1", None, 1),
                                                    ("complaint", "C1", None, "v1", 3),
                                                    ("application", "A9", "s2", None, 4)]:
        uow.linked_records.add(orm.LinkedRecordRow(kind=kind, ref=ref, session_id=session_id, visit_id=visit_id,
                                                   township_code=QS, occurred_at=NOW + timedelta(minutes=minute)))
    uow.commit()
    assert uow.linked_records.get("application", "A2").session_id == "s1"
    assert uow.linked_records.get("complaint", "A2") is None
    assert {k: [r.ref for r in v] for k, v in uow.linked_records.at_sessions(["s1", "v1"]).items()} == \
        {"s1": ["7", "A2"]}
    assert {k: [r.ref for r in v] for k, v in uow.linked_records.on_visits(["v1"]).items()} == {"v1": ["C1"]}
    assert uow.linked_records.at_sessions([]) == {}
