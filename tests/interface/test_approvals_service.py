"""Approvals on a real SQLite database: cases opened from intake's filings with the item's workflow,
actions with their audit trail and events, the inbox, and the deadline sweep that warns, issues 督办 and
records 责任追究 exactly once — across the 2026 Spring Festival, with dates worked out by hand."""
from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from nameko.testing.services import worker_factory
from sqlalchemy import delete, func, select, update

from services.approvals.adapters import orm
from services.approvals.service import ApprovalsService
from services.approvals.service_layer import actions, reading, sweep
from shared.clock import utcnow
from shared.contracts import approvals as c
from shared.contracts.caller import Caller, Role
from shared.contracts.envelope import EventEnvelope
from shared.db import ServiceDatabase
from shared.errors import Conflict, Forbidden, NotFound, ValidationFailed
from shared.observability import metrics
from shared.service import WorkerCaller

QS, STATION = "431099101", "ST431099101001"
AGENT = Caller(staff_id=6, role=Role.VILLAGE_AGENT, township_code=QS, station_code=STATION)
COMMITTEE = Caller(staff_id=11, role=Role.VILLAGE_COMMITTEE, township_code=QS, station_code=STATION)
DEPARTMENT = Caller(staff_id=21, role=Role.DEPARTMENT_STAFF, township_code=QS)
SUPERVISOR = Caller(staff_id=31, role=Role.SUPERVISOR, township_code=QS)
CADRE = Caller(staff_id=15, role=Role.TOWNSHIP_CADRE, township_code=QS)
LX_SUPERVISOR = Caller(staff_id=41, role=Role.SUPERVISOR, township_code="431099102")
WORKFLOW = {"warning_share": 0.75, "steps": [
    {"name": "village_review", "title": "村级审查", "roles": ["village_committee"], "level": "village",
     "limit_days": 5, "on_approve": "township_review"},
    {"name": "township_review", "title": "乡镇审核", "roles": ["department_staff", "supervisor"],
     "level": "township", "limit_days": 5, "on_approve": "approved"}]}
SPRING_FESTIVAL = [(date(2026, 2, d), "holiday") for d in range(15, 24)] + \
    [(date(2026, 2, 14), "makeup_workday"), (date(2026, 2, 28), "makeup_workday")]


def at(y, m, d, hour=2):  # 02:00 UTC is 10:00 in China, the same calendar day
    return datetime(y, m, d, hour, tzinfo=UTC)


@pytest.fixture
def approvals_db(migrated_db) -> ServiceDatabase:
    return migrated_db("approvals", orm.Base.metadata)


@pytest.fixture
def approvals(approvals_db):
    def as_caller(caller: Caller = SUPERVISOR) -> ApprovalsService:
        return worker_factory(ApprovalsService, db=approvals_db.unit_of_work(), caller=WorkerCaller(caller))

    def deliver(source, type_, payload):
        envelope = EventEnvelope(source=source, type=type_, occurred_at=utcnow(), payload=payload)
        getattr(as_caller(), f"on_{type_}")(envelope.model_dump(mode="json"))

    for day, kind in SPRING_FESTIVAL:
        deliver("directory", "calendar_changed", {"county_code": "431099", "day": day.isoformat(), "kind": kind,
                                                  "name": "春节", "source": "official"})
    deliver("directory", "catalogue_item_changed", {"township_code": QS, "code": "SP-008", "workflow": WORKFLOW,
                                                    "version": 2})
    as_caller.deliver = deliver  # type: ignore[attr-defined]
    return as_caller


def file(approvals, app_id="a" * 32, filed_at=at(2026, 2, 12), item="SP-008", on_the_spot=False, days=10,
         village=f"{QS}001", **more):
    approvals.deliver("intake", "application_filed", {
        **more, "id": app_id, "receipt_no": f"{QS}-{filed_at:%Y%m%d}-{app_id[:4]}", "township_code": QS,
        "station_code": STATION, "village_code": village, "item_code": item, "item_name": "建房审批",
        "item_kind": "promised", "handling_level": "township", "promised_days": days, "required_materials": [],
        "materials_provided": [], "channel": "station", "session_id": None, "visit_id": None,
        "accountable_staff_id": AGENT.staff_id, "filed_at": filed_at.isoformat(),
        "completed_on_the_spot": on_the_spot, "contact_check": "0" * 64})
    return app_id


def act(db, caller, app_id, action, when, **extra):
    return actions.act(db.unit_of_work(), caller=caller, ref=app_id, cmd=c.CaseAction(action=action, **extra), now=when)


def sweep_on(db, when):
    return sweep.sweep(db.unit_of_work(), now=when)


def count(db, model, **where):
    with db.sessions() as session:
        stmt = select(func.count()).select_from(model)
        for column, value in where.items():
            stmt = stmt.where(getattr(model, column) == value)
        return session.execute(stmt).scalar_one()


def outbox(db):
    table = db.metadata.tables["outbox"]
    with db.sessions() as session:
        return [r.body for r in session.execute(select(table.c.body).order_by(table.c.id))]


def test_a_filing_opens_a_case_with_the_items_workflow_and_waits_for_acceptance(approvals, approvals_db):
    app = file(approvals)
    case = approvals(COMMITTEE).get_case(ref=app)
    assert case["status"] == "pending_acceptance" and case["step_name"] == "village_review"
    assert case["overall_due"] == "2026-03-04"  # hand-worked in tests/unit/test_working_days.py
    assert [c["application_id"] for c in approvals(COMMITTEE).inbox()["items"]] == [app]
    assert approvals(DEPARTMENT).inbox()["items"] == []  # not the township's turn yet
    file(approvals, app_id="b" * 32, on_the_spot=True)  # 即办件 done at intake: nothing to approve
    assert count(approvals_db, orm.CaseRow) == 1


def test_the_whole_way_with_a_supplement_across_the_spring_festival(approvals, approvals_db):
    app = file(approvals)
    act(approvals_db, COMMITTEE, app, "accept", at(2026, 2, 12))
    act(approvals_db, COMMITTEE, app, "approve", at(2026, 2, 24))
    act(approvals_db, DEPARTMENT, app, "request_supplement", at(2026, 2, 25), materials=["户口簿"])
    paused = approvals(DEPARTMENT).get_case(ref=app)
    assert paused["paused"] and paused["overall_due"] is None
    waiting, = approvals(DEPARTMENT).inbox()["items"]  # still in the step's inbox, to record the materials
    assert (waiting["paused"], waiting["working_days_left"], waiting["allowed_actions"]) == (
        True, None, ["supplement_received"])
    assert (paused["paused_on"], paused["awaiting_materials"]) == ("2026-02-25", ["户口簿"])  # why, by name
    act(approvals_db, AGENT, app, "supplement_received", at(2026, 2, 27))
    resumed = approvals(DEPARTMENT).get_case(ref=app)
    assert (resumed["overall_due"], resumed["step_due"]) == ("2026-03-09", "2026-03-05")
    assert (resumed["paused"], resumed["paused_on"], resumed["awaiting_materials"]) == (False, None, [])
    act(approvals_db, SUPERVISOR, app, "approve", at(2026, 3, 3))
    act(approvals_db, SUPERVISOR, app, "complete", at(2026, 3, 3))
    done = act(approvals_db, AGENT, app, "deliver", at(2026, 3, 4))
    assert done.status == "delivered" and done.outcome == "approved"
    assert [(a.action, a.actor_staff_id) for a in done.audit] == [
        ("accept", 11), ("approve", 11), ("request_supplement", 21), ("supplement_received", 6),
        ("approve", 31), ("complete", 31), ("deliver", 6)]
    assert done.audit[1].step_days_used == 3 and done.audit[1].details == {"to_step": "township_review"}
    stages = [e["payload"]["stage"] for e in outbox(approvals_db) if e["type"] == "application_progressed"]
    assert stages == ["accepted", "step_changed", "supplement_requested", "supplement_received", "step_changed",
                      "completed", "result_delivered"]
    assert count(approvals_db, orm.DeadlineRow, overdue_at=None) == 0  # a closed case leaves nothing to sweep


def test_illegal_and_foreign_actions_are_refused_and_leave_no_trace(approvals, approvals_db):
    app = file(approvals)
    with pytest.raises(Conflict):
        act(approvals_db, COMMITTEE, app, "approve", at(2026, 2, 12))
    with pytest.raises(Forbidden):
        act(approvals_db, DEPARTMENT, app, "accept", at(2026, 2, 12))
    with pytest.raises(NotFound):
        act(approvals_db, LX_SUPERVISOR, app, "accept", at(2026, 2, 12))
    assert count(approvals_db, orm.AuditRow) == 0
    assert [e["type"] for e in outbox(approvals_db)] == ["application_clock_changed"]  # the case's opening only


def test_an_action_with_an_idempotency_key_is_taken_once_however_often_it_comes(approvals, approvals_db):
    """A station's retry, or the broker handing the call out again after approvals died before answering,
    gets the case back instead of 409 illegal_action; the key with another request is refused."""
    app = file(approvals)
    first = approvals(COMMITTEE).act(ref=app, action={"action": "accept"}, idempotency_key="k-accept")
    again = approvals(COMMITTEE).act(ref=app, action={"action": "accept"}, idempotency_key="k-accept")
    assert first["status"] == again["status"] == "in_review"
    assert [a["action"] for a in again["audit"]] == ["accept"]
    assert [e["payload"]["stage"] for e in outbox(approvals_db) if e["type"] == "application_progressed"] == \
        ["accepted"]
    with pytest.raises(Conflict) as reused:  # the same key for another action
        approvals(COMMITTEE).act(ref=app, action={"action": "approve"}, idempotency_key="k-accept")
    assert reused.value.code == "idempotency_key_reused"
    with pytest.raises(Conflict) as illegal:  # without a key, a second accept is what it says
        approvals(COMMITTEE).act(ref=app, action={"action": "accept"})
    assert illegal.value.code == "illegal_action"
    assert count(approvals_db, orm.IdempotencyKey) == 1 and count(approvals_db, orm.AuditRow) == 1


def test_the_sweep_warns_then_supervises_once_and_blames_who_held_the_step(approvals, approvals_db):
    app = file(approvals)
    act(approvals_db, COMMITTEE, app, "accept", at(2026, 2, 12))
    act(approvals_db, COMMITTEE, app, "claim", at(2026, 2, 13))
    # village step: 5 days from 12 Feb = 13, 14, 24, 25, 26 Feb; 75% = the 4th day, Wed 25 Feb
    assert sweep_on(approvals_db, at(2026, 2, 24)) == (0, 0)
    assert sweep_on(approvals_db, at(2026, 2, 25)) == (1, 0)
    assert sweep_on(approvals_db, at(2026, 2, 25, 9)) == (0, 0)  # a second run the same day: nothing new
    assert sweep_on(approvals_db, at(2026, 2, 26)) == (0, 0)  # the last day is still in time
    # overall: 10 days → 4 Mar, warned on the 8th counted day, 2 Mar; the village step is overdue on 27 Feb
    warned, noticed = sweep_on(approvals_db, at(2026, 2, 27))
    assert (warned, noticed) == (0, 1)
    records = approvals(SUPERVISOR).notices(kind="accountability")
    assert [(r["deadline_kind"], r["step_name"], r["responsible_staff_id"]) for r in records] == \
        [("step", "village_review", COMMITTEE.staff_id)]
    assert approvals(SUPERVISOR).notices(kind="supervision")[0]["accountable_staff_id"] == AGENT.staff_id
    assert sweep_on(approvals_db, at(2026, 2, 27, 9)) == (0, 0)  # restarts or reruns never double a notice
    events = [e["type"] for e in outbox(approvals_db)]
    assert events.count("supervision_notice_issued") == 1 and events.count("accountability_recorded") == 1
    assert approvals(COMMITTEE).notices(kind="accountability")[0]["responsible_staff_id"] == COMMITTEE.staff_id
    assert approvals(DEPARTMENT).notices(kind="accountability") == []  # not theirs, not a supervisor
    county = approvals(Caller(staff_id=1, role=Role.COUNTY_ADMIN, township_code=None, county_code="431099"))
    assert [r["receipt_no"] for r in county.notices(kind="accountability", township_code=QS)] == \
        [r["receipt_no"] for r in records]  # the county chooses a township
    assert county.notices(kind="accountability", township_code="431099102") == []
    assert approvals(LX_SUPERVISOR).notices(kind="accountability", township_code=QS) == []  # never another's


def test_a_supervision_notice_closes_when_its_case_moves_on_and_the_list_shows_open_ones(approvals,
                                                                                         approvals_db):
    """督办 is open while the late limit runs: the step approved (the case moves on) closes it; the list shows
    open notices when asked (`open_only`), every one with its state otherwise; 责任追究 stays on record."""
    app = file(approvals)
    act(approvals_db, COMMITTEE, app, "accept", at(2026, 2, 12))
    act(approvals_db, COMMITTEE, app, "claim", at(2026, 2, 13))
    assert sweep_on(approvals_db, at(2026, 2, 27))[1] == 1  # the village step is late
    notice, = approvals(SUPERVISOR).notices(kind="supervision", open_only=True)
    assert notice["closed_at"] is None and notice["step_name"] == "village_review"
    act(approvals_db, COMMITTEE, app, "approve", at(2026, 2, 28))  # the step is done: the case moves on
    assert approvals(SUPERVISOR).notices(kind="supervision", open_only=True) == []
    closed, = approvals(SUPERVISOR).notices(kind="supervision")
    assert closed["id"] == notice["id"] and closed["closed_at"].startswith("2026-02-28")
    record, = approvals(SUPERVISOR).notices(kind="accountability")
    assert record["closed_at"] is None  # a record of who was late, not something to close
    county = approvals(Caller(staff_id=1, role=Role.COUNTY_ADMIN, township_code=None, county_code="431099"))
    assert county.notices(kind="supervision", township_code=QS, open_only=True) == []


def test_an_extension_moves_the_overall_deadline(approvals, approvals_db):
    app = file(approvals, days=10)
    act(approvals_db, COMMITTEE, app, "accept", at(2026, 2, 12))
    extended = act(approvals_db, SUPERVISOR, app, "extend", at(2026, 2, 13), days=3, reason="需要联合踏勘")
    assert extended.overall_due == date(2026, 3, 9)  # 5, 6, 9 March after 4 March


def test_a_calendar_change_moves_open_deadlines_at_the_next_sweep(approvals, approvals_db):
    app = file(approvals, filed_at=at(2026, 11, 26), days=5)
    act(approvals_db, COMMITTEE, app, "accept", at(2026, 11, 26))
    assert approvals(COMMITTEE).get_case(ref=app)["overall_due"] == "2026-12-03"  # 27, 30, 1, 2, 3
    approvals.deliver("directory", "calendar_changed", {"county_code": "431099", "day": "2026-12-01",
                                                        "kind": "local_day_off", "name": "县庆", "source": "local"})
    sweep_on(approvals_db, at(2026, 11, 27))
    assert approvals(COMMITTEE).get_case(ref=app)["overall_due"] == "2026-12-04"


def test_another_countys_day_off_moves_none_of_this_countys_deadlines(approvals, approvals_db):
    app = file(approvals, filed_at=at(2026, 11, 26), days=5)
    act(approvals_db, COMMITTEE, app, "accept", at(2026, 11, 26))
    approvals.deliver("directory", "calendar_changed", {"county_code": "431121", "day": "2026-12-01",
                                                        "kind": "local_day_off", "name": "祁阳县庆", "source": "local"})
    sweep_on(approvals_db, at(2026, 11, 27))
    assert approvals(COMMITTEE).get_case(ref=app)["overall_due"] == "2026-12-03"  # 祁阳's day off is not ours
    other_county = approvals(Caller(staff_id=1, role=Role.COUNTY_ADMIN, county_code="431121"))
    assert other_county.counts() == {}  # and 祁阳's admin counts none of our cases
    with pytest.raises(NotFound):
        other_county.get_case(ref=app)


def test_a_calendar_day_announced_again_as_it_is_moves_nothing(approvals, approvals_db):
    """The directory announces its calendar again at every `cunban up`: a day that is already so is not a
    change, so it does not set every open case to be re-derived."""
    def changes() -> int:
        with approvals_db.sessions() as session:
            return session.get(orm.CalendarState, 1).changed

    before = changes()
    for day, kind in SPRING_FESTIVAL:
        approvals.deliver("directory", "calendar_changed", {"county_code": "431099", "day": day.isoformat(),
                                                            "kind": kind, "name": "春节", "source": "official"})
    assert changes() == before
    approvals.deliver("directory", "calendar_changed", {"county_code": "431099", "day": "2026-12-01",
                                                        "kind": "local_day_off", "name": "县庆", "source": "local"})
    assert changes() == before + 1


def test_counts_and_gauges_per_township(approvals, approvals_db):
    file(approvals, app_id="c" * 32)
    late = file(approvals, app_id="d" * 32)
    act(approvals_db, COMMITTEE, late, "accept", at(2026, 2, 12))
    assert approvals(SUPERVISOR).counts() == {"pending_acceptance": 1, "in_review": 1}
    sweep.update_gauges(approvals_db.unit_of_work(), now=at(2026, 3, 10))
    assert metrics.applications_open.labels(QS)._value.get() == 2
    assert metrics.applications_overdue.labels(QS)._value.get() == 2
    with pytest.raises(NotFound):
        approvals(SUPERVISOR).counts(township_code="431099102")


def test_a_closed_step_names_who_held_it_and_its_due_day_for_evaluation(approvals, approvals_db):
    app = file(approvals)
    act(approvals_db, COMMITTEE, app, "accept", at(2026, 2, 12))
    act(approvals_db, COMMITTEE, app, "claim", at(2026, 2, 13))
    act(approvals_db, COMMITTEE, app, "approve", at(2026, 2, 27))  # the village step was due on 26 Feb
    act(approvals_db, DEPARTMENT, app, "approve", at(2026, 3, 2))  # nobody claimed it: the actor held it
    steps = [(p["handled_step"], p["handled_step_due"], p["step_holder_staff_id"])
             for e in outbox(approvals_db) if e["type"] == "application_progressed"
             for p in (e["payload"],) if p["stage"] == "step_changed"]
    assert steps == [("village_review", "2026-02-26", COMMITTEE.staff_id),
                     ("township_review", "2026-03-05", DEPARTMENT.staff_id)]  # 28 Feb is worked (调休)
    accepted = next(e["payload"] for e in outbox(approvals_db) if e["payload"].get("stage") == "accepted")
    assert accepted["handled_step"] is None and accepted["step_holder_staff_id"] is None


def test_a_case_put_into_a_step_says_who_acts_there_for_the_new_case_notice(approvals, approvals_db):
    app = file(approvals)
    act(approvals_db, COMMITTEE, app, "accept", at(2026, 2, 12))
    act(approvals_db, COMMITTEE, app, "approve", at(2026, 2, 13))
    act(approvals_db, DEPARTMENT, app, "request_supplement", at(2026, 2, 16), materials=["户口簿"])
    act(approvals_db, DEPARTMENT, app, "supplement_received", at(2026, 2, 17))  # back in its step: not new work
    waiting = [e["payload"] for e in outbox(approvals_db) if e["type"] == "case_waiting"]
    assert [(w["step_name"], w["step_level"], w["actor_staff_id"]) for w in waiting] == [
        ("village_review", "village", COMMITTEE.staff_id), ("township_review", "township", COMMITTEE.staff_id)]
    assert "village_committee" in waiting[0]["step_roles"] and DEPARTMENT.role.value in waiting[1]["step_roles"]
    assert all(w["promised_deadline"] for w in waiting)


def clocks(db):
    return [e["payload"] for e in outbox(db) if e["type"] == "application_clock_changed"]


def test_the_promised_deadline_is_announced_from_the_filing_through_a_pause_to_a_late_close(approvals, approvals_db):
    """The clock starts at filing: intake hears of the deadline before anyone accepts; a 补正 stops it and
    says for what; the materials start it again with a later deadline; 办结 after it says how late."""
    app = file(approvals)  # Thu 12 Feb, 10 working days: Wed 4 Mar
    opened, = clocks(approvals_db)
    assert (opened["seq"], opened["promised_deadline"], opened["paused_on"]) == (1, "2026-03-04", None)
    act(approvals_db, COMMITTEE, app, "accept", at(2026, 2, 12))
    act(approvals_db, COMMITTEE, app, "approve", at(2026, 2, 24))  # the same clock: nothing new to say
    assert len(clocks(approvals_db)) == 2
    act(approvals_db, DEPARTMENT, app, "request_supplement", at(2026, 2, 25), materials=["户口簿复印件"])
    paused = clocks(approvals_db)[-1]
    assert (paused["promised_deadline"], paused["paused_on"], paused["awaiting_materials"]) == \
        (None, "2026-02-25", ["户口簿复印件"])
    act(approvals_db, AGENT, app, "supplement_received", at(2026, 2, 27))
    resumed = clocks(approvals_db)[-1]
    assert (resumed["promised_deadline"], resumed["paused_on"], resumed["awaiting_materials"]) == \
        ("2026-03-09", None, [])
    act(approvals_db, SUPERVISOR, app, "approve", at(2026, 3, 10))
    act(approvals_db, SUPERVISOR, app, "complete", at(2026, 3, 11))  # 10 and 11 March: two working days late
    closed = clocks(approvals_db)[-1]
    assert (closed["promised_deadline"], closed["days_late"]) == ("2026-03-09", 2)
    act(approvals_db, AGENT, app, "deliver", at(2026, 3, 12))
    seqs = [p["seq"] for p in clocks(approvals_db)]
    assert seqs == list(range(1, len(seqs) + 1))
    completed = [e["payload"] for e in outbox(approvals_db)
                 if e["type"] == "application_progressed" and e["payload"]["stage"] == "completed"]
    assert completed[0]["promised_deadline"] == "2026-03-09"  # the deadline it was completed against


def test_a_filing_that_carries_the_same_deadline_needs_no_opening_clock(approvals, approvals_db):
    """Intake counted the receipt's deadline on the same calendar: approvals says nothing at the opening,
    and its first change is numbered after the filing's (intake keeps the highest); a filing whose count
    differs (its calendar copy behind approvals') is set right at once, as one without a deadline is."""
    app = file(approvals, promised_deadline="2026-03-04")  # Thu 12 Feb, 10 working days
    assert clocks(approvals_db) == []
    act(approvals_db, COMMITTEE, app, "request_supplement", at(2026, 2, 13), materials=["户口簿"])
    paused, = clocks(approvals_db)
    assert (paused["seq"], paused["promised_deadline"], paused["paused_on"]) == (2, None, "2026-02-13")
    file(approvals, app_id="b" * 32, promised_deadline="2026-03-03")  # a day off intake did not know of yet
    opened = clocks(approvals_db)[-1]
    assert (opened["application_id"], opened["seq"], opened["promised_deadline"]) == ("b" * 32, 1, "2026-03-04")


def test_a_calendar_change_announces_the_moved_deadline(approvals, approvals_db):
    file(approvals, filed_at=at(2026, 11, 26), days=5)  # 27, 30, 1, 2, 3 Dec
    approvals.deliver("directory", "calendar_changed", {"county_code": "431099", "day": "2026-12-01",
                                                        "kind": "local_day_off", "name": "县庆", "source": "local"})
    sweep_on(approvals_db, at(2026, 11, 27))
    assert [p["promised_deadline"] for p in clocks(approvals_db)] == ["2026-12-03", "2026-12-04"]


def staff(approvals, staff_id, role, township=QS, active=True):
    approvals.deliver("directory", "staff_changed", {
        "id": staff_id, "username": f"u{staff_id}", "full_name": "某某", "role": role, "township_code": township,
        "station_code": None, "phone": None, "active": active, "version": 1})


def test_a_late_step_nobody_claimed_is_answered_for_by_the_townships_supervisor(approvals, approvals_db):
    """责任追究 always names a person: nobody claimed the step, so the township's supervisor who should have
    seen it assigned answers for it (the longest on record of those active); the record says why."""
    staff(approvals, 29, "supervisor", active=False)  # left: not them
    staff(approvals, 35, "supervisor")
    staff(approvals, SUPERVISOR.staff_id, "supervisor")
    staff(approvals, 28, "supervisor", township="431099102")  # another township's
    staff(approvals, 27, "township_cadre")
    app = file(approvals)  # never accepted: the whole item's 10 days run from 12 Feb all the same
    sweep_on(approvals_db, at(2026, 3, 5))  # they ended on 4 Mar
    record, = approvals(SUPERVISOR).notices(kind="accountability")
    assert (record["application_id"], record["responsible_staff_id"], record["responsible_basis"]) == \
        (app, SUPERVISOR.staff_id, "supervisor")
    events = [e["payload"] for e in outbox(approvals_db)
              if e["type"] in ("accountability_recorded", "supervision_notice_issued")]
    assert [(p["responsible_staff_id"], p["responsible_basis"]) for p in events] == [(31, "supervisor")] * 2


def test_with_no_supervisor_on_record_the_first_contact_answers_and_a_claim_still_comes_first(approvals, approvals_db):
    unclaimed, claimed = file(approvals), file(approvals, app_id="e" * 32)
    act(approvals_db, COMMITTEE, claimed, "accept", at(2026, 2, 12))
    act(approvals_db, COMMITTEE, claimed, "claim", at(2026, 2, 13))
    sweep_on(approvals_db, at(2026, 3, 5))
    records = {r["application_id"]: (r["responsible_staff_id"], r["responsible_basis"])
               for r in approvals(SUPERVISOR).notices(kind="accountability")}
    assert records == {unclaimed: (AGENT.staff_id, "first_contact"), claimed: (COMMITTEE.staff_id, "claimed")}
    assert all(e["payload"]["responsible_staff_id"] is not None for e in outbox(approvals_db)
               if e["type"] in ("approval_warning", "supervision_notice_issued", "accountability_recorded"))


def test_open_cases_never_announced_announce_their_clock_at_the_next_sweep_after_the_upgrade(approvals, approvals_db):
    """Cases opened before approvals announced clocks (clock_seq 0): migration 0004 marks the calendar
    changed, so the next sweep re-derives open cases, and each tells intake its deadline once."""
    app = file(approvals)
    closed = file(approvals, app_id="f" * 32)
    act(approvals_db, COMMITTEE, closed, "refuse", at(2026, 2, 12), reason="不属于受理范围")
    with approvals_db.sessions() as session:  # as an installation before the upgrade left them
        session.execute(update(orm.CaseRow).values(clock_seq=0))
        session.execute(delete(approvals_db.metadata.tables["outbox"]))
        session.execute(update(orm.CalendarState).values(changed=orm.CalendarState.changed + 1))
        session.commit()
    sweep_on(approvals_db, at(2026, 2, 13))
    assert [(p["application_id"], p["seq"], p["promised_deadline"]) for p in clocks(approvals_db)] == \
        [(app, 1, "2026-03-04")]
    sweep_on(approvals_db, at(2026, 2, 13, 9))
    assert len(clocks(approvals_db)) == 1  # once


# ---- 待办: the inbox by time left, in working days ---------------------------------------------------------

def inbox(db, caller=CADRE, when=at(2026, 3, 16), **query):
    return reading.inbox(db.unit_of_work(), caller=caller, query=c.InboxQuery(**query), now=when)


def test_the_inbox_puts_overdue_then_warned_then_the_rest_and_says_the_working_days_left(approvals, approvals_db):
    """On Monday 16 March 2026 (dates by hand, weekends off): one item's limit passed a week ago, one is past
    its warning day (75 % used) though due after a third that is not, and one waits for 补正."""
    late = file(approvals, "a" * 32, at(2026, 3, 2), item="DB-001", days=5)  # due Mon 9 Mar
    warned = file(approvals, "b" * 32, at(2026, 3, 2), item="DB-001", days=12)  # warn Fri 13, due Wed 18 Mar
    calm = file(approvals, "c" * 32, at(2026, 3, 13), item="DB-002", days=2)  # warn and due Tue 17 Mar
    paused = file(approvals, "d" * 32, at(2026, 3, 13), item="DB-001", days=2, village=f"{QS}002")
    act(approvals_db, CADRE, paused, "request_supplement", at(2026, 3, 16), materials=["户口簿"])
    page = inbox(approvals_db)
    assert [v.application_id for v in page.items] == [late, warned, calm, paused]
    assert [(v.working_days_left, v.warned, v.overdue) for v in page.items] == [
        (-5, False, True), (2, True, False), (1, False, False), (None, False, False)]
    assert (page.items[1].warn_on, page.items[2].warn_on) == (date(2026, 3, 13), date(2026, 3, 17))
    assert page.counts == {"overdue": 1, "warned": 1, "on_time": 1, "no_clock": 1} and page.next_cursor is None
    assert page.items[0].allowed_actions == ["accept", "refuse", "request_supplement"]  # no 延期: a supervisor's
    assert page.items[3].allowed_actions == ["supplement_received"] and page.items[0].village_code == f"{QS}001"
    assert inbox(approvals_db, caller=SUPERVISOR).items[0].allowed_actions == [
        "accept", "refuse", "request_supplement", "extend"]

    first = inbox(approvals_db, limit=3)  # keyset pages: the rest after the last one shown, none twice
    second = inbox(approvals_db, limit=3, cursor=first.next_cursor)
    assert [v.application_id for v in first.items + second.items] == [late, warned, calm, paused]
    assert second.next_cursor is None and second.counts == page.counts  # counts are of the whole inbox

    assert [v.application_id for v in inbox(approvals_db, status="awaiting_supplement").items] == [paused]
    assert [v.application_id for v in inbox(approvals_db, item_code="DB-002").items] == [calm]
    by_village = inbox(approvals_db, village_code=f"{QS}002")
    assert [v.application_id for v in by_village.items] == [paused]
    assert by_village.counts == {"overdue": 0, "warned": 0, "on_time": 0, "no_clock": 1}
    assert inbox(approvals_db, caller=LX_SUPERVISOR).items == []  # another township's staff: nothing
    with pytest.raises(ValidationFailed) as refused:
        inbox(approvals_db, cursor="bm90LW91cnM=")
    assert refused.value.code == "cursor_invalid"


def test_a_case_says_what_each_person_may_do_now_and_the_result_of_completion_travels(approvals, approvals_db):
    app = file(approvals, item="DB-001", filed_at=at(2026, 3, 2))
    assert approvals(CADRE).get_case(ref=app)["allowed_actions"] == ["accept", "refuse", "request_supplement"]
    assert approvals(AGENT).get_case(ref=app)["allowed_actions"] == []  # the station files; the township decides
    act(approvals_db, CADRE, app, "accept", at(2026, 3, 2))
    # one step only: nothing to return to; claimed by me, not claimed again
    assert approvals(CADRE).get_case(ref=app)["allowed_actions"] == ["claim", "approve", "request_supplement", "deny"]
    act(approvals_db, CADRE, app, "claim", at(2026, 3, 3))
    assert "claim" not in approvals(CADRE).get_case(ref=app)["allowed_actions"]
    act(approvals_db, CADRE, app, "approve", at(2026, 3, 3))
    assert approvals(CADRE).get_case(ref=app)["allowed_actions"] == ["complete"]
    act(approvals_db, CADRE, app, "complete", at(2026, 3, 4), reason="准予，已发证")
    completed = [e["payload"] for e in outbox(approvals_db) if e["type"] == "application_progressed"][-1]
    assert (completed["stage"], completed["outcome"], completed["reason"]) == ("completed", "approved", "准予，已发证")
    assert approvals(CADRE).get_case(ref=app)["allowed_actions"] == ["deliver"]
