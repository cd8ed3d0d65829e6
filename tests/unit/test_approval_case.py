"""The approval case: legal and illegal actions, who may act at each step, and a full scenario across
the 2026 Spring Festival with a 调休 Saturday and a 补正 pause, dates worked out by hand."""
from datetime import UTC, date, datetime

import pytest

from services.approvals.domain.case import Action, Case, CaseStatus
from shared.contracts.approvals import Outcome, ProgressStage
from shared.contracts.base import parse
from shared.contracts.caller import Caller, Role
from shared.contracts.directory import WorkflowDefinition
from shared.errors import Conflict, Forbidden, ValidationFailed
from tests.unit.test_working_days import SPRING_2026

QS, STATION = "431099101", "ST431099101001"
WORKFLOW = parse(WorkflowDefinition, {"steps": [
    {"name": "village_review", "title": "村级审查", "roles": ["village_committee"], "level": "village",
     "limit_days": 5, "on_approve": "township_review"},
    {"name": "township_review", "title": "乡镇审核", "roles": ["supervisor", "department_staff"],
     "level": "township", "limit_days": 5, "on_approve": "approved"}]})
COMMITTEE = Caller(staff_id=11, role=Role.VILLAGE_COMMITTEE, township_code=QS, station_code=STATION)
OTHER_STATION = Caller(staff_id=12, role=Role.VILLAGE_COMMITTEE, township_code=QS, station_code="ST431099101002")
DEPARTMENT = Caller(staff_id=21, role=Role.DEPARTMENT_STAFF, township_code=QS)
SUPERVISOR = Caller(staff_id=31, role=Role.SUPERVISOR, township_code=QS)
AGENT = Caller(staff_id=6, role=Role.VILLAGE_AGENT, township_code=QS, station_code=STATION)
OTHER_TOWNSHIP = Caller(staff_id=41, role=Role.SUPERVISOR, township_code="431099102")


def new_case(**changes) -> Case:
    return Case(application_id="a" * 32, receipt_no=f"{QS}-20260212-0001", township_code=QS, station_code=STATION,
                accountable_staff_id=AGENT.staff_id, workflow=WORKFLOW, promised_days=10,
                received_on=date(2026, 2, 12), **changes)


def act(case, action, caller, on, **kwargs):
    return case.act(action, caller, now=datetime(on.year, on.month, on.day, 2, tzinfo=UTC), today=on,
                    calendar=SPRING_2026, **kwargs)


def test_full_scenario_across_the_spring_festival_with_a_supplement_pause():
    case = new_case()
    # 受理 on the day of receipt, Thu 12 Feb: the village step has 5 days → 13, 14 调休, 24, 25, 26 Feb
    case, entry, progress = act(case, Action.ACCEPT, COMMITTEE, date(2026, 2, 12))
    assert progress.stage is ProgressStage.ACCEPTED and case.status is CaseStatus.IN_REVIEW
    assert case.step_deadline(SPRING_2026) == date(2026, 2, 26)
    assert case.overall_deadline(SPRING_2026) == date(2026, 3, 4)
    # approved and forwarded on Tue 24 Feb, the first day back: 3 days of the village step were used
    case, entry, progress = act(case, Action.APPROVE, COMMITTEE, date(2026, 2, 24))
    assert (entry.step_days_used, entry.overall_days_used) == (3, 3)
    assert progress.step_name == "township_review" and case.step.name == "township_review"
    # the township step counts from 25 Feb: 25, 26, 27, 28 调休, Mon 2 Mar
    assert case.step_deadline(SPRING_2026) == date(2026, 3, 2)
    # 补正 requested Wed 25 Feb, materials in Fri 27 Feb: the clock stops 25–27 and runs again on 28 Feb
    case, entry, progress = act(case, Action.REQUEST_SUPPLEMENT, DEPARTMENT, date(2026, 2, 25), materials=["户口簿"])
    assert case.status is CaseStatus.AWAITING_SUPPLEMENT and progress.missing_materials == ("户口簿",)
    assert case.overall_deadline(SPRING_2026) is None  # stopped
    case, entry, progress = act(case, Action.SUPPLEMENT_RECEIVED, AGENT, date(2026, 2, 27))
    assert case.status is CaseStatus.IN_REVIEW
    # township step: 28 调休 (1), 2 (2), 3 (3), 4 (4), Thu 5 Mar (5); overall: Mon 9 Mar (hand-worked)
    assert case.step_deadline(SPRING_2026) == date(2026, 3, 5)
    assert case.overall_deadline(SPRING_2026) == date(2026, 3, 9)
    case, entry, progress = act(case, Action.APPROVE, SUPERVISOR, date(2026, 3, 3))
    assert case.status is CaseStatus.READY_TO_COMPLETE and case.outcome is Outcome.APPROVED
    assert entry.overall_days_used == 6  # 13, 14, 24, 28, 2, 3
    case, entry, progress = act(case, Action.COMPLETE, SUPERVISOR, date(2026, 3, 3))
    assert progress.stage is ProgressStage.COMPLETED and progress.outcome is Outcome.APPROVED
    case, entry, progress = act(case, Action.DELIVER, AGENT, date(2026, 3, 4))
    assert case.status is CaseStatus.DELIVERED and not case.is_open


def test_illegal_actions_get_a_typed_error_naming_what_is_allowed():
    with pytest.raises(Conflict) as err:
        act(new_case(), Action.APPROVE, COMMITTEE, date(2026, 2, 12))
    assert err.value.code == "illegal_action" and "accept" in err.value.details["allowed"]
    done = new_case(status=CaseStatus.DELIVERED)
    for action in Action:
        with pytest.raises(Conflict):
            act(done, action, SUPERVISOR, date(2026, 2, 13))


def test_only_the_steps_actors_in_the_right_place_may_act():
    for caller in (OTHER_STATION, DEPARTMENT, OTHER_TOWNSHIP, AGENT, Caller.public()):
        with pytest.raises(Forbidden) as err:
            act(new_case(), Action.ACCEPT, caller, date(2026, 2, 12))
        assert err.value.code == "not_your_step"


@pytest.mark.parametrize("action", [Action.REFUSE, Action.DENY, Action.RETURN, Action.EXTEND])
def test_refuse_deny_return_and_extend_need_a_reason(action):
    case = new_case(status=CaseStatus.IN_REVIEW, step_index=1, step_entered_on=date(2026, 2, 24))
    if action is Action.REFUSE:
        case = new_case()
    with pytest.raises(ValidationFailed) as err:
        act(case, action, SUPERVISOR if action is not Action.REFUSE else COMMITTEE, date(2026, 2, 25), reason=" ")
    assert err.value.code == "reason_required"


def test_return_goes_back_one_step_and_restarts_its_clock():
    case = new_case(status=CaseStatus.IN_REVIEW, step_index=1, step_entered_on=date(2026, 2, 24))
    back, _, progress = act(case, Action.RETURN, DEPARTMENT, date(2026, 2, 26), reason="公示期未满")
    assert back.step.name == "village_review" and back.step_entered_on == date(2026, 2, 26)
    assert progress.reason == "公示期未满"
    with pytest.raises(Conflict):
        act(back, Action.RETURN, COMMITTEE, date(2026, 2, 26), reason="x")


def test_deny_then_complete_reports_the_denial():
    case = new_case(status=CaseStatus.IN_REVIEW, step_index=1, step_entered_on=date(2026, 2, 24))
    denied, _, _ = act(case, Action.DENY, SUPERVISOR, date(2026, 2, 25), reason="不符合一户一宅")
    done, _, progress = act(denied, Action.COMPLETE, SUPERVISOR, date(2026, 2, 25))
    assert progress.outcome is Outcome.DENIED


def test_a_supervisor_extends_before_the_deadline_only():
    case = new_case(status=CaseStatus.IN_REVIEW, step_entered_on=date(2026, 2, 12))
    extended, entry, progress = act(case, Action.EXTEND, SUPERVISOR, date(2026, 3, 4), reason="需现场踏勘", days=3)
    assert extended.overall_deadline(SPRING_2026) == date(2026, 3, 9)  # 5, 6, 9 March
    assert progress.stage is ProgressStage.DEADLINE_EXTENDED
    with pytest.raises(Conflict) as err:
        act(case, Action.EXTEND, SUPERVISOR, date(2026, 3, 5), reason="太晚", days=3)
    assert err.value.code == "extension_too_late"
    with pytest.raises(Forbidden):
        act(case, Action.EXTEND, DEPARTMENT, date(2026, 3, 4), reason="x", days=3)
    with pytest.raises(ValidationFailed):
        act(case, Action.EXTEND, SUPERVISOR, date(2026, 3, 4), reason="x", days=0)


def test_a_supplement_may_be_requested_before_acceptance_and_returns_there():
    waiting, _, _ = act(new_case(), Action.REQUEST_SUPPLEMENT, COMMITTEE, date(2026, 2, 13), materials=["申请书"])
    back, _, _ = act(waiting, Action.SUPPLEMENT_RECEIVED, AGENT, date(2026, 2, 24))
    assert back.status is CaseStatus.PENDING_ACCEPTANCE
    with pytest.raises(ValidationFailed):
        act(new_case(), Action.REQUEST_SUPPLEMENT, COMMITTEE, date(2026, 2, 13), materials=[" "])


def test_claiming_a_step_makes_you_responsible_for_it_until_it_moves_on():
    case = new_case(status=CaseStatus.IN_REVIEW, step_entered_on=date(2026, 2, 12))
    claimed, _, progress = act(case, Action.CLAIM, COMMITTEE, date(2026, 2, 13))
    assert claimed.assignee_staff_id == COMMITTEE.staff_id and progress is None
    moved, _, _ = act(claimed, Action.APPROVE, COMMITTEE, date(2026, 2, 13))
    assert moved.assignee_staff_id is None


def test_the_audit_trail_counts_a_pause_the_way_the_deadline_does():
    """The documented convention (shared/working_days.py): the clock stops on the day the supplement is
    requested, so that day is not counted — by the request's own entry either, which must agree with
    every later entry about the same clock."""
    case = new_case(status=CaseStatus.IN_REVIEW, step_entered_on=date(2026, 2, 12))
    # Thu 12 Feb received; 13 and 14 (调休) counted; requested on Tue 24 Feb, the first day back
    waiting, requested, _ = act(case, Action.REQUEST_SUPPLEMENT, COMMITTEE, date(2026, 2, 24), materials=["户口簿"])
    back, received, _ = act(waiting, Action.SUPPLEMENT_RECEIVED, AGENT, date(2026, 2, 26))
    assert (requested.overall_days_used, requested.step_days_used) == (2, 2)
    assert (received.overall_days_used, received.step_days_used) == (2, 2)
    # the clock runs again on Fri 27 Feb: the first entry after it counts that day and no paused one
    _, approved, _ = act(back, Action.APPROVE, COMMITTEE, date(2026, 2, 27))
    assert approved.overall_days_used == 3


def test_the_promised_deadline_runs_from_receipt_pauses_for_materials_and_measures_a_late_close():
    case = new_case()  # not yet accepted: the clock has run since receipt all the same
    assert case.promised_deadline(SPRING_2026) == date(2026, 3, 4) and case.paused_on is None
    waiting, _, _ = act(case, Action.REQUEST_SUPPLEMENT, COMMITTEE, date(2026, 2, 25), materials=[" 户口簿复印件 "])
    assert (waiting.promised_deadline(SPRING_2026), waiting.paused_on, waiting.awaiting_materials) == \
        (None, date(2026, 2, 25), ("户口簿复印件",))
    back, _, _ = act(waiting, Action.SUPPLEMENT_RECEIVED, AGENT, date(2026, 2, 26))
    assert (back.promised_deadline(SPRING_2026), back.paused_on, back.awaiting_materials) == \
        (date(2026, 3, 6), None, ())  # 13, 14, 24 before; 27, 28 调休, 2, 3, 4, 5, 6 after
    assert back.days_late(SPRING_2026, date(2026, 3, 6)) == 0
    assert back.days_late(SPRING_2026, date(2026, 3, 7)) == 1  # a Saturday after the deadline: late all the same
    assert back.days_late(SPRING_2026, date(2026, 3, 10)) == 2  # Mon 9 and Tue 10
    refused, _, _ = act(case, Action.REFUSE, COMMITTEE, date(2026, 2, 13), reason="不属于受理范围")
    assert refused.promised_deadline(SPRING_2026) is None


def test_someone_always_answers_for_a_late_limit():
    unclaimed = new_case(status=CaseStatus.IN_REVIEW, step_entered_on=date(2026, 2, 12))
    claimed, _, _ = act(unclaimed, Action.CLAIM, COMMITTEE, date(2026, 2, 13))
    assert claimed.who_answers([SUPERVISOR.staff_id]) == (COMMITTEE.staff_id, "claimed")
    assert unclaimed.who_answers([35, SUPERVISOR.staff_id]) == (SUPERVISOR.staff_id, "supervisor")
    assert unclaimed.who_answers([]) == (AGENT.staff_id, "first_contact")
