"""Complaints' repositories on SQLite and PostgreSQL: complaints kept inside the caller's reach and listed by
time left, the keyset page, what waits for whom, the sweep's reads and its claims that only one sweep wins,
the history in order, one 督办 notice per stage clock, receipt numbers per township and day, early warning's
counts and alerts, the county's settings (the last writer wins), and the directory's copies."""
from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from services.complaints.adapters import orm
from services.complaints.adapters.repositories import ComplaintsUnitOfWork
from shared.contracts import complaints as c
from shared.contracts.caller import Caller, Role, Scope
from shared.db import DuplicateKey

QS, LX = "431099101", "431099102"
STATION = f"ST{QS}001"
SUPERVISOR = Caller(staff_id=31, role=Role.SUPERVISOR, township_code=QS)
CADRE = Caller(staff_id=3, role=Role.TOWNSHIP_CADRE, township_code=QS)
AGENT = Caller(staff_id=6, role=Role.VILLAGE_AGENT, township_code=QS, station_code=STATION, scope=Scope.STATION)
SYSADMIN = Caller(staff_id=9, role=Role.SYSTEM_ADMIN)
TODAY = date(2026, 12, 1)
NOW = datetime(2026, 12, 1, 2, tzinfo=UTC)


@pytest.fixture
def db(service_db):
    return service_db("complaints", orm.Base.metadata)


def unit(db) -> ComplaintsUnitOfWork:
    uow = db.unit_of_work()
    assert isinstance(uow, ComplaintsUnitOfWork)
    return uow


def complaint(*, township: str = QS, number: int = 1, station: str | None = None, status: str = "registered",
              due: date | None = TODAY, warn: date | None = TODAY, handler: int | None = None,
              accused: int | None = None, registered_at: datetime = NOW, village: str | None = None,
              category: str = "land", phone_enc: str | None = None) -> orm.ComplaintRow:
    return orm.ComplaintRow(
        id=uuid.uuid4().hex, receipt_no=f"{township}-TS20261201-{number:04d}", kind="dispute", network="mediation",
        category=category, channel="hotline", township_code=township, village_code=village or f"{township}001",
        station_code=station, description="纠纷", anonymous=phone_enc is None, complainant_phone_enc=phone_enc,
        handler_staff_id=handler, accused_staff_id=accused, status=status, stage="assign" if due else None,
        stage_seq=1, stage_due_on=due, stage_warn_on=warn, reopen_count=0, registered_at=registered_at)


def stored(db, *rows) -> list[str]:
    uow = unit(db)
    try:
        for row in rows:
            uow.complaints.add(row)
        uow.commit()
        return [row.id for row in rows]
    finally:
        uow.close()


def test_a_complaint_is_found_by_its_id_or_its_receipt_number_and_its_phone_is_kept_encrypted(db):
    [cid] = stored(db, complaint(phone_enc="ENC-PHONE"))
    uow = unit(db)
    try:
        assert uow.complaints.get(cid).receipt_no == f"{QS}-TS20261201-0001"
        assert uow.complaints.by_ref(f"{QS}-TS20261201-0001").id == cid
        assert uow.complaints.by_ref(cid, lock=True).id == cid
        assert uow.complaints.by_ref("431099101-TS20261201-0002") is None
        assert uow.complaints.by_receipt_no(f"{QS}-TS20261201-0001").id == cid
        assert uow.complaints.phone_of(cid) == "ENC-PHONE"
        assert uow.complaints.phone_of("nothing") is None
    finally:
        uow.close()


def test_the_list_keeps_to_the_callers_reach_and_puts_the_least_time_left_first(db):
    late = complaint(number=1, due=TODAY - timedelta(days=2))
    soon = complaint(number=2, due=TODAY + timedelta(days=1), station=STATION)
    closed = complaint(number=3, due=None, status="closed_resolved")
    elsewhere = complaint(township=LX, number=1, due=TODAY - timedelta(days=5))
    stored(db, closed, soon, elsewhere, late)
    uow = unit(db)
    try:
        assert [r.id for r in uow.complaints.listed(SUPERVISOR, c.ComplaintQuery(), TODAY)] == \
            [late.id, soon.id, closed.id]
        assert [r.id for r in uow.complaints.listed(AGENT, c.ComplaintQuery(), TODAY)] == [soon.id]
        assert [r.id for r in uow.complaints.listed(SUPERVISOR, c.ComplaintQuery(overdue=True), TODAY)] == [late.id]
        assert [r.id for r in uow.complaints.listed(SYSADMIN, c.ComplaintQuery(township_code=LX), TODAY)] == \
            [elsewhere.id]
        first_page = uow.complaints.listed(SUPERVISOR, c.ComplaintQuery(limit=1), TODAY)
        assert [r.id for r in uow.complaints.listed(SUPERVISOR, c.ComplaintQuery(), TODAY, first_page[-1])] == \
            [soon.id, closed.id]
        assert uow.complaints.listed(SUPERVISOR, c.ComplaintQuery(), TODAY, uow.complaints.get(closed.id)) == []
    finally:
        uow.close()


def test_what_waits_for_a_handler_and_for_the_township_supervisor_is_counted_with_its_lateness(db):
    stored(db, complaint(number=1, status="assigned", handler=CADRE.staff_id, due=TODAY - timedelta(days=1)),
           complaint(number=2, status="signed", handler=CADRE.staff_id, due=TODAY + timedelta(days=1)),
           complaint(number=3, status="replied", handler=CADRE.staff_id, due=TODAY + timedelta(days=9)),
           complaint(number=4, status="registered", due=TODAY + timedelta(days=9)),
           complaint(number=5, status="registered", accused=SUPERVISOR.staff_id),
           complaint(township=LX, number=1, status="assigned", handler=CADRE.staff_id))
    uow = unit(db)
    try:
        soon = TODAY + timedelta(days=1)
        assert uow.complaints.waiting_counts(CADRE, TODAY, soon) == (2, 1, 1)
        # the supervisor waits on the township's to assign and to call back, never one about themselves
        assert uow.complaints.waiting_counts(SUPERVISOR, TODAY, soon) == (2, 0, 0)
        assert uow.complaints.waiting_counts(Caller(staff_id=77, role=Role.TOWNSHIP_CADRE, township_code=QS),
                                             TODAY, soon) == (0, 0, 0)
        mine = uow.complaints.listed(CADRE, c.ComplaintQuery(waiting=True), TODAY)
        assert [r.receipt_no[-4:] for r in mine] == ["0001", "0002"]
    finally:
        uow.close()


def test_the_sweep_reads_the_stages_whose_day_came_and_only_one_sweep_claims_each(db):
    warn_now = complaint(number=1, warn=TODAY, due=TODAY + timedelta(days=2))
    not_yet = complaint(number=2, warn=TODAY + timedelta(days=1), due=TODAY + timedelta(days=3))
    late = complaint(number=3, warn=TODAY - timedelta(days=3), due=TODAY - timedelta(days=1))
    closed = complaint(number=4, due=None, warn=None, status="closed_resolved")
    stored(db, warn_now, not_yet, late, closed)
    uow = unit(db)
    try:
        assert uow.complaints.to_warn(TODAY, 10) == [(warn_now.id, 1)]
        assert uow.complaints.to_notice(TODAY, 10) == [(late.id, 1)]
        assert len(uow.complaints.to_warn(TODAY + timedelta(days=1), 1)) == 1  # at most the batch
        assert uow.complaints.claim_warning(warn_now.id, 1, NOW) is True
        uow.commit()
        assert uow.complaints.claim_warning(warn_now.id, 1, NOW) is False  # claimed already
        assert uow.complaints.claim_notice(late.id, 2, NOW) is False  # the clock moved on
        assert uow.complaints.claim_notice(late.id, 1, NOW) is True
        uow.commit()
    finally:
        uow.close()
    uow = unit(db)
    try:
        assert uow.complaints.to_warn(TODAY, 10) == []
        assert uow.complaints.to_notice(TODAY, 10) == []
    finally:
        uow.close()


def test_open_complaints_are_counted_per_township_with_the_warned_and_the_late(db):
    stored(db, complaint(number=1, warn=TODAY, due=TODAY + timedelta(days=1)),
           complaint(number=2, warn=TODAY - timedelta(days=3), due=TODAY - timedelta(days=1)),
           complaint(number=3, warn=TODAY + timedelta(days=1), due=TODAY + timedelta(days=2)),
           complaint(number=4, due=None, warn=None, status="closed_unresolved"),
           complaint(township=LX, number=1, warn=TODAY + timedelta(days=1), due=TODAY + timedelta(days=2)))
    uow = unit(db)
    try:
        assert uow.complaints.open_per_township(TODAY) == {QS: (3, 1, 2), LX: (1, 0, 0)}
    finally:
        uow.close()


def test_the_complaints_behind_an_alert_are_those_of_its_village_and_category_since_its_window(db):
    old = complaint(number=1, registered_at=NOW - timedelta(days=10))
    recent = complaint(number=2, registered_at=NOW - timedelta(days=1))
    other_category = complaint(number=3, category="water")
    other_village = complaint(number=4, village=f"{QS}002")
    stored(db, old, recent, other_category, other_village)
    uow = unit(db)
    try:
        assert set(uow.complaints.registered_since(f"{QS}001", "land", NOW - timedelta(days=7))) == {recent.id}
    finally:
        uow.close()


def test_history_is_read_back_in_the_order_it_was_kept(db):
    [cid] = stored(db, complaint())
    uow = unit(db)
    try:
        for action, before, after in (("register", None, "registered"), ("assign", "registered", "assigned"),
                                      ("note", "assigned", "assigned")):
            uow.history.add(orm.HistoryRow(complaint_id=cid, action=action, actor_staff_id=3, actor_role="supervisor",
                                           at=NOW, from_status=before, to_status=after, note=None, details={}))
        uow.commit()
    finally:
        uow.close()
    uow = unit(db)
    try:
        assert [h.action for h in uow.history.of(cid)] == ["register", "assign", "note"]
        assert [status for status, _ in uow.history.statuses_of(cid)] == ["registered", "assigned", "assigned"]
        assert uow.history.of("nothing") == []
    finally:
        uow.close()


def test_a_stage_clock_gets_one_notice_only(db):
    [cid] = stored(db, complaint())

    def notice(stage_seq: int) -> orm.NoticeRow:
        return orm.NoticeRow(complaint_id=cid, stage_seq=stage_seq, stage="assign", township_code=QS, due_on=TODAY,
                             recorded_at=NOW)

    uow = unit(db)
    try:
        uow.notices.add(notice(1))
        uow.notices.add(notice(2))
        uow.commit()
        uow.notices.add(notice(1))
        with pytest.raises(DuplicateKey):
            uow.commit()
    finally:
        uow.close()


def test_receipt_numbers_count_per_township_and_day_and_a_rolled_back_one_is_given_again(db):
    uow = unit(db)
    try:
        assert [uow.receipt_numbers.next_of_day(QS, TODAY) for _ in range(3)] == [1, 2, 3]
        assert uow.receipt_numbers.next_of_day(LX, TODAY) == 1
        assert uow.receipt_numbers.next_of_day(QS, TODAY + timedelta(days=1)) == 1
        uow.commit()
        assert uow.receipt_numbers.next_of_day(QS, TODAY) == 4
        uow.rollback()
        assert uow.receipt_numbers.next_of_day(QS, TODAY) == 4
    finally:
        uow.close()


def test_daily_counts_add_up_per_village_category_and_day(db):
    uow = unit(db)
    try:
        for day in (TODAY, TODAY, TODAY - timedelta(days=1), TODAY - timedelta(days=30)):
            uow.daily_counts.count_one(f"{QS}001", "land", day)
        uow.daily_counts.count_one(f"{QS}001", "water", TODAY)
        uow.commit()
        assert uow.daily_counts.between(f"{QS}001", "land", TODAY - timedelta(days=7), TODAY) == {
            TODAY: 2, TODAY - timedelta(days=1): 1}
        assert uow.daily_counts.between(f"{QS}002", "land", TODAY - timedelta(days=7), TODAY) == {}
    finally:
        uow.close()


def alert(township: str = QS, village: str | None = None, raised_on: date = TODAY, status: str = "open",
          raised_at: datetime = NOW) -> orm.AlertRow:
    return orm.AlertRow(township_code=township, village_code=village or f"{township}001", category="land",
                        rule="burst", count=3, window_days=7, raised_on=raised_on, raised_at=raised_at, status=status)


def test_an_alert_gets_its_id_at_once_collects_complaints_and_lists_their_receipts_in_order(db):
    first = complaint(number=1, registered_at=NOW - timedelta(hours=2))
    second = complaint(number=2, registered_at=NOW - timedelta(hours=1))
    stored(db, second, first)
    uow = unit(db)
    try:
        raised = alert()
        uow.alerts.add(raised)
        assert raised.id is not None
        uow.alerts.join(raised.id, [second.id, first.id])
        uow.commit()
        assert uow.alerts.receipts_of(raised.id) == [first.receipt_no, second.receipt_no]
        assert uow.alerts.get(raised.id).status == "open"
        assert uow.alerts.get(raised.id + 1) is None
    finally:
        uow.close()


def test_the_latest_alert_within_the_window_is_the_one_that_collects(db):
    uow = unit(db)
    try:
        older, newer = alert(raised_on=TODAY - timedelta(days=5)), alert(raised_on=TODAY - timedelta(days=2))
        gone = alert(raised_on=TODAY - timedelta(days=20))
        elsewhere = alert(village=f"{QS}002", raised_on=TODAY)
        for row in (older, newer, gone, elsewhere):
            uow.alerts.add(row)
        uow.commit()
        assert uow.alerts.latest_since(f"{QS}001", "land", TODAY - timedelta(days=7)).id == newer.id
        assert uow.alerts.latest_since(f"{QS}001", "water", TODAY - timedelta(days=7)) is None
        assert uow.alerts.latest_since(f"{QS}001", "land", TODAY - timedelta(days=1)) is None
    finally:
        uow.close()


def test_alerts_are_listed_newest_first_inside_the_callers_reach_and_counted_open_per_township(db):
    uow = unit(db)
    try:
        early = alert(raised_at=NOW - timedelta(days=1))
        late = alert(raised_at=NOW)
        seen = alert(status="acknowledged")
        other = alert(township=LX)
        for row in (early, late, seen, other):
            uow.alerts.add(row)
        uow.commit()
        assert [a.id for a in uow.alerts.listed(SUPERVISOR, "open")] == [late.id, early.id]
        assert {a.id for a in uow.alerts.listed(SUPERVISOR, None)} == {early.id, late.id, seen.id}
        assert {a.id for a in uow.alerts.listed(SYSADMIN, "open")} == {early.id, late.id, other.id}
        assert uow.alerts.open_per_township() == {QS: 2, LX: 1}
    finally:
        uow.close()


def test_the_countys_limits_and_rule_are_absent_until_set_and_the_last_setting_wins(db):
    uow = unit(db)
    try:
        assert uow.stage_limits.of("dispute") is None
        assert uow.warning_rules.current() is None
        uow.stage_limits.set("dispute", c.StageLimits(assign=2, sign=1, reply=10, call_back=3), by=9, now=NOW)
        uow.warning_rules.set(c.WarningRule(threshold=4), by=9, now=NOW)
        uow.commit()
        uow.stage_limits.set("dispute", c.StageLimits(assign=3, sign=1, reply=10, call_back=3), by=9, now=NOW)
        uow.warning_rules.set(c.WarningRule(threshold=5), by=9, now=NOW)
        uow.commit()
    finally:
        uow.close()
    uow = unit(db)
    try:
        assert uow.stage_limits.of("dispute") == c.StageLimits(assign=3, sign=1, reply=10, call_back=3)
        assert uow.stage_limits.of("petition") is None
        assert uow.warning_rules.current() == c.WarningRule(threshold=5)
    finally:
        uow.close()


def test_the_directory_copies_give_staff_villages_and_every_township_with_a_village(db):
    uow = unit(db)
    try:
        uow.put(orm.StaffCopy, 3, {"id": 3, "township_code": QS, "station_code": None, "role": "township_cadre",
                                   "active": True, "version": 1})
        for code, township in ((f"{QS}001", QS), (f"{QS}002", QS), (f"{LX}001", LX)):
            uow.put(orm.VillageCopy, code, {"code": code, "township_code": township, "name": "村", "version": 1})
        uow.commit()
        assert uow.staff.get(3).role == "township_cadre"
        assert uow.staff.get(4) is None
        assert uow.villages.get(f"{LX}001").township_code == LX
        assert uow.villages.get(f"{LX}009") is None
        assert uow.villages.townships() == {QS, LX}
    finally:
        uow.close()
