"""An application's approval case: the state machine of 受理 → review steps → 办结 → delivery, who may
act at each point, and the audit entry every action leaves. Pure: the caller passes today's date, the
time and the working-day calendar."""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from enum import StrEnum

from shared.contracts.approvals import Outcome, ProgressStage, Responsible
from shared.contracts.caller import Caller, Role
from shared.contracts.directory import APPROVED, HandlingLevel, WorkflowDefinition, WorkflowStep
from shared.errors import Conflict, Forbidden, ValidationFailed
from shared.working_days import Pause, WorkingCalendar, deadline, working_days_used


class CaseStatus(StrEnum):
    PENDING_ACCEPTANCE = "pending_acceptance"  # waiting for 受理 / 不予受理
    IN_REVIEW = "in_review"
    AWAITING_SUPPLEMENT = "awaiting_supplement"  # 补正: the clock is stopped
    READY_TO_COMPLETE = "ready_to_complete"  # approved or denied, waiting for 办结
    COMPLETED = "completed"  # 办结
    DELIVERED = "delivered"  # the result handed over
    REFUSED = "refused"  # 不予受理


class Action(StrEnum):
    ACCEPT = "accept"
    REFUSE = "refuse"
    CLAIM = "claim"  # 签收: take the current step; its lateness is then on you
    APPROVE = "approve"  # and forward to the next step
    RETURN = "return"  # to the previous step, with a reason
    REQUEST_SUPPLEMENT = "request_supplement"
    SUPPLEMENT_RECEIVED = "supplement_received"
    DENY = "deny"
    COMPLETE = "complete"  # 办结
    DELIVER = "deliver"
    EXTEND = "extend"  # 延期, by a supervisor, before the deadline


OPEN_STATUSES = frozenset({CaseStatus.PENDING_ACCEPTANCE, CaseStatus.IN_REVIEW, CaseStatus.AWAITING_SUPPLEMENT,
                           CaseStatus.READY_TO_COMPLETE})

# The transition table: which actions each status allows. Everything else is an illegal action.
ALLOWED: dict[CaseStatus, frozenset[Action]] = {
    CaseStatus.PENDING_ACCEPTANCE: frozenset({Action.ACCEPT, Action.REFUSE, Action.REQUEST_SUPPLEMENT,
                                              Action.EXTEND}),
    CaseStatus.IN_REVIEW: frozenset({Action.CLAIM, Action.APPROVE, Action.RETURN, Action.REQUEST_SUPPLEMENT,
                                     Action.DENY, Action.EXTEND}),
    CaseStatus.AWAITING_SUPPLEMENT: frozenset({Action.SUPPLEMENT_RECEIVED, Action.EXTEND}),
    CaseStatus.READY_TO_COMPLETE: frozenset({Action.COMPLETE, Action.EXTEND}),
    CaseStatus.COMPLETED: frozenset({Action.DELIVER}),
    CaseStatus.DELIVERED: frozenset(),
    CaseStatus.REFUSED: frozenset(),
}
NEEDS_REASON = frozenset({Action.REFUSE, Action.RETURN, Action.DENY, Action.EXTEND})
MAX_EXTENSION_DAYS = 60


@dataclass(frozen=True)
class AuditEntry:
    """Who did what, when, why, at which step, and how much time had been used (append-only)."""

    action: Action
    actor_staff_id: int | None
    actor_role: str
    at: datetime
    reason: str | None
    step: str | None
    from_status: CaseStatus
    to_status: CaseStatus
    step_days_used: int
    overall_days_used: int
    details: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Progress:
    """What the world is told about a transition (becomes an application_progressed event)."""

    stage: ProgressStage
    step_name: str | None = None
    outcome: Outcome | None = None
    reason: str | None = None
    missing_materials: tuple[str, ...] = ()


@dataclass(frozen=True)
class Case:
    application_id: str
    receipt_no: str
    township_code: str
    station_code: str | None
    accountable_staff_id: int  # 首问负责制
    workflow: WorkflowDefinition
    promised_days: int
    received_on: date
    status: CaseStatus = CaseStatus.PENDING_ACCEPTANCE
    step_index: int = 0
    step_entered_on: date | None = None
    assignee_staff_id: int | None = None
    resume_status: CaseStatus | None = None  # where a 补正 returns to
    outcome: Outcome | None = None
    extension_days: int = 0
    pauses: tuple[Pause, ...] = ()
    awaiting_materials: tuple[str, ...] = ()  # what an outstanding 补正 asks for

    # ---- reading -------------------------------------------------------------------------------

    @property
    def step(self) -> WorkflowStep:
        return self.workflow.steps[self.step_index]

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def paused_on(self) -> date | None:
        """The day an outstanding 补正 stopped the clock; None while it runs."""
        return next((p.requested_on for p in self.pauses if p.received_on is None), None)

    def overall_deadline(self, calendar: WorkingCalendar) -> date | None:
        return deadline(calendar, self.received_on, self.promised_days + self.extension_days, self.pauses)

    def promised_deadline(self, calendar: WorkingCalendar) -> date | None:
        """The deadline promised to the applicant: the whole item's limit, its clock started at filing —
        whether or not anyone has accepted it — and counted on to the close. None while a 补正 holds the
        clock (the limit would run past the request), and for an application refused 不予受理."""
        if self.status is CaseStatus.REFUSED:
            return None
        return self.overall_deadline(calendar)

    def days_late(self, calendar: WorkingCalendar, on: date) -> int:
        """Working days past the promised deadline on `on` (0 when in time); a day after the deadline that
        is not a working day still makes it late by one."""
        due = self.promised_deadline(calendar)
        if due is None or on <= due:
            return 0
        return max(1, working_days_used(calendar, due, on, self.pauses))

    def who_answers(self, supervisors: Iterable[int]) -> tuple[int, Responsible]:
        """Who answers for a late limit of this case (责任追究), never nobody: whoever claimed (签收) the
        step; if no one did, the township's supervisor, who should have seen it assigned (of several, the
        longest on record: the lowest staff id); with none on record, the first-contact staff member (首问),
        accountable for the whole case. `supervisors`: the township's active supervisors."""
        if self.assignee_staff_id is not None:
            return self.assignee_staff_id, "claimed"
        supervisor = min(supervisors, default=None)
        if supervisor is not None:
            return supervisor, "supervisor"
        return self.accountable_staff_id, "first_contact"

    def step_deadline(self, calendar: WorkingCalendar) -> date | None:
        if self.status is not CaseStatus.IN_REVIEW and self.resume_status is not CaseStatus.IN_REVIEW:
            return None
        return deadline(calendar, self.step_entered_on or self.received_on,
                        self.step.limit_days + self.extension_days, self.pauses)

    def may_act(self, caller: Caller, step: WorkflowStep) -> bool:
        if caller.staff_id is None or caller.role not in step.roles:
            return False
        if step.level is HandlingLevel.VILLAGE:
            return caller.township_code == self.township_code and caller.station_code == self.station_code
        if step.level is HandlingLevel.COUNTY:
            return (caller.is_county and caller.sees_township(self.township_code)) \
                or caller.township_code == self.township_code
        return caller.township_code == self.township_code

    def actions_for(self, caller: Caller) -> list[Action]:
        """The actions this person may take on the case now: those its state allows that are theirs (a step
        with no step before it cannot be returned; a step this person has claimed is not claimed again)."""
        found = []
        for action in Action:
            if action not in ALLOWED[self.status] or (action is Action.CLAIM and self.assignee_staff_id ==
                                                      caller.staff_id):
                continue
            if action is Action.RETURN and not any(s.on_approve == self.step.name for s in self.workflow.steps):
                continue
            try:
                self._check_actor(action, caller)
            except Forbidden:
                continue
            found.append(action)
        return found

    # ---- acting ----------------------------------------------------------------------------------

    def act(self, action: Action, caller: Caller, *, now: datetime, today: date, calendar: WorkingCalendar,
            reason: str | None = None, materials: Sequence[str] = (), days: int = 0,
            ) -> tuple[Case, AuditEntry, Progress | None]:
        """Apply one action; returns the new case, its audit entry and what to announce (if anything)."""
        if action not in ALLOWED[self.status]:
            raise Conflict(f"cannot {action.value} an application that is {self.status.value}",
                           {"status": self.status.value, "allowed": sorted(a.value for a in ALLOWED[self.status])},
                           code="illegal_action")
        if action in NEEDS_REASON and not (reason and reason.strip()):
            raise ValidationFailed(f"{action.value} needs a reason", [{"field": "reason", "message": "required"}],
                                   code="reason_required")
        self._check_actor(action, caller)
        new, progress = self._transition(action, caller, today=today, calendar=calendar, reason=reason,
                                         materials=tuple(m.strip() for m in materials if m.strip()), days=days)
        # days used as the deadline counts them, with the action's own pause: a 补正 request stops the clock
        # on its own day (shared/working_days.py), so its entry does not count that day, nor does any later one
        entry = AuditEntry(
            action=action, actor_staff_id=caller.staff_id, actor_role=caller.role.value, at=now, reason=reason,
            step=self.step.name, from_status=self.status, to_status=new.status,
            step_days_used=working_days_used(calendar, self.step_entered_on or self.received_on, today, new.pauses),
            overall_days_used=working_days_used(calendar, self.received_on, today, new.pauses),
            details={k: v for k, v in {"materials": list(materials), "days": days or None,
                                       "to_step": new.step.name if new.step_index != self.step_index else None
                                       }.items() if v})
        return new, entry, progress

    def _check_actor(self, action: Action, caller: Caller) -> None:
        if action is Action.EXTEND:
            allowed = caller.role is Role.SUPERVISOR and caller.township_code == self.township_code
        elif action is Action.DELIVER:
            allowed = caller.staff_id == self.accountable_staff_id or (
                caller.township_code == self.township_code and caller.role is not Role.PUBLIC)
        elif action is Action.SUPPLEMENT_RECEIVED:
            allowed = caller.staff_id == self.accountable_staff_id or self.may_act(caller, self.step)
        elif action is Action.COMPLETE:
            allowed = self.may_act(caller, self.workflow.steps[-1]) or self.may_act(caller, self.step)
        else:
            allowed = self.may_act(caller, self.step)
        if not allowed:
            raise Forbidden(f"you may not {action.value} this application at step {self.step.title}",
                            {"step": self.step.name, "roles": [r.value for r in self.step.roles]},
                            code="not_your_step")

    def _transition(self, action: Action, caller: Caller, *, today: date, calendar: WorkingCalendar,
                    reason: str | None, materials: tuple[str, ...], days: int) -> tuple[Case, Progress | None]:
        if action is Action.ACCEPT:
            return replace(self, status=CaseStatus.IN_REVIEW, step_entered_on=self.received_on), \
                Progress(ProgressStage.ACCEPTED, step_name=self.step.name)
        if action is Action.REFUSE:
            return replace(self, status=CaseStatus.REFUSED), Progress(ProgressStage.REFUSED, reason=reason)
        if action is Action.CLAIM:
            return replace(self, assignee_staff_id=caller.staff_id), None
        if action is Action.APPROVE:
            target = self.step.on_approve
            if target == APPROVED:
                return replace(self, status=CaseStatus.READY_TO_COMPLETE, outcome=Outcome.APPROVED), \
                    Progress(ProgressStage.STEP_CHANGED, step_name=APPROVED)
            return self._enter(target, today), Progress(ProgressStage.STEP_CHANGED, step_name=target)
        if action is Action.RETURN:
            previous = next((s.name for s in self.workflow.steps if s.on_approve == self.step.name), None)
            if previous is None:
                raise Conflict("the first step has no previous step to return to", code="illegal_action")
            return self._enter(previous, today), Progress(ProgressStage.STEP_CHANGED, step_name=previous, reason=reason)
        if action is Action.REQUEST_SUPPLEMENT:
            if not materials:
                raise ValidationFailed("say which materials are missing",
                                       [{"field": "materials", "message": "at least one"}], code="materials_required")
            return replace(self, status=CaseStatus.AWAITING_SUPPLEMENT, resume_status=self.status,
                           pauses=(*self.pauses, Pause(requested_on=today)), awaiting_materials=materials), \
                Progress(ProgressStage.SUPPLEMENT_REQUESTED, missing_materials=materials)
        if action is Action.SUPPLEMENT_RECEIVED:
            closed = tuple(replace(p, received_on=today) if p.received_on is None else p for p in self.pauses)
            return replace(self, status=self.resume_status or CaseStatus.IN_REVIEW, resume_status=None,
                           pauses=closed, awaiting_materials=()), Progress(ProgressStage.SUPPLEMENT_RECEIVED)
        if action is Action.DENY:
            return replace(self, status=CaseStatus.READY_TO_COMPLETE, outcome=Outcome.DENIED), \
                Progress(ProgressStage.STEP_CHANGED, step_name=APPROVED, reason=reason, outcome=Outcome.DENIED)
        if action is Action.COMPLETE:
            return replace(self, status=CaseStatus.COMPLETED), \
                Progress(ProgressStage.COMPLETED, outcome=self.outcome, reason=reason)  # the result, in words
        if action is Action.DELIVER:
            return replace(self, status=CaseStatus.DELIVERED), Progress(ProgressStage.RESULT_DELIVERED)
        # Action.EXTEND
        if not 1 <= days <= MAX_EXTENSION_DAYS:
            raise ValidationFailed(f"an extension is 1 to {MAX_EXTENSION_DAYS} working days",
                                   [{"field": "days", "message": "out of range"}], code="extension_invalid")
        current = self.overall_deadline(calendar)
        if current is not None and today > current:
            raise Conflict("an extension must be approved before the deadline passes", code="extension_too_late")
        return replace(self, extension_days=self.extension_days + days), \
            Progress(ProgressStage.DEADLINE_EXTENDED, reason=reason)

    def _enter(self, step_name: str, today: date) -> Case:
        index = next(i for i, s in enumerate(self.workflow.steps) if s.name == step_name)
        return replace(self, status=CaseStatus.IN_REVIEW, step_index=index, step_entered_on=today,
                       assignee_staff_id=None)
