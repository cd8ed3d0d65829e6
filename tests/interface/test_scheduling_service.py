"""Scheduling's market days, sessions, rosters, attendance and appointments on a real database fed by
the directory's events (fixtures in conftest.py, helpers in scheduling_support.py)."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from services.scheduling.adapters import orm
from services.scheduling.service_layer import appointments, attendance, rosters, sessions
from shared.contracts.caller import Caller, Role
from shared.contracts.scheduling import (
    BookingCreate,
    LeaveCreate,
    RosterAssign,
    RosterGenerate,
    RosterSwap,
    SessionGenerate,
    SessionQuery,
    SlotsCreate,
)
from shared.errors import Conflict, Forbidden, NotFound, ValidationFailed
from tests.interface.scheduling_support import CADRES, LX, NOW, QS, SITE, SUPERVISOR, VAULT, run
from tests.interface.scheduling_support import deliverer as _deliverer


def test_staff_preview_a_sites_market_days(scheduling):
    cadre = Caller(staff_id=3, role=Role.TOWNSHIP_CADRE, township_code=QS)
    preview = scheduling(cadre).site_market_days(site_code="QS-JISHI", start="2026-12-09", end="2026-12-31")
    assert preview["days"] == ["2026-12-09", "2026-12-12", "2026-12-15", "2026-12-19", "2026-12-22", "2026-12-25",
                               "2026-12-29"]
    assert preview["rule_summary"] == "逢一四七（农历），正月初一至初七休市"
    with pytest.raises(NotFound):
        scheduling(Caller(staff_id=9, role=Role.TOWNSHIP_CADRE, township_code=LX)).site_market_days(
            site_code="QS-JISHI", start="2026-12-01", end="2026-12-31")
    with pytest.raises(ValidationFailed):
        scheduling(cadre).site_market_days(site_code="QS-JISHI", start="2026-12-31", end="2026-12-01")


def test_the_public_calendar_lists_each_sites_days_and_nothing_personal(scheduling):
    calendar = scheduling(Caller.public()).public_market_calendar(township_code=QS, start="2026-12-09",
                                                                  end="2026-12-15")
    assert [(c["site_name"], c["days"]) for c in calendar] == [
        ("青石镇老街集市", ["2026-12-09", "2026-12-12", "2026-12-15"])]
    assert scheduling(Caller.public()).public_market_calendar(township_code=LX, start="2026-12-09",
                                                              end="2026-12-15") == []


# ---- sessions, rosters, attendance, appointments (handlers called with a chosen "now") -------------

def _generate(db, start="2026-12-01", end="2026-12-31", now=NOW):
    return run(db, sessions.generate_sessions, caller=SUPERVISOR,
               cmd=SessionGenerate(site_code="QS-JISHI", start=start, end=end), now=now)


def test_sessions_follow_market_days_skip_days_off_and_regenerate_idempotently(planned):
    posts = _generate(planned)
    # 逢一四七 from 1 December 2026: 4 Dec is 十月廿四 … 9 Dec 十一月初一; 19 Dec (十一) is a county day off
    days = [s.day for s in posts]
    assert date(2026, 12, 19) not in days and date(2026, 12, 9) in days
    assert posts[0].starts_at.astimezone(UTC).hour == 23  # 07:30 in China is 23:30 UTC the day before
    again = _generate(planned)
    assert [s.id for s in again] == [s.id for s in posts]


def test_a_changed_rule_cancels_future_sessions_and_never_touches_past_ones(planned, scheduling):
    _generate(planned, start="2026-12-01", end="2026-12-31", now=datetime(2026, 11, 30, tzinfo=UTC))
    deliver = _deliverer(scheduling)
    deliver("market_site_changed", {**SITE, "version": 2, "rule": {**SITE["rule"], "pattern": "逢二五八",
                                                                    "days": [2, 5, 8, 12, 15, 18, 22, 25, 28]}})
    later = datetime(2026, 12, 16, 2, tzinfo=UTC)
    _generate(planned, start="2026-12-01", end="2026-12-31", now=later)
    with planned.sessions() as session:
        rows = {r.day: r.status for r in session.execute(select(orm.Session)).scalars()}
    assert rows[date(2026, 12, 9)] == "scheduled"  # past: untouched although the rule no longer names it
    assert rows[date(2026, 12, 22)] == "cancelled"  # future 廿一 under the old rule
    assert any(day > date(2026, 12, 16) and status == "scheduled" for day, status in rows.items())


def test_rosters_refuse_double_booking_leave_and_non_cadres(planned):
    posts = _generate(planned)
    first = posts[0].id
    view = run(planned, rosters.assign, caller=SUPERVISOR, session_id=first, cmd=RosterAssign(staff_id=3), now=NOW)
    assert [e.staff_id for e in view.roster] == [3]
    run(planned, rosters.record_leave, caller=SUPERVISOR, cmd=LeaveCreate(
        staff_id=4, first_day=posts[0].day, last_day=posts[0].day, reason="病假"))
    with pytest.raises(Conflict) as err:
        run(planned, rosters.assign, caller=SUPERVISOR, session_id=first, cmd=RosterAssign(staff_id=4), now=NOW)
    assert err.value.code == "on_leave"
    with pytest.raises(ValidationFailed):
        run(planned, rosters.assign, caller=SUPERVISOR, session_id=first, cmd=RosterAssign(staff_id=6), now=NOW)
    with pytest.raises(Forbidden):
        run(planned, rosters.assign, caller=Caller(staff_id=3, role=Role.TOWNSHIP_CADRE, township_code=QS),
                 session_id=first, cmd=RosterAssign(staff_id=5), now=NOW)
    swapped = run(planned, rosters.swap, caller=SUPERVISOR, session_id=first,
                     cmd=RosterSwap(from_staff_id=3, to_staff_id=5, reason="家中有事"), now=NOW)
    assert [e.staff_id for e in swapped.roster] == [5]


def test_a_cadre_cannot_be_at_two_sites_at_once(planned, scheduling):
    _deliverer(scheduling)("market_site_changed", {**SITE, "code": "QS-EAST", "name": "东街集市"})
    west = _generate(planned)[0]
    east = run(planned, sessions.generate_sessions, caller=SUPERVISOR, cmd=SessionGenerate(
        site_code="QS-EAST", start="2026-12-01", end="2026-12-31"), now=NOW)[0]
    assert west.day == east.day
    run(planned, rosters.assign, caller=SUPERVISOR, session_id=west.id, cmd=RosterAssign(staff_id=3), now=NOW)
    with pytest.raises(Conflict) as err:
        run(planned, rosters.assign, caller=SUPERVISOR, session_id=east.id, cmd=RosterAssign(staff_id=3), now=NOW)
    assert err.value.code == "double_booked"


def test_a_generated_roster_is_fair(planned):
    posts = _generate(planned)
    views = run(planned, rosters.generate_roster, caller=SUPERVISOR, cmd=RosterGenerate(
        start="2026-12-01", end="2026-12-31", cadre_ids=CADRES, per_session=1), now=NOW)
    counts = {c: sum(c in [e.staff_id for e in v.roster] for v in views) for c in CADRES}
    assert sum(counts.values()) == len(posts) and max(counts.values()) - min(counts.values()) <= 1


def test_a_county_admin_lists_one_townships_sessions(planned, scheduling):
    _deliverer(scheduling)("market_site_changed", {**SITE, "code": "LX-JISHI", "township_code": LX,
                                                   "village_code": f"{LX}001"})
    qs = _generate(planned)
    lx = run(planned, sessions.generate_sessions, caller=Caller(staff_id=41, role=Role.SUPERVISOR, township_code=LX),
             cmd=SessionGenerate(site_code="LX-JISHI", start="2026-12-01", end="2026-12-31"), now=NOW)
    admin = Caller(staff_id=1, role=Role.COUNTY_ADMIN, county_code="431099")
    everything = run(planned, sessions.list_sessions, caller=admin, query=SessionQuery(start="2026-12-01",
                                                                                       end="2026-12-31"))
    assert {s.township_code for s in everything} == {QS, LX}
    chosen = run(planned, sessions.list_sessions, caller=admin, query=SessionQuery(
        township_code=LX, start="2026-12-01", end="2026-12-31"))
    assert [s.id for s in chosen] == [s.id for s in lx] and qs
    # a township's own staff see their own, whichever township they name
    assert run(planned, sessions.list_sessions, caller=SUPERVISOR, query=SessionQuery(
        township_code=LX, start="2026-12-01", end="2026-12-31")) == []


@pytest.mark.parametrize("site_code", ["LX-JISHI", "NO-SUCH-SITE"])
def test_a_roster_is_generated_only_for_a_site_of_the_township(planned, scheduling, site_code):
    _deliverer(scheduling)("market_site_changed", {**SITE, "code": "LX-JISHI", "township_code": LX,
                                                   "village_code": f"{LX}001"})
    run(planned, sessions.generate_sessions, caller=Caller(staff_id=41, role=Role.SUPERVISOR, township_code=LX),
        cmd=SessionGenerate(site_code="LX-JISHI", start="2026-12-01", end="2026-12-31"), now=NOW)
    with pytest.raises(NotFound) as refused:  # another township's site answers like one that does not exist
        run(planned, rosters.generate_roster, caller=SUPERVISOR, cmd=RosterGenerate(
            site_code=site_code, start="2026-12-01", end="2026-12-31", cadre_ids=CADRES, per_session=1), now=NOW)
    assert refused.value.code == "market_site_not_found"
    assert refused.value.details == [{"field": "site_code", "message": "no such market site in your township"}]


def test_a_roster_names_only_the_townships_cadres_even_when_no_session_is_open(planned):
    with pytest.raises(ValidationFailed) as refused:  # no session in January yet: the cadres are checked all the same
        run(planned, rosters.generate_roster, caller=SUPERVISOR, cmd=RosterGenerate(
            start="2027-01-01", end="2027-01-31", cadre_ids=[3, 40], per_session=1), now=NOW)
    assert refused.value.code == "not_a_cadre" and refused.value.details[0]["field"] == "cadre_ids"


def test_attendance_is_closed_once_with_no_shows_announced(planned):
    session = _generate(planned)[0]
    run(planned, rosters.assign, caller=SUPERVISOR, session_id=session.id, cmd=RosterAssign(staff_id=3), now=NOW)
    run(planned, rosters.assign, caller=SUPERVISOR, session_id=session.id, cmd=RosterAssign(staff_id=4), now=NOW)
    during = session.starts_at + timedelta(hours=1)
    with pytest.raises(Conflict):
        run(planned, attendance.check, caller=Caller(staff_id=3, role=Role.TOWNSHIP_CADRE, township_code=QS),
                session_id=session.id, staff_id=3, out=False, now=during - timedelta(days=3))
    run(planned, attendance.check, caller=Caller(staff_id=3, role=Role.TOWNSHIP_CADRE, township_code=QS),
            session_id=session.id, staff_id=3, out=False, now=during)
    after = session.ends_at + timedelta(minutes=1)
    assert run(planned, attendance.close_attendance, now=after) == 1
    assert run(planned, attendance.close_attendance, now=after) == 0
    outbox = planned.metadata.tables["outbox"]
    with planned.sessions() as db_session:
        events = [r.body["payload"] for r in db_session.execute(select(outbox.c.body)) if
                  r.body["type"] == "session_attendance_recorded"]
    assert sorted((e["staff_id"], e["attendance"]) for e in events) == [(3, "attended"), (4, "no_show")]


def test_reminders_go_once_before_each_session(planned):
    session = _generate(planned)[0]
    lead = timedelta(hours=12)
    assert run(planned, attendance.send_reminders, now=session.starts_at - timedelta(hours=13), lead=lead) == 0
    assert run(planned, attendance.send_reminders, now=session.starts_at - timedelta(hours=11), lead=lead) == 1
    assert run(planned, attendance.send_reminders, now=session.starts_at - timedelta(hours=10), lead=lead) == 0


def test_slots_never_overfill_and_a_cancellation_frees_the_place(planned):
    session = _generate(planned)[0]
    slots = run(planned, appointments.create_slots, caller=SUPERVISOR, session_id=session.id,
                           cmd=SlotsCreate(minutes=60, capacity=2))
    assert len(slots) == 4  # 07:30–11:30 in one-hour slots before the 12:00 close
    booking = BookingCreate(name="吴十", phone="13012345678", topic="医保咨询")
    first = run(planned, appointments.book, caller=Caller.public(), slot_id=slots[0].id, cmd=booking, vault=VAULT,
                   now=NOW)
    assert first.name == "吴*" and first.phone == "130****5678"
    with pytest.raises(Conflict) as err:  # one place per phone number in a slot, and the count is untouched
        run(planned, appointments.book, caller=Caller.public(), slot_id=slots[0].id, cmd=booking, vault=VAULT, now=NOW)
    assert err.value.code == "already_booked"
    neighbour = BookingCreate(name="吴十一", phone="13012345679", topic="医保咨询")
    run(planned, appointments.book, caller=Caller.public(), slot_id=slots[0].id, cmd=neighbour, vault=VAULT, now=NOW)
    with pytest.raises(Conflict) as err:
        run(planned, appointments.book, caller=Caller.public(), slot_id=slots[0].id, cmd=booking, vault=VAULT, now=NOW)
    assert err.value.code == "slot_full"
    run(planned, appointments.change_booking, caller=Caller.public(), booking_id=first.id, status="cancelled",
                     vault=VAULT, now=NOW)
    run(planned, appointments.book, caller=Caller.public(), slot_id=slots[0].id, cmd=booking, vault=VAULT, now=NOW)
    assert run(planned, appointments.list_slots, session_id=session.id)[0].booked == 2


def test_the_township_staff_see_who_booked_a_post_in_full_and_no_other_township_does(planned):
    session = _generate(planned)[0]
    slots = run(planned, appointments.create_slots, caller=SUPERVISOR, session_id=session.id,
                cmd=SlotsCreate(minutes=60, capacity=2))
    late = run(planned, appointments.book, caller=Caller.public(), slot_id=slots[1].id, vault=VAULT, now=NOW,
               cmd=BookingCreate(name="郑十二", phone="13012340001", topic="低保"))
    run(planned, appointments.book, caller=Caller.public(), slot_id=slots[0].id, vault=VAULT, now=NOW,
        cmd=BookingCreate(name="吴十", phone="13012345678", topic="医保咨询"))
    run(planned, appointments.change_booking, caller=SUPERVISOR, booking_id=late.id, status="no_show", vault=VAULT,
        now=NOW)
    cadre = Caller(staff_id=3, role=Role.TOWNSHIP_CADRE, township_code=QS)
    seen = run(planned, appointments.list_bookings, caller=cadre, session_id=session.id, vault=VAULT)
    assert [(b.name, b.phone, b.status) for b in seen] == [("吴十", "13012345678", "booked"),
                                                           ("郑十二", "13012340001", "no_show")]
    with pytest.raises(NotFound):
        run(planned, appointments.list_bookings, caller=Caller(staff_id=9, role=Role.TOWNSHIP_CADRE, township_code=LX),
            session_id=session.id, vault=VAULT)


def test_a_booking_is_announced_with_where_and_when_and_its_phone_is_given_only_to_the_platform(planned):
    session = _generate(planned)[0]
    slots = run(planned, appointments.create_slots, caller=SUPERVISOR, session_id=session.id,
                cmd=SlotsCreate(minutes=60, capacity=2))
    made = run(planned, appointments.book, caller=Caller.public(), slot_id=slots[0].id, vault=VAULT, now=NOW,
               cmd=BookingCreate(name="吴十", phone="13012345678", topic="医保咨询"))
    run(planned, appointments.change_booking, caller=Caller.public(), booking_id=made.id, status="cancelled",
        vault=VAULT,
        now=NOW)
    outbox = planned.metadata.tables["outbox"]
    with planned.sessions() as session_:
        bodies = [b for b in session_.execute(select(outbox.c.body).order_by(outbox.c.id)).scalars()
                  if b["type"] == "booking_changed"]
    assert [b["payload"]["status"] for b in bodies] == ["booked", "cancelled"]
    payload = bodies[0]["payload"]
    assert payload["booking_id"] == made.id and payload["occasion_id"] == session.id and payload["place"]
    assert "13012345678" not in str(bodies) and "吴十" not in str(bodies)
    platform = Caller(role=Role.SYSTEM, username="notifications")
    assert run(planned, appointments.notice_contact, booking_id=made.id, vault=VAULT) == "13012345678"
    assert platform.role is Role.SYSTEM
