"""A workflow is checked before it is saved: every step reachable, every approval leads somewhere
defined, nothing loops, actors sit at the step's level, and the limits fit the promised limit."""
import pytest

from services.directory.domain.workflow import check_workflow, workflow_problems
from shared.contracts.base import parse
from shared.contracts.directory import HandlingLevel, WorkflowDefinition, default_workflow
from shared.errors import ValidationFailed


def step(name, on_approve, roles=("supervisor",), level="township", limit=5):
    return {"name": name, "title": name, "roles": list(roles), "level": level, "limit_days": limit,
            "on_approve": on_approve}


THREE_STEPS = [step("village_review", "township_review", ("village_committee",), "village"),
               step("township_review", "leader_signoff", ("department_staff",)),
               step("leader_signoff", "approved")]


def workflow(*steps):
    return parse(WorkflowDefinition, {"steps": list(steps)})


def test_a_linear_three_step_workflow_is_sound():
    assert workflow_problems(workflow(*THREE_STEPS), promised_days=20) == []


@pytest.mark.parametrize("steps,fragment", [
    ([step("first", "second"), step("second", "nowhere")], "nowhere, which is not a step"),
    ([step("first", "second"), step("second", "first")], "loop back"),
    ([step("first", "approved"), step("second", "approved")], "step second can never be reached"),
    ([step("first", "approved"), step("first", "approved")], "defined twice"),
    ([step("approved", "approved")], "reserved"),
    ([step("first", "approved", roles=("village_agent",), level="township")], "do not act at township level"),
    ([step("first", "second", limit=15), step("second", "approved", limit=10)], "add up to 25"),
])
def test_unusable_workflows_say_why(steps, fragment):
    problems = workflow_problems(workflow(*steps), promised_days=20)
    assert any(fragment in p["message"] for p in problems), problems


def test_check_raises_a_typed_error_with_every_problem():
    with pytest.raises(ValidationFailed) as err:
        check_workflow(workflow(step("first", "xx"), step("second", "yy")), 20)
    assert err.value.code == "workflow_invalid" and len(err.value.details) == 2


@pytest.mark.parametrize("level", list(HandlingLevel))
def test_the_default_workflow_is_sound_at_every_level(level):
    assert workflow_problems(default_workflow(level, 20), 20) == []


def test_a_warning_share_must_leave_time_to_act():
    for share in (0, 1, 1.5):
        with pytest.raises(ValidationFailed):
            parse(WorkflowDefinition, {"steps": THREE_STEPS, "warning_share": share})
