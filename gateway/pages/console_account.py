"""我的账号: who I am (name, role, township and station by name) and changing my own password, through the
same directory call as `POST /auth/me/password` (a wrong current password counts against the sign-in
throttle; the new password ends every session of the account, and this browser gets a new one)."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import ValidationError

from gateway.pages import console, words
from gateway.pages.session import StaffPage, set_new_password
from gateway.pages.web import PAGE, PageRoute, field_errors, read_form, render, see_other
from gateway.routes import Calls
from shared.contracts.caller import Caller
from shared.contracts.directory import PasswordChange
from shared.errors import CunbanError

router = APIRouter(prefix="/console", route_class=PageRoute)

PASSWORD_FIELDS = {
    "current_password": "请填写现在使用的密码。",
    "new_password": "新密码要8到128个字符，不能有控制字符。",
    "repeat_password": "两次填写的新密码不一样，请重新填写。",
}


async def _account_page(request: Request, staff: Caller, calls: Calls, status_code: int = 200,
                        **context: Any) -> Response:
    me = await calls.call("directory", "get_staff", caller=staff, staff_id=staff.staff_id)
    township = await console.optional(calls.call("directory", "get_township", caller=staff,
                                                 code=me["township_code"])) if me["township_code"] else None
    station = await console.optional(calls.call("directory", "get_station", caller=staff,
                                                code=me["station_code"])) if me["station_code"] else None
    return render(request, "console/account.html", status_code=status_code, me=me, township=township,
                  station=station, **context)


@router.get("/account", operation_id="page_account", **PAGE)
async def account(request: Request, staff: StaffPage, calls: Calls, changed: bool = False) -> Response:
    return await _account_page(request, staff, calls, changed=changed)


@router.post("/account/password", operation_id="page_change_password", **PAGE)
async def change_password(request: Request, staff: StaffPage, calls: Calls) -> Response:
    form = await read_form(request)
    typed = {name: value[:128] if isinstance(value := form.get(name, ""), str) else ""
             for name in ("current_password", "new_password", "repeat_password")}
    errors: dict[str, str] = {}
    try:
        change = PasswordChange.model_validate({k: typed[k] for k in ("current_password", "new_password")})
    except ValidationError as exc:
        errors = field_errors(exc, PASSWORD_FIELDS, across="new_password")
    if typed["new_password"] != typed["repeat_password"]:
        errors.setdefault("repeat_password", PASSWORD_FIELDS["repeat_password"])
    if errors:  # a password is never shown again: the form comes back empty
        return await _account_page(request, staff, calls, 422, errors=errors, message=words.BY_STATUS[422])
    response = see_other("/console/account?changed=true")
    try:
        await set_new_password(request, response, staff, change.model_dump())
    except CunbanError as exc:
        if exc.http_status == 401:
            raise
        field = {"current_password_wrong": "current_password", "password_unchanged": "new_password"}.get(exc.code)
        return await _account_page(request, staff, calls, exc.http_status, message=words.error_message(exc),
                                   errors={field: words.error_message(exc)} if field else {})
    return response
