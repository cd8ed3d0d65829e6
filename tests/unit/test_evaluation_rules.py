"""What counts and how it is said: the facts an application yields (in any order of its events), the
rates (none when there is nothing under them), and the township's sentence."""
from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from services.evaluation.domain.facts import (
    ApplicationRecord,
    accountability_fact,
    activity_fact,
    application_facts,
    step_facts,
    visit_facts,
)
from services.evaluation.domain.figures import rates
from services.evaluation.domain.report import period_phrase, township_summary
from shared.contracts.evaluation import Basis, Figures, Level, Metric
from shared.working_days import WorkingCalendar

FILED = ApplicationRecord(id="a", receipt_no="R1", township_code="431099101", station_code="ST1",
                          village_code="431099101001", staff_id=6, filed_on=date(2026, 3, 2))


def test_an_application_counts_when_filed_and_again_when_completed_on_time_or_not():
    assert [f.metric for f in application_facts(FILED, WorkingCalendar())] == [Metric.RECEIVED]
    done = FILED.__class__(**{**FILED.__dict__, "completed_on": date(2026, 3, 9),
                              "promised_deadline": date(2026, 3, 6)})
    facts = {f.metric: f for f in application_facts(done, WorkingCalendar())}
    # late: no ON_TIME, and a COMPLETED_LATE fact, so the drill-down lists the late completions themselves
    assert set(facts) == {Metric.RECEIVED, Metric.COMPLETED, Metric.WORKING_DAYS, Metric.COMPLETED_LATE,
                          Metric.COHORT_COMPLETED, Metric.COHORT_WORKING_DAYS}
    on_time = done.__class__(**{**done.__dict__, "promised_deadline": date(2026, 3, 9)})
    assert Metric.COMPLETED_LATE not in {f.metric for f in application_facts(on_time, WorkingCalendar())}
    assert facts[Metric.WORKING_DAYS].value == 5  # Tuesday 3 to Monday 9 March
    # the cohort's facts count on the day it was received, the flow's on the day it was completed
    assert facts[Metric.COHORT_COMPLETED].day == FILED.filed_on and facts[Metric.COMPLETED].day == date(2026, 3, 9)
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
                         "average_working_days": None, "step_on_time_rate": None}
    assert rates({Metric.RECEIVED: 4, Metric.COMPLETED: 3, Metric.ON_TIME: 3, Metric.WORKING_DAYS: 6},
                 Basis.FLOW)["average_working_days"] == 2


def test_a_cohort_rate_never_passes_one_and_a_flow_has_no_completion_rate():
    """A fortnight that received nothing and completed nine older applications: the flow says nine
    completed with no completion rate; the cohort has nothing under its rates."""
    fortnight = {Metric.RECEIVED: 0, Metric.COMPLETED: 9, Metric.ON_TIME: 9, Metric.COHORT_COMPLETED: 0}
    assert rates(fortnight)["completion_rate"] is None and rates(fortnight)["on_time_rate"] is None
    assert rates(fortnight, Basis.FLOW)["completion_rate"] is None
    assert rates(fortnight, Basis.FLOW)["on_time_rate"] == 1
    cohort = {Metric.RECEIVED: 10, Metric.COHORT_COMPLETED: 8, Metric.COHORT_ON_TIME: 6, Metric.COMPLETED: 12}
    assert rates(cohort)["completion_rate"] == 0.8 and rates(cohort)["on_time_rate"] == 0.75


@given(st.integers(0, 500), st.integers(0, 500), st.integers(0, 500))
def test_cohort_facts_keep_every_rate_within_one(received, completed, on_time):
    """Whatever a period received and completed, the facts of its cohort give rates in [0, 1]."""
    completed, on_time = min(completed, received), min(on_time, completed, received)
    counts = {Metric.RECEIVED: received, Metric.COHORT_COMPLETED: completed, Metric.COHORT_ON_TIME: on_time,
              Metric.COMPLETED: 3 * received + 9}
    assert all(r is None or 0 <= r <= 1 for k, r in rates(counts).items() if k != "average_working_days")


def test_a_closed_step_counts_for_whoever_held_it_and_on_time_against_its_own_due_day():
    closed = {"application_id": "a", "receipt_no": "431099101-20260302-0001", "township_code": "431099101",
              "stage": "step_changed", "occurred_at": "2026-03-10T02:00:00+00:00", "actor_staff_id": 21,
              "step_name": "approved", "handled_step": "township_review", "handled_step_due": "2026-03-09",
              "step_holder_staff_id": 7}
    facts = step_facts(closed, date(2026, 3, 10))
    assert [(f.metric, f.staff_id) for f in facts] == [(Metric.STEPS_HANDLED, 7)]  # a day late: not on time
    assert [f.metric for f in step_facts({**closed, "handled_step_due": "2026-03-10"}, date(2026, 3, 10))] == \
        [Metric.STEPS_HANDLED, Metric.STEPS_ON_TIME]
    assert step_facts({k: v for k, v in closed.items() if not k.startswith(("handled", "step_holder"))},
                      date(2026, 3, 10)) == []  # events from before the fields were added: nothing to say
    record = accountability_fact({"receipt_no": closed["receipt_no"], "township_code": "431099101",
                                  "deadline_kind": "step", "step_name": "township_review", "due_on": "2026-03-09",
                                  "responsible_staff_id": 7, "accountable_staff_id": 6}, date(2026, 3, 10))
    assert (record.metric, record.staff_id) == (Metric.ACCOUNTABILITY, 7)  # not the first receiver, 6


def test_the_townships_sentence():
    counts = {m: 0.0 for m in Metric} | {Metric.SERVICE_ACTIVITIES: 510, Metric.PRACTICAL_DEEDS: 370,
                                         Metric.CONSULTATIONS: 800, Metric.RECEIVED: 415, Metric.COMPLETED: 390,
                                         Metric.COHORT_COMPLETED: 390}
    figures = Figures(level=Level.TOWNSHIP, unit="431099101", township_code="431099101", start=date(2026, 1, 1),
                      end=date(2026, 12, 31), counts=counts, **rates(counts))
    text = township_summary("柳溪乡", figures, today=date(2026, 11, 28))
    assert text.startswith("今年以来，全乡各服务站共开展六大服务活动510次，共为群众办实事370件，"
                           "接待群众来访、咨询800人次，")
    assert "受理群众申请事项415件，已办结390件（办结率94.0%，承诺期限兑现率0.0%" in text


def test_a_fortnights_sentence_says_what_it_counts_and_never_more_completed_than_received():
    counts = {m: 0.0 for m in Metric} | {Metric.COMPLETED: 9, Metric.ON_TIME: 9}
    period = {"level": Level.TOWNSHIP, "unit": "431099101", "township_code": "431099101",
              "start": date(2026, 6, 1), "end": date(2026, 6, 14)}
    cohort = township_summary("青石镇", Figures(**period, counts=counts, **rates(counts)), today=date(2026, 11, 28))
    assert "受理群众申请事项0件，已办结0件（办结率—，" in cohort
    flow = township_summary("青石镇", Figures(**period, basis=Basis.FLOW, counts=counts,
                                           **rates(counts, Basis.FLOW)), today=date(2026, 11, 28))
    assert "受理群众申请事项0件，期内办结申请事项9件（含此前受理的）（承诺期限兑现率100.0%，" in flow
    assert "办结率" not in flow.replace("承诺期限兑现率", "")
    assert period_phrase(date(2025, 1, 1), date(2025, 12, 31), date(2026, 11, 28)) == "2025年"
    assert period_phrase(date(2026, 3, 1), date(2026, 3, 31), date(2026, 11, 28)) == "2026年3月1日至2026年3月31日"
