"""Every problem the directory finds in a workflow is said in Chinese beside the field of the step it is about
(gateway/pages/console_admin.step_errors over services/directory/domain/workflow.workflow_problems)."""
from __future__ import annotations

import re

from gateway.pages.console_admin import step_errors
from services.directory.domain.workflow import workflow_problems
from shared.contracts.directory import WorkflowDefinition

ENGLISH = re.compile(r"[A-Za-z]{4,}")  # a sentence of the service's leaking through (approved and codes aside)


def _step(name: str, on_approve: str, *, level: str = "township", roles: tuple[str, ...] = ("township_cadre",),
          days: int = 2) -> dict:
    return {"name": name, "title": f"步骤{name}", "roles": list(roles), "level": level, "limit_days": days,
            "on_approve": on_approve}


def _said(steps: list[dict], promised: int = 10) -> dict[str, str]:
    rows = [{**{k: str(v) for k, v in s.items() if k != "roles"}, "roles": s["roles"], "row": i, "remove": False}
            for i, s in enumerate(steps)]
    problems = workflow_problems(WorkflowDefinition.model_validate({"steps": steps}), promised)
    assert problems, steps
    return step_errors(problems, rows, promised)


def _chinese(errors: dict[str, str]) -> None:
    for message in errors.values():
        assert not ENGLISH.search(message.replace("approved", "")), message


def test_a_step_leading_nowhere_is_named_beside_its_next_step_field():
    errors = _said([_step("first", "second"), _step("second", "nowhere")])
    assert list(errors) == ["step-1-on_approve"] and "nowhere" in errors["step-1-on_approve"]


def test_a_name_twice_reserved_and_roles_at_the_wrong_level_are_each_beside_their_field():
    errors = _said([_step("first", "first2"), _step("first", "approved"),
                    _step("first2", "approved", level="village", roles=("township_cadre", "village_agent"))])
    assert "重复" in errors["step-1-name"]
    assert "乡镇干部" in errors["step-2-roles"] and "代办员" not in errors["step-2-roles"]
    _chinese(errors)
    assert "approved" in _said([_step("approved", "approved")])["step-0-name"]


def test_a_loop_an_unreachable_step_and_limits_over_the_promise_are_said_for_the_whole_or_the_step():
    assert "绕回" in _said([_step("first", "second"), _step("second", "first")])["steps"]
    unreachable = _said([_step("first", "approved"), _step("second", "approved")])
    assert list(unreachable) == ["step-1"] and "走不到" in unreachable["step-1"]
    over = _said([_step("first", "second", days=6), _step("second", "approved", days=6)], promised=10)
    assert "12 个工作日" in over["steps"] and "10 个工作日" in over["steps"]
