"""What counts and how it is said: the facts an application yields (in any order of its events), the
rates (none when there is nothing under them), and the township's sentence."""
from datetime import date

from services.evaluation.domain.facts import ApplicationRecord, activity_fact, application_facts, visit_facts
from services.evaluation.domain.figures import rates
from services.evaluation.domain.report import period_phrase, township_summary
from shared.contracts.evaluation import Figures, Level, Metric
from shared.working_days import WorkingCalendar

FILED = ApplicationRecord(id="a", receipt_no="R1", township_code="431099101", station_code="ST1",
                          village_code="431099101001", staff_id=6, filed_on=date(2026, 3, 2))


def test_an_application_counts_when_filed_and_again_when_completed_on_time_or_not():
    assert [f.metric for f in application_facts(FILED, WorkingCalendar())] == [Metric.RECEIVED]
    done = FILED.__class__(**{**FILED.__dict__, "completed_on": date(2026, 3, 9),
                              "promised_deadline": date(2026, 3, 6)})
    facts = {f.metric: f for f in application_facts(done, WorkingCalendar())}
    # late: no ON_TIME, and a COMPLETED_LATE fact, so the drill-down lists the late completions themselves
    assert set(facts) == {Metric.RECEIVED, Metric.COMPLETED, Metric.WORKING_DAYS, Metric.COMPLETED_LATE}
    on_time = done.__class__(**{**done.__dict__, "promised_deadline": date(2026, 3, 9)})
    assert Metric.COMPLETED_LATE not in {f.metric for f in application_facts(on_time, WorkingCalendar())}
    assert facts[Metric.WORKING_DAYS].value == 5  # Tuesday 3 to Monday 9 March
    assert {u for u, _ in facts[Metric.COMPLETED].units()} == set(Level)
    unfiled = ApplicationRecord(id="b", receipt_no="R2", completed_on=date(2026, 3, 9))
    assert application_facts(unfiled, WorkingCalendar()) == []  # nothing until the filing is known


def test_consultations_count_people_and_visits_count_each_cadre():
    fact = activity_fact({"kind": "consultation", "id": 7, "occurred_on": "2026-03-02", "township_code": "431099101",
                          "staff_id": 6, "people": 12})
    assert (fact.metric, fact.value, fact.ref) == (Metric.CONSULTATIONS, 12, "consultation:7")
    facts = visit_facts({"visit_id": "v", "day": "2026-03-02", "township_code": "431099101",
                         "village_code": "431099101001", "went_staff_ids": [3, 4], "missed_staff_ids": [5]})
    assert sorted((f.metric.value, f.staff_id) for f in facts) == [("visits_made", 3), ("visits_made", 4),
                                                                  ("visits_missed", 5)]


def test_a_rate_with_nothing_under_it_is_none_not_zero():
    assert rates({}) == {"completion_rate": None, "on_time_rate": None, "satisfaction_rate": None,
                         "average_working_days": None}
    assert rates({Metric.RECEIVED: 4, Metric.COMPLETED: 3, Metric.ON_TIME: 3, Metric.WORKING_DAYS: 6})[
        "average_working_days"] == 2


def test_the_townships_sentence():
    counts = {m: 0.0 for m in Metric} | {Metric.SERVICE_ACTIVITIES: 510, Metric.PRACTICAL_DEEDS: 370,
                                         Metric.CONSULTATIONS: 800, Metric.RECEIVED: 415, Metric.COMPLETED: 390}
    figures = Figures(level=Level.TOWNSHIP, unit="431099101", township_code="431099101", start=date(2026, 1, 1),
                      end=date(2026, 12, 31), counts=counts, **rates(counts))
    text = township_summary("柳溪乡", figures, today=date(2026, 11, 28))
    assert text.startswith("今年以来，全乡各服务站共开展六大服务活动510次，共为群众办实事370件，"
                           "接待群众来访、咨询800人次，")
    assert "受理群众申请事项415件，已办结390件（办结率94.0%，承诺期限兑现率0.0%" in text
    assert period_phrase(date(2025, 1, 1), date(2025, 12, 31), date(2026, 11, 28)) == "2025年"
    assert period_phrase(date(2026, 3, 1), date(2026, 3, 31), date(2026, 11, 28)) == "2026年3月1日至2026年3月31日"
