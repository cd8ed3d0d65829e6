"""管理: setting up a township and the county in the browser — townships (county admins), villages, stations
and their keys, staff and their roles, the service catalogue and each item's workflow — through the same
directory calls as the JSON API, so the access matrix and the directory's rules decide: a supervisor
manages their own township (T), a county admin every one (C). Lists page by offset, as the API's do. The
index also links the county's calendar, scores, audit log and system health pages (built beside this)."""
from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from gateway.audit import PERSONAL_DATA
from gateway.pages import console, words
from gateway.pages.session import StaffPage
from gateway.pages.web import (
    PAGE,
    ItemCode,
    PageRoute,
    answer_once,
    forget_answer,
    read_form,
    render,
    see_once,
    see_other,
    service_errors,
    submit,
    text,
)
from gateway.routes import Calls
from shared.contracts import directory as c
from shared.contracts.access import roles_for
from shared.contracts.caller import STATION_ROLES, Caller, Role
from shared.errors import CunbanError, Forbidden

router = APIRouter(prefix="/console/admin", route_class=PageRoute)

TownshipPath = Annotated[str, Path(pattern=r"^\d{9}$")]
VillagePath = Annotated[str, Path(pattern=r"^\d{12}$")]
IdPath = Annotated[int, Path(ge=1, le=2**31 - 1)]
Offset = Annotated[int, Query(ge=0, le=100_000)]
Done = Annotated[str | None, Query(pattern=r"^[a-z_]{1,40}$")]
LIMIT = 50
EVERYTHING = {"limit": 500, "offset": 0}  # a township's stations or staff, to name them in a list or a choice


async def manager(request: Request, staff: StaffPage) -> Caller:
    """管理 is for those who set up a township (supervisors) or the county (county admins); a supervisor
    only their own township (another one in the address is refused as out of scope)."""
    if staff.role not in roles_for("directory.create_staff"):
        raise Forbidden("only supervisors and county admins manage the directory", code="role_not_allowed")
    console.in_scope(staff, township_in_path(request))
    return staff


def township_in_path(request: Request) -> str | None:
    """The township an admin address names: /townships/{code}/… or /catalogue/{township_code}/…"""
    params = request.path_params
    if "township_code" in params:
        return str(params["township_code"])
    return str(params["code"]) if "code" in params and request.url.path.startswith(
        "/console/admin/townships/") else None


Manager = Annotated[Caller, Depends(manager)]


def _page(offset: int) -> dict[str, int]:
    return {"limit": LIMIT, "offset": offset}


def _next(base: str, offset: int, rows: list) -> str | None:
    return f"{base}?{urlencode({'offset': offset + LIMIT})}" if len(rows) == LIMIT else None


NAME_TAKEN = frozenset({"village_name_taken", "station_name_taken"})


def named_errors(names: dict[str, str]) -> Callable[[CunbanError], dict[str, str]]:
    """The service's field errors; a name already used in the township said as such beside 名称."""
    def said(exc: CunbanError) -> dict[str, str]:
        errors = service_errors(exc, names)
        if exc.code in NAME_TAKEN:
            errors["name"] = words.error_message(exc)
        return errors
    return said


def _or_none(value: str) -> str | None:
    return value or None


async def _township(calls: Calls, staff: Caller, code: str) -> dict:
    return await calls.call("directory", "get_township", caller=staff, code=code)


def _county(staff: Caller) -> bool:
    return staff.role in roles_for("directory.create_township")


# ---- the index ------------------------------------------------------------------------------------------

@router.get("", operation_id="page_admin", **PAGE)
async def index(request: Request, staff: Manager, calls: Calls) -> Response:
    townships = await calls.call("directory", "list_townships", caller=staff, page=_page(0))
    return render(request, "console/admin/index.html", townships=townships, county=_county(staff),
                  more=len(townships) == LIMIT)


# ---- townships ----------------------------------------------------------------------------------------------

TOWNSHIP_FIELDS = {"code": "乡镇代码是9位数字，前6位是本县代码。", "name": "请填写乡镇名称（不超过100个字）。",
                   "hotline": "监督电话请填手机号、带区号的固定电话或12345。"}


async def _townships_page(request: Request, staff: Caller, calls: Calls, offset: int = 0, status_code: int = 200,
                          **context: Any) -> Response:
    townships = await calls.call("directory", "list_townships", caller=staff, page=_page(offset))
    return render(request, "console/admin/townships.html", status_code=status_code, townships=townships,
                  county=_county(staff), offset=offset,
                  next_url=_next("/console/admin/townships", offset, townships), **context)


@router.get("/townships", operation_id="page_admin_townships", **PAGE)
async def townships(request: Request, staff: Manager, calls: Calls, offset: Offset = 0) -> Response:
    return await _townships_page(request, staff, calls, offset, typed={})


@router.post("/townships", operation_id="page_admin_create_township", **PAGE)
async def create_township(request: Request, staff: Manager, calls: Calls) -> Response:
    form = await read_form(request)
    typed = {"code": text(form, "code", 12), "name": text(form, "name", 120), "hotline": text(form, "hotline", 20)}

    async def again(status: int, errors: dict[str, str], message: str) -> Response:
        return await _townships_page(request, staff, calls, status_code=status, typed=typed, errors=errors,
                                     message=message)

    async def send(township: c.TownshipCreate) -> Response:
        created = await calls.call("directory", "create_township", caller=staff,
                                   township=township.model_dump(mode="json"))
        return see_other(f"/console/admin/townships/{created['code']}?done=township_created")

    return await submit(again, lambda: c.TownshipCreate.model_validate({
        **typed, "hotline": _or_none(typed["hotline"])}), send, fields=TOWNSHIP_FIELDS)


async def _township_page(request: Request, staff: Caller, calls: Calls, code: str, status_code: int = 200,
                         **context: Any) -> Response:
    township = await _township(calls, staff, code)
    context.setdefault("typed", {"name": township["name"], "hotline": township["hotline"] or ""})
    return render(request, "console/admin/township.html", status_code=status_code, township=township,
                  county=_county(staff), **context)


@router.get("/townships/{code}", operation_id="page_admin_township", **PAGE)
async def township(request: Request, staff: Manager, calls: Calls, code: TownshipPath, done: Done = None) -> Response:
    return await _township_page(request, staff, calls, code, done=words.ADMIN_DONE.get(done or ""))


@router.post("/townships/{code}", operation_id="page_admin_update_township", **PAGE)
async def update_township(request: Request, staff: Manager, calls: Calls, code: TownshipPath) -> Response:
    form = await read_form(request)
    typed = {"name": text(form, "name", 120), "hotline": text(form, "hotline", 20)}

    async def again(status: int, errors: dict[str, str], message: str) -> Response:
        return await _township_page(request, staff, calls, code, status, typed=typed, errors=errors, message=message)

    async def send(changes: c.TownshipUpdate) -> Response:
        await calls.call("directory", "update_township", caller=staff, code=code,
                         changes=changes.model_dump(mode="json", exclude_unset=True))
        return see_other(f"/console/admin/townships/{code}?done=township_updated")

    return await submit(again, lambda: c.TownshipUpdate.model_validate({
        "name": typed["name"], "hotline": _or_none(typed["hotline"])}), send, fields=TOWNSHIP_FIELDS)


# ---- villages -----------------------------------------------------------------------------------------------

VILLAGE_FIELDS = {"code": "村（社区）代码是12位数字，前9位是乡镇代码。",
                  "name": "请填写村（社区）名称（不超过100个字）。", "kind": "请选择行政村或社区。"}


async def _villages_page(request: Request, staff: Caller, calls: Calls, code: str, offset: int = 0,
                         status_code: int = 200, **context: Any) -> Response:
    township = await _township(calls, staff, code)
    villages = await calls.call("directory", "list_villages", caller=staff, township_code=code, page=_page(offset))
    context.setdefault("typed", {"code": code, "kind": "village"})
    return render(request, "console/admin/villages.html", status_code=status_code, township=township,
                  villages=villages, offset=offset,
                  next_url=_next(f"/console/admin/townships/{code}/villages", offset, villages), **context)


@router.get("/townships/{code}/villages", operation_id="page_admin_villages", **PAGE)
async def villages(request: Request, staff: Manager, calls: Calls, code: TownshipPath, offset: Offset = 0,
                   done: Done = None) -> Response:
    return await _villages_page(request, staff, calls, code, offset, done=words.ADMIN_DONE.get(done or ""))


@router.post("/townships/{code}/villages", operation_id="page_admin_create_village", **PAGE)
async def create_village(request: Request, staff: Manager, calls: Calls, code: TownshipPath) -> Response:
    form = await read_form(request)
    typed = {"code": text(form, "code", 14), "name": text(form, "name", 120), "kind": text(form, "kind", 12)}

    async def again(status: int, errors: dict[str, str], message: str) -> Response:
        return await _villages_page(request, staff, calls, code, status_code=status, typed=typed, errors=errors,
                                    message=message)

    async def send(village: c.VillageCreate) -> Response:
        await calls.call("directory", "create_village", caller=staff, village=village.model_dump(mode="json"))
        return see_other(f"/console/admin/townships/{code}/villages?done=village_created")

    return await submit(again, lambda: c.VillageCreate.model_validate({**typed, "township_code": code}), send,
                        fields=VILLAGE_FIELDS,
                        refused=named_errors(VILLAGE_FIELDS))


async def _village_page(request: Request, staff: Caller, calls: Calls, code: str, status_code: int = 200,
                        **context: Any) -> Response:
    village = await calls.call("directory", "get_village", caller=staff, code=code)
    township = await _township(calls, staff, village["township_code"])
    context.setdefault("typed", {"name": village["name"], "kind": village["kind"]})
    return render(request, "console/admin/village.html", status_code=status_code, village=village,
                  township=township, **context)


@router.get("/villages/{code}", operation_id="page_admin_village", **PAGE)
async def village(request: Request, staff: Manager, calls: Calls, code: VillagePath) -> Response:
    return await _village_page(request, staff, calls, code)


@router.post("/villages/{code}", operation_id="page_admin_update_village", **PAGE)
async def update_village(request: Request, staff: Manager, calls: Calls, code: VillagePath) -> Response:
    form = await read_form(request)
    typed = {"name": text(form, "name", 120), "kind": text(form, "kind", 12)}

    async def again(status: int, errors: dict[str, str], message: str) -> Response:
        return await _village_page(request, staff, calls, code, status, typed=typed, errors=errors, message=message)

    async def send(changes: c.VillageUpdate) -> Response:
        updated = await calls.call("directory", "update_village", caller=staff, code=code,
                                   changes=changes.model_dump(mode="json"))
        return see_other(f"/console/admin/townships/{updated['township_code']}/villages?done=village_updated")

    return await submit(again, lambda: c.VillageUpdate.model_validate(typed), send, fields=VILLAGE_FIELDS,
                        refused=named_errors(VILLAGE_FIELDS))


# ---- stations and their keys --------------------------------------------------------------------------------

STATION_FIELDS = {"code": "服务站代码2到32位，用字母、数字、横线或下划线，例如 ST431099101001。",
                  "village_code": "请选择服务站所在的村（社区）。", "name": "请填写服务站名称（不超过100个字）。",
                  "address": "地址太长，请删减。", "phone": "电话请填手机号或带区号的固定电话。"}
KEY_FIELDS = {"staff_id": "请选择这台设备代表的服务站工作人员（须在本站、在岗）。",
              "label": "请填写设备名称，例如“自助终端”。"}


def _station_typed(form: FormData) -> dict[str, str]:
    return {name: text(form, name, 2000 if name == "address" else 120)
            for name in ("code", "village_code", "name", "address", "phone")}


async def _stations_page(request: Request, staff: Caller, calls: Calls, code: str, offset: int = 0,
                         status_code: int = 200, **context: Any) -> Response:
    township = await _township(calls, staff, code)
    stations = await calls.call("directory", "list_stations", caller=staff, township_code=code, page=_page(offset))
    places = await console.villages(calls, staff, code)
    context.setdefault("typed", {})
    return render(request, "console/admin/stations.html", status_code=status_code, township=township,
                  stations=stations, villages=places, village_names={v["code"]: v["name"] for v in places},
                  offset=offset, next_url=_next(f"/console/admin/townships/{code}/stations", offset, stations),
                  **context)


@router.get("/townships/{code}/stations", operation_id="page_admin_stations", **PAGE)
async def stations(request: Request, staff: Manager, calls: Calls, code: TownshipPath, offset: Offset = 0) -> Response:
    return await _stations_page(request, staff, calls, code, offset)


@router.post("/townships/{code}/stations", operation_id="page_admin_create_station", **PAGE)
async def create_station(request: Request, staff: Manager, calls: Calls, code: TownshipPath) -> Response:
    form = await read_form(request)
    typed = _station_typed(form)

    async def again(status: int, errors: dict[str, str], message: str) -> Response:
        return await _stations_page(request, staff, calls, code, status_code=status, typed=typed, errors=errors,
                                    message=message)

    async def send(station: c.StationCreate) -> Response:
        if not station.village_code.startswith(code):  # a village of this township
            return await again(422, {"village_code": STATION_FIELDS["village_code"]}, words.BY_STATUS[422])
        created = await calls.call("directory", "create_station", caller=staff,
                                   station=station.model_dump(mode="json"))
        return see_other(f"/console/admin/stations/{created['code']}?done=station_created")

    return await submit(again, lambda: c.StationCreate.model_validate({
        **typed, "address": _or_none(typed["address"]), "phone": _or_none(typed["phone"])}), send,
        fields=STATION_FIELDS,
                        refused=named_errors(STATION_FIELDS))


async def _station_page(request: Request, staff: Caller, calls: Calls, code: str, status_code: int = 200,
                        **context: Any) -> Response:
    station = await calls.call("directory", "get_station", caller=staff, code=code)
    township = await _township(calls, staff, station["township_code"])
    village = await console.optional(calls.call("directory", "get_village", caller=staff,
                                                code=station["village_code"]))
    keys = await calls.call("directory", "list_station_keys", caller=staff, station_code=code)
    people = await calls.call("directory", "list_staff", caller=staff, township_code=station["township_code"],
                              page=EVERYTHING)
    context.setdefault("typed", {"name": station["name"], "address": station["address"] or "",
                                 "phone": station["phone"] or ""})
    return render(request, "console/admin/station.html", status_code=status_code, station=station,
                  township=township, village=village, keys=list(reversed(keys)),
                  staff_names={p["id"]: p["full_name"] for p in people},
                  key_staff=[p for p in people if p["station_code"] == code and p["active"]
                             and Role(p["role"]) in STATION_ROLES], **context)


@router.get("/stations/{code}", operation_id="page_admin_station", **PAGE)
async def station(request: Request, staff: Manager, calls: Calls, code: ItemCode, done: Done = None) -> Response:
    issued = answer_once(request)
    response = await _station_page(request, staff, calls, code, done=words.ADMIN_DONE.get(done or ""),
                                   issued=issued if issued and issued.get("station_code") == code else None)
    return forget_answer(request, response) if issued else response


@router.post("/stations/{code}", operation_id="page_admin_update_station", **PAGE)
async def update_station(request: Request, staff: Manager, calls: Calls, code: ItemCode) -> Response:
    form = await read_form(request)
    typed = _station_typed(form)

    async def again(status: int, errors: dict[str, str], message: str) -> Response:
        return await _station_page(request, staff, calls, code, status, typed=typed, errors=errors, message=message)

    async def send(changes: c.StationUpdate) -> Response:
        await calls.call("directory", "update_station", caller=staff, code=code,
                         changes=changes.model_dump(mode="json"))
        return see_other(f"/console/admin/stations/{code}?done=station_updated")

    return await submit(again, lambda: c.StationUpdate.model_validate({
        "name": typed["name"], "address": _or_none(typed["address"]), "phone": _or_none(typed["phone"])}), send,
        fields=STATION_FIELDS,
                        refused=named_errors(STATION_FIELDS))


def _show_key_once(request: Request, issued: dict) -> Response:
    """The key goes to the station's page in a signed cookie sent only there, for two minutes, and is shown
    once: a reload finds it gone and posts nothing again."""
    station_code = issued["station_code"]
    return see_once(request, f"/console/admin/stations/{station_code}", {
        "station_code": station_code, "key": issued["key"], "label": issued["label"], "prefix": issued["prefix"]},
        seconds=120)


@router.post("/stations/{code}/keys", operation_id="page_admin_create_station_key", **PAGE)
async def create_station_key(request: Request, staff: Manager, calls: Calls, code: ItemCode) -> Response:
    form = await read_form(request)
    typed = {"staff_id": text(form, "staff_id", 12), "label": text(form, "label", 120)}

    async def again(status: int, errors: dict[str, str], message: str) -> Response:
        return await _station_page(request, staff, calls, code, status, key_typed=typed, errors=errors,
                                   message=message)

    async def send(key: c.StationKeyCreate) -> Response:
        issued = await calls.call("directory", "create_station_key", caller=staff, station_code=code,
                                  key=key.model_dump(mode="json"))
        return _show_key_once(request, issued)

    return await submit(again, lambda: c.StationKeyCreate.model_validate(typed), send, fields=KEY_FIELDS)


@router.post("/station-keys/{key_id}/rotate", operation_id="page_admin_rotate_station_key", **PAGE)
async def rotate_station_key(request: Request, staff: Manager, calls: Calls, key_id: IdPath) -> Response:
    await read_form(request)
    return _show_key_once(request, await calls.call("directory", "rotate_station_key", caller=staff, key_id=key_id))


@router.post("/station-keys/{key_id}/revoke", operation_id="page_admin_revoke_station_key", **PAGE)
async def revoke_station_key(request: Request, staff: Manager, calls: Calls, key_id: IdPath) -> Response:
    await read_form(request)
    revoked = await calls.call("directory", "revoke_station_key", caller=staff, key_id=key_id)
    return see_other(f"/console/admin/stations/{revoked['station_code']}?done=key_revoked")


# ---- staff and their roles ----------------------------------------------------------------------------------

STAFF_FIELDS = {"username": "用户名用英文小写字母开头，3到32位（字母、数字、下划线、点）。",
                "full_name": "请填写姓名（不超过100个字）。", "role": "请选择岗位。",
                "station_code": "代办员、村委会干部和大学生村官要选所在的服务站（须是本乡镇的）。",
                "township_code": "请选择乡镇。", "phone": "电话请填手机号或带区号的固定电话。",
                "password": "密码要8到128个字符。"}


def roles_to_give(staff: Caller) -> list[str]:
    """The township roles this manager may give (only the county appoints supervisors)."""
    township_roles = [Role.VILLAGE_AGENT, Role.VILLAGE_COMMITTEE, Role.GRADUATE_OFFICIAL, Role.TOWNSHIP_CADRE,
                      Role.DEPARTMENT_STAFF, Role.SUPERVISOR]
    return [r.value for r in township_roles if r is not Role.SUPERVISOR or staff.is_county]


def _staff_typed(form: FormData) -> dict[str, str]:
    typed = {name: text(form, name, 120) for name in ("username", "full_name", "role", "station_code", "phone")}
    password = form.get("password", "")
    typed["password"] = password[:128] if isinstance(password, str) else ""
    typed["active"] = "1" if form.get("active") == "1" else ""
    return typed


async def _staff_list_page(request: Request, staff: Caller, calls: Calls, code: str, offset: int = 0,
                           status_code: int = 200, **context: Any) -> Response:
    township = await _township(calls, staff, code)
    people = await calls.call("directory", "list_staff", caller=staff, township_code=code, page=_page(offset))
    places = await calls.call("directory", "list_stations", caller=staff, township_code=code, page=EVERYTHING)
    context.setdefault("typed", {})
    context["typed"].pop("password", None)  # never shown again
    return render(request, "console/admin/staff_list.html", status_code=status_code, township=township,
                  people=people, stations=places, station_names={s["code"]: s["name"] for s in places},
                  roles=roles_to_give(staff), offset=offset,
                  next_url=_next(f"/console/admin/townships/{code}/staff", offset, people), **context)


@router.get("/townships/{code}/staff", operation_id="page_admin_staff_list", openapi_extra=PERSONAL_DATA, **PAGE)
async def staff_list(request: Request, staff: Manager, calls: Calls, code: TownshipPath,
                     offset: Offset = 0) -> Response:
    return await _staff_list_page(request, staff, calls, code, offset)


@router.post("/townships/{code}/staff", operation_id="page_admin_create_staff", **PAGE)
async def create_staff(request: Request, staff: Manager, calls: Calls, code: TownshipPath) -> Response:
    typed = _staff_typed(await read_form(request))

    async def again(status: int, errors: dict[str, str], message: str) -> Response:
        return await _staff_list_page(request, staff, calls, code, status_code=status, typed=typed, errors=errors,
                                      message=message)

    async def send(person: c.StaffCreate) -> Response:
        created = await calls.call("directory", "create_staff", caller=staff, staff=person.model_dump(mode="json"))
        return see_other(f"/console/admin/staff/{created['id']}?done=staff_created")

    return await submit(again, lambda: c.StaffCreate.model_validate({
        "username": typed["username"], "full_name": typed["full_name"], "role": typed["role"],
        "township_code": code, "station_code": _or_none(typed["station_code"]),
        "phone": _or_none(typed["phone"]), "password": typed["password"]}), send, fields=STAFF_FIELDS)


async def _staff_page(request: Request, staff: Caller, calls: Calls, staff_id: int, status_code: int = 200,
                      **context: Any) -> Response:
    person = await calls.call("directory", "get_staff", caller=staff, staff_id=staff_id)
    township = await _township(calls, staff, person["township_code"]) if person["township_code"] else None
    places = await calls.call("directory", "list_stations", caller=staff, township_code=person["township_code"],
                              page=EVERYTHING) if person["township_code"] else []
    context.setdefault("typed", {"full_name": person["full_name"], "role": person["role"],
                                 "station_code": person["station_code"] or "", "phone": person["phone"] or "",
                                 "active": "1" if person["active"] else ""})
    context["typed"].pop("password", None)
    roles = roles_to_give(staff)
    if person["role"] not in roles:
        roles = [person["role"], *roles]
    return render(request, "console/admin/staff.html", status_code=status_code, person=person, township=township,
                  stations=places, roles=roles, myself=person["id"] == staff.staff_id, **context)


@router.get("/staff/{staff_id}", operation_id="page_admin_staff", openapi_extra=PERSONAL_DATA, **PAGE)
async def staff_member(request: Request, staff: Manager, calls: Calls, staff_id: IdPath, done: Done = None) -> Response:
    return await _staff_page(request, staff, calls, staff_id, done=words.ADMIN_DONE.get(done or ""))


@router.post("/staff/{staff_id}", operation_id="page_admin_update_staff", **PAGE)
async def update_staff(request: Request, staff: Manager, calls: Calls, staff_id: IdPath) -> Response:
    typed = _staff_typed(await read_form(request))
    changes_typed: dict[str, Any] = {
        "full_name": typed["full_name"], "role": typed["role"], "station_code": _or_none(typed["station_code"]),
        "phone": _or_none(typed["phone"]), "active": typed["active"] == "1"}
    if typed["password"]:
        changes_typed["password"] = typed["password"]

    async def again(status: int, errors: dict[str, str], message: str) -> Response:
        return await _staff_page(request, staff, calls, staff_id, status, typed=typed, errors=errors,
                                 message=message)

    async def send(changes: c.StaffUpdate) -> Response:
        await calls.call("directory", "update_staff", caller=staff, staff_id=staff_id,
                         changes=changes.model_dump(mode="json", exclude_unset=True))
        return see_other(f"/console/admin/staff/{staff_id}?done=staff_updated")

    return await submit(again, lambda: c.StaffUpdate.model_validate(changes_typed), send, fields=STAFF_FIELDS)


# ---- the service catalogue ----------------------------------------------------------------------------------

ITEM_FIELDS = {
    "name": "请填写事项名称（不超过100个字）。", "category": "请选择服务类别。", "handling_level": "请选择办理层级。",
    "eligible_applicants": "请填写服务对象（谁可以办）。",
    "procedure_steps": "请填写办事程序，每行一步，1到30步，每步不超过2000个字。",
    "required_materials": "材料每行一项，最多50项，每项不超过2000个字。",
    "promised_days": "承诺时限请填0到365之间的工作日数（0是即办件）。",
    "fee_yuan": "收费请填0到100000之间的金额，最多两位小数（不收费填0）。",
    "fee_legal_basis": "收费要写明收费依据（哪一条规定允许收费）；不收费可以不填。",
    "supervision_method": "请填写监督办法，例如监督电话。",
}


def _lines(value: str) -> list[str]:
    return [line.strip() for line in value.splitlines() if line.strip()]


def _item_typed(form: FormData) -> dict[str, str]:
    return {name: text(form, name, 20000 if name in ("procedure_steps", "required_materials") else 2000)
            for name in ITEM_FIELDS}


def _item_typed_from(item: dict) -> dict[str, str]:
    return {**{name: str(item[name] if item[name] is not None else "") for name in ITEM_FIELDS},
            "procedure_steps": "\n".join(item["procedure_steps"]),
            "required_materials": "\n".join(item["required_materials"])}


def _fee(value: str) -> Decimal | str:
    try:
        return Decimal(value or "0")
    except InvalidOperation:
        return value  # the contract says what is wrong with it


async def _catalogue_page(request: Request, staff: Caller, calls: Calls, code: str, offset: int) -> Response:
    township = await _township(calls, staff, code)
    items = await calls.call("directory", "list_catalogue", caller=staff, township_code=code, category=None,
                             include_withdrawn=True, page=_page(offset))
    return render(request, "console/admin/catalogue.html", township=township, items=items, offset=offset,
                  next_url=_next(f"/console/admin/townships/{code}/catalogue", offset, items))


@router.get("/townships/{code}/catalogue", operation_id="page_admin_catalogue", **PAGE)
async def catalogue(request: Request, staff: Manager, calls: Calls, code: TownshipPath, offset: Offset = 0) -> Response:
    return await _catalogue_page(request, staff, calls, code, offset)


async def _item_page(request: Request, staff: Caller, calls: Calls, township_code: str, code: str,
                     status_code: int = 200, **context: Any) -> Response:
    township = await _township(calls, staff, township_code)
    item = await calls.call("directory", "get_catalogue_item", caller=staff, township_code=township_code, code=code)
    context.setdefault("typed", _item_typed_from(item))
    return render(request, "console/admin/item.html", status_code=status_code, township=township, item=item,
                  categories=words.SERVICE, levels=words.HANDLING_LEVEL, **context)


@router.get("/catalogue/{township_code}/{code}", operation_id="page_admin_item", **PAGE)
async def item(request: Request, staff: Manager, calls: Calls, township_code: TownshipPath, code: ItemCode,
               done: Done = None) -> Response:
    return await _item_page(request, staff, calls, township_code, code, done=words.ADMIN_DONE.get(done or ""))


@router.post("/catalogue/{township_code}/{code}", operation_id="page_admin_update_item", **PAGE)
async def update_item(request: Request, staff: Manager, calls: Calls, township_code: TownshipPath,
                      code: ItemCode) -> Response:
    typed = _item_typed(await read_form(request))
    fields = {**typed, "procedure_steps": _lines(typed["procedure_steps"]),
              "required_materials": _lines(typed["required_materials"]), "fee_yuan": _fee(typed["fee_yuan"]),
              "fee_legal_basis": _or_none(typed["fee_legal_basis"]), "promised_days": typed["promised_days"] or None}

    async def again(status: int, errors: dict[str, str], message: str) -> Response:
        return await _item_page(request, staff, calls, township_code, code, status, typed=typed, errors=errors,
                                message=message)

    async def send(changes: c.CatalogueItemFields) -> Response:
        await calls.call("directory", "update_catalogue_item", caller=staff, township_code=township_code, code=code,
                         changes=changes.model_dump(mode="json"))
        return see_other(f"/console/admin/catalogue/{township_code}/{code}?done=item_updated")

    def refused(exc: CunbanError) -> dict[str, str]:
        if exc.code == "workflow_invalid":
            return {"promised_days": words.ADMIN_WORKFLOW_TOO_LONG}
        return service_errors(exc, ITEM_FIELDS)

    # the whole item, its rule across fields too
    return await submit(again, lambda: c.CatalogueItemFields.model_validate(fields), send, fields=ITEM_FIELDS,
                        across="fee_legal_basis", refused=refused)


@router.post("/catalogue/{township_code}/{code}/withdraw", operation_id="page_admin_withdraw_item", **PAGE)
async def withdraw_item(request: Request, staff: Manager, calls: Calls, township_code: TownshipPath,
                        code: ItemCode) -> Response:
    await read_form(request)
    await calls.call("directory", "withdraw_catalogue_item", caller=staff, township_code=township_code, code=code)
    return see_other(f"/console/admin/catalogue/{township_code}/{code}?done=item_withdrawn")


# ---- an item's workflow -------------------------------------------------------------------------------------

STEP_FIELDS = ("name", "title", "level", "limit_days", "on_approve")
BLANK_ROWS = 1  # room for a new step without a script (save, and another empty row comes)


def _steps_typed(form: FormData) -> list[dict[str, Any]]:
    """The rows of the form as typed: a row left empty is no step, a row marked 删除 is dropped."""
    rows, count = [], text(form, "rows", 2)
    for row in range(min(int(count), 30) if count.isdigit() else 0):
        typed: dict[str, Any] = {name: text(form, f"step-{row}-{name}", 120) for name in STEP_FIELDS}
        typed["roles"] = [r for r in form.getlist(f"step-{row}-roles") if isinstance(r, str)][:7]
        typed["row"], typed["remove"] = row, form.get(f"step-{row}-remove") == "1"
        rows.append(typed)
    return rows


def _blank(step: dict[str, Any]) -> bool:
    return not any(step[name] for name in (*STEP_FIELDS, "roles"))


def _steps_of(workflow: dict) -> list[dict[str, Any]]:
    return [{**{name: str(step[name]) for name in STEP_FIELDS}, "roles": step["roles"], "row": row, "remove": False}
            for row, step in enumerate(workflow["steps"])]


def _with_blank_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    kept = [dict(r) for r in rows if not _blank(r)]
    for row, step in enumerate(kept):
        step["row"] = row
    blanks = [{**{name: "" for name in STEP_FIELDS}, "roles": [], "row": len(kept) + n, "remove": False}
              for n in range(BLANK_ROWS)]
    return kept + blanks


def step_errors(problems: list[dict], kept: list[dict[str, Any]], promised_days: int) -> dict[str, str]:
    """The workflow's problems (the contract's or the directory's, field `steps.<i>.<name>`) in Chinese,
    beside the field of the row they are about; a problem of the whole path goes to `steps`."""
    errors: dict[str, str] = {}
    for problem in problems:
        parts = str(problem.get("field", "")).split(".")
        message = str(problem.get("message", ""))
        if len(parts) >= 2 and parts[0] == "steps" and parts[1].isdigit() and int(parts[1]) < len(kept):
            step = kept[int(parts[1])]
            name = parts[2] if len(parts) > 2 else ""
            key = f"step-{step['row']}-{name}" if name in (*STEP_FIELDS, "roles") else f"step-{step['row']}"
            errors.setdefault(key, _step_problem(name, message, step))
        elif parts[0] == "warning_share":
            errors.setdefault("warning_share", words.ADMIN_WORKFLOW["warning_share"])
        else:
            total = sum(int(s["limit_days"]) for s in kept if str(s["limit_days"]).isdigit())
            errors.setdefault("steps", words.ADMIN_WORKFLOW["loop"] if "loop" in message else
                              words.ADMIN_WORKFLOW["too_long"].format(total=total, promised=promised_days)
                              if "add up" in message else words.ADMIN_WORKFLOW["steps"])
    return errors


def _step_problem(name: str, message: str, step: dict[str, Any]) -> str:
    said = words.ADMIN_WORKFLOW
    if name == "name" and "twice" in message:
        return said["name_twice"]
    if name == "name" and "reserved" in message:
        return said["name_reserved"]
    if name == "on_approve" and "not a step" in message:
        return said["on_approve_missing"].format(target=step["on_approve"])
    if name == "roles" and "level" in message:
        level = c.HandlingLevel(step["level"])
        misplaced = [words.ROLE.get(r, r) for r in step["roles"] if Role(r) not in c.ROLES_AT_LEVEL[level]]
        return said["roles_misplaced"].format(level=words.HANDLING_LEVEL[level.value], roles="、".join(misplaced))
    if not name:
        return said["unreachable"]
    return said.get(name, said["steps"])


async def _workflow_page(request: Request, staff: Caller, calls: Calls, township_code: str, code: str,
                         status_code: int = 200, **context: Any) -> Response:
    township = await _township(calls, staff, township_code)
    item = await calls.call("directory", "get_catalogue_item", caller=staff, township_code=township_code, code=code)
    rows = context.pop("rows", None) or _with_blank_rows(_steps_of(item["workflow"]))
    share = context.pop("share", None) or str(round(item["workflow"]["warning_share"] * 100))
    return render(request, "console/admin/workflow.html", status_code=status_code, township=township, item=item,
                  rows=rows, share=share, levels=words.HANDLING_LEVEL,
                  roles=[r.value for r in (Role.VILLAGE_AGENT, Role.VILLAGE_COMMITTEE, Role.GRADUATE_OFFICIAL,
                                           Role.TOWNSHIP_CADRE, Role.DEPARTMENT_STAFF, Role.SUPERVISOR,
                                           Role.COUNTY_ADMIN)],
                  **context)


@router.get("/catalogue/{township_code}/{code}/workflow", operation_id="page_admin_workflow", **PAGE)
async def workflow(request: Request, staff: Manager, calls: Calls, township_code: TownshipPath, code: ItemCode,
                   done: Done = None) -> Response:
    return await _workflow_page(request, staff, calls, township_code, code, done=words.ADMIN_DONE.get(done or ""))


@router.post("/catalogue/{township_code}/{code}/workflow", operation_id="page_admin_set_workflow", **PAGE)
async def set_workflow(request: Request, staff: Manager, calls: Calls, township_code: TownshipPath,
                       code: ItemCode) -> Response:
    form = await read_form(request)
    rows = _steps_typed(form)
    kept = [r for r in rows if not r["remove"] and not _blank(r)]
    share = text(form, "warning_share", 5)
    item = await calls.call("directory", "get_catalogue_item", caller=staff, township_code=township_code, code=code)
    definition = {"steps": [{name: step[name] for name in (*STEP_FIELDS, "roles")} for step in kept],
                  "warning_share": int(share) / 100 if share.isdigit() else share}
    again = {"rows": _with_blank_rows([r for r in rows if not r["remove"]]), "share": share}
    kept = [r for r in again["rows"] if not _blank(r)]  # renumbered as shown again
    try:
        workflow = c.WorkflowDefinition.model_validate(definition)
        await calls.call("directory", "set_catalogue_workflow", caller=staff, township_code=township_code,
                         code=code, workflow=workflow.model_dump(mode="json"))
    except ValidationError as exc:
        problems = [{"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]} for e in exc.errors()]
        return await _workflow_page(request, staff, calls, township_code, code, 422, **again,
                                    errors=step_errors(problems, kept, item["promised_days"]),
                                    message=words.ADMIN_WORKFLOW["invalid"])
    except CunbanError as exc:
        problems = exc.details if isinstance(exc.details, list) else []
        return await _workflow_page(request, staff, calls, township_code, code, exc.http_status, **again,
                                    errors=step_errors([p for p in problems if isinstance(p, dict)], kept,
                                                       item["promised_days"]),
                                    message=words.error_message(exc))
    return see_other(f"/console/admin/catalogue/{township_code}/{code}/workflow?done=workflow_saved")


@router.post("/catalogue/{township_code}/{code}/workflow/default", operation_id="page_admin_default_workflow", **PAGE)
async def default_workflow(request: Request, staff: Manager, calls: Calls, township_code: TownshipPath,
                           code: ItemCode) -> Response:
    await read_form(request)
    await calls.call("directory", "set_catalogue_workflow", caller=staff, township_code=township_code, code=code,
                     workflow=None)
    return see_other(f"/console/admin/catalogue/{township_code}/{code}/workflow?done=workflow_default")
