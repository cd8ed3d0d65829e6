"""The public pages, for a villager on a phone: no sign-in, nothing personal shown, the same public
service calls as the `/public/...` API (so the access matrix applies).

This module: the home page, 办事指南 (the guide) and 进度查询 (progress by receipt number, and `/q/<receipt>`,
the address a receipt's QR code carries). The market calendar and bookings are in public_market.py, 好差评
and 投诉建议 in public_voice.py; their routes join this router."""
from __future__ import annotations

import re
import unicodedata
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import ValidationError

from gateway.audit import client_of
from gateway.auth import PublicCaller
from gateway.pages import words
from gateway.pages.web import PAGE, ItemCode, PageRoute, field_errors, no_store, read_form, render
from gateway.routes import Calls
from shared.contracts.base import CleanStr
from shared.contracts.intake import PublicLookup
from shared.errors import CunbanError, NotFound

router = APIRouter(route_class=PageRoute)



TownshipCode = Annotated[str, Path(pattern=r"^\d{9}$")]
RECEIPT = r"^\d{9}-(TS)?\d{8}-\d{4,6}$"
Receipt = Annotated[str, Path(pattern=RECEIPT)]
LEVEL = {"village": "村级办理（小事不出村）", "township": "乡镇办理（大事不出乡镇）", "county": "县级办理"}
WHERE = {"village": "本村便民服务站，或赶集日便民服务岗；也可请代办员代办",
         "township": "本村便民服务站或代办员代办（由乡镇办理），也可到乡镇便民服务中心",
         "county": "本村便民服务站或代办员代办（转县级部门办理），也可到县政务服务中心"}


DASHES = re.compile(r"[\s\u2010-\u2015\u2212]+")
BARE_NUMBER = re.compile(r"^(\d{9})(TS)?(\d{8})(\d{4,6})$")


def typed_number(form: Any, name: str, limit: int = 40) -> str:
    """A receipt or phone number as people type it — full-width digits or dashes from a Chinese keyboard,
    spaces, or a receipt number without its dashes — written the way the services know it."""
    raw = form.get(name, "")
    if not isinstance(raw, str):
        return ""
    value = unicodedata.normalize("NFKC", raw).strip().upper()
    value = DASHES.sub("-", value)
    if name.startswith("receipt") and (bare := BARE_NUMBER.match(value.replace("-", ""))):
        head, ts, day, serial = bare.groups()
        value = f"{head}-{ts or ''}{day}-{serial}"
    elif not name.startswith("receipt"):
        value = value.replace("-", "")  # a phone number: digits only
    return value[:limit]


async def townships(calls: Calls, public: PublicCaller) -> list[dict]:
    return await calls.call("directory", "public_townships", caller=public)


async def township(calls: Calls, public: PublicCaller, code: str) -> dict:
    found = next((t for t in await townships(calls, public) if t["code"] == code), None)
    if found is None:
        raise NotFound("no such township", code="township_not_found")
    return found


@router.get("/", operation_id="page_home", **PAGE)
async def home(request: Request) -> Response:
    return render(request, "public/home.html")


# ---- 办事指南 ----------------------------------------------------------------------------------------------

@router.get("/guide", operation_id="page_guide", **PAGE)
async def guide(request: Request, public: PublicCaller, calls: Calls) -> Response:
    return render(request, "public/choose_township.html", townships=await townships(calls, public),
                  title="办事指南", lead="请选择您所在的乡镇，查看能办的事项。", base="/guide")


@router.get("/guide/{township_code}", operation_id="page_guide_catalogue", **PAGE)
async def guide_catalogue(request: Request, township_code: TownshipCode, public: PublicCaller,
                          calls: Calls) -> Response:
    place = await township(calls, public, township_code)
    items = await calls.call("directory", "public_catalogue", caller=public, township_code=township_code,
                             category=None, page={"limit": 200, "offset": 0})
    return render(request, "public/catalogue.html", township=place, items=items)


@router.get("/guide/{township_code}/{item_code}", operation_id="page_guide_item", **PAGE)
async def guide_item(request: Request, township_code: TownshipCode, item_code: ItemCode, public: PublicCaller,
                     calls: Calls) -> Response:
    place = await township(calls, public, township_code)
    items = await calls.call("directory", "public_catalogue", caller=public, township_code=township_code,
                             category=None, page={"limit": 200, "offset": 0})
    item = next((i for i in items if i["code"] == item_code), None)
    if item is None:
        raise NotFound("no such item in this township's catalogue", code="unknown_item")
    return render(request, "public/item.html", township=place, item=item, level=LEVEL.get(item["handling_level"], ""),
                  where=WHERE.get(item["handling_level"], ""))


# ---- 进度查询 ----------------------------------------------------------------------------------------------
# The form is posted, and the answer comes straight back (no redirect, not cached): a result page reached
# by GET would carry the phone's last four digits in its address, and so in the browser's history, in
# bookmarks and in every log on the way. The receipt number alone may be in an address (/q/<receipt>).

@router.get("/progress", operation_id="page_progress", **PAGE)
async def progress_form(request: Request,
                        receipt: Annotated[CleanStr | None, Query(max_length=40, pattern=RECEIPT)] = None) -> Response:
    return render(request, "public/progress.html", receipt_no=receipt or "")


@router.get("/q/{receipt_no}", operation_id="page_progress_qr", **PAGE)
async def progress_qr(request: Request, receipt_no: Receipt) -> Response:
    """The address a receipt's QR code carries: the number filled in, the four digits asked for."""
    return render(request, "public/progress.html", receipt_no=receipt_no, from_qr=True)


PROGRESS_FIELDS = {"receipt_no": "请填写回执上的编号，例如 431099101-20261203-0001。",
                   "phone_last4": "请填写申请时所留手机号码的后四位数字。"}


@router.post("/progress", operation_id="page_progress_look_up", **PAGE)
async def progress_look_up(request: Request, public: PublicCaller, calls: Calls) -> Response:
    form = await read_form(request)
    typed = {"receipt_no": typed_number(form, "receipt_no"), "phone_last4": typed_number(form, "phone_last4", 4)}
    try:
        lookup = PublicLookup.model_validate({**typed, "client": client_of(request)})
    except ValidationError as exc:
        return no_store(render(request, "public/progress.html", status_code=422, receipt_no=typed["receipt_no"],
                               errors=field_errors(exc, PROGRESS_FIELDS)))
    try:
        found = await calls.call("intake", "public_progress", caller=public, lookup=lookup.model_dump(mode="json"))
    except CunbanError as exc:
        return no_store(render(request, "public/progress.html", status_code=exc.http_status,
                               receipt_no=typed["receipt_no"], message=words.error_message(exc)))
    days = await _promised_days(calls, public, found)
    return no_store(render(request, "public/progress_result.html", p=found, promised_days=days))


async def _promised_days(calls: Calls, public: PublicCaller, found: dict) -> int | None:
    """The item's promised limit in working days, from the township's public catalogue (by the item's name,
    which is all the look-up says of it)."""
    try:
        items = await calls.call("directory", "public_catalogue", caller=public,
                                 township_code=found["receipt_no"][:9], category=None,
                                 page={"limit": 200, "offset": 0})
    except CunbanError:
        return None
    return next((i["promised_days"] for i in items if i["name"] == found["item_name"]), None)


from gateway.pages import public_market, public_voice  # noqa: E402  (their routes join this router)

router.include_router(public_market.router)
router.include_router(public_voice.router)
