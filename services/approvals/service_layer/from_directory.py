"""What approvals keeps of the directory's announcements: each item's workflow (a case takes the one in
force when it was filed) and the county calendars, whose every change sets the open deadlines to be
re-derived at the next sweep."""
from __future__ import annotations

from typing import Any

from services.approvals.adapters import orm
from services.approvals.adapters.repositories import ApprovalsUnitOfWork
from shared.copies import keep_calendar_day


def note_calendar_change(uow: ApprovalsUnitOfWork, *, payload: dict) -> None:
    """A day that changed sets every open case to be re-derived at the next sweep; a day announced again as
    it is (`cunban up` announces the calendar at every start) does not."""
    if not keep_calendar_day(uow, orm.CalendarDayCopy, payload):
        return
    uow.calendars.note_change()


def keep_workflow(uow: ApprovalsUnitOfWork, *, item: dict[str, Any]) -> None:
    uow.keep_newest(orm.CatalogueWorkflowCopy, (item["township_code"], item["code"]),
                    {k: item[k] for k in ("township_code", "code", "workflow", "version")})
