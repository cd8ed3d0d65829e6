"""Complaints' repositories and the unit of work that hands them out: the complaints with their history,
督办 notices and receipt numbers; early warning's daily counts and alerts; the county's stage limits and
warning rule; and the directory's staff and villages as copied here. Use cases ask these for rows by
the domain's names and never touch the session."""
from __future__ import annotations

from functools import cached_property

from sqlalchemy.exc import IntegrityError

from services.complaints.adapters.repositories.complaints import Complaints, History, Notices, ReceiptNumbers
from services.complaints.adapters.repositories.early_warning import Alerts, DailyCounts
from services.complaints.adapters.repositories.settings import Staff, StageLimits, Villages, WarningRules
from shared.db import UnitOfWork

__all__ = ["Alerts", "Complaints", "ComplaintsUnitOfWork", "DailyCounts", "DuplicateKey", "History", "Notices",
           "ReceiptNumbers", "Staff", "StageLimits", "Villages", "WarningRules"]

DuplicateKey = IntegrityError  # what a write raises when another transaction took its key first (a retry racing)


class ComplaintsUnitOfWork(UnitOfWork):
    """One transaction on the complaints database, and the repositories that work in it."""

    @cached_property
    def complaints(self) -> Complaints:
        return Complaints(self)

    @cached_property
    def history(self) -> History:
        return History(self)

    @cached_property
    def notices(self) -> Notices:
        return Notices(self)

    @cached_property
    def receipt_numbers(self) -> ReceiptNumbers:
        return ReceiptNumbers(self)

    @cached_property
    def daily_counts(self) -> DailyCounts:
        return DailyCounts(self)

    @cached_property
    def alerts(self) -> Alerts:
        return Alerts(self)

    @cached_property
    def stage_limits(self) -> StageLimits:
        return StageLimits(self)

    @cached_property
    def warning_rules(self) -> WarningRules:
        return WarningRules(self)

    @cached_property
    def staff(self) -> Staff:
        return Staff(self)

    @cached_property
    def villages(self) -> Villages:
        return Villages(self)
