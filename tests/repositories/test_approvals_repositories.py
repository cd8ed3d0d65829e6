"""Approvals' repositories on SQLite and PostgreSQL: cases added as plain INSERTs and found by receipt or id,
counted per status inside the caller's reach and per township for the gauges; the audit trail in order;
limits replaced, read by the sweep from the day they came due and claimed by one sweep only; 督办 closed
and listed inside the caller's reach; the inbox's tiers, order and keyset; the calendar read again only
when its change count moved; and the township's active supervisors."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy.exc import IntegrityError

from services.approvals.adapters import orm
from services.approvals.adapters.repositories import FAR, ApprovalsUnitOfWork
from shared.contracts import approvals as c
from shared.contracts.caller import Caller, Role
from shared.copies import keep_calendar_day

QS, LX, ELSEWHERE = "431099101", "431099102", "431100101"
STATION = f"ST{QS}001"
TODAY = date(2026, 12, 1)  # a Tuesday
NOW = datetime(2026, 12, 1, 2, tzinfo=UTC)
SUPERVISOR = Caller(staff_id=31, role=Role.SUPERVISOR, township_code=QS)
CADRE = Caller(staff_id=15, role=Role.TOWNSHIP_CADRE, township_code=QS)
COMMITTEE = Caller(staff_id=11, role=Role.VILLAGE_COMMITTEE, township_code=QS, station_code=STATION)
COUNTY = Caller(staff_id=90, role=Role.COUNTY_ADMIN, township_code=QS, county_code="431099")


@pytest.fixture
def db(service_db):
    return service_db("approvals", orm.Base.metadata)


@pytest.fixture
def uow(db):
    work = db.unit_of_work()
    assert isinstance(work, ApprovalsUnitOfWork)  # named on approvals' metadata: the database hands it out
    yield work
    work.close()


def case(n: int = 1, *, township: str = QS, status: str = "in_review", overall_due: date | None = TODAY,
         step_due: date | None = None, item: str = "SP-008", filed_at: datetime = NOW) -> orm.CaseRow:
    return orm.CaseRow(
        application_id=f"{n:032d}", receipt_no=f"{township}-20261201-{n:04d}", township_code=township,
        station_code=STATION if township == QS else None, item_code=item, village_code=f"{township}001",
        accountable_staff_id=6, workflow={"steps": []}, promised_days=10, received_on=TODAY, filed_at=filed_at,
        status=status, step_index=0, extension_days=0, pauses=[], clock_seq=0, overall_due=overall_due,
        step_due=step_due, updated_at=NOW)


def stored(uow: ApprovalsUnitOfWork, *rows: orm.CaseRow) -> None:
    for row in rows:
        uow.cases.add(row)
    uow.commit()


def notice(row: orm.CaseRow, deadline_id: int, kind: str = "supervision", *, at: datetime = NOW,
           responsible: int = 31) -> orm.NoticeRow:
    return orm.NoticeRow(kind=kind, application_id=row.application_id, receipt_no=row.receipt_no,
                         township_code=row.township_code, deadline_id=deadline_id, deadline_kind="overall",
                         step_name=None, due_on=TODAY, recorded_at=at, responsible_staff_id=responsible,
                         responsible_basis="supervisor", accountable_staff_id=6)


# ---- cases ------------------------------------------------------------------------------------------------

def test_a_case_added_is_found_by_receipt_or_id_and_its_changes_saved(db, uow):
    row = case()
    stored(uow, row)
    assert uow.cases.held(row.receipt_no).application_id == row.application_id
    held = uow.cases.held(row.application_id)
    assert held.receipt_no == row.receipt_no and uow.cases.held("nobody") is None
    held.status = "ready_to_complete"
    uow.cases.save(held)
    uow.commit()
    other = db.unit_of_work()
    try:
        assert other.cases.held_by_id(row.application_id).status == "ready_to_complete"
        assert other.cases.held_by_id("0" * 32) is None
    finally:
        other.close()


def test_the_same_receipt_number_twice_is_refused_by_the_database(uow):
    stored(uow, case(1))
    twin = case(2)
    twin.receipt_no = case(1).receipt_no
    with pytest.raises(IntegrityError):
        uow.cases.add(twin)
        uow.commit()
    uow.rollback()


def test_open_cases_are_held_in_application_order_and_read_by_ids(uow):
    stored(uow, case(3), case(1), case(2, status="completed", overall_due=None), case(4, status="refused"))
    assert [r.application_id for r in uow.cases.open_held()] == [f"{1:032d}", f"{3:032d}"]
    assert set(uow.cases.by_ids([f"{2:032d}", f"{4:032d}", "missing"])) == {f"{2:032d}", f"{4:032d}"}
    assert uow.cases.by_ids([]) == {}


def test_cases_are_counted_per_status_inside_the_callers_reach(uow):
    stored(uow, case(1), case(2), case(3, status="pending_acceptance"), case(4, township=LX),
           case(5, township=ELSEWHERE))
    assert uow.cases.count_by_status(SUPERVISOR, None) == {"in_review": 2, "pending_acceptance": 1}
    assert uow.cases.count_by_status(COUNTY, None) == {"in_review": 3, "pending_acceptance": 1}
    assert uow.cases.count_by_status(COUNTY, LX) == {"in_review": 1}


def test_open_cases_per_township_with_the_late_and_the_warned(uow):
    late_step = case(1, overall_due=TODAY + timedelta(days=9), step_due=TODAY - timedelta(days=1))
    late = case(2, overall_due=TODAY - timedelta(days=1))
    warned = case(3, overall_due=TODAY + timedelta(days=3))
    closed = case(4, status="completed", overall_due=TODAY - timedelta(days=5))
    stored(uow, late_step, late, warned, closed, case(5, township=LX))
    uow.deadlines.add(warned.application_id, {("overall", None, TODAY): (TODAY, TODAY + timedelta(days=3))})
    uow.deadlines.add(late.application_id, {("overall", None, TODAY): (TODAY, TODAY - timedelta(days=1))})
    uow.deadlines.add(closed.application_id, {("overall", None, TODAY): (TODAY, TODAY)})
    for deadline in uow.deadlines.of_case(warned.application_id) + uow.deadlines.of_case(closed.application_id):
        deadline.warned_at = NOW
    for deadline in uow.deadlines.of_case(late.application_id):
        deadline.warned_at = deadline.overdue_at = NOW  # overdue: no longer counted as warned
    uow.commit()
    assert uow.cases.open_per_township(TODAY) == {QS: (3, 2), LX: (1, 0)}
    assert uow.cases.warned_per_township() == {QS: 1}


def test_the_audit_trail_is_read_back_in_the_order_it_was_kept(uow):
    row = case()
    stored(uow, row)
    for action in ("accept", "claim", "approve"):
        uow.audit.add(orm.AuditRow(application_id=row.application_id, action=action, actor_staff_id=11,
                                   actor_role="village_committee", at=NOW, reason=None, step="village_review",
                                   from_status="in_review", to_status="in_review", step_days_used=0,
                                   overall_days_used=0, details={}))
    uow.commit()
    assert [a.action for a in uow.audit.of(row.application_id)] == ["accept", "claim", "approve"]
    assert uow.audit.of("0" * 32) == []


# ---- limits and notices -----------------------------------------------------------------------------------

def test_limits_are_added_read_in_order_and_dropped(uow):
    row = case()
    stored(uow, row)
    day = [TODAY + timedelta(days=n) for n in range(10)]
    uow.deadlines.add(row.application_id, {("overall", None, TODAY): (day[6], day[9]),
                                           ("step", "village_review", TODAY): (day[3], day[4])})
    uow.deadlines.add(row.application_id, {})  # nothing to add: no statement
    uow.commit()
    limits = uow.deadlines.of_case(row.application_id, in_order=True)
    assert [(d.kind, d.step_name, d.due_on) for d in limits] == [
        ("overall", None, TODAY + timedelta(days=9)), ("step", "village_review", TODAY + timedelta(days=4))]
    assert uow.deadlines.get(limits[1].id).step_name == "village_review"
    uow.deadlines.drop(limits[1])
    uow.commit()
    assert [d.kind for d in uow.deadlines.of_case(row.application_id)] == ["overall"]


def test_the_sweep_reads_the_limits_whose_day_came_and_one_sweep_claims_each(db, uow):
    rows = [case(n) for n in range(1, 6)]
    stored(uow, *rows)
    days = {1: (TODAY, TODAY + timedelta(days=2)),  # warning day today
            2: (TODAY - timedelta(days=2), TODAY),  # warning day past, due today: still a warning
            3: (TODAY - timedelta(days=5), TODAY - timedelta(days=1)),  # past: a notice instead
            4: (TODAY + timedelta(days=1), TODAY + timedelta(days=3)),  # not yet
            5: (TODAY - timedelta(days=9), TODAY - timedelta(days=3))}  # longer past
    for n, (warn, due) in days.items():
        uow.deadlines.add(rows[n - 1].application_id, {("overall", None, TODAY): (warn, due)})
    uow.commit()
    ids = {d.application_id: d.id for r in rows for d in uow.deadlines.of_case(r.application_id)}
    assert uow.deadlines.to_warn(TODAY, 10) == [(ids[rows[1].application_id], rows[1].application_id),
                                                (ids[rows[0].application_id], rows[0].application_id)]
    assert uow.deadlines.to_notice(TODAY, 10) == [(ids[rows[4].application_id], rows[4].application_id),
                                                  (ids[rows[2].application_id], rows[2].application_id)]
    assert len(uow.deadlines.to_notice(TODAY, 1)) == 1
    first = ids[rows[0].application_id]
    assert uow.deadlines.claim_warning(first, NOW) is True
    uow.commit()
    other = db.unit_of_work()
    try:
        assert other.deadlines.claim_warning(first, NOW) is False  # claimed already (and rolled back)
        assert other.deadlines.claim_notice(first, NOW) is True  # the overdue flag is claimed apart
        other.commit()
    finally:
        other.close()
    uow.session.expire_all()
    assert [d for d, _ in uow.deadlines.to_warn(TODAY, 10)] == [ids[rows[1].application_id]]


def test_a_limit_gets_one_notice_of_each_kind_and_closing_touches_only_open_supervision(uow):
    row = case()
    stored(uow, row)
    uow.deadlines.add(row.application_id, {("overall", None, TODAY): (TODAY, TODAY),
                                           ("step", "village_review", TODAY): (TODAY, TODAY)})
    uow.commit()
    first, second = [d.id for d in uow.deadlines.of_case(row.application_id, in_order=True)]
    for deadline_id in (first, second):
        uow.notices.add(notice(row, deadline_id))
        uow.notices.add(notice(row, deadline_id, "accountability"))
    uow.commit()
    uow.notices.add(notice(row, first))
    with pytest.raises(IntegrityError):
        uow.commit()
    uow.rollback()
    later = NOW + timedelta(hours=1)
    uow.notices.close_supervision([first], later)
    uow.commit()
    closed = {(n.deadline_id, n.kind): n.closed_at for n in uow.notices.listed(
        SUPERVISOR, kind="supervision", limit=10, offset=0) + uow.notices.listed(
        SUPERVISOR, kind="accountability", limit=10, offset=0)}
    assert closed == {(first, "supervision"): later, (second, "supervision"): None,
                      (first, "accountability"): None, (second, "accountability"): None}
    uow.notices.close_supervision([first], later + timedelta(hours=1))  # closed already: kept as it was
    uow.commit()
    assert [n.deadline_id for n in uow.notices.listed(SUPERVISOR, kind="supervision", limit=10, offset=0,
                                                      open_only=True)] == [second]


def test_notices_are_listed_newest_first_inside_the_callers_reach(uow):
    ours, theirs = case(1), case(2, township=LX)
    stored(uow, ours, theirs)
    uow.deadlines.add(ours.application_id, {("overall", None, TODAY): (TODAY, TODAY)})
    uow.deadlines.add(theirs.application_id, {("overall", None, TODAY): (TODAY, TODAY)})
    uow.commit()
    [mine] = uow.deadlines.of_case(ours.application_id)
    [other] = uow.deadlines.of_case(theirs.application_id)
    uow.notices.add(notice(ours, mine.id, "accountability", at=NOW, responsible=15))
    uow.notices.add(notice(theirs, other.id, "accountability", at=NOW + timedelta(hours=1), responsible=41))
    uow.commit()

    def listed(caller, **narrow):
        return [n.application_id for n in uow.notices.listed(caller, kind="accountability", limit=10, offset=0,
                                                             **narrow)]

    assert listed(SUPERVISOR) == [ours.application_id]
    assert listed(CADRE) == [ours.application_id]  # the record names the cadre
    assert listed(COMMITTEE) == []  # a record against someone else
    assert listed(COUNTY) == [theirs.application_id, ours.application_id]
    assert listed(COUNTY, township_code=LX) == [theirs.application_id]
    assert [n.application_id for n in uow.notices.listed(COUNTY, kind="accountability", limit=1, offset=1)] == \
        [ours.application_id]
    assert uow.notices.listed(COUNTY, kind="supervision", limit=10, offset=0) == []


# ---- the inbox --------------------------------------------------------------------------------------------

def test_the_inbox_counts_tiers_orders_by_time_left_and_pages_by_keyset(uow):
    late = case(1, overall_due=TODAY - timedelta(days=1))
    warned = case(2, overall_due=TODAY + timedelta(days=5))
    soon = case(3, overall_due=TODAY + timedelta(days=2))
    later = case(4, overall_due=TODAY + timedelta(days=4), item="DB-001")
    paused = case(5, status="awaiting_supplement", overall_due=None)
    stored(uow, late, warned, soon, later, paused, case(6, township=LX))
    adds = [(late, TODAY - timedelta(days=1), TODAY - timedelta(days=3)),
            (warned, TODAY + timedelta(days=5), TODAY), (soon, TODAY + timedelta(days=2), TODAY + timedelta(days=1)),
            (later, TODAY + timedelta(days=4), TODAY + timedelta(days=2)), (paused, None, None)]
    for row, due, warn in adds:
        uow.waiting.add(row, [Role.DEPARTMENT_STAFF, Role.SUPERVISOR], station_code=None, due_on=due, warn_on=warn)
    uow.waiting.add(case(6, township=LX), [Role.SUPERVISOR], station_code=None, due_on=TODAY, warn_on=TODAY)
    uow.commit()
    everything = c.InboxQuery()
    assert uow.waiting.tier_counts(SUPERVISOR, everything, TODAY) == {0: 1, 1: 1, 2: 2, 3: 1}
    page = uow.waiting.page(SUPERVISOR, everything, TODAY, after=None, limit=10)
    assert [key[3] for key in page] == [r.application_id for r in (late, warned, soon, later, paused)]
    assert page[-1][:2] == (3, FAR)  # no clock running: last, sorting as if due at the end of time
    first = uow.waiting.page(SUPERVISOR, everything, TODAY, after=None, limit=2)
    rest = uow.waiting.page(SUPERVISOR, everything, TODAY, after=first[-1], limit=10)
    assert first + rest == page
    assert [k[3] for k in uow.waiting.page(SUPERVISOR, c.InboxQuery(item_code="DB-001"), TODAY, after=None,
                                           limit=10)] == [later.application_id]
    assert uow.waiting.tier_counts(CADRE, everything, TODAY) == {}  # waits for other roles
    uow.waiting.clear(late.application_id)
    uow.commit()
    assert uow.waiting.tier_counts(SUPERVISOR, everything, TODAY) == {1: 1, 2: 2, 3: 1}


def test_a_village_step_waits_at_its_station_only(uow):
    row = case()
    stored(uow, row)
    uow.waiting.add(row, [Role.VILLAGE_COMMITTEE], station_code=STATION, due_on=TODAY, warn_on=TODAY)
    uow.commit()
    elsewhere = Caller(staff_id=12, role=Role.VILLAGE_COMMITTEE, township_code=QS, station_code=f"ST{QS}002")
    assert [k[3] for k in uow.waiting.page(COMMITTEE, c.InboxQuery(), TODAY, after=None, limit=5)] == \
        [row.application_id]
    assert uow.waiting.page(elsewhere, c.InboxQuery(), TODAY, after=None, limit=5) == []


# ---- the directory's copies -------------------------------------------------------------------------------

def test_the_calendar_is_read_again_only_when_its_change_count_moved(db, uow):
    before = uow.calendars.of_township(QS)
    assert uow.calendars.of_township(LX) is before  # one county, one calendar
    assert date(2026, 12, 2) not in before.days_off
    keep_calendar_day(uow, orm.CalendarDayCopy, {"county_code": "431099", "day": "2026-12-02",
                                                 "kind": "local_day_off"})
    uow.calendars.note_change()
    assert date(2026, 12, 2) in uow.calendars.of_township(QS).days_off  # changed in this transaction
    uow.commit()
    other = db.unit_of_work()
    try:
        after = other.calendars.of_township(QS)
        assert date(2026, 12, 2) in after.days_off and other.calendars.of_township(QS) is after
        assert other.calendars.claim_rederivation() is True
        other.commit()
        assert other.calendars.claim_rederivation() is False  # nothing changed since
        other.calendars.note_change()
        other.commit()
        assert other.calendars.claim_rederivation() is True
    finally:
        other.close()


def test_the_active_supervisors_of_a_township(uow):
    for staff_id, township, role, active in [(31, QS, "supervisor", True), (32, QS, "supervisor", False),
                                             (33, QS, "township_cadre", True), (41, LX, "supervisor", True),
                                             (30, QS, "supervisor", True)]:
        uow.keep_newest(orm.StaffCopy, staff_id, {"id": staff_id, "township_code": township, "station_code": None,
                                                  "role": role, "active": active, "version": 1})
    uow.commit()
    assert sorted(uow.staff.active_supervisors(QS)) == [30, 31]
    assert uow.staff.active_supervisors("431099199") == []
