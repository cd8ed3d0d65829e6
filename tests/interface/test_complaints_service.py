"""Complaints on a real database fed by the directory's events: the lifecycle from hotline to call-back,
退单, a reopen cycle with a fresh clock, anonymous complaints and the public look-up, a complaint about
staff (the accused never handles it nor sees who complained; the finding comes from outside their
unit), early warning, the 督办 sweep, and the county's limits."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from nameko.testing.services import worker_factory

from services.complaints.adapters import orm
from services.complaints.service import ComplaintsService
from services.complaints.service_layer import actions, alerts, county_settings, reading, registration, stages
from shared.clock import utcnow
from shared.contracts import complaints as c
from shared.contracts.base import parse
from shared.contracts.caller import Caller, Role
from shared.contracts.envelope import EventEnvelope
from shared.errors import Conflict, Forbidden, NotFound, TooManyAttempts, ValidationFailed
from shared.pii import PersonalDataVault
from shared.service import WorkerCaller
from shared.settings import DEVELOPMENT_PII_KEY
from tests.interface.scheduling_support import outbox_events

QS, LX = "431099101", "431099102"
AGENT = Caller(staff_id=6, role=Role.VILLAGE_AGENT, township_code=QS, station_code=f"ST{QS}001")
CADRE3 = Caller(staff_id=3, role=Role.TOWNSHIP_CADRE, township_code=QS)
CADRE4 = Caller(staff_id=4, role=Role.TOWNSHIP_CADRE, township_code=QS)
SUPERVISOR = Caller(staff_id=31, role=Role.SUPERVISOR, township_code=QS)
LX_SUPERVISOR = Caller(staff_id=41, role=Role.SUPERVISOR, township_code=LX)
ADMIN = Caller(staff_id=1, role=Role.COUNTY_ADMIN, county_code="431099")
SYSADMIN = Caller(staff_id=9, role=Role.SYSTEM_ADMIN)
VAULT = PersonalDataVault(DEVELOPMENT_PII_KEY)
HOTLINE = {"kind": "dispute", "network": "mediation", "category": "land", "channel": "hotline",
           "village_code": f"{QS}002", "description": "宅基地边界纠纷，邻居占用通道",
           "complainant": {"name": "王五", "phone": "13712345678"}}


@pytest.fixture
def complaints_db(migrated_db):
    return migrated_db("complaints", orm.Base.metadata)


@pytest.fixture
def complaints(complaints_db):
    def as_caller(caller: Caller) -> ComplaintsService:
        return worker_factory(ComplaintsService, db=complaints_db.unit_of_work(), caller=WorkerCaller(caller),
                              vault=VAULT)

    def deliver(type_, payload):
        envelope = EventEnvelope(source="directory", type=type_, occurred_at=utcnow(), payload=payload)
        getattr(as_caller(Caller.system()), f"on_{type_}")(envelope.model_dump(mode="json"))

    for staff_id, role, township, station in [(3, "township_cadre", QS, None), (4, "township_cadre", QS, None),
                                              (5, "department_staff", QS, None), (6, "village_agent", QS, f"ST{QS}001"),
                                              (31, "supervisor", QS, None), (41, "supervisor", LX, None)]:
        deliver("staff_changed", {"id": staff_id, "township_code": township, "station_code": station, "role": role,
                                  "active": True, "version": 1})
    for code, township in ((f"{QS}001", QS), (f"{QS}002", QS), (f"{LX}001", LX)):
        deliver("village_changed", {"code": code, "township_code": township, "name": "村", "version": 1})
    return as_caller


NOW = datetime(2026, 12, 1, 2, tzinfo=UTC)  # Tuesday 1 December, 10:00 in China


def run(db, handler, **kwargs):
    uow = db.unit_of_work()
    try:
        return handler(uow, **kwargs)
    finally:
        uow.close()


def _register(db, complaint=None, caller=AGENT, now=NOW):
    return run(db, registration.register, caller=caller, cmd=parse(c.ComplaintRegister, complaint or HOTLINE),
               vault=VAULT, now=now)


def _act(db, caller, ref, now=NOW, **action):
    return run(db, actions.act, caller=caller, ref=ref, cmd=parse(c.ComplaintAction, action), vault=VAULT, now=now)


def test_from_the_hotline_to_a_resolved_call_back(complaints, complaints_db):
    registered = _register(complaints_db)
    complaint = registered.complaint
    assert complaint.receipt_no == f"{QS}-TS20261201-0001" and registered.lookup_code is None
    assert (complaint.status, complaint.stage, complaint.stage_due) == ("registered", "assign", date(2026, 12, 2))
    ref = complaint.receipt_no
    assert _act(complaints_db, SUPERVISOR, ref, action="assign", staff_id=3).stage_due == date(2026, 12, 2)
    signed = _act(complaints_db, CADRE3, ref, action="sign")
    assert (signed.status, signed.stage, signed.stage_due) == ("signed", "reply", date(2027, 1, 12))  # 30 working days
    _act(complaints_db, CADRE3, ref, action="mediate", note="村委会主持调解", parties=["王五", "李六"], agreement=True)
    replied = _act(complaints_db, CADRE3, ref, action="reply", note="双方达成协议，通道恢复")
    assert (replied.status, replied.stage) == ("replied", "call_back")
    with pytest.raises(Forbidden):  # the handler does not call back on their own work
        _act(complaints_db, CADRE3, ref, action="call_back", rating=5, resolved=True)
    closed = _act(complaints_db, SUPERVISOR, ref, action="call_back", rating=4, resolved=True)
    assert (closed.status, closed.rating, closed.stage, closed.closed_at) == ("closed_resolved", 4, None, NOW)
    assert [e.action for e in closed.history] == ["register", "assign", "sign", "mediate", "reply", "call_back"]
    assert closed.history[3].details == {"parties": ["王五", "李六"], "agreement": True}
    progressed = outbox_events(complaints_db, "complaint_progressed")
    assert [e["to_status"] for e in progressed] == ["assigned", "signed", "handling", "replied", "closed_resolved"]
    assert progressed[3]["on_time"] is True
    [filed] = outbox_events(complaints_db, "complaint_registered")
    assert "王五" not in str(filed) and "13712345678" not in str(filed)


def test_a_send_back_returns_it_for_reassignment(complaints, complaints_db):
    ref = _register(complaints_db).complaint.id
    _act(complaints_db, SUPERVISOR, ref, action="assign", staff_id=3)
    with pytest.raises(Forbidden):
        _act(complaints_db, CADRE4, ref, action="sign")  # not theirs
    with pytest.raises(ValidationFailed):
        _act(complaints_db, CADRE3, ref, action="send_back")  # a reason is required
    back = _act(complaints_db, CADRE3, ref, action="send_back", reason="属司法所职责")
    assert (back.status, back.handler_staff_id, back.stage) == ("registered", None, "assign")
    assert _act(complaints_db, SUPERVISOR, ref, action="assign", staff_id=5).handler_staff_id == 5
    with pytest.raises(Forbidden):
        _act(complaints_db, CADRE3, ref, action="assign", staff_id=4)  # cadres do not dispatch
    with pytest.raises(ValidationFailed) as not_handler:
        _act(complaints_db, SUPERVISOR, ref, action="assign", staff_id=6)  # a village agent
    assert not_handler.value.code == "not_a_handler"


def test_a_reopen_cycle_starts_the_clock_again(complaints, complaints_db):
    ref = _register(complaints_db, {**HOTLINE, "kind": "petition", "network": "petitions"}).complaint.id
    _act(complaints_db, SUPERVISOR, ref, action="assign", staff_id=3)
    _act(complaints_db, CADRE3, ref, action="sign")
    _act(complaints_db, CADRE3, ref, action="reply", note="已答复")
    unresolved = _act(complaints_db, SUPERVISOR, ref, action="call_back", rating=2, resolved=False)
    assert unresolved.status == "closed_unresolved"  # honestly not fixed
    later = NOW + timedelta(days=14)
    with pytest.raises(ValidationFailed):
        _act(complaints_db, SUPERVISOR, ref, now=later, action="reopen")
    reopened = _act(complaints_db, SUPERVISOR, ref, now=later, action="reopen", reason="回访不满意，问题依旧")
    assert (reopened.status, reopened.stage, reopened.reopen_count, reopened.rating) == ("handling", "reply", 1, None)
    assert reopened.stage_due > date(2026, 12, 15) + timedelta(days=60)  # 60 working days from the reopening
    _act(complaints_db, CADRE3, ref, now=later, action="reply", note="重新办理完毕")
    assert _act(complaints_db, CADRE4, ref, now=later, action="call_back", rating=5,
                resolved=True).status == "closed_resolved"


def test_an_anonymous_complaint_is_followed_with_its_look_up_code_only(complaints, complaints_db):
    registered = _register(complaints_db, {**HOTLINE, "complainant": None})
    code, receipt = registered.lookup_code, registered.complaint.receipt_no
    assert len(code) == 8 and registered.complaint.anonymous and registered.complaint.complainant_name is None
    lookup = {"receipt_no": receipt, "client": "10.0.0.9"}
    progress = run(complaints_db, reading.public_progress, vault=VAULT, now=NOW,
                   lookup=c.PublicComplaintLookup(**lookup, secret=code.lower()))
    assert progress.status == "registered" and progress.reply is None
    for _ in range(5):
        with pytest.raises(NotFound):
            run(complaints_db, reading.public_progress, vault=VAULT, now=NOW,
                lookup=c.PublicComplaintLookup(**lookup, secret="WRONGCODE"))
    with pytest.raises(TooManyAttempts):
        run(complaints_db, reading.public_progress, vault=VAULT, now=NOW, lookup=c.PublicComplaintLookup(**lookup,
                                                                                                    secret=code))


def test_a_named_complaint_is_looked_up_with_the_phone_and_shows_the_reply(complaints, complaints_db):
    ref = _register(complaints_db).complaint.receipt_no
    _act(complaints_db, SUPERVISOR, ref, action="assign", staff_id=3)
    _act(complaints_db, CADRE3, ref, action="sign")
    _act(complaints_db, CADRE3, ref, action="reply", note="已协调解决")
    progress = run(complaints_db, reading.public_progress, vault=VAULT, now=NOW, lookup=c.PublicComplaintLookup(
        receipt_no=ref, secret="5678", client="10.0.0.8"))
    assert progress.reply == "已协调解决"
    assert [s for s, _ in progress.stages] == ["registered", "assigned", "signed", "replied"]
    assert "王五" not in progress.model_dump_json()


def test_a_complaint_about_staff_is_kept_from_the_accused(complaints, complaints_db):
    about_cadre = {**HOTLINE, "kind": "staff_conduct", "network": "services", "category": "staff_conduct",
                   "description": "办事推诿，三次未办", "accused_staff_id": 4}
    ref = _register(complaints_db, about_cadre).complaint.id
    with pytest.raises(Forbidden) as err:
        _act(complaints_db, SUPERVISOR, ref, action="assign", staff_id=4)
    assert err.value.code == "accused_cannot_handle"
    seen_by_accused = run(complaints_db, reading.get, caller=CADRE4, ref=ref, vault=VAULT, now=NOW)
    assert (seen_by_accused.complainant_name, seen_by_accused.complainant_phone) == (None, None)
    seen_by_colleague = run(complaints_db, reading.get, caller=Caller(staff_id=5, role=Role.DEPARTMENT_STAFF,
                                                                      township_code=QS), ref=ref, vault=VAULT, now=NOW)
    assert seen_by_colleague.complainant_name == "王*" and seen_by_colleague.complainant_phone == "137****5678"
    listed = run(complaints_db, reading.list_complaints, caller=CADRE4, query=c.ComplaintQuery(), vault=VAULT, now=NOW)
    assert all(x.complainant_name is None for x in listed)
    with pytest.raises(Forbidden) as same_unit:  # the accused's own township's supervisor
        _act(complaints_db, SUPERVISOR, ref, action="finding", finding="substantiated", reason="属实")
    assert same_unit.value.code == "same_unit"
    found = _act(complaints_db, ADMIN, ref, action="finding", finding="substantiated", reason="经核查属实")
    assert found.finding == "substantiated"
    [event] = outbox_events(complaints_db, "complaint_finding_recorded")
    assert (event["accused_staff_id"], event["finding"]) == (4, "substantiated")
    with pytest.raises(Conflict):
        _act(complaints_db, ADMIN, ref, action="finding", finding="partly", reason="改判")


def test_a_station_agent_complained_about_gets_a_finding_from_the_township(complaints, complaints_db):
    about_agent = {**HOTLINE, "kind": "staff_conduct", "network": "services", "category": "staff_conduct",
                   "accused_staff_id": 6}
    ref = _register(complaints_db, about_agent, caller=CADRE3).complaint.id
    assert _act(complaints_db, SUPERVISOR, ref, action="finding", finding="partly",
                reason="态度生硬属实").finding == "partly"
    with pytest.raises(ValidationFailed):
        parse(c.ComplaintRegister, {**about_agent, "accused_staff_id": None})


def test_bad_registrations_are_refused_and_store_nothing(complaints, complaints_db):
    for change, code in [({"village_code": f"{LX}001"}, "village_outside_township"),
                         ({"kind": "staff_conduct", "accused_staff_id": 41}, "unknown_staff"),
                         ({"channel": "visit", "visit_id": "f" * 32}, "unknown_visit")]:
        with pytest.raises(ValidationFailed) as err:
            _register(complaints_db, {**HOTLINE, **change})
        assert err.value.code == code
    with pytest.raises(Forbidden):
        _register(complaints_db, caller=ADMIN)
    with complaints_db.sessions() as session:
        assert session.query(orm.ComplaintRow).count() == 0


def _deliver_stations(complaints):
    for code, township in ((f"ST{QS}001", QS), (f"ST{QS}002", QS), (f"ST{LX}001", LX)):
        envelope = EventEnvelope(source="directory", type="station_changed", occurred_at=utcnow(), payload={
            "code": code, "township_code": township, "village_code": code[2:], "name": "站", "version": 1})
        complaints(Caller.system()).on_station_changed(envelope.model_dump(mode="json"))


@pytest.mark.parametrize("station_code", [f"ST{LX}001", "ST-NO-SUCH"], ids=["another_townships", "unknown"])
def test_a_complaint_names_a_station_of_its_township_or_is_refused(complaints, complaints_db, station_code):
    _deliver_stations(complaints)
    for caller in (AGENT, CADRE3):  # never silently replaced by the filer's own station
        with pytest.raises(ValidationFailed) as err:
            _register(complaints_db, {**HOTLINE, "station_code": station_code}, caller=caller)
        assert err.value.code == "station_outside_township"
        assert err.value.details == [{"field": "station_code", "message": "not a station of your township"}]
    with complaints_db.sessions() as session:
        assert session.query(orm.ComplaintRow).count() == 0


def test_a_complaint_keeps_the_station_it_names(complaints, complaints_db):
    _deliver_stations(complaints)
    named = _register(complaints_db, {**HOTLINE, "station_code": f"ST{QS}002"}, caller=CADRE3).complaint
    assert named.station_code == f"ST{QS}002"
    assert outbox_events(complaints_db, "complaint_registered")[0]["station_code"] == f"ST{QS}002"
    assert _register(complaints_db, caller=AGENT).complaint.station_code == f"ST{QS}001"  # the filer's own


def test_a_station_key_registers_at_its_own_station_only(complaints, complaints_db):
    """A key acts for its station only, as it files applications: naming another station of the township is
    refused (403 outside_station), never kept; the key's own station is kept without naming it."""
    _deliver_stations(complaints)
    key = Caller(staff_id=6, username="station-key-1", role=Role.STATION_CLIENT, township_code=QS,
                 station_code=f"ST{QS}001")
    with pytest.raises(Forbidden) as refused:
        complaints(key).register(complaint={**HOTLINE, "station_code": f"ST{QS}002"})
    assert refused.value.code == "outside_station" and refused.value.details[0]["field"] == "station_code"
    with complaints_db.sessions() as session:
        assert session.query(orm.ComplaintRow).count() == 0
    assert complaints(key).register(complaint=HOTLINE)["complaint"]["station_code"] == f"ST{QS}001"


def test_tenancy_a_township_never_sees_anothers_complaints(complaints, complaints_db):
    ref = _register(complaints_db).complaint.id
    with pytest.raises(NotFound):
        run(complaints_db, reading.get, caller=LX_SUPERVISOR, ref=ref, vault=VAULT, now=NOW)
    with pytest.raises(NotFound):
        _act(complaints_db, LX_SUPERVISOR, ref, action="assign", staff_id=3)
    assert run(complaints_db, reading.list_complaints, caller=LX_SUPERVISOR, query=c.ComplaintQuery(), vault=VAULT,
               now=NOW) == []


def test_the_sweep_warns_and_issues_one_notice_per_late_stage_and_an_extension_moves_the_limit(complaints,
                                                                                               complaints_db):
    ref = _register(complaints_db).complaint.id  # assign within 1 working day: due Wednesday 2 December
    thursday = datetime(2026, 12, 3, 2, tzinfo=UTC)
    assert run(complaints_db, stages.sweep, now=NOW) == (0, 0)
    assert run(complaints_db, stages.sweep, now=thursday) == (0, 1)
    assert run(complaints_db, stages.sweep, now=thursday) == (0, 0)
    [notice] = outbox_events(complaints_db, "complaint_supervision_notice_issued")
    assert (notice["stage"], notice["due_on"]) == ("assign", "2026-12-02")
    assigned = _act(complaints_db, SUPERVISOR, ref, now=thursday, action="assign", staff_id=3)
    assert assigned.stage_due == date(2026, 12, 4) and not assigned.overdue  # a new stage, a new clock
    with pytest.raises(Forbidden):
        _act(complaints_db, CADRE3, ref, now=thursday, action="extend", days=3, reason="需会商")
    extended = _act(complaints_db, SUPERVISOR, ref, now=thursday, action="extend", days=3, reason="需会商")
    assert extended.stage_due == date(2026, 12, 9)  # Friday + 3 working days
    assert run(complaints_db, stages.sweep, now=datetime(2026, 12, 10, 2, tzinfo=UTC)) == (0, 1)
    assert len(outbox_events(complaints_db, "complaint_supervision_notice_issued")) == 2


def test_early_warning_raises_one_alert_for_a_burst_and_lists_the_complaints_behind_it(complaints, complaints_db):
    receipts = [_register(complaints_db, now=NOW + timedelta(days=d)).complaint.receipt_no for d in (0, 2)]
    assert outbox_events(complaints_db, "early_warning_raised") == []
    _register(complaints_db, {**HOTLINE, "village_code": f"{QS}001"}, now=NOW + timedelta(days=3))  # elsewhere
    _register(complaints_db, {**HOTLINE, "category": "water"}, now=NOW + timedelta(days=3))  # another matter
    receipts.append(_register(complaints_db, now=NOW + timedelta(days=4)).complaint.receipt_no)
    [raised] = outbox_events(complaints_db, "early_warning_raised")
    assert (raised["village_code"], raised["category"], raised["rule"], raised["count"]) == (f"{QS}002", "land",
                                                                                             "burst", 3)
    receipts.append(_register(complaints_db, now=NOW + timedelta(days=5)).complaint.receipt_no)
    [alert] = run(complaints_db, alerts.list_alerts, caller=SUPERVISOR, status="open")
    assert alert.complaints == receipts and alert.count == 4
    assert len(outbox_events(complaints_db, "early_warning_raised")) == 1
    with pytest.raises(Forbidden):
        run(complaints_db, alerts.acknowledge_alert, caller=CADRE3, alert_id=alert.id,
            cmd=c.AlertAcknowledge(note="已知悉"), now=NOW)
    done = run(complaints_db, alerts.acknowledge_alert, caller=SUPERVISOR, alert_id=alert.id,
               cmd=c.AlertAcknowledge(note="已安排司法所排查"), now=NOW)
    assert done.status == "acknowledged"
    assert run(complaints_db, alerts.list_alerts, caller=LX_SUPERVISOR, status=None) == []


def test_early_warning_notices_a_rise_against_the_villages_own_past(complaints, complaints_db):
    run(complaints_db, county_settings.set_warning_rule, caller=SYSADMIN, now=NOW, cmd=c.WarningRule(
        threshold=10, window_days=7, baseline_days=84, rise_factor=3, rise_min=2))
    _register(complaints_db, now=NOW - timedelta(days=60))  # one in the last twelve weeks: a quiet village
    _register(complaints_db, now=NOW)
    assert outbox_events(complaints_db, "early_warning_raised") == []  # one in the window is no rise
    _register(complaints_db, now=NOW + timedelta(days=1))
    [raised] = outbox_events(complaints_db, "early_warning_raised")
    assert (raised["rule"], raised["count"]) == ("rise", 2)


def test_the_county_sets_the_limits_and_new_clocks_use_them(complaints, complaints_db):
    with pytest.raises(Forbidden):
        run(complaints_db, county_settings.set_limits, caller=SUPERVISOR, kind=c.ComplaintKind.DISPUTE, now=NOW,
            cmd=c.StageLimits(assign=2, sign=1, reply=10, call_back=3))
    limits = run(complaints_db, county_settings.set_limits, caller=SYSADMIN, kind=c.ComplaintKind.DISPUTE, now=NOW,
                 cmd=c.StageLimits(assign=2, sign=1, reply=10, call_back=3))
    assert limits["dispute"].reply == 10 and limits["petition"].reply == 60
    assert _register(complaints_db).complaint.stage_due == date(2026, 12, 3)  # 2 working days


def test_the_inbox_puts_the_least_time_left_first(complaints, complaints_db):
    first = _register(complaints_db, {**HOTLINE, "kind": "petition", "network": "petitions"}).complaint.id
    second = _register(complaints_db).complaint.id
    for ref in (first, second):
        _act(complaints_db, SUPERVISOR, ref, action="assign", staff_id=3)
        _act(complaints_db, CADRE3, ref, action="sign")
    inbox = run(complaints_db, reading.list_complaints, caller=CADRE3, query=c.ComplaintQuery(mine=True), vault=VAULT,
                now=NOW)
    assert [x.id for x in inbox] == [second, first]  # 30 working days left before 60
    assert inbox[0].complainant_name == "王五"  # the handler sees who complained
    assert run(complaints_db, reading.list_complaints, caller=CADRE4, query=c.ComplaintQuery(mine=True), vault=VAULT,
               now=NOW) == []
    late = run(complaints_db, reading.list_complaints, caller=SUPERVISOR, query=c.ComplaintQuery(overdue=True),
               vault=VAULT, now=NOW + timedelta(days=50))
    assert [x.id for x in late] == [second]


def test_the_service_entrypoints_speak_json(complaints):
    registered = complaints(AGENT).register(complaint=HOTLINE)
    assert registered["complaint"]["receipt_no"].startswith(f"{QS}-TS")
    assert complaints(SUPERVISOR).limits()["staff_conduct"]["reply"] == 15
    with pytest.raises(ValidationFailed):
        complaints(SYSADMIN).set_limits(kind="gossip", limits={"assign": 1, "sign": 1, "reply": 1, "call_back": 1})
    online = complaints(Caller.public()).register_online(complaint={
        "kind": "suggestion", "category": "roads", "village_code": f"{QS}001", "description": "建议修路灯"})
    assert online["complaint"]["channel"] == "online" and online["lookup_code"]


def test_a_retry_with_the_same_idempotency_key_registers_once_and_returns_the_same_code(complaints, complaints_db):
    anonymous = {**HOTLINE, "complainant": None}
    first = complaints(AGENT).register(complaint=anonymous, idempotency_key="station-retry-0001")
    again = complaints(AGENT).register(complaint=anonymous, idempotency_key="station-retry-0001")
    assert again["complaint"]["id"] == first["complaint"]["id"] and again["lookup_code"] == first["lookup_code"]
    with pytest.raises(Conflict) as reused:
        complaints(AGENT).register(complaint={**anonymous, "description": "另一件事"},
                                   idempotency_key="station-retry-0001")
    assert reused.value.code == "idempotency_key_reused"
    other = complaints(AGENT).register(complaint=anonymous, idempotency_key="station-retry-0002")
    assert other["complaint"]["id"] != first["complaint"]["id"]
    with complaints_db.sessions() as session:
        assert session.query(orm.ComplaintRow).count() == 2
    with pytest.raises(ValidationFailed):
        complaints(AGENT).register(complaint=HOTLINE, idempotency_key="bad key!")


def test_the_list_pages_by_keyset_in_its_own_order_whatever_changes_between_pages(complaints, complaints_db):
    """Open complaints by due day (overdue first), then those with no running clock; `after` the last one
    shown gives the next page, without repeats or gaps, and names only a complaint the caller may see."""
    made = [_register(complaints_db, now=NOW + timedelta(minutes=n)).complaint.receipt_no for n in range(5)]
    _act(complaints_db, SUPERVISOR, made[0], action="assign", staff_id=3)  # due on the same day as the rest
    _act(complaints_db, SUPERVISOR, made[1], action="assign", staff_id=3)
    _act(complaints_db, CADRE3, made[1], action="sign")  # a clock of 30 days: due last
    _act(complaints_db, CADRE3, made[1], action="reply", note="已答复")
    _act(complaints_db, SUPERVISOR, made[1], action="call_back", rating=5, resolved=True)  # closed: no clock
    everything = run(complaints_db, reading.list_complaints, caller=SUPERVISOR, query=c.ComplaintQuery(limit=200),
                     vault=VAULT, now=NOW)
    assert [c.receipt_no for c in everything] == [*made[:1:-1], made[0], made[1]]  # newest first within a day
    paged, after = [], None
    while True:
        page = run(complaints_db, reading.list_complaints, caller=SUPERVISOR,
                   query=c.ComplaintQuery(limit=2, after=after), vault=VAULT, now=NOW)
        paged += page
        if len(page) < 2:
            break
        after = page[-1].id
    assert [c.id for c in paged] == [c.id for c in everything] and len(paged) == len(set(c.id for c in paged))
    with pytest.raises(ValidationFailed) as refused:  # another township's complaint is no place to start
        run(complaints_db, reading.list_complaints, caller=LX_SUPERVISOR,
            query=c.ComplaintQuery(after=everything[0].id),
            vault=VAULT, now=NOW)
    assert refused.value.code == "bad_cursor"
    with pytest.raises(ValueError):
        c.ComplaintQuery(after=everything[0].id, offset=2)


def test_a_county_role_lists_one_township_when_it_chooses_one(complaints, complaints_db):
    made = _register(complaints_db).complaint.receipt_no

    def listed(caller, township):
        return [c.receipt_no for c in run(complaints_db, reading.list_complaints, caller=caller, vault=VAULT, now=NOW,
                                          query=c.ComplaintQuery(township_code=township, limit=200))]

    assert made in listed(ADMIN, QS) and listed(ADMIN, LX) == []
    assert listed(LX_SUPERVISOR, QS) == []  # anyone else's own township applies whatever they choose


def test_notifications_asks_for_a_complainants_phone_only_as_the_platform_and_never_gets_an_anonymous_code(
        complaints, complaints_db):
    named = _register(complaints_db)
    anonymous = _register(complaints_db, {**HOTLINE, "complainant": None})
    notifications = complaints(Caller(role=Role.SYSTEM, username="notifications"))
    assert notifications.notice_contact(named.complaint.id) == HOTLINE["complainant"]["phone"]
    assert notifications.notice_contact(anonymous.complaint.id) is None
    with pytest.raises(Forbidden):
        complaints(CADRE3).notice_contact(named.complaint.id)
def _get(db, caller, ref, now=NOW):
    return run(db, reading.get, caller=caller, ref=ref, vault=VAULT, now=now)


def test_a_complaint_tells_each_person_what_they_may_do_now_and_the_working_days_left(complaints, complaints_db):
    ref = _register(complaints_db).complaint.receipt_no  # Tuesday 1 December: 分派 within 1 working day
    assert _get(complaints_db, SUPERVISOR, ref).allowed_actions == ["assign", "extend"]
    assert _get(complaints_db, CADRE3, ref).allowed_actions == []
    assert _get(complaints_db, SUPERVISOR, ref).working_days_left == 1
    assert _get(complaints_db, SUPERVISOR, ref, now=NOW + timedelta(days=1)).working_days_left == 0
    assert _get(complaints_db, SUPERVISOR, ref, now=NOW + timedelta(days=3)).working_days_left == -2
    assert _get(complaints_db, SUPERVISOR, ref, now=NOW + timedelta(days=6)).working_days_left == -3  # a weekend
    _act(complaints_db, SUPERVISOR, ref, action="assign", staff_id=3)
    assert complaints(CADRE3).get(ref=ref)["allowed_actions"] == ["sign", "send_back"]  # over the RPC too
    assert complaints(CADRE4).get(ref=ref)["allowed_actions"] == []
    _act(complaints_db, CADRE3, ref, action="sign")
    assert _get(complaints_db, CADRE3, ref).allowed_actions == ["note", "mediate", "reply"]
    _act(complaints_db, CADRE3, ref, action="reply", note="已答复")
    assert _get(complaints_db, CADRE3, ref).allowed_actions == []  # not the call-back on their own work
    assert _get(complaints_db, CADRE4, ref).allowed_actions == ["call_back"]  # anyone else calls back
    assert _get(complaints_db, SUPERVISOR, ref).allowed_actions == ["call_back", "reopen", "extend"]
    listed = run(complaints_db, reading.list_complaints, caller=SUPERVISOR, query=c.ComplaintQuery(), vault=VAULT,
                 now=NOW)
    assert (listed[0].allowed_actions, listed[0].working_days_left) == (["call_back", "reopen", "extend"], 5)


def test_the_accused_is_offered_nothing_on_a_complaint_about_them_and_never_sees_who_complained(complaints,
                                                                                                complaints_db):
    about = {**HOTLINE, "kind": "staff_conduct", "network": "services", "category": "staff_conduct",
             "accused_staff_id": 4}
    ref = _register(complaints_db, about).complaint.receipt_no
    accused = _get(complaints_db, CADRE4, ref)
    assert (accused.allowed_actions, accused.complainant_name, accused.complainant_phone) == ([], None, None)
    assert _get(complaints_db, SUPERVISOR, ref).allowed_actions == ["assign", "extend"]  # their own unit's
    assert _get(complaints_db, ADMIN, ref).allowed_actions == ["assign", "extend", "finding"]  # from outside it


def test_what_waits_for_a_person_is_listed_by_time_left_and_counted(complaints, complaints_db):
    """Waiting for a cadre: their 签收 and 答复; for a supervisor: the township's 分派 and 回访 — by due day,
    never another township's; the counts say how many, how many overdue, and how many due within a day."""
    made = [_register(complaints_db, now=NOW + timedelta(minutes=n)).complaint.receipt_no for n in range(5)]
    to_sign, to_reply, to_call_back, to_assign, cadre4s = made
    for ref in (to_sign, to_reply, to_call_back):
        _act(complaints_db, SUPERVISOR, ref, action="assign", staff_id=3)
    for ref in (to_reply, to_call_back):
        _act(complaints_db, CADRE3, ref, action="sign")
    _act(complaints_db, CADRE3, to_call_back, action="reply", note="已答复")
    _act(complaints_db, SUPERVISOR, cadre4s, action="assign", staff_id=4)

    def waiting(caller, now=NOW):
        return [x.receipt_no for x in run(complaints_db, reading.list_complaints, caller=caller, vault=VAULT, now=now,
                                          query=c.ComplaintQuery(waiting=True))]

    assert waiting(CADRE3) == [to_sign, to_reply]  # 签收 due tomorrow, 答复 in 30 working days
    assert waiting(CADRE4) == [cadre4s]
    assert waiting(SUPERVISOR) == [to_assign, to_call_back]  # 分派 tomorrow, 回访 in 5 working days
    assert waiting(LX_SUPERVISOR) == [] and waiting(AGENT) == []
    assert waiting(ADMIN) == []  # the county may act, but the township's dispatch does not wait on it
    counts = run(complaints_db, reading.waiting_counts, caller=CADRE3, now=NOW)
    assert counts == c.WaitingCounts(waiting=2, overdue=0, due_soon=1)
    assert run(complaints_db, reading.waiting_counts, caller=CADRE3, now=NOW + timedelta(days=3)) == \
        c.WaitingCounts(waiting=2, overdue=1, due_soon=0)
    assert complaints(SUPERVISOR).waiting_counts()["waiting"] == 2  # over the RPC
    assert complaints(LX_SUPERVISOR).waiting_counts() == {"waiting": 0, "overdue": 0, "due_soon": 0}
