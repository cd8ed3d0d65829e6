"""A complaint's life: who may do what at each status, which stage's clock runs afterwards, and the
rules that protect complainants (the staff member complained about never handles the complaint, and a
finding about them comes from outside their own unit). Pure: the caller passes the actor and today."""
from __future__ import annotations

from dataclasses import dataclass, replace

from shared.contracts.caller import Role
from shared.contracts.complaints import (
    ComplaintAction,
    ComplaintKind,
    ComplaintStatus,
    Finding,
    Stage,
    StageLimits,
)
from shared.errors import Conflict, CunbanError, Forbidden, ValidationFailed

S = ComplaintStatus
OPEN = frozenset({S.REGISTERED, S.ASSIGNED, S.SIGNED, S.HANDLING, S.REPLIED})
CLOSED = frozenset({S.CLOSED_RESOLVED, S.CLOSED_UNRESOLVED})
_WORKING = frozenset({S.SIGNED, S.HANDLING})

# The transition table: which actions each status allows; everything else is refused.
ALLOWED: dict[ComplaintStatus, frozenset[str]] = {
    S.REGISTERED: frozenset({"assign", "extend", "finding"}),
    S.ASSIGNED: frozenset({"sign", "send_back", "assign", "extend", "finding"}),
    S.SIGNED: frozenset({"note", "mediate", "reply", "assign", "extend", "finding"}),
    S.HANDLING: frozenset({"note", "mediate", "reply", "assign", "extend", "finding"}),
    S.REPLIED: frozenset({"call_back", "reopen", "extend", "finding"}),
    S.CLOSED_RESOLVED: frozenset({"reopen", "finding"}),
    S.CLOSED_UNRESOLVED: frozenset({"reopen", "finding"}),
}
MANAGERS = frozenset({Role.SUPERVISOR, Role.COUNTY_ADMIN, Role.SYSTEM})
HANDLER_ROLES = frozenset({Role.TOWNSHIP_CADRE, Role.DEPARTMENT_STAFF, Role.SUPERVISOR})

# Working days per stage when the county has not set its own (信访工作条例: decide within 15 days
# whether to accept, handle within 60; the 12345 practice: sign within a day, reply within 15).
DEFAULT_LIMITS: dict[ComplaintKind, StageLimits] = {
    ComplaintKind.STAFF_CONDUCT: StageLimits(assign=1, sign=1, reply=15, call_back=5),
    ComplaintKind.DISPUTE: StageLimits(assign=1, sign=1, reply=30, call_back=5),
    ComplaintKind.PETITION: StageLimits(assign=5, sign=2, reply=60, call_back=10),
    ComplaintKind.SUGGESTION: StageLimits(assign=2, sign=2, reply=15, call_back=5),
}


@dataclass(frozen=True)
class Actor:
    staff_id: int | None
    role: Role
    unit: str | None  # "station:<code>" or "township:<code>"; the county's own roles have none


@dataclass(frozen=True)
class ComplaintState:
    status: ComplaintStatus
    kind: ComplaintKind
    handler_staff_id: int | None
    accused_staff_id: int | None
    accused_unit: str | None
    finding: Finding | None
    stage: Stage | None
    reopen_count: int = 0


@dataclass(frozen=True)
class Decision:
    """The state after an action, and whether a new stage clock starts (or the running one is extended)."""

    state: ComplaintState
    restart_clock: bool = False
    extension_days: int = 0


def staff_unit(township_code: str | None, station_code: str | None) -> str | None:
    """The unit a staff member answers to: their station, else their township."""
    if station_code:
        return f"station:{station_code}"
    return f"township:{township_code}" if township_code else None


# The order a person is offered the actions: the handler's work first, then the supervisors'.
ORDER = ("sign", "send_back", "note", "mediate", "reply", "call_back", "reopen", "assign", "extend", "finding")


def check(state: ComplaintState, name: str, actor: Actor) -> None:
    """Refuses, with its typed error, an action this person may not take on the complaint now: one its status
    does not allow, a supervisor's by anyone else, the handler's by anyone else, mediation outside a dispute,
    a call-back by the handler or the accused, a finding where there is no accused, one already, or from the
    accused's own unit."""
    if name not in ALLOWED[state.status]:
        raise Conflict(f"cannot {name} a complaint that is {state.status.value}", code="action_not_allowed")
    handler = actor.staff_id is not None and actor.staff_id == state.handler_staff_id
    if name in ("assign", "reopen", "extend", "finding") and actor.role not in MANAGERS:
        raise Forbidden(f"only supervisors {name}", code="not_a_supervisor")
    if name in ("sign", "send_back", "note", "mediate", "reply") and not handler:
        raise Forbidden("only the staff member it is assigned to does this", code="not_the_handler")
    if name == "mediate" and state.kind != ComplaintKind.DISPUTE:
        raise ValidationFailed("mediation sessions belong to disputes",
                               [{"field": "action", "message": "not a dispute"}], code="not_a_dispute")
    if name == "call_back" and (handler or (actor.staff_id is not None and actor.staff_id == state.accused_staff_id)):
        raise Forbidden("the call-back is made by someone other than the handler and the accused",
                        code="not_independent")
    if name == "finding":
        if state.accused_staff_id is None:
            raise ValidationFailed("a finding is about a staff member complained about; this complaint names none",
                                   [{"field": "finding", "message": "no accused"}], code="no_accused")
        if state.finding is not None:
            raise Conflict(f"the finding is recorded already ({state.finding.value})", code="finding_exists")
        if actor.staff_id == state.accused_staff_id or (actor.unit is not None and actor.unit == state.accused_unit):
            raise Forbidden("a finding comes from a supervisor outside the accused's own unit", code="same_unit")


def actions_for(state: ComplaintState, actor: Actor) -> list[str]:
    """The actions this person may take on the complaint now (`check` refuses none of them), in `ORDER`."""
    found = []
    for name in ORDER:
        try:
            check(state, name, actor)
        except CunbanError:
            continue
        found.append(name)
    return found


def decide(state: ComplaintState, action: ComplaintAction, actor: Actor) -> Decision:
    name = action.action
    check(state, name, actor)
    if name == "assign":
        if action.staff_id == state.accused_staff_id:
            raise Forbidden("the staff member complained about never handles the complaint",
                            code="accused_cannot_handle")
        return Decision(replace(state, status=S.ASSIGNED, handler_staff_id=action.staff_id, stage=Stage.SIGN),
                        restart_clock=True)
    if name == "sign":
        return Decision(replace(state, status=S.SIGNED, stage=Stage.REPLY), restart_clock=True)
    if name == "send_back":  # 退单: back to the dispatcher, who assigns someone else
        return Decision(replace(state, status=S.REGISTERED, handler_staff_id=None, stage=Stage.ASSIGN),
                        restart_clock=True)
    if name in ("note", "mediate"):
        return Decision(replace(state, status=S.HANDLING))
    if name == "reply":
        return Decision(replace(state, status=S.REPLIED, stage=Stage.CALL_BACK), restart_clock=True)
    if name == "call_back":
        closed = S.CLOSED_RESOLVED if action.resolved else S.CLOSED_UNRESOLVED
        return Decision(replace(state, status=closed, stage=None))
    if name == "reopen":  # 重新办理: the same handler does it again, the clock starts again
        return Decision(replace(state, status=S.HANDLING, stage=Stage.REPLY, reopen_count=state.reopen_count + 1),
                        restart_clock=True)
    if name == "extend":
        return Decision(state, extension_days=action.days or 0)
    return Decision(replace(state, finding=action.finding))  # finding
