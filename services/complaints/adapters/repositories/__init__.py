"""Complaints' repositories and the unit of work that hands them out: the complaints with their history,
督办 notices and receipt numbers; early warning's daily counts and alerts; the county's stage limits and
warning rule; and the directory's staff and villages as copied here. Use cases ask these for rows by
the domain's names and never touch the session."""
from __future__ import annotations

from services.complaints.adapters.repositories.complaints import Complaints, History, Notices, ReceiptNumbers
from services.complaints.adapters.repositories.early_warning import Alerts, DailyCounts
from services.complaints.adapters.repositories.settings import Staff, StageLimits, Villages, WarningRules
from shared.db import UnitOfWork, repository

__all__ = ["Alerts", "Complaints", "ComplaintsUnitOfWork", "DailyCounts", "History", "Notices",
           "ReceiptNumbers", "Staff", "StageLimits", "Villages", "WarningRules"]


class ComplaintsUnitOfWork(UnitOfWork):
    """One transaction on the complaints database, and the repositories that work in it."""

    complaints = repository(Complaints)
    history = repository(History)
    notices = repository(Notices)
    receipt_numbers = repository(ReceiptNumbers)
    daily_counts = repository(DailyCounts)
    alerts = repository(Alerts)
    stage_limits = repository(StageLimits)
    warning_rules = repository(WarningRules)
    staff = repository(Staff)
    villages = repository(Villages)
