"""The county's settings for complaints: the working-day limit of each stage per kind of complaint, and the
early-warning rule. Kept once for the installation, so only its administrator sets them."""
from __future__ import annotations

from datetime import datetime

from services.complaints.adapters.repositories import ComplaintsUnitOfWork
from services.complaints.domain.complaint import DEFAULT_LIMITS
from shared.contracts import complaints as c
from shared.contracts.caller import Caller
from shared.errors import Forbidden


def _require_county(caller: Caller) -> None:
    """The limits and the warning rule are kept once for the installation: only its administrator sets them
    (a county admin changing them would change every county's)."""
    if not caller.is_installation:
        raise Forbidden("the system administrator sets complaint limits and warning rules", code="not_county")


def limits_of(uow: ComplaintsUnitOfWork, kind: str) -> c.StageLimits:
    """The limits a new stage clock of this kind of complaint takes: the county's, or the defaults."""
    chosen = uow.stage_limits.of(kind)
    return DEFAULT_LIMITS[c.ComplaintKind(kind)] if chosen is None else chosen


def limits(uow: ComplaintsUnitOfWork) -> dict[str, c.StageLimits]:
    return {kind.value: limits_of(uow, kind.value) for kind in c.ComplaintKind}


def set_limits(uow: ComplaintsUnitOfWork, *, caller: Caller, kind: c.ComplaintKind, cmd: c.StageLimits,
               now: datetime) -> dict[str, c.StageLimits]:
    """New limits apply to stage clocks started from now on; running clocks keep theirs."""
    _require_county(caller)
    uow.stage_limits.set(kind.value, cmd, by=caller.staff_id, now=now)
    uow.commit()
    return limits(uow)


def warning_rule(uow: ComplaintsUnitOfWork) -> c.WarningRule:
    chosen = uow.warning_rules.current()
    return c.WarningRule() if chosen is None else chosen


def set_warning_rule(uow: ComplaintsUnitOfWork, *, caller: Caller, cmd: c.WarningRule,
                     now: datetime) -> c.WarningRule:
    _require_county(caller)
    uow.warning_rules.set(cmd, by=caller.staff_id, now=now)
    uow.commit()
    return warning_rule(uow)
