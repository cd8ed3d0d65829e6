"""A staff member's notices in the console: newest first, how many are unread, marked read."""
from __future__ import annotations

from datetime import datetime

from services.notifications.adapters.repositories import NotificationsUnitOfWork
from services.notifications.domain.notices import NOTICES
from shared.contracts import notifications as c
from shared.contracts.caller import Caller
from shared.errors import Forbidden


def _staff_id(caller: Caller) -> int:
    if caller.staff_id is None:
        raise Forbidden("only a staff member has notices", code="not_staff")
    return caller.staff_id


def my_notices(uow: NotificationsUnitOfWork, *, caller: Caller, query: c.NoticeQuery) -> c.StaffNoticePage:
    staff_id = _staff_id(caller)
    found = uow.staff_notices.of(staff_id, unread=query.unread, after=query.after,
                                 limit=query.limit + 1)  # one more: is there a next page?
    page = found[:query.limit]
    unread = uow.staff_notices.unread(staff_id)
    return c.StaffNoticePage(
        items=[c.StaffNoticeView(id=r.id, kind=r.kind, name=NOTICES[r.kind].name, text=r.text, link=r.link,
                                 created_at=r.created_at, read_at=r.read_at) for r in page],
        unread=unread, next_after=page[-1].id if len(found) > query.limit else None)


def mark_read(uow: NotificationsUnitOfWork, *, caller: Caller, cmd: c.MarkRead, now: datetime) -> int:
    """Mark some of my notices read (or all of them); returns how many are still unread."""
    staff_id = _staff_id(caller)
    uow.staff_notices.mark_read(staff_id, cmd.ids, now)
    uow.commit()
    return uow.staff_notices.unread(staff_id)
