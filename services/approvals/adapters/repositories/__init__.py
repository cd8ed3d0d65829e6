"""Approvals' repositories and the unit of work that hands them out: the cases with their audit trail, their
running limits and the 督办 and 责任追究 of late ones, the staff inbox, and the directory's calendar and
staff as copied here. Use cases ask these for rows by the domain's names and never touch the session."""
from __future__ import annotations

from services.approvals.adapters.repositories.cases import OPEN, AuditTrail, Cases
from services.approvals.adapters.repositories.directory import Calendars, Staff
from services.approvals.adapters.repositories.inbox import FAR, InboxKey, Waiting
from services.approvals.adapters.repositories.limits import Deadlines, Limit, Notices
from shared.db import UnitOfWork, repository

__all__ = ["FAR", "OPEN", "ApprovalsUnitOfWork", "AuditTrail", "Calendars", "Cases", "Deadlines", "InboxKey",
           "Limit", "Notices", "Staff", "Waiting"]


class ApprovalsUnitOfWork(UnitOfWork):
    """One transaction on the approvals database, and the repositories that work in it."""

    cases = repository(Cases)
    audit = repository(AuditTrail)
    deadlines = repository(Deadlines)
    notices = repository(Notices)
    waiting = repository(Waiting)
    calendars = repository(Calendars)
    staff = repository(Staff)
