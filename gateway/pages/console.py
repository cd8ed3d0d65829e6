"""The station clerk's console (服务站工作人员 / 代办员), signed in with a session cookie."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from gateway.pages import words
from gateway.pages.session import StaffPage, sign_in, sign_out
from gateway.pages.web import PAGE, PageRoute, read_form, render, see_other
from gateway.routes import Calls
from shared.contracts.base import CleanStr
from shared.errors import CunbanError

router = APIRouter(prefix="/console", route_class=PageRoute)


def _safe_next(target: str | None) -> str:
    """Only a path of the console itself: the sign-in page never sends anyone to another site."""
    if target and target.startswith("/console") and not target.startswith("//") and "\\" not in target:
        return target
    return "/console"


@router.get("/login", operation_id="page_login", **PAGE)
async def login_page(request: Request, next: Annotated[CleanStr | None, Query(max_length=500)] = None) -> Response:
    return render(request, "console/login.html", next=_safe_next(next))


@router.post("/login", operation_id="page_sign_in", **PAGE)
async def login(request: Request) -> Response:
    form = await read_form(request)
    username, password = str(form.get("username", "")).strip(), str(form.get("password", ""))
    target = _safe_next(str(form.get("next", "")))
    response = see_other(target)
    try:
        if not username or not password:
            raise CunbanError("username and password are required", code="bad_credentials")
        await sign_in(request, response, username[:64], password[:128])
    except CunbanError as exc:
        request.state.caller = None
        return render(request, "console/login.html", status_code=exc.http_status if exc.http_status != 400 else 401,
                      message=words.error_message(exc), username=username[:64], next=target)
    return response


@router.post("/logout", operation_id="page_sign_out", **PAGE)
async def logout(request: Request) -> Response:
    await read_form(request)
    response = see_other("/console/login")
    await sign_out(request, response)
    return response


@router.get("", operation_id="page_console", **PAGE)
async def workbench(request: Request, staff: StaffPage, calls: Calls) -> Response:
    me = await calls.call("directory", "get_staff", caller=staff, staff_id=staff.staff_id)
    return render(request, "console/home.html", me=me)
