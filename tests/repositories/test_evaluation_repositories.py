"""Evaluation's repositories on SQLite and PostgreSQL: the event log (each event once, replayed in order,
figures forgotten but the log kept), the applications held, the facts (each record once per metric, the
records behind a figure), the daily totals (gathered, summed, added to at the commit), which township a unit
counts under, what may be rated and the ratings (each sweep's claim won once), the score settings and the
townships' names."""
from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from services.evaluation.adapters import orm
from services.evaluation.adapters.repositories import EvaluationUnitOfWork
from shared.contracts import evaluation as c
from shared.contracts.caller import Caller, Role

QS, LX, OTHER = "431099101", "431099102", "431100101"  # two townships of one county, one of another county
COUNTY = Caller(staff_id=1, role=Role.COUNTY_ADMIN, county_code="431099")
NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
DAY = date(2026, 12, 1)


@pytest.fixture
def uow(service_db):
    db = service_db("evaluation", orm.Base.metadata)
    work = db.unit_of_work()
    assert isinstance(work, EvaluationUnitOfWork)  # named on evaluation's metadata: the database hands it out
    yield work
    work.close()


def count(uow: EvaluationUnitOfWork, model: type) -> int:
    return uow.session.execute(select(func.count()).select_from(model)).scalar_one()


def log(uow: EvaluationUnitOfWork, event_id: str, event_type: str = "application_filed") -> bool:
    return uow.events.add(event_id=event_id, source="intake", event_type=event_type, occurred_at=NOW,
                          payload={"id": event_id})


def fact(uow: EvaluationUnitOfWork, ref: str, *, metric: str = "received", day: date = DAY, township: str = QS,
         station: str | None = None, village: str | None = None, staff: int | None = None,
         value: float = 1.0) -> bool:
    return uow.facts.add(metric=metric, ref=ref, day=day, township_code=township, station_code=station,
                         village_code=village, staff_id=staff, value=value)


def test_an_event_is_logged_once_and_the_log_is_replayed_in_order_in_chunks(uow):
    assert [log(uow, f"e{i}") for i in range(5)] == [True] * 5
    assert not log(uow, "e2")  # the same event again (a dead letter replayed): not logged twice
    uow.commit()
    chunks = [[row.event_id for row in rows] for rows in uow.events.in_order(2)]
    assert chunks == [["e0", "e1"], ["e2", "e3"], ["e4"]]


def test_forgetting_what_was_counted_keeps_the_log(uow):
    log(uow, "e1")
    fact(uow, "r1")
    uow.daily_totals.add("received", DAY, [(c.Level.TOWNSHIP, QS)], 1.0)
    uow.unit_townships.learn([(c.Level.STATION, "S-forget")], QS)
    uow.applications.hold("a" * 32, receipt_no="R1", township_code=QS)
    uow.commit()
    uow.events.forget_what_was_counted()
    uow.commit()
    assert [count(uow, m) for m in (orm.FactRow, orm.DailyTotal, orm.UnitTownship, orm.ApplicationRow)] == [0] * 4
    assert count(uow, orm.EventLogRow) == 1


def test_an_application_is_inserted_by_its_first_event_and_held_as_it_is_by_the_next(uow):
    first = uow.applications.hold("a" * 32, receipt_no="R1", township_code=QS, filed_on=DAY)
    assert (first.receipt_no, first.township_code, first.filed_on) == ("R1", QS, DAY)
    uow.commit()
    again = uow.applications.hold("a" * 32, receipt_no="R1", completed_on=DAY)  # what was stored, not `first`
    assert (again.township_code, again.filed_on, again.completed_on) == (QS, DAY, None)
    uow.commit()
    assert count(uow, orm.ApplicationRow) == 1


def test_a_record_is_counted_once_per_metric(uow):
    assert fact(uow, "r1")
    assert not fact(uow, "r1", value=5.0)  # counted already: the first one stands
    assert fact(uow, "r1", metric="completed")
    uow.commit()
    assert count(uow, orm.FactRow) == 2
    assert [x.value for x in uow.facts.behind(c.Metric.RECEIVED, c.Level.TOWNSHIP, QS, DAY, DAY, limit=10,
                                              offset=0)] == [1.0]


def test_the_records_behind_a_figure_are_the_units_own_in_the_period_by_day_and_reference_a_page_at_a_time(uow):
    fact(uow, "r2", day=date(2026, 12, 2), station="S1", staff=7)
    fact(uow, "r1", day=date(2026, 12, 2), station="S1", staff=7)
    fact(uow, "r0", day=date(2026, 12, 3), station="S2", staff=8)
    fact(uow, "r9", day=date(2026, 12, 9), station="S1", staff=7)  # after the period
    fact(uow, "lx", day=date(2026, 12, 2), township=LX)
    fact(uow, "far", day=date(2026, 12, 2), township=OTHER)  # another county
    fact(uow, "done", metric="completed", day=date(2026, 12, 2), station="S1")
    uow.commit()
    start, end = date(2026, 12, 1), date(2026, 12, 5)

    def refs(level: c.Level, unit: str, limit: int = 10, offset: int = 0) -> list[str]:
        return [x.ref for x in uow.facts.behind(c.Metric.RECEIVED, level, unit, start, end, limit=limit,
                                                offset=offset)]

    assert refs(c.Level.TOWNSHIP, QS) == ["r1", "r2", "r0"]
    assert refs(c.Level.STATION, "S1") == ["r1", "r2"]
    assert refs(c.Level.STAFF, "8") == ["r0"]  # a staff member's id, given as text
    assert refs(c.Level.COUNTY, "431099") == ["lx", "r1", "r2", "r0"]  # its townships, not the other county's
    assert refs(c.Level.TOWNSHIP, QS, limit=1, offset=1) == ["r2"]


def test_daily_totals_are_gathered_summed_and_added_to_the_stored_ones_at_the_commit(uow):
    units = [(c.Level.TOWNSHIP, QS), (c.Level.STATION, "S1")]
    uow.daily_totals.add("received", DAY, units, 1.0)
    uow.daily_totals.add("received", DAY, units, 2.0)
    uow.daily_totals.add("received", date(2026, 12, 2), [(c.Level.TOWNSHIP, QS)], 4.0)
    assert count(uow, orm.DailyTotal) == 0  # gathered: nothing written before the commit
    uow.commit()
    stored = {(r.level, r.unit, r.day): (r.total, r.records) for r in
              uow.session.execute(select(orm.DailyTotal)).scalars()}
    assert stored == {("township", QS, DAY): (3.0, 2), ("station", "S1", DAY): (3.0, 2),
                      ("township", QS, date(2026, 12, 2)): (4.0, 1)}
    uow.daily_totals.add("received", DAY, [(c.Level.TOWNSHIP, QS)], 10.0)  # a row already stored: added to
    uow.commit()
    uow.session.expunge_all()
    row = uow.session.get(orm.DailyTotal, ("township", QS, "received", DAY))
    assert (row.total, row.records) == (13.0, 3)


def test_sums_are_per_unit_and_metric_over_the_period_and_zero_where_nothing_was_counted(uow):
    uow.daily_totals.add("received", DAY, [(c.Level.TOWNSHIP, QS)], 2.0)
    uow.daily_totals.add("received", date(2026, 12, 3), [(c.Level.TOWNSHIP, QS)], 3.0)
    uow.daily_totals.add("completed", date(2026, 12, 3), [(c.Level.TOWNSHIP, QS)], 1.0)
    uow.daily_totals.add("received", date(2026, 12, 20), [(c.Level.TOWNSHIP, QS)], 50.0)  # after the period
    uow.daily_totals.add("received", DAY, [(c.Level.STATION, QS)], 70.0)  # another level, same code
    uow.commit()
    sums = uow.daily_totals.sums(c.Level.TOWNSHIP, [QS, LX], DAY, date(2026, 12, 10))
    assert sums[QS][c.Metric.RECEIVED] == 5.0 and sums[QS][c.Metric.COMPLETED] == 1.0
    assert sums[LX] == dict.fromkeys(c.Metric, 0.0)
    assert uow.daily_totals.sums(c.Level.TOWNSHIP, [], DAY, DAY) == {}
    days = uow.daily_totals.of_township(QS, [c.Metric.RECEIVED], DAY, date(2026, 12, 10))
    assert sorted(days) == [(DAY, c.Metric.RECEIVED, 2.0), (date(2026, 12, 3), c.Metric.RECEIVED, 3.0)]


def test_a_units_township_is_noted_once_and_listed_within_the_callers_reach(uow):
    uow.unit_townships.learn([(c.Level.COUNTY, "431099"), (c.Level.TOWNSHIP, QS), (c.Level.STATION, "S1")], QS)
    uow.unit_townships.learn([(c.Level.STATION, "S2")], LX)
    uow.unit_townships.learn([(c.Level.STATION, "S3")], OTHER)
    uow.commit()
    uow.unit_townships.learn([(c.Level.STATION, "S1")], LX)  # known already: the first township stands
    uow.commit()
    assert uow.unit_townships.township_of(c.Level.STATION, "S1") == QS
    assert uow.unit_townships.township_of(c.Level.COUNTY, "431099") is None  # the county is no unit of a township
    assert uow.unit_townships.township_of(c.Level.VILLAGE, "S1") is None
    assert uow.unit_townships.of_level(c.Level.STATION, None, None) == {"S1": QS, "S2": LX, "S3": OTHER}
    assert uow.unit_townships.of_level(c.Level.STATION, None, COUNTY) == {"S1": QS, "S2": LX}
    assert uow.unit_townships.of_level(c.Level.STATION, LX, COUNTY) == {"S2": LX}
    cadre = Caller(staff_id=2, role=Role.TOWNSHIP_CADRE, township_code=QS)
    assert uow.unit_townships.of_level(c.Level.STATION, None, cadre) == {"S1": QS}


def rateable(uow: EvaluationUnitOfWork, receipt_no: str, **values) -> orm.RateableRow:
    return uow.rateables.hold(receipt_no, kind="application", township_code=QS, **values)


def test_a_rateable_is_inserted_with_its_values_and_held_with_its_kind_and_township_as_the_latest_event_says(uow):
    row = rateable(uow, "R1", station_code="S1", contact_check="c", ready_on=None)
    assert (row.station_code, row.contact_check, row.ready_on) == ("S1", "c", None)
    uow.commit()
    again = uow.rateables.hold("R1", kind="complaint", township_code=LX, station_code="S9")
    assert (again.kind, again.township_code, again.station_code) == ("complaint", LX, "S1")
    uow.commit()
    uow.session.expunge_all()
    assert (uow.rateables.get("R1").kind, uow.rateables.locked("R1").township_code) == ("complaint", LX)
    assert uow.rateables.locked("nothing") is None


def rating(receipt_no: str, *, follow_up_due: date | None = None) -> orm.RatingRow:
    return orm.RatingRow(receipt_no=receipt_no, kind="application", township_code=QS, level=1, channel="station",
                         rated_on=DAY, rated_at=NOW, follow_up_due=follow_up_due)


def test_those_ready_long_enough_and_neither_invited_nor_rated_are_invited_each_once(uow):
    rateable(uow, "ready", ready_on=date(2026, 11, 20))
    rateable(uow, "just-ready", ready_on=date(2026, 11, 28))
    rateable(uow, "not-ready", ready_on=None)
    rateable(uow, "rated", ready_on=date(2026, 11, 20))
    rateable(uow, "invited", ready_on=date(2026, 11, 20), invited_at=NOW)
    uow.ratings.add(rating("rated"))
    uow.commit()
    assert sorted(uow.rateables.to_invite(date(2026, 11, 28), 10)) == ["just-ready", "ready"]
    assert len(uow.rateables.to_invite(date(2026, 11, 28), 1)) == 1
    assert uow.rateables.claim_invitation("ready", NOW)
    uow.commit()
    assert not uow.rateables.claim_invitation("ready", NOW)  # invited already: lost, rolled back
    assert uow.rateables.to_invite(date(2026, 11, 28), 10) == ["just-ready"]


def test_a_late_call_back_is_found_and_supervised_once(uow):
    uow.ratings.add(rating("late", follow_up_due=date(2026, 11, 30)))
    uow.ratings.add(rating("due-today", follow_up_due=DAY))
    uow.ratings.add(rating("good"))
    followed = rating("followed", follow_up_due=date(2026, 11, 1))
    followed.followed_up_at = NOW
    uow.ratings.add(followed)
    uow.commit()
    assert uow.ratings.follow_up_late(DAY, 10) == ["late"]
    assert uow.ratings.claim_overdue("late", NOW)
    uow.commit()
    assert not uow.ratings.claim_overdue("late", NOW)
    assert uow.ratings.follow_up_late(DAY, 10) == []
    uow.session.expunge_all()
    assert uow.ratings.get("late").overdue_at is not None and uow.ratings.get("nothing") is None


def test_score_settings_the_installations_and_each_countys_own_row(uow):
    assert uow.score_settings.installation() is None and uow.score_settings.of_county("431099") is None
    values = {"updated_by": 1, "updated_at": NOW}
    uow.score_settings.set_county("431099", {"settings": {"w": 1}, **values})  # before the installation's
    uow.commit()
    uow.score_settings.set_installation({"settings": {"w": 0}, **values})
    uow.score_settings.set_county("431100", {"settings": {"w": 2}, **values})
    uow.commit()
    uow.score_settings.set_county("431099", {"settings": {"w": 3}, **values})  # its own row, changed
    uow.commit()
    uow.session.expunge_all()
    assert uow.score_settings.installation().settings == {"w": 0}
    first, second = uow.score_settings.of_county("431099"), uow.score_settings.of_county("431100")
    assert (first.id, first.settings) == (2, {"w": 3})  # never the installation's id, 1
    assert (second.id, second.settings) == (3, {"w": 2})
    assert count(uow, orm.ScoreSettingsRow) == 3


def test_a_townships_name_is_kept_from_its_newest_version(uow):
    assert uow.townships.name_of(QS) is None
    uow.townships.keep({"code": QS, "name": "青山镇", "version": 2})
    uow.commit()
    uow.townships.keep({"code": QS, "name": "旧名", "version": 1})  # an older version arriving late
    uow.commit()
    uow.session.expunge_all()
    assert uow.townships.name_of(QS) == "青山镇"
