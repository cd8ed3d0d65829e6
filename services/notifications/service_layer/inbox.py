"""A staff member's notices in the console: newest first, how many are unread, marked read."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update

from services.notifications.adapters import orm
from services.notifications.domain.notices import NOTICES
from shared.contracts import notifications as c
from shared.contracts.caller import Caller
from shared.db import UnitOfWork
from shared.errors import Forbidden


def _staff_id(caller: Caller) -> int:
    if caller.staff_id is None:
        raise Forbidden("only a staff member has notices", code="not_staff")
    return caller.staff_id


def my_notices(uow: UnitOfWork, *, caller: Caller, query: c.NoticeQuery) -> c.StaffNoticePage:
    staff_id = _staff_id(caller)
    n = orm.StaffNoticeRow
    stmt = select(n).where(n.staff_id == staff_id).order_by(n.id.desc()).limit(query.limit + 1)
    if query.unread:
        stmt = stmt.where(n.read_at.is_(None))
    if query.after is not None:
        stmt = stmt.where(n.id < query.after)
    found = list(uow.session.execute(stmt).scalars())
    page = found[:query.limit]
    unread = uow.session.execute(select(func.count()).select_from(n)
                                 .where(n.staff_id == staff_id, n.read_at.is_(None))).scalar_one()
    return c.StaffNoticePage(
        items=[c.StaffNoticeView(id=r.id, kind=r.kind, name=NOTICES[r.kind].name, text=r.text, link=r.link,
                                 created_at=r.created_at, read_at=r.read_at) for r in page],
        unread=unread, next_after=page[-1].id if len(found) > query.limit else None)


def mark_read(uow: UnitOfWork, *, caller: Caller, cmd: c.MarkRead, now: datetime) -> int:
    """Mark some of my notices read (or all of them); returns how many are still unread."""
    staff_id = _staff_id(caller)
    n = orm.StaffNoticeRow
    stmt = update(n).where(n.staff_id == staff_id, n.read_at.is_(None)).values(read_at=now)
    if cmd.ids is not None:
        stmt = stmt.where(n.id.in_(cmd.ids))
    uow.session.execute(stmt)
    uow.commit()
    return uow.session.execute(select(func.count()).select_from(n)
                               .where(n.staff_id == staff_id, n.read_at.is_(None))).scalar_one()
