"""Evaluation on a real database fed with the other services' events: the seed town's own year
(510 activities, 370 deeds, 800 consultations, 415 received, 390 completed) comes out exactly; the same
events twice or replayed from the log give the same figures; every figure drills down to its records;
events out of order still count; a township sees only its own figures."""
from __future__ import annotations

import io
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from nameko.testing.services import worker_factory
from openpyxl import load_workbook
from sqlalchemy import select

from services.evaluation.adapters import orm
from services.evaluation.service import EvaluationService
from services.evaluation.service_layer import counting, figures, rankings, ratings, reports
from shared.contracts import evaluation as c
from shared.contracts.base import parse
from shared.contracts.caller import Caller, Role
from shared.contracts.envelope import EventEnvelope
from shared.contracts.evaluation import FiguresQuery, RecordsQuery
from shared.errors import Conflict, Forbidden, NotFound, TooManyAttempts
from shared.pii import PersonalDataVault
from shared.service import WorkerCaller
from shared.settings import DEVELOPMENT_PII_KEY

QS, LX = "431099101", "431099102"
SUPERVISOR = Caller(staff_id=31, role=Role.SUPERVISOR, township_code=QS)
LX_SUPERVISOR = Caller(staff_id=41, role=Role.SUPERVISOR, township_code=LX)
ADMIN = Caller(staff_id=1, role=Role.COUNTY_ADMIN, county_code="431099")
SYSADMIN = Caller(staff_id=9, role=Role.SYSTEM_ADMIN)
YEAR = {"start": "2026-01-01", "end": "2026-12-31"}
STATIONS = [f"ST{QS}{n:03d}" for n in range(1, 11)]
VAULT = PersonalDataVault(DEVELOPMENT_PII_KEY)


@pytest.fixture
def evaluation_db(migrated_db):
    return migrated_db("evaluation", orm.Base.metadata)


@pytest.fixture
def deliver(evaluation_db):
    """Deliver one event to evaluation as nameko would, in its own worker; returns the envelope."""
    def send(source: str, type_: str, payload: dict, at: datetime, event_id: str | None = None) -> dict:
        envelope = EventEnvelope(source=source, type=type_, occurred_at=at, payload=payload,
                                 event_id=event_id or uuid.uuid4().hex).model_dump(mode="json")
        worker = worker_factory(EvaluationService, db=evaluation_db.unit_of_work(),
                                caller=WorkerCaller(Caller.system()))
        getattr(worker, f"on_{type_}")(envelope)
        worker.db.close()
        return envelope
    return send


def _at(day_of_year: int, hour: int = 2) -> datetime:
    return datetime(2026, 1, 1, hour, tzinfo=UTC) + timedelta(days=day_of_year)


def _filed(n: int) -> dict:
    station, receipt = STATIONS[n % 10], f"{QS}-2026{n:04d}-{n:04d}"
    return {"id": f"app{n:05d}", "receipt_no": receipt, "township_code": QS, "station_code": station,
            "village_code": f"{QS}{(n % 10) + 1:03d}", "accountable_staff_id": 100 + n % 10,
            "filed_at": _at(n % 300).isoformat(), "contact_check": VAULT.contact_check(receipt, "5678")}


@pytest.fixture
def bulk(evaluation_db):
    """Count many events in one unit of work (what each event handler does, without a worker and a commit
    per event: the seed year is ~2,000 events). Returns the envelopes, as `deliver` does."""
    uow = evaluation_db.unit_of_work()

    def send(source: str, type_: str, payload: dict, at: datetime) -> dict:
        envelope = EventEnvelope(source=source, type=type_, occurred_at=at, payload=payload)
        counting.record_event(uow, event_id=envelope.event_id, source=source, event_type=type_, occurred_at=at,
                              payload=envelope.model_dump(mode="json")["payload"])
        return envelope.model_dump(mode="json")

    send.commit = uow.commit  # type: ignore[attr-defined]
    yield send
    uow.close()


def _seed_year(deliver) -> list[dict]:
    """The seed town's year as events: 415 applications received, 390 completed (40 on the spot, 350
    through approvals, 20 of them late), 200 consultations of 4 people, 510 activities, 370 deeds."""
    sent = []
    for n in range(415):
        sent.append(deliver("intake", "application_filed", _filed(n), _at(n % 300)))
    for n in range(40):
        sent.append(deliver("intake", "application_completed_on_the_spot", {
            "id": f"app{n:05d}", "receipt_no": f"{QS}-2026{n:04d}-{n:04d}", "completed_at": _at(n % 300).isoformat()},
            _at(n % 300)))
    for n in range(40, 390):
        filed = n % 300
        progress = {"application_id": f"app{n:05d}", "receipt_no": f"{QS}-2026{n:04d}-{n:04d}", "township_code": QS}
        sent.append(deliver("approvals", "application_progressed", {
            **progress, "stage": "accepted", "occurred_at": _at(filed).isoformat(),
            "promised_deadline": (date(2026, 1, 1) + timedelta(days=filed + 20)).isoformat()}, _at(filed)))
        done = filed + (30 if n < 60 else 10)  # the first twenty finish after their promised deadline
        sent.append(deliver("approvals", "application_progressed", {
            **progress, "stage": "completed", "occurred_at": _at(done).isoformat(), "outcome": "approved"},
            _at(done)))
    kinds = [("consultation", 200, 4), ("service_activity", 510, 30), ("practical_deed", 370, 1)]
    for kind, count, people in kinds:
        for n in range(count):
            sent.append(deliver("intake", "activity_recorded", {
                "id": n + 1, "kind": kind, "township_code": QS, "station_code": STATIONS[n % 10],
                "village_code": f"{QS}{(n % 10) + 1:03d}", "staff_id": 100 + n % 10,
                "occurred_on": (date(2026, 1, 1) + timedelta(days=n % 330)).isoformat(), "people": people},
                _at(n % 330)))
    getattr(deliver, "commit", lambda: None)()
    return sent


def _figures(evaluation_db, caller=SUPERVISOR, **query):
    uow = evaluation_db.unit_of_work()
    try:
        return figures.figures(uow, caller=caller, query=parse(FiguresQuery, {**YEAR, **query}))
    finally:
        uow.close()


def test_the_seed_towns_year_comes_out_exactly(evaluation_db, bulk):
    _seed_year(bulk)
    year = _figures(evaluation_db, level="township", unit=QS)
    counts = {k: int(v) for k, v in year.counts.items() if v}
    assert counts["service_activities"] == 510 and counts["practical_deeds"] == 370
    assert counts["consultations"] == 800 and counts["received"] == 415 and counts["completed"] == 390
    assert counts["on_time"] == 370  # twenty were late
    assert year.completion_rate == round(390 / 415, 4) and year.on_time_rate == round(370 / 390, 4)
    assert year.satisfaction_rate is None  # nobody has rated yet: no rate, not 0%
    assert year.average_working_days is not None and year.average_working_days > 0
    station = _figures(evaluation_db, level="station", unit=STATIONS[3])
    assert station.counts["received"] == 42 and station.township_code == QS  # 415 filings over ten stations
    staff = _figures(evaluation_db, level="staff", unit="103")
    assert staff.counts["received"] == 42
    county = _figures(evaluation_db, caller=ADMIN, level="county")
    assert county.counts == year.counts


def test_the_same_events_again_or_replayed_give_the_same_figures(evaluation_db, bulk, deliver):
    sent = _seed_year(bulk)
    before = _figures(evaluation_db, level="township", unit=QS)
    for envelope in sent[::40]:  # redelivered through the service: the same event ids
        deliver(envelope["source"], envelope["type"], envelope["payload"], datetime.fromisoformat(
            envelope["occurred_at"]), event_id=envelope["event_id"])
    for envelope in sent[::45]:  # the same records announced again under new event ids
        deliver(envelope["source"], envelope["type"], envelope["payload"], datetime.fromisoformat(
            envelope["occurred_at"]))
    assert _figures(evaluation_db, level="township", unit=QS) == before
    uow = evaluation_db.unit_of_work()
    report = counting.rebuild(uow)
    uow.close()
    assert report.events == len(sent) + len(sent[::45]) and report.seconds >= 0
    assert _figures(evaluation_db, level="township", unit=QS) == before


def test_every_figure_drills_down_to_its_records(evaluation_db, bulk):
    _seed_year(bulk)
    uow = evaluation_db.unit_of_work()
    late = figures.records(uow, caller=SUPERVISOR, query=parse(RecordsQuery, {
        **YEAR, "metric": "completed", "level": "station", "unit": STATIONS[0], "limit": 1000}))
    uow.close()
    figure = _figures(evaluation_db, level="station", unit=STATIONS[0]).counts["completed"]
    assert len(late) == figure == 39 and all(r.station_code == STATIONS[0] for r in late)
    uow = evaluation_db.unit_of_work()
    consultations = figures.records(uow, caller=SUPERVISOR, query=parse(RecordsQuery, {
        **YEAR, "metric": "consultations", "level": "township", "unit": QS, "limit": 1000}))
    uow.close()
    assert sum(r.value for r in consultations) == 800


def test_a_completion_that_arrives_before_its_filing_still_counts(evaluation_db, deliver):
    progress = {"application_id": "app99999", "receipt_no": f"{QS}-20269999-9999", "township_code": QS}
    deliver("approvals", "application_progressed", {**progress, "stage": "completed",
                                                     "occurred_at": _at(40).isoformat()}, _at(40))
    with pytest.raises(NotFound):  # nothing counted yet: the township has no figures at all
        _figures(evaluation_db, level="station", unit=STATIONS[9])
    deliver("intake", "application_filed", {**_filed(9999), "id": "app99999", "receipt_no": f"{QS}-20269999-9999"},
            _at(30))
    found = _figures(evaluation_db, level="township", unit=QS)
    assert (found.counts["received"], found.counts["completed"]) == (1, 1)


def test_attendance_visits_and_findings_count_for_the_staff_member(evaluation_db, deliver):
    deliver("scheduling", "session_attendance_recorded", {"session_id": "s1", "site_code": "QS-JISHI",
                                                          "township_code": QS, "day": "2026-12-09", "staff_id": 3,
                                                          "attendance": "attended"}, _at(342))
    deliver("scheduling", "session_attendance_recorded", {"session_id": "s2", "site_code": "QS-JISHI",
                                                          "township_code": QS, "day": "2026-12-12", "staff_id": 3,
                                                          "attendance": "no_show"}, _at(345))
    deliver("scheduling", "visit_reported", {"visit_id": "v1", "kind": "joint", "township_code": QS,
                                             "village_code": f"{QS}002", "day": "2026-12-10", "went_staff_ids": [3],
                                             "missed_staff_ids": [4], "raised_count": 2, "people_met": 20}, _at(343))
    for finding, receipt in (("substantiated", "c1"), ("partly", "c2"), ("not_substantiated", "c3")):
        deliver("complaints", "complaint_finding_recorded", {
            "complaint_id": receipt, "receipt_no": receipt, "township_code": QS, "accused_staff_id": 3,
            "finding": finding, "by_staff_id": 1, "occurred_at": _at(344).isoformat()}, _at(344))
    three = _figures(evaluation_db, level="staff", unit="3").counts
    assert (three["sessions_attended"], three["sessions_missed"], three["visits_made"], three["substantiated"]) == \
        (1, 1, 1, 2)
    assert _figures(evaluation_db, level="staff", unit="4").counts["visits_missed"] == 1


def test_a_township_sees_only_its_own_figures(evaluation_db, deliver):
    deliver("intake", "application_filed", _filed(1), _at(1))
    with pytest.raises(NotFound):
        _figures(evaluation_db, caller=LX_SUPERVISOR, level="township", unit=QS)
    with pytest.raises(NotFound):
        _figures(evaluation_db, caller=LX_SUPERVISOR, level="station", unit=STATIONS[1])
    with pytest.raises(Forbidden):
        _figures(evaluation_db, caller=SUPERVISOR, level="county")
    with pytest.raises(NotFound):
        _figures(evaluation_db, caller=Caller.public(), level="township", unit=QS)
    assert _figures(evaluation_db, caller=ADMIN, level="township", unit=QS).counts["received"] == 1


def test_the_township_report_states_the_seed_towns_own_sentence(evaluation_db, bulk):
    _seed_year(bulk)
    worker = worker_factory(EvaluationService, db=evaluation_db.unit_of_work(),
                                caller=WorkerCaller(Caller.system()))
    worker.on_township_changed(EventEnvelope(source="directory", type="township_changed", occurred_at=_at(0),
                                             payload={"code": QS, "county_code": "431099", "name": "青石镇",
                                                      "hotline": None, "version": 1}).model_dump(mode="json"))
    uow = evaluation_db.unit_of_work()
    report = reports.township_report(uow, caller=SUPERVISOR, query=parse(c.ReportQuery, {**YEAR, "township_code": QS}),
                                     now=datetime(2026, 11, 28, 2, tzinfo=UTC))
    assert report.summary == ("今年以来，全镇各服务站共开展六大服务活动510次，共为群众办实事370件，"
                              "接待群众来访、咨询800人次，受理群众申请事项415件，已办结390件"
                              "（办结率94.0%，承诺期限兑现率94.9%，群众满意率—）。")
    assert len(report.stations) == 10 and sum(s.counts["received"] for s in report.stations) == 415
    assert len(report.villages) == 10
    csv_text = reports.report_csv(report)
    lines = csv_text.splitlines()
    assert lines[0].startswith("层级,单位,受理数,办结数") and len(lines) == 1 + 1 + 10 + 10 + 10
    book = load_workbook(io.BytesIO(reports.report_xlsx(report)))
    assert book.sheetnames == ["汇总", "乡镇", "服务站", "行政村", "工作人员", "月度趋势"]
    assert book["汇总"]["A2"].value == report.summary and book["乡镇"]["B2"].value == 415
    assert book["服务站"].max_row == 11 and book["月度趋势"].max_row == 13
    assert sum(m.received for m in report.months) == 415 and len(report.months) == 12
    png = reports.trend_png(report)
    assert png.startswith(b"\x89PNG") and len(png) > 5000
    assert lines[1].startswith("乡镇,青石镇,415,390,")
    assert lines[1].endswith(f",{QS},2026-01-01,2026-12-31,按期内受理的办件统计")
    uow.close()
    with pytest.raises(NotFound):
        uow = evaluation_db.unit_of_work()
        reports.township_report(uow, caller=LX_SUPERVISOR, query=parse(c.ReportQuery, {**YEAR, "township_code": QS}),
                                now=datetime(2026, 11, 28, 2, tzinfo=UTC))



# ---- ratings 好差评 ---------------------------------------------------------------------------------------

def _rate(evaluation_db, cmd, caller=SUPERVISOR, now=None):
    uow = evaluation_db.unit_of_work()
    try:
        return ratings.rate(uow, caller=caller, cmd=cmd, vault=VAULT, now=now or _at(200))
    finally:
        uow.close()


def test_ratings_once_per_completed_item_counted_and_traceable(evaluation_db, deliver):
    deliver("intake", "application_filed", _filed(1), _at(100))
    receipt = _filed(1)["receipt_no"]
    rating = parse(c.RatingCreate, {"receipt_no": receipt, "level": 4, "attitude": 5, "comment": "办得快"})
    with pytest.raises(Conflict) as early:
        _rate(evaluation_db, rating)
    assert early.value.code == "not_rateable"
    deliver("approvals", "application_progressed", {"application_id": "app00001", "receipt_no": receipt,
                                                    "township_code": QS, "stage": "completed",
                                                    "occurred_at": _at(110).isoformat()}, _at(110))
    with pytest.raises(Forbidden):  # the accountable staff member does not record their own rating
        _rate(evaluation_db, rating, caller=Caller(staff_id=101, role=Role.VILLAGE_AGENT, township_code=QS))
    view = _rate(evaluation_db, rating)
    assert (view.words, view.satisfied, view.follow_up_due) == ("满意", True, None)
    assert _rate(evaluation_db, rating) == view  # the same rating retried: answered again, recorded once
    with pytest.raises(Conflict) as twice:
        _rate(evaluation_db, parse(c.PublicRating, {"receipt_no": receipt, "code": "5678", "level": 1}))
    assert twice.value.code == "already_rated"
    found = _figures(evaluation_db, level="staff", unit="101")
    assert (found.counts["ratings"], found.counts["satisfied"], found.satisfaction_rate) == (1, 1, 1.0)
    uow = evaluation_db.unit_of_work()
    assert [r.ref for r in figures.records(uow, caller=SUPERVISOR, query=parse(RecordsQuery, {
        **YEAR, "metric": "satisfied", "level": "township", "unit": QS}))] == [receipt]
    counting.rebuild(uow)
    uow.close()
    assert _figures(evaluation_db, level="staff", unit="101").counts["ratings"] == 1  # ratings replay too


def test_a_station_key_records_ratings_of_its_own_station_only(evaluation_db, deliver):
    from shared.contracts.access import authorize

    for n in (3, 4):
        deliver("intake", "application_filed", _filed(n), _at(100))
        deliver("approvals", "application_progressed", {
            "application_id": f"app{n:05d}", "receipt_no": _filed(n)["receipt_no"], "township_code": QS,
            "stage": "completed", "occurred_at": _at(110).isoformat()}, _at(110))
    key = authorize(Caller(staff_id=99, username="station-key-1", role=Role.STATION_CLIENT, township_code=QS,
                           station_code=_filed(3)["station_code"]), "evaluation.rate")
    with pytest.raises(NotFound):  # an application of another station of the township
        _rate(evaluation_db, parse(c.RatingCreate, {"receipt_no": _filed(4)["receipt_no"], "level": 5}), caller=key)
    mine = _rate(evaluation_db, parse(c.RatingCreate, {"receipt_no": _filed(3)["receipt_no"], "level": 5}),
                 caller=key)
    assert mine.satisfied is True


def test_a_public_rating_needs_the_phone_digits_and_a_bad_one_must_be_called_back(evaluation_db, deliver):
    deliver("intake", "application_filed", _filed(2), _at(100))
    receipt = _filed(2)["receipt_no"]
    deliver("intake", "application_completed_on_the_spot", {"id": "app00002", "receipt_no": receipt,
                                                              "completed_at": _at(100).isoformat()}, _at(100))
    wrong = parse(c.PublicRating, {"receipt_no": receipt, "code": "0000", "level": 1, "client": "10.1.1.1"})
    for _ in range(5):
        with pytest.raises(NotFound):
            _rate(evaluation_db, wrong, caller=Caller.public(), now=_at(99))
    with pytest.raises(TooManyAttempts):
        _rate(evaluation_db, wrong, caller=Caller.public(), now=_at(99))
    bad = _rate(evaluation_db, parse(c.PublicRating, {"receipt_no": receipt, "code": "5678", "level": 2,
                                                      "comment": "来回跑了三趟", "client": "10.1.1.2"}),
                caller=Caller.public(), now=_at(100, hour=3))  # a day later: the lock has lifted
    assert bad.channel == "public_lookup" and bad.satisfied is False
    assert bad.follow_up_due == date(2026, 5, 1)  # 15 working days after Friday 10 April (no holidays known)
    uow = evaluation_db.unit_of_work()
    assert ratings.sweep(uow, now=datetime(2026, 5, 1, 2, tzinfo=UTC)) == (0, 0)
    assert ratings.sweep(uow, now=datetime(2026, 5, 2, 2, tzinfo=UTC)) == (0, 1)  # late: 督办, once
    assert ratings.sweep(uow, now=datetime(2026, 5, 3, 2, tzinfo=UTC)) == (0, 0)
    done = ratings.follow_up(uow, caller=SUPERVISOR, receipt_no=receipt, note="已回访，道歉并说明", now=_at(125))
    assert done.receipt_no == receipt
    with pytest.raises(Conflict):
        ratings.follow_up(uow, caller=SUPERVISOR, receipt_no=receipt, note="再次", now=_at(126))
    uow.close()
    assert _figures(evaluation_db, level="township", unit=QS).satisfaction_rate == 0.0


def test_an_unrated_item_gets_one_invitation_three_days_after_completion(evaluation_db, deliver):
    deliver("intake", "application_filed", _filed(3), _at(100))
    deliver("intake", "application_completed_on_the_spot", {"id": "app00003", "receipt_no": _filed(3)["receipt_no"],
                                                              "completed_at": _at(100).isoformat()}, _at(100))
    uow = evaluation_db.unit_of_work()
    assert ratings.sweep(uow, now=_at(102)) == (0, 0)
    assert ratings.sweep(uow, now=_at(103)) == (1, 0)
    assert ratings.sweep(uow, now=_at(104)) == (0, 0)
    uow.close()


def test_a_replied_complaint_can_be_rated_by_its_look_up_code(evaluation_db, deliver):
    receipt = f"{QS}-TS20260410-0001"
    deliver("complaints", "complaint_registered", {
        "id": "c" * 32, "receipt_no": receipt, "kind": "petition", "network": "petitions", "category": "land",
        "channel": "online", "township_code": QS, "village_code": f"{QS}001", "station_code": None,
        "session_id": None, "visit_id": None, "accused_staff_id": None, "registered_by": None,
        "contact_check": VAULT.contact_check(receipt, "K7PQ2MXA")}, _at(100))
    rating = parse(c.PublicRating, {"receipt_no": receipt, "code": "k7pq2mxa", "level": 5})
    with pytest.raises(Conflict):
        _rate(evaluation_db, rating, caller=Caller.public())
    deliver("complaints", "complaint_progressed", {
        "id": "c" * 32, "receipt_no": receipt, "township_code": QS, "action": "reply", "from_status": "handling",
        "to_status": "replied", "actor_staff_id": 3, "handler_staff_id": 3, "stage": "call_back",
        "stage_due": "2026-04-20", "occurred_at": _at(105).isoformat()}, _at(105))
    assert _rate(evaluation_db, rating, caller=Caller.public()).words == "非常满意"
    assert _figures(evaluation_db, level="staff", unit="3").counts["satisfied"] == 1


def test_rankings_suppress_small_samples_and_the_lists_show_their_records(evaluation_db, bulk):
    _seed_year(bulk)  # 415 filings over ten stations; the first twenty completions were late
    bulk("approvals", "supervision_notice_issued", {
        "application_id": "app00041", "receipt_no": _filed(41)["receipt_no"], "township_code": QS,
        "deadline_kind": "overall", "step_name": None, "due_on": "2026-02-20", "responsible_staff_id": None,
        "accountable_staff_id": 101}, _at(52))
    bulk.commit()
    uow = evaluation_db.unit_of_work()
    rankings.set_score_settings(uow, caller=SYSADMIN, now=_at(1), cmd=parse(c.ScoreSettings, {
        "weights": {"completion": 0.5, "on_time": 0.5}, "min_sample": 42, "commend_top": 2,
        "accountability_overdue": 1}))
    with pytest.raises(Forbidden):
        rankings.set_score_settings(uow, caller=SUPERVISOR, now=_at(1), cmd=c.ScoreSettings())
    ranking = rankings.ranking(uow, caller=SUPERVISOR, query=parse(c.RankingQuery, {
        **YEAR, "level": "station", "township_code": QS}))
    ranked = [x for x in ranking.units if x.rank is not None]
    assert {x.received for x in ranked} == {42} and len(ranked) == 5  # five stations received 41: not ranked
    assert all(x.rank is None for x in ranking.units if x.received < 42)
    assert [x.rank for x in ranked] == sorted(x.rank for x in ranked) and ranked[0].score >= ranked[-1].score
    assert ranked[0].components["completion"] is not None
    lists = rankings.honour_lists(uow, caller=SUPERVISOR, query=parse(c.RankingQuery, {
        **YEAR, "level": "station", "township_code": QS}))
    assert {x.rank for x in ranked} == {1}  # five stations tied for first …
    assert lists.commendation == []  # … and two places: nothing tells them apart, so none is commended
    [late] = [e for e in lists.accountability if "超期办件1件" in e.reasons]
    assert [r.ref for r in late.records] == [_filed(41)["receipt_no"]]
    with pytest.raises(Forbidden):
        rankings.ranking(uow, caller=SUPERVISOR, query=parse(c.RankingQuery, {**YEAR, "level": "township"}))
    townships = rankings.ranking(uow, caller=ADMIN, query=parse(c.RankingQuery, {**YEAR, "level": "township"}))
    assert [x.unit for x in townships.units] == [QS]
    uow.close()


def test_a_batch_of_filings_is_counted_once_each_in_one_transaction(evaluation_db):
    """What the broker hands the counting handler at once (ServiceEventHandler's batches): one
    transaction, the county's and township's daily totals summed over the batch before they are written,
    an event delivered twice in the batch counted once."""
    envelopes = [EventEnvelope(source="intake", type="application_filed", occurred_at=_at(0),
                               payload={**_filed(n), "filed_at": _at(0).isoformat()}).model_dump(mode="json")
                 for n in range(6)]
    worker = worker_factory(EvaluationService, db=evaluation_db.unit_of_work(), caller=WorkerCaller(Caller.system()))
    worker.on_application_filed(envelopes + envelopes[:2])
    worker.db.close()
    assert _figures(evaluation_db, level="township", unit=QS).counts["received"] == 6
    assert _figures(evaluation_db, caller=ADMIN, level="county").counts["received"] == 6
    assert _figures(evaluation_db, level="station", unit=STATIONS[1]).counts["received"] == 1
    with evaluation_db.sessions() as session:  # one row a unit, metric and day, each filing added once
        county = session.execute(select(orm.DailyTotal.unit, orm.DailyTotal.total, orm.DailyTotal.records)
                                 .where(orm.DailyTotal.level == "county", orm.DailyTotal.metric == "received")
                                 .order_by(orm.DailyTotal.unit)).all()
        # the county's own, and the previous release's one unit kept counting for a rollback
        assert [(unit, int(total), records) for unit, total, records in county] == [("431099", 6, 6),
                                                                                    ("county", 6, 6)]


# ---- who answers for what: 首问 and the steps each person held (issue 19) --------------------------------

AGENT_ID, CADRE_ID = 101, 201


def _late_step_case(deliver, n: int = 1) -> dict:
    """An application filed on time by agent 101; cadre 201 claimed the township step and closed it late, so
    approvals recorded 责任追究 against the cadre (and told the agent)."""
    filed = {**_filed(n), "accountable_staff_id": AGENT_ID, "filed_at": _at(10).isoformat()}
    deliver("intake", "application_filed", filed, _at(10))
    progress = {"application_id": filed["id"], "receipt_no": filed["receipt_no"], "township_code": QS}
    deliver("approvals", "application_progressed", {
        **progress, "stage": "accepted", "occurred_at": _at(10).isoformat(), "actor_staff_id": AGENT_ID,
        "promised_deadline": (date(2026, 1, 1) + timedelta(days=30)).isoformat()}, _at(10))
    deadline = {**progress, "deadline_kind": "step", "step_name": "township_review", "due_on": "2026-01-20",
                "responsible_staff_id": CADRE_ID, "accountable_staff_id": AGENT_ID}
    deliver("approvals", "supervision_notice_issued", deadline, _at(20))
    deliver("approvals", "accountability_recorded", deadline, _at(20))
    deliver("approvals", "application_progressed", {
        **progress, "stage": "step_changed", "occurred_at": _at(22).isoformat(), "actor_staff_id": CADRE_ID,
        "step_name": "approved", "handled_step": "township_review", "handled_step_due": "2026-01-20",
        "step_holder_staff_id": CADRE_ID}, _at(22))
    deliver("approvals", "application_progressed", {
        **progress, "stage": "completed", "occurred_at": _at(23).isoformat(), "actor_staff_id": CADRE_ID,
        "outcome": "approved"}, _at(23))
    return filed


def test_the_cadre_who_held_a_late_step_answers_for_it_and_the_first_receiver_for_what_they_received(
        evaluation_db, deliver):
    filed = _late_step_case(deliver)
    cadre = _figures(evaluation_db, level="staff", unit=str(CADRE_ID))
    assert cadre.counts["steps_handled"] == 1 and cadre.counts["steps_on_time"] == 0
    assert cadre.step_on_time_rate == 0 and cadre.counts["accountability"] == 1
    assert cadre.counts["received"] == 0  # 首问 is the agent's role, not the cadre's
    agent = _figures(evaluation_db, level="staff", unit=str(AGENT_ID))
    assert agent.counts["received"] == 1 and agent.counts["completed"] == 1 and agent.counts["overdue"] == 1
    assert agent.counts["accountability"] == 0 and agent.counts["steps_handled"] == 0
    assert agent.step_on_time_rate is None
    uow = evaluation_db.unit_of_work()
    [record] = figures.records(uow, caller=SUPERVISOR, query=parse(RecordsQuery, {
        **YEAR, "metric": "accountability", "level": "staff", "unit": str(CADRE_ID)}))
    assert record.ref.startswith(filed["receipt_no"]) and record.staff_id == CADRE_ID
    lists = rankings.honour_lists(uow, caller=SUPERVISOR, query=parse(c.RankingQuery, {
        **YEAR, "level": "staff", "township_code": QS}))
    uow.close()
    assert [e.unit for e in lists.accountability] == [str(CADRE_ID)]  # as approvals recorded it
    assert lists.accountability[0].reasons == ["责任追究记录1件"]
    assert [r.metric for r in lists.accountability[0].records] == ["accountability"]


def test_a_staff_members_on_time_score_is_of_the_steps_they_held(evaluation_db, deliver):
    _late_step_case(deliver)
    uow = evaluation_db.unit_of_work()
    rankings.set_score_settings(uow, caller=SYSADMIN, now=_at(1), cmd=parse(c.ScoreSettings, {"min_sample": 1}))
    ranking = rankings.ranking(uow, caller=SUPERVISOR, query=parse(c.RankingQuery, {
        **YEAR, "level": "staff", "township_code": QS}))
    uow.close()
    by_unit = {x.unit: x for x in ranking.units}
    cadre, agent = by_unit[str(CADRE_ID)], by_unit[str(AGENT_ID)]
    assert cadre.rank is not None and cadre.components["on_time"] == 0  # a step handled counts as a sample
    assert agent.components["on_time"] is None  # the late step was not the agent's
    assert agent.components["completion"] == 1


def test_a_rebuild_attributes_steps_and_accountability_as_the_events_did(evaluation_db, deliver):
    _late_step_case(deliver)
    before = {u: _figures(evaluation_db, level="staff", unit=u).counts for u in (str(AGENT_ID), str(CADRE_ID))}
    uow = evaluation_db.unit_of_work()
    counting.rebuild(uow)
    uow.close()
    assert {u: _figures(evaluation_db, level="staff", unit=u).counts for u in before} == before
    assert before[str(CADRE_ID)]["accountability"] == 1


# ---- 表彰 and 责任追究 never name the same unit; commendation needs the top share (issue 19) -------------

def test_nobody_on_the_accountability_list_is_commended_and_only_the_top_share_is(evaluation_db, deliver):
    """Five stations completing 5, 4, 3, 2 and 1 of five applications; the best one also let one pass its
    limit. With two places (40 % of five), the best is left off 表彰 for its 责任追究 entry and the third is
    outside the places, though commend_top would allow three."""
    for station in range(5):
        for k in range(5):
            n = station * 5 + k
            filed = {**_filed(n), "station_code": STATIONS[station], "filed_at": _at(5).isoformat()}
            deliver("intake", "application_filed", filed, _at(5))
            if k < 5 - station:
                deliver("intake", "application_completed_on_the_spot", {
                    "id": filed["id"], "receipt_no": filed["receipt_no"], "completed_at": _at(5).isoformat()}, _at(5))
    deliver("approvals", "supervision_notice_issued", {
        "application_id": "app00000", "receipt_no": _filed(0)["receipt_no"], "township_code": QS,
        "deadline_kind": "overall", "step_name": None, "due_on": "2026-01-20", "responsible_staff_id": None,
        "accountable_staff_id": 100}, _at(20))
    uow = evaluation_db.unit_of_work()
    rankings.set_score_settings(uow, caller=SYSADMIN, now=_at(1), cmd=parse(c.ScoreSettings, {
        "weights": {"completion": 1}, "min_sample": 5, "commend_top": 3, "commend_share": 0.4,
        "accountability_overdue": 1}))
    query = parse(c.RankingQuery, {**YEAR, "level": "station", "township_code": QS})
    ranks = {x.unit: x.rank for x in rankings.ranking(uow, caller=SUPERVISOR, query=query).units}
    lists = rankings.honour_lists(uow, caller=SUPERVISOR, query=query)
    uow.close()
    assert [ranks[s] for s in STATIONS[:5]] == [1, 2, 3, 4, 5]
    assert [e.unit for e in lists.accountability] == [STATIONS[0], STATIONS[3], STATIONS[4]]
    assert [e.unit for e in lists.commendation] == [STATIONS[1]] and lists.basis == "cohort"
    assert lists.commendation[0].reasons == ["第2名，综合得分0.80"]


def test_two_ranked_units_are_not_both_commended(evaluation_db, deliver):
    for n in range(4):  # two stations, two applications each, all completed on time
        filed = {**_filed(n), "station_code": STATIONS[n % 2], "filed_at": _at(5 + n).isoformat()}
        deliver("intake", "application_filed", filed, _at(5 + n))
        deliver("intake", "application_completed_on_the_spot", {
            "id": filed["id"], "receipt_no": filed["receipt_no"], "completed_at": _at(5 + n).isoformat()}, _at(5 + n))
    uow = evaluation_db.unit_of_work()
    rankings.set_score_settings(uow, caller=SYSADMIN, now=_at(1), cmd=parse(c.ScoreSettings, {
        "weights": {"completion": 1}, "min_sample": 1, "commend_top": 3}))
    query = parse(c.RankingQuery, {**YEAR, "level": "station", "township_code": QS})
    assert [x.rank for x in rankings.ranking(uow, caller=SUPERVISOR, query=query).units] == [1, 1]  # a tie
    rankings.set_score_settings(uow, caller=SYSADMIN, now=_at(1), cmd=parse(c.ScoreSettings, {
        "weights": {"completion": 0.5, "on_time": 0.5}, "min_sample": 1, "commend_top": 3}))
    deliver("intake", "application_filed", {**_filed(9), "station_code": STATIONS[1]}, _at(9))  # one still open
    lists = rankings.honour_lists(uow, caller=SUPERVISOR, query=query)
    uow.close()
    assert [e.unit for e in lists.commendation] == [STATIONS[0]]


# ---- flow and cohort: a period says which it shows, and no rate passes 100 % (issue 19) -----------------

def _backlog(deliver) -> None:
    """Nine applications filed in January and completed on 1-14 June; nothing filed in June."""
    for n in range(9):
        filed = {**_filed(n), "filed_at": _at(5).isoformat()}
        deliver("intake", "application_filed", filed, _at(5))
        progress = {"application_id": filed["id"], "receipt_no": filed["receipt_no"], "township_code": QS}
        deliver("approvals", "application_progressed", {
            **progress, "stage": "accepted", "occurred_at": _at(5).isoformat(), "promised_deadline": "2026-07-01"},
            _at(5))
        deliver("approvals", "application_progressed", {
            **progress, "stage": "completed", "occurred_at": _at(152 + n).isoformat(), "outcome": "approved"},
            _at(152 + n))


def test_a_custom_period_says_whether_it_shows_flow_or_cohort_and_no_rate_passes_one(evaluation_db, deliver):
    _backlog(deliver)
    june = {"start": "2026-06-01", "end": "2026-06-14"}
    cohort = _figures(evaluation_db, level="township", unit=QS, **june)
    assert cohort.basis == "cohort" and cohort.counts["received"] == 0
    assert cohort.counts["cohort_completed"] == 0 and cohort.completion_rate is None
    flow = _figures(evaluation_db, level="township", unit=QS, basis="flow", **june)
    assert flow.basis == "flow" and flow.counts["completed"] == 9 and flow.completion_rate is None
    assert flow.on_time_rate == 1
    january = _figures(evaluation_db, level="township", unit=QS, start="2026-01-01", end="2026-01-31")
    assert (january.counts["received"], january.counts["cohort_completed"], january.completion_rate) == (9, 9, 1)
    assert january.on_time_rate == 1 and january.average_working_days is not None
    for figures_ in (cohort, flow, january):
        assert all(r is None or 0 <= r <= 1 for r in (figures_.completion_rate, figures_.on_time_rate))


def test_the_township_report_never_reads_more_completed_than_received_without_saying_why(evaluation_db, deliver):
    _backlog(deliver)
    uow = evaluation_db.unit_of_work()
    period = {"start": "2026-06-01", "end": "2026-06-14", "township_code": QS}
    now = datetime(2026, 11, 28, 2, tzinfo=UTC)
    cohort = reports.township_report(uow, caller=SUPERVISOR, query=parse(c.ReportQuery, period), now=now)
    flow = reports.township_report(uow, caller=SUPERVISOR, query=parse(c.ReportQuery, {**period, "basis": "flow"}),
                                   now=now)
    uow.close()
    assert cohort.basis == "cohort" and "受理群众申请事项0件，已办结0件" in cohort.summary
    assert flow.basis == "flow" and "受理群众申请事项0件，期内办结申请事项9件（含此前受理的）" in flow.summary
    assert "办结率" not in flow.summary.replace("承诺期限兑现率", "")
    assert sum(m.completed for m in flow.months) == 9 and sum(m.completed for m in cohort.months) == 0


def test_each_county_scores_with_its_own_weights_and_the_installations_are_the_default(evaluation_db):
    qingshui = ADMIN
    qiyang = Caller(staff_id=50, role=Role.COUNTY_ADMIN, county_code="431121")
    own = {"weights": {"completion": 0.5, "on_time": 0.5}, "min_sample": 42}
    uow = evaluation_db.unit_of_work()
    rankings.set_score_settings(uow, caller=SYSADMIN, now=_at(1), cmd=parse(c.ScoreSettings, {"min_sample": 7}))
    rankings.set_score_settings(uow, caller=qiyang, now=_at(2), cmd=parse(c.ScoreSettings, own))
    assert rankings.score_settings(uow, "431121").min_sample == 42
    assert rankings.score_settings(uow, "431099").min_sample == 7  # 清水县 has set none: the installation's
    rankings.set_score_settings(uow, caller=qingshui, now=_at(3), cmd=parse(c.ScoreSettings, {"min_sample": 9}))
    rankings.set_score_settings(uow, caller=qiyang, now=_at(4), cmd=parse(c.ScoreSettings, {**own, "min_sample": 43}))
    assert [rankings.score_settings(uow, county).min_sample for county in ("431099", "431121", None)] == [9, 43, 7]
    with pytest.raises(NotFound):  # 祁阳's admin cannot touch 清水's weights
        rankings.set_score_settings(uow, caller=qiyang, now=_at(5), cmd=c.ScoreSettings(), county_code="431099")
    assert rankings.score_settings(uow, "431099").min_sample == 9
    uow.close()
