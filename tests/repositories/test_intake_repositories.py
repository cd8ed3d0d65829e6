"""Intake's repositories on SQLite and PostgreSQL: applications (added as plain INSERTs, read back, paged,
their clock taken newest-first), the receipt counters and the light records."""
from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy.exc import IntegrityError

from services.intake.adapters import orm
from services.intake.adapters.repositories import IntakeUnitOfWork
from shared.contracts import access
from shared.contracts.approvals import ApplicationClock
from shared.contracts.caller import Caller, Role

QS, LX = "431099101", "431099102"
CADRE = Caller(staff_id=7, role=Role.TOWNSHIP_CADRE, township_code=QS)
STATION = Caller(staff_id=6, role=Role.STATION_CLIENT, township_code=QS, station_code=f"ST{QS}001")
FILED = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


@pytest.fixture
def uow(service_db):
    db = service_db("intake", orm.Base.metadata)
    work = db.unit_of_work()
    assert isinstance(work, IntakeUnitOfWork)  # named on intake's metadata: the database hands it out
    yield work
    work.close()


def application(township: str = QS, *, station: str | None = None, filed_at: datetime = FILED, n: int = 1,
                staff: int = 6) -> orm.Application:
    return orm.Application(
        id=uuid.uuid4().hex, receipt_no=f"{township}-20261201-{n:04d}-{uuid.uuid4().hex[:4]}", township_code=township,
        station_code=station, village_code=f"{township}001", item_code="SP-008", item_name="危房改造申请",
        item_kind="promised", handling_level="township", promised_days=5, channel="station", session_id=None,
        visit_id=None, status="received", filed_at=filed_at, promised_deadline=date(2026, 12, 8),
        accountable_staff_id=staff, materials_provided=["申请表"], applicant_name_enc="n", applicant_phone_enc="p",
        applicant_id_card_enc="i", applicant_id_hash="h" * 64)


def stage(app: orm.Application, name: str = "received", at: datetime = FILED) -> orm.ApplicationStage:
    return orm.ApplicationStage(application_id=app.id, stage=name, occurred_at=at, actor_staff_id=6)


def add(uow: IntakeUnitOfWork, *apps: orm.Application) -> None:
    for app in apps:
        uow.applications.add(app, [stage(app)])
    uow.commit()


def test_an_application_added_is_read_back_by_id_and_by_receipt_with_its_stages(uow):
    app = application()
    uow.applications.add(app, [stage(app), stage(app, "completed", FILED + timedelta(minutes=5))])
    uow.commit()
    uow.session.expunge_all()
    assert uow.applications.get(app.id).receipt_no == app.receipt_no
    assert uow.applications.by_receipt(app.receipt_no).id == app.id
    assert uow.applications.phone_of(app.id) == "p" and uow.applications.phone_of("nobody") is None
    assert [s.stage for s in uow.applications.stages_of([app.id])[app.id]] == ["received", "completed"]
    assert uow.applications.stage_history(app.id) == [("received", FILED), ("completed", FILED + timedelta(minutes=5))]


def test_the_same_receipt_number_twice_is_refused_by_the_database(uow):
    first = application()
    add(uow, first)
    second = application()
    second.receipt_no = first.receipt_no
    with pytest.raises(IntegrityError):
        uow.applications.add(second, [stage(second)])
        uow.commit()
    uow.rollback()


def test_a_page_is_newest_first_within_the_callers_reach_and_goes_on_after_the_last(uow):
    apps = [application(filed_at=FILED + timedelta(minutes=i), n=i) for i in range(5)]
    add(uow, *apps, application(LX, n=9))
    common = {"mine": False, "equal": {}, "filed_from": None, "filed_before": None, "overdue_on": date(2026, 12, 1),
              "overdue": None, "completed_late": None, "final_statuses": ["completed", "refused"]}
    first = uow.applications.page(CADRE, after=None, limit=2, **common)
    assert [a.id for a in first] == [apps[4].id, apps[3].id, apps[2].id]  # one more than the limit: there is more
    after = (first[1].filed_at, first[1].id)
    assert [a.id for a in uow.applications.page(CADRE, after=after, limit=10, **common)] == [
        apps[2].id, apps[1].id, apps[0].id]  # and never the other township's
    assert uow.applications.page(CADRE, after=None, limit=10, **{**common, "equal": {"status": "completed"}}) == []
    overdue = uow.applications.page(CADRE, after=None, limit=10, **{**common, "overdue_on": date(2026, 12, 9),
                                                                     "overdue": True})
    assert len(overdue) == 5  # due on the 8th, not final


def test_a_station_pages_through_its_own_applications_only(uow):
    ours, theirs = application(station=f"ST{QS}001", n=1), application(station=f"ST{QS}002", n=2)
    add(uow, ours, theirs)
    station = access.authorize(STATION, "intake.list_applications")  # the matrix narrows it to its station
    page = uow.applications.page(station, after=None, limit=10, mine=True, equal={}, filed_from=None, filed_before=None,
                                 overdue_on=date(2026, 12, 1), overdue=None, completed_late=None, final_statuses=[])
    assert [a.id for a in page] == [ours.id]


def test_the_clock_is_taken_newest_first_and_an_unknown_application_is_said_so(uow):
    app = application()
    add(uow, app)

    def clock(seq: int, deadline: date | None, **extra) -> ApplicationClock:
        return ApplicationClock(application_id=app.id, receipt_no=app.receipt_no, township_code=QS, seq=seq,
                                occurred_at=FILED, promised_deadline=deadline, **extra)

    assert uow.applications.set_clock(clock(2, None, paused_on=date(2026, 12, 2), awaiting_materials=["户口簿"]))
    assert uow.applications.set_clock(clock(1, date(2026, 12, 8)))  # late: known, but changes nothing
    uow.commit()
    uow.session.expunge_all()
    held = uow.applications.get(app.id)
    assert (held.clock_seq, held.promised_deadline, held.paused_on, held.awaiting_materials) == (
        2, None, date(2026, 12, 2), ["户口簿"])
    assert uow.applications.set_clock(clock(3, date(2026, 12, 10), days_late=2))
    uow.commit()
    uow.session.expunge_all()
    held = uow.applications.get(app.id)
    assert (held.clock_seq, held.promised_deadline, held.days_late) == (3, date(2026, 12, 10), 2)
    assert not uow.applications.set_clock(clock(1, None).model_copy(update={"application_id": "nobody"}))


def test_handlers_are_kept_once_each(uow):
    app = application()
    add(uow, app)
    uow.applications.add_handler(app.id, 8, FILED)
    uow.applications.add_handler(app.id, 8, FILED)
    uow.applications.add_handler(app.id, 9, FILED)
    uow.commit()
    assert sorted(uow.applications.handlers_of([app.id])[app.id]) == [8, 9]
    assert uow.applications.handlers_of([]) == {}


def test_receipt_numbers_count_per_township_and_day(uow):
    day = date(2026, 12, 1)
    assert [uow.receipt_counters.next_number(QS, day) for _ in range(3)] == [1, 2, 3]
    assert uow.receipt_counters.next_number(LX, day) == 1
    assert uow.receipt_counters.next_number(QS, day + timedelta(days=1)) == 1
    uow.commit()
    assert uow.receipt_counters.next_number(QS, day) == 4


def test_light_records_are_listed_newest_first_within_reach(uow):
    for i, township in enumerate([QS, QS, LX]):
        uow.activities.add(orm.ActivityRecord(kind="consultation", township_code=township, station_code=None,
                                              village_code=f"{township}001", staff_id=7,
                                              occurred_on=date(2026, 12, 1 + i), recorded_at=FILED, details={}))
    uow.commit()
    listed = uow.activities.listed(CADRE, kind="consultation", village_code=None, occurred_from=None,
                                   occurred_to=None, limit=10, offset=0)
    assert [r.occurred_on for r in listed] == [date(2026, 12, 2), date(2026, 12, 1)]
    assert uow.activities.listed(CADRE, kind="practical_deed", village_code=None, occurred_from=None,
                                 occurred_to=None, limit=10, offset=0) == []
