"""What complaints keeps of settings and of other services: the installation's stage limits and
early-warning rule, and the directory's staff and villages as copied here (their events keep them)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from services.complaints.adapters import orm
from shared.contracts import complaints as c
from shared.db import Repository

THE_RULE = 1  # the warning rule's one row: one rule for the installation


class StageLimits(Repository):
    """Working-day limits per kind of complaint, where the county set its own."""

    def of(self, kind: str) -> c.StageLimits | None:
        """The limits set for this kind, or None (the defaults apply)."""
        row = self.session.get(orm.StageLimitRow, kind)
        return c.StageLimits.model_validate(row.limits) if row else None

    def set(self, kind: str, limits: c.StageLimits, *, by: int | None, now: datetime) -> None:
        self.uow.put(orm.StageLimitRow, kind, {"kind": kind, "limits": limits.model_dump(), "updated_by": by,
                                               "updated_at": now})


class WarningRules(Repository):
    """The early-warning rule, where the county set its own."""

    def current(self) -> c.WarningRule | None:
        """The rule set, or None (the default applies)."""
        row = self.session.get(orm.WarningRuleRow, THE_RULE)
        return c.WarningRule.model_validate(row.rule) if row else None

    def set(self, rule: c.WarningRule, *, by: int | None, now: datetime) -> None:
        self.uow.put(orm.WarningRuleRow, THE_RULE, {"id": THE_RULE, "rule": rule.model_dump(), "updated_by": by,
                                                    "updated_at": now})


class Staff(Repository):
    """The directory's staff as copied here."""

    def get(self, staff_id: int) -> orm.StaffCopy | None:
        return self.session.get(orm.StaffCopy, staff_id)


class Villages(Repository):
    """The directory's villages as copied here."""

    def get(self, code: str) -> orm.VillageCopy | None:
        return self.session.get(orm.VillageCopy, code)

    def townships(self) -> set[str]:
        """Every township with a village here (their gauges read 0 rather than nothing)."""
        return set(self.session.execute(select(orm.VillageCopy.township_code).distinct()).scalars())
