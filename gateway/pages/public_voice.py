"""The villager's voice: 好差评 (rating a completed application or a replied complaint) and 投诉建议
(a complaint, suggestion or petition, named or anonymous, and its progress by receipt number and code)."""
from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from pydantic import ValidationError

from gateway.audit import client_of
from gateway.auth import PublicCaller
from gateway.pages import words
from gateway.pages.public import RECEIPT, townships, typed_number
from gateway.pages.web import (
    PAGE,
    PageRoute,
    answer_once,
    field_errors,
    forget_answer,
    no_store,
    read_form,
    render,
    see_once,
    see_other,
    text,
)
from gateway.routes import Calls
from shared.contracts.base import CleanStr
from shared.contracts.complaints import ComplaintKind, PublicComplaint, PublicComplaintLookup
from shared.contracts.evaluation import RATING_WORDS, PublicRating
from shared.errors import CunbanError

router = APIRouter(route_class=PageRoute)
ReceiptQuery = Annotated[CleanStr | None, Query(max_length=40, pattern=RECEIPT)]
FOLLOW_UP_DAYS = 15  # working days to call back after a bad rating (the evaluation service's FOLLOW_UP_DAYS)
LEVELS = sorted(RATING_WORDS.items(), reverse=True)  # 5 非常满意 … 1 非常不满意
KINDS = [(ComplaintKind.STAFF_CONDUCT.value, "投诉", "干部不作为、态度差、推诿、吃拿卡要"),
         (ComplaintKind.SUGGESTION.value, "建议", "对村里、乡镇工作的意见和建议"),
         (ComplaintKind.PETITION.value, "信访诉求", "需要政府解决的问题"),
         (ComplaintKind.DISPUTE.value, "矛盾纠纷", "邻里、家庭、土地等纠纷，请干部调解")]
RATE_FIELDS = {"receipt_no": "请填写回执或投诉登记上的编号。", "code": "请填写手机号码后四位，或匿名投诉的查询码。",
               "level": "请选一个评价。", "comment": "意见请写在500字以内。"}
COMPLAINT_FIELDS = {"kind": "请选择类型。", "category": "请选择是哪方面的事。", "village_code": "请选择您所在的村。",
                    "description": "请写明事情经过和您的诉求（2000字以内）。", "complainant.name": "请填写姓名。",
                    "complainant.phone": "请填写11位手机号码；不想留名可以把姓名和电话都空着。",
                    "complainant": "姓名和电话要么都填，要么都不填（匿名）。"}
LOOKUP_FIELDS = {"receipt_no": "请填写登记编号。", "secret": "请填写手机号码后四位，或匿名查询码。"}


# ---- 好差评 -------------------------------------------------------------------------------------------------

@router.get("/rate", operation_id="page_rate", **PAGE)
async def rate_form(request: Request, receipt: ReceiptQuery = None) -> Response:
    return render(request, "public/rate.html", levels=LEVELS, typed={"receipt_no": receipt or ""})


@router.post("/rate", operation_id="page_rate_send", **PAGE)
async def rate(request: Request, public: PublicCaller, calls: Calls) -> Response:
    form = await read_form(request)
    typed = {"receipt_no": typed_number(form, "receipt_no"), "code": text(form, "code", 16).upper(),
             "level": text(form, "level", 1), "comment": text(form, "comment", 500)}
    try:
        rating = PublicRating.model_validate({**typed, "comment": typed["comment"] or None,
                                              "level": typed["level"] or None, "client": client_of(request)})
    except ValidationError as exc:
        return no_store(render(request, "public/rate.html", status_code=422, levels=LEVELS, typed=typed,
                               errors=field_errors(exc, RATE_FIELDS)))
    try:
        made = await calls.call("evaluation", "rate_public", caller=public, rating=rating.model_dump(mode="json"))
    except CunbanError as exc:
        # a wrong code is typed again; what else was typed is kept
        return no_store(render(request, "public/rate.html", status_code=exc.http_status, levels=LEVELS,
                               typed={**typed, "code": ""}, message=words.error_message(exc)))
    due = f"?due={made['follow_up_due']}" if made.get("follow_up_due") else ""
    return see_other(f"/rate/thanks{due}")


@router.get("/rate/thanks", operation_id="page_rate_thanks", **PAGE)
async def rate_thanks(request: Request, due: date | None = None) -> Response:
    return render(request, "public/rate_thanks.html", due=due, days=FOLLOW_UP_DAYS)


# ---- 投诉建议 -----------------------------------------------------------------------------------------------

async def _villages(calls: Calls, public: PublicCaller) -> list[dict]:
    """Every township with its villages, for the one village select (a county has a few hundred)."""
    places = []
    for t in await townships(calls, public):
        places.append({**t, "villages": await calls.call("directory", "public_villages", caller=public,
                                                          township_code=t["code"])})
    return places


def _complaint_page(request: Request, places: list, status_code: int = 200, **context) -> Response:
    return no_store(render(request, "public/complain.html", status_code=status_code, places=places, kinds=KINDS,
                           categories=words.COMPLAINT_CATEGORY, **{"typed": {}, **context}))


@router.get("/complain", operation_id="page_complain", **PAGE)
async def complain_form(request: Request, public: PublicCaller, calls: Calls) -> Response:
    return _complaint_page(request, await _villages(calls, public))


@router.post("/complain", operation_id="page_complain_send", **PAGE)
async def complain(request: Request, public: PublicCaller, calls: Calls) -> Response:
    form = await read_form(request)
    typed = {name: text(form, name, 2000 if name == "description" else 50)
             for name in ("kind", "category", "village_code", "description", "name")}
    typed["phone"] = typed_number(form, "phone", 20)
    who = {"name": typed["name"], "phone": typed["phone"]} if typed["name"] or typed["phone"] else None
    try:
        complaint = PublicComplaint.model_validate({
            "kind": typed["kind"] or None, "category": typed["category"] or None,
            "village_code": typed["village_code"] or None, "description": typed["description"], "complainant": who})
    except ValidationError as exc:
        return _complaint_page(request, await _villages(calls, public), 422, typed=typed,
                               errors=field_errors(exc, COMPLAINT_FIELDS))
    try:
        made = await calls.call("complaints", "register_online", caller=public,
                                complaint=complaint.model_dump(mode="json"))
    except CunbanError as exc:
        return _complaint_page(request, await _villages(calls, public), exc.http_status, typed=typed,
                               message=words.error_message(exc))
    receipt = made["complaint"]["receipt_no"]
    if made.get("lookup_code"):
        # anonymous: the look-up code exists only in this answer — shown once on the next page (a reload there
        # files nothing again), never kept by a cache
        return see_once(request, "/complain/filed", {"receipt_no": receipt, "code": made["lookup_code"],
                                                     "kind": complaint.kind.value})
    return see_other(f"/complain/filed?receipt={receipt}")


@router.get("/complain/filed", operation_id="page_complain_filed", **PAGE)
async def complain_filed(request: Request, receipt: ReceiptQuery = None) -> Response:
    anonymous = answer_once(request)
    if anonymous is not None:
        return forget_answer(request, render(request, "public/complained.html", **anonymous))
    return render(request, "public/complained.html", receipt_no=receipt or "", code=None, shown=receipt is None)


@router.get("/complain/progress", operation_id="page_complaint_progress", **PAGE)
async def complaint_progress_form(request: Request, receipt: ReceiptQuery = None) -> Response:
    return render(request, "public/complaint_progress.html", typed={"receipt_no": receipt or ""})


@router.post("/complain/progress", operation_id="page_complaint_look_up", **PAGE)
async def complaint_look_up(request: Request, public: PublicCaller, calls: Calls) -> Response:
    # posted, answered at once and not cached: the code never goes into an address (see progress_look_up)
    form = await read_form(request)
    typed = {"receipt_no": typed_number(form, "receipt_no"), "secret": text(form, "secret", 16).upper()}
    try:
        lookup = PublicComplaintLookup.model_validate({**typed, "client": client_of(request)})
    except ValidationError as exc:
        return no_store(render(request, "public/complaint_progress.html", status_code=422, typed=typed,
                               errors=field_errors(exc, LOOKUP_FIELDS)))
    try:
        found = await calls.call("complaints", "public_progress", caller=public,
                                 lookup=lookup.model_dump(mode="json"))
    except CunbanError as exc:
        return no_store(render(request, "public/complaint_progress.html", status_code=exc.http_status,
                               typed=typed, message=words.error_message(exc)))
    return no_store(render(request, "public/complaint_result.html", p=found))
