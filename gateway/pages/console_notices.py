"""消息: a staff member's notices (a complaint assigned, a case near or past its limit, 督办, 责任追究, the
market-day post and visit reminders), newest first, with how many are unread, through the same calls as
`GET /me/notices` and `POST /me/notices/read`. Opening one marks it read and goes to what it is about."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response

from gateway.pages.session import StaffPage
from gateway.pages.web import PAGE, PageRoute, read_form, render, see_other
from gateway.routes import Calls

router = APIRouter(prefix="/console", route_class=PageRoute)
NoticeId = Annotated[int, Path(ge=1, le=2**63 - 1)]
PAGE_SIZE = 30


@router.get("/notices", operation_id="page_notices", **PAGE)
async def notices(request: Request, staff: StaffPage, calls: Calls, unread: bool = False,
                  after: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None) -> Response:
    query = {"unread": unread, "limit": PAGE_SIZE, **({"after": after} if after else {})}
    page = await calls.call("notifications", "my_notices", caller=staff, query=query)
    more = f"/console/notices?after={page['next_after']}" + ("&unread=true" if unread else "") \
        if page["next_after"] else None
    return render(request, "console/notices.html", page=page, unread_only=unread, more=more, first=after is not None)


@router.post("/notices/read", operation_id="page_notices_read", **PAGE)
async def read_all(request: Request, staff: StaffPage, calls: Calls) -> Response:
    await read_form(request)
    await calls.call("notifications", "mark_notices_read", caller=staff, cmd={})
    return see_other("/console/notices")


@router.post("/notices/{notice_id}/open", operation_id="page_notice_open", **PAGE)
async def open_notice(request: Request, notice_id: NoticeId, staff: StaffPage, calls: Calls) -> Response:
    """Mark it read, then go to what it is about (only a console address: a notice never sends you elsewhere)."""
    form = await read_form(request)
    await calls.call("notifications", "mark_notices_read", caller=staff, cmd={"ids": [notice_id]})
    link = form.get("link")
    return see_other(link if isinstance(link, str) and link.startswith("/console/") else "/console/notices")
