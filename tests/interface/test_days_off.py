"""A day that becomes a day off reaches what is already scheduled on it: market-day sessions and visits
are cancelled (or held for a decision when villagers have booked), everyone concerned is told through
events, and when the day off goes away the cancelled ones are offered back."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

import services.scheduling.service as scheduling_service
from services.scheduling.adapters import orm
from services.scheduling.service_layer import appointments, rosters, sessions, visit_planning
from services.scheduling.service_layer import days_off as d
from shared.contracts.base import parse
from shared.contracts.caller import Caller, Role
from shared.contracts.envelope import EventEnvelope
from shared.contracts.scheduling import (
    BookingCreate,
    RosterAssign,
    SessionGenerate,
    SessionQuery,
    SlotsCreate,
    VisitPlan,
)
from shared.errors import Conflict, Forbidden, ValidationFailed
from tests.interface.scheduling_support import NOW, QS, SUPERVISOR, VAULT, outbox_events, run

DAY, BOOKED_DAY = "2026-12-22", "2026-12-25"  # market days of 逢一四七 (十一月十四, 十七)
CADRE = Caller(staff_id=3, role=Role.TOWNSHIP_CADRE, township_code=QS)


@pytest.fixture
def calendar(scheduling, monkeypatch):
    """Deliver a directory `calendar_changed` event to scheduling at NOW; returns the envelope sent."""
    monkeypatch.setattr(scheduling_service, "utcnow", lambda: NOW)

    def change(day: str, kind: str | None, name: str | None = "县庆", envelope: dict | None = None,
               county: str = "431099") -> dict:
        envelope = envelope or EventEnvelope(
            source="directory", type="calendar_changed", occurred_at=NOW,
            payload={"county_code": county, "day": day, "kind": kind, "name": name if kind else None,
                     "source": "local" if kind else None}).model_dump(mode="json")
        scheduling(Caller.system()).on_calendar_changed(envelope)
        return envelope
    return change


@pytest.fixture
def occasions(planned):
    """Sessions through December, one villager booked on the 25th, and a visit on the 22nd."""
    posts = {s.day.isoformat(): s for s in run(planned, sessions.generate_sessions, caller=SUPERVISOR, now=NOW,
                                               cmd=SessionGenerate(site_code="QS-JISHI", start="2026-12-01",
                                                                   end="2026-12-31"))}
    run(planned, rosters.assign, caller=SUPERVISOR, session_id=posts[DAY].id, now=NOW,
        cmd=RosterAssign(staff_id=4))
    slots = run(planned, appointments.create_slots, caller=SUPERVISOR, session_id=posts[BOOKED_DAY].id,
                cmd=SlotsCreate(minutes=60, capacity=2))
    booking = run(planned, appointments.book, caller=Caller.public(), slot_id=slots[0].id, vault=VAULT, now=NOW,
                  cmd=BookingCreate(name="吴十", phone="13012345678"))
    visit = run(planned, visit_planning.plan_visit, caller=SUPERVISOR, now=NOW, cmd=parse(VisitPlan, {
        "kind": "appointment", "title": "医保政策上门", "village_code": f"{QS}001", "place": "村委会", "day": DAY,
        "starts": "14:00", "ends": "16:00", "staff_ids": [3]}))
    return {"session": posts[DAY], "booked": posts[BOOKED_DAY], "booking": booking, "visit": visit,
            "slot": slots[0]}


def _row(db, model, key):
    with db.sessions() as session:
        return session.get(model, key)


def test_a_new_day_off_cancels_its_sessions_and_visits_and_tells_their_staff(planned, calendar, occasions):
    calendar(DAY, "local_day_off")

    session, visit = _row(planned, orm.Session, occasions["session"].id), _row(planned, orm.Visit,
                                                                               occasions["visit"].id)
    assert (session.status, session.day_off) == ("cancelled", "县庆")
    assert (visit.status, visit.day_off) == ("cancelled", "县庆")
    assert occasions["session"].id in [e["session_id"] for e in outbox_events(planned, "session_cancelled")]
    assert occasions["visit"].id in [e["visit_id"] for e in outbox_events(planned, "visit_cancelled")]
    told = {e["id"]: e for e in outbox_events(planned, "occasion_called_off")}
    assert told[occasions["session"].id]["outcome"] == "cancelled" and told[occasions["session"].id]["staff_ids"] == [4]
    assert told[occasions["visit"].id]["staff_ids"] == [3] and told[occasions["visit"].id]["occasion"] == "visit"
    assert _row(planned, orm.Session, occasions["booked"].id).status == "scheduled"  # another day


def test_another_countys_day_off_leaves_this_countys_sessions_visits_and_market_days_alone(planned, calendar,
                                                                                        occasions):
    calendar(DAY, "local_day_off", name="祁阳县庆", county="431121")  # 祁阳县's own day off

    assert _row(planned, orm.Session, occasions["session"].id).status == "scheduled"
    assert _row(planned, orm.Visit, occasions["visit"].id).status == "planned"
    assert date.fromisoformat(DAY) not in run(planned, sessions.days_off, township_code=QS)
    assert date.fromisoformat(DAY) in run(planned, sessions.days_off, township_code="431121101")


def test_a_session_with_bookings_waits_for_a_decision_and_cancelling_tells_the_villagers(planned, calendar,
                                                                                        occasions):
    calendar(BOOKED_DAY, "local_day_off")

    held = _row(planned, orm.Session, occasions["booked"].id)
    assert held.status == "needs_decision"
    [told] = [e for e in outbox_events(planned, "occasion_called_off") if e["id"] == held.id]
    assert told["outcome"] == "needs_decision" and told["booking_ids"] == [occasions["booking"].id]
    with pytest.raises(Conflict):  # no new bookings while it is undecided
        run(planned, appointments.book, caller=Caller.public(), slot_id=occasions["slot"].id, vault=VAULT, now=NOW,
            cmd=BookingCreate(name="李四", phone="13912345678"))

    decided = run(planned, d.decide_session_day_off, caller=SUPERVISOR, session_id=held.id, decision="cancel",
                  now=NOW)

    assert decided.status == "cancelled"
    with planned.sessions() as db:
        assert db.get(orm.Booking, occasions["booking"].id).status == "cancelled"
        assert db.get(orm.SlotRow, occasions["slot"].id).booked == 0
    cancelled = [e for e in outbox_events(planned, "occasion_called_off") if e["id"] == held.id][-1]
    assert cancelled["outcome"] == "cancelled" and cancelled["booking_ids"] == [occasions["booking"].id]


def test_a_session_held_on_a_day_off_survives_regeneration(planned, calendar, occasions):
    calendar(BOOKED_DAY, "local_day_off")
    run(planned, d.decide_session_day_off, caller=SUPERVISOR, session_id=occasions["booked"].id, decision="hold",
        now=NOW)
    run(planned, sessions.generate_sessions, caller=SUPERVISOR, now=NOW,
        cmd=SessionGenerate(site_code="QS-JISHI", start="2026-12-01", end="2026-12-31"))
    assert _row(planned, orm.Session, occasions["booked"].id).status == "scheduled"


def test_the_same_event_twice_changes_nothing_more(planned, calendar, occasions):
    sent = calendar(DAY, "local_day_off")
    before = len(outbox_events(planned, "occasion_called_off"))
    calendar(DAY, "local_day_off", envelope=sent)  # redelivered
    calendar(DAY, "holiday", name="改为节日")  # another change, the day still off
    assert len(outbox_events(planned, "occasion_called_off")) == before


def test_removing_the_day_off_offers_the_cancelled_back_and_resumes_the_undecided(planned, calendar, occasions):
    calendar(DAY, "local_day_off")
    calendar(BOOKED_DAY, "local_day_off")
    calendar(DAY, None)
    calendar(BOOKED_DAY, None)

    session, visit = _row(planned, orm.Session, occasions["session"].id), _row(planned, orm.Visit,
                                                                               occasions["visit"].id)
    assert (session.status, session.restorable) == ("cancelled", True)
    assert (visit.status, visit.restorable) == ("cancelled", True)
    assert _row(planned, orm.Session, occasions["booked"].id).status == "scheduled"  # nothing was cancelled
    lifted = {e["id"]: e["outcome"] for e in outbox_events(planned, "occasion_day_off_lifted")}
    assert lifted == {session.id: "restorable", visit.id: "restorable", occasions["booked"].id: "resumed"}
    listed = run(planned, sessions.list_sessions, caller=SUPERVISOR, query=SessionQuery(start=DAY, end=DAY))
    assert [(s.status, s.day_off, s.restorable) for s in listed] == [("cancelled", "县庆", True)]

    restored = run(planned, d.restore_session, caller=SUPERVISOR, session_id=session.id, now=NOW)
    assert restored.status == "scheduled" and not restored.restorable and [r.staff_id for r in restored.roster] == [4]
    assert session.id in [e["session_id"] for e in outbox_events(planned, "session_scheduled")]
    restored_visit = run(planned, d.restore_visit, caller=SUPERVISOR, visit_id=visit.id, now=NOW)
    assert restored_visit.status == "planned"
    with pytest.raises(Conflict) as err:
        run(planned, d.restore_session, caller=SUPERVISOR, session_id=session.id, now=NOW)
    assert err.value.code == "not_restorable"


def test_only_what_a_day_off_cancelled_is_restorable_and_only_while_the_day_is_not_off(planned, calendar,
                                                                                      occasions):
    calendar(DAY, "local_day_off")
    with pytest.raises(Conflict) as err:  # still a day off
        run(planned, d.restore_session, caller=SUPERVISOR, session_id=occasions["session"].id, now=NOW)
    assert err.value.code == "not_restorable"
    with pytest.raises(Conflict):  # nothing to decide on a session that was simply cancelled
        run(planned, d.decide_session_day_off, caller=SUPERVISOR, session_id=occasions["session"].id,
            decision="hold", now=NOW)


def test_past_sessions_are_left_as_they_happened(planned, calendar, occasions):
    with planned.sessions() as db:
        before = db.execute(select(orm.Session.status).where(orm.Session.day < NOW.date())).scalars().all()
    calendar("2026-11-30", "local_day_off")
    with planned.sessions() as db:
        assert db.execute(select(orm.Session.status).where(orm.Session.day < NOW.date())).scalars().all() == before
    assert outbox_events(planned, "occasion_called_off") == []


def test_planners_restore_and_decide_through_the_service(planned, scheduling, calendar, occasions, monkeypatch):
    calendar(BOOKED_DAY, "local_day_off")
    with pytest.raises(ValidationFailed):
        scheduling(SUPERVISOR).decide_session_day_off(session_id=occasions["booked"].id,
                                                      decision={"decision": "maybe"})
    with pytest.raises(Forbidden):
        scheduling(CADRE).decide_session_day_off(session_id=occasions["booked"].id, decision={"decision": "hold"})
    held = scheduling(SUPERVISOR).decide_session_day_off(session_id=occasions["booked"].id,
                                                         decision={"decision": "hold"})
    assert (held["status"], held["day_off"]) == ("scheduled", "县庆")
    calendar(DAY, "local_day_off")
    calendar(DAY, None)
    visit = scheduling(SUPERVISOR).get_visit(visit_id=occasions["visit"].id)
    assert (visit["status"], visit["restorable"]) == ("cancelled", True)
    assert scheduling(SUPERVISOR).restore_visit(visit_id=occasions["visit"].id)["status"] == "planned"
