"""Checks a workflow before it is saved: it must be a path the approvals service can always finish."""
from __future__ import annotations

from shared.contracts.directory import APPROVED, ROLES_AT_LEVEL, WorkflowDefinition, WorkflowStep
from shared.errors import ValidationFailed


def workflow_problems(workflow: WorkflowDefinition, promised_days: int) -> list[dict[str, str]]:
    """Every reason the workflow cannot be used, as field errors; empty when it is sound.

    Sound means: step names are unique; every approval leads to a defined step or to "approved" (no
    action to an undefined state); following approvals from the first step visits every step (every
    state reachable) and ends at "approved" without a loop (every state has a way out); the actors of
    a step sit at its level; and the steps' limits fit inside the item's promised limit."""
    problems: list[dict[str, str]] = []
    names = [step.name for step in workflow.steps]
    by_name: dict[str, WorkflowStep] = {}
    for i, step in enumerate(workflow.steps):
        if step.name in by_name:
            problems.append({"field": f"steps.{i}.name", "message": f"step {step.name} is defined twice"})
        by_name.setdefault(step.name, step)
        if step.name == APPROVED:
            problems.append({"field": f"steps.{i}.name", "message": f"'{APPROVED}' is reserved for the end"})
        if step.on_approve != APPROVED and step.on_approve not in names:
            problems.append({"field": f"steps.{i}.on_approve",
                             "message": f"leads to {step.on_approve}, which is not a step"})
        misplaced = sorted(r.value for r in step.roles if r not in ROLES_AT_LEVEL[step.level])
        if misplaced:
            problems.append({"field": f"steps.{i}.roles",
                             "message": f"{', '.join(misplaced)} do not act at {step.level.value} level"})
    if problems:
        return problems
    seen: list[str] = []
    current = workflow.steps[0].name
    while current != APPROVED:
        if current in seen:
            problems.append({"field": "steps", "message": f"approvals loop back to {current}: it can never finish"})
            return problems
        seen.append(current)
        current = by_name[current].on_approve
    for i, name in enumerate(names):
        if name not in seen:
            problems.append({"field": f"steps.{i}", "message": f"step {name} can never be reached"})
    total = sum(step.limit_days for step in workflow.steps)
    if total > promised_days:
        problems.append({"field": "steps", "message": f"the steps' limits add up to {total} working days, "
                                                      f"more than the promised {promised_days}"})
    return problems


def check_workflow(workflow: WorkflowDefinition, promised_days: int) -> None:
    problems = workflow_problems(workflow, promised_days)
    if problems:
        raise ValidationFailed("the workflow cannot be used as it is", problems, code="workflow_invalid")
