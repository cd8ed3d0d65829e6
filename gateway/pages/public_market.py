"""赶集日历 for villagers: a township's market days, its market-day service posts 便民服务岗 and visits
下访 with their services, and booking a free appointment place (预约) — with a confirmation to keep, whose
booking number also cancels it."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Request, Response
from pydantic import ValidationError

from gateway.auth import PublicCaller
from gateway.pages import words
from gateway.pages.public import TownshipCode, township, townships, typed_number
from gateway.pages.web import (
    PAGE,
    PageRoute,
    answer_once,
    field_errors,
    no_store,
    read_form,
    render,
    see_once,
    see_other,
    text,
)
from gateway.routes import Calls
from shared.clock import today_in_china, utcnow
from shared.contracts.scheduling import BookingCreate
from shared.errors import CunbanError, NotFound, ValidationFailed

router = APIRouter(route_class=PageRoute)
EntryId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$")]
BookingId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$")]
Kind = Annotated[Literal["post", "visit"], Path()]
DAYS_AHEAD = 30
BOOKING_FIELDS = {"name": "请填写您的姓名。", "phone": "请填写11位手机号码，例如 13812345678。",
                  "topic": "想办的事请写在500字以内。", "slot_id": "请选择一个时段。"}


def _days_ahead() -> dict[str, str]:
    first = today_in_china()
    return {"start": first.isoformat(), "end": (first + timedelta(days=DAYS_AHEAD)).isoformat()}


async def _entries(calls: Calls, public: PublicCaller, code: str) -> list:
    """The township's market-day posts and visits of the days ahead."""
    return await calls.call("scheduling", "public_calendar", caller=public, township_code=code, **_days_ahead())


@router.get("/market", operation_id="page_market", **PAGE)
async def market(request: Request, public: PublicCaller, calls: Calls) -> Response:
    return render(request, "public/choose_township.html", townships=await townships(calls, public),
                  title="赶集日历", lead="请选择乡镇，看哪天赶集、干部在哪里摆摊服务、下村走访，还能预约。",
                  base="/market")


# (before /market/{township_code}: a path is matched in the order routes are declared)
@router.get("/market/cancel", operation_id="page_market_cancel_form", **PAGE)
async def cancel_form(request: Request) -> Response:
    return render(request, "public/cancel.html")


@router.post("/market/cancel", operation_id="page_market_cancel", **PAGE)
async def cancel(request: Request, public: PublicCaller, calls: Calls) -> Response:
    form = await read_form(request)
    number = text(form, "booking_id", 40).lower()
    try:
        if len(number) != 32 or any(ch not in "0123456789abcdef" for ch in number):
            raise ValidationFailed("not a booking number", code="booking_not_found")
        await calls.call("scheduling", "change_booking", caller=public, booking_id=number, status="cancelled")
    except CunbanError as exc:
        return no_store(render(request, "public/cancel.html", status_code=exc.http_status, booking_id=number,
                               message=words.error_message(exc)))
    return see_other("/market/cancelled")


@router.get("/market/cancelled", operation_id="page_market_cancelled", **PAGE)
async def cancelled(request: Request) -> Response:
    return render(request, "public/cancel.html", done=True)


@router.get("/market/{township_code}", operation_id="page_market_calendar", **PAGE)
async def market_calendar(request: Request, township_code: TownshipCode, public: PublicCaller,
                          calls: Calls) -> Response:
    place = await township(calls, public, township_code)
    markets = await calls.call("scheduling", "public_market_calendar", caller=public, township_code=township_code,
                               **_days_ahead())
    entries = await _entries(calls, public, township_code)
    villages = {v["code"]: v["name"] for v in await calls.call("directory", "public_villages", caller=public,
                                                                township_code=township_code)}
    return render(request, "public/market.html", township=place, markets=markets, entries=entries,
                  villages=villages, days=DAYS_AHEAD)


async def _entry_and_slots(calls: Calls, public: PublicCaller, code: str, kind: str,
                           entry_id: str) -> tuple[dict, list]:
    entries = await _entries(calls, public, code)
    wanted = "market_day_post" if kind == "post" else "visit"
    entry = next((e for e in entries if e["id"] == entry_id and e["kind"] == wanted), None)
    if entry is None:
        raise NotFound("not in this township's calendar", code="session_not_found" if kind == "post"
                       else "visit_not_found")
    if kind == "post":
        slots = await calls.call("scheduling", "list_slots", caller=public, session_id=entry_id)
    else:
        slots = await calls.call("scheduling", "list_visit_slots", caller=public, visit_id=entry_id)
    slots = offered(slots, utcnow())
    if entry.get("village_code"):
        villages = await calls.call("directory", "public_villages", caller=public, township_code=code)
        name = next((v["name"] for v in villages if v["code"] == entry["village_code"]), "")
        entry = {**entry, "place": f"{name} {entry['place']}".strip()}
    return entry, slots


def offered(slots: list[dict], now: datetime) -> list[dict]:
    """Each slot with whether it has `begun` and whether it is `open` to a booking: not begun (scheduling
    refuses a slot that has, slot_closed) and not full. A closed slot is shown, never offered."""
    return [{**s, "begun": (begun := datetime.fromisoformat(s["starts_at"]) <= now),
             "open": not begun and s["booked"] < s["capacity"]} for s in slots]


@router.get("/market/{township_code}/{kind}/{entry_id}", operation_id="page_market_book", **PAGE)
async def booking_form(request: Request, township_code: TownshipCode, kind: Kind, entry_id: EntryId,
                       public: PublicCaller, calls: Calls) -> Response:
    place = await township(calls, public, township_code)
    entry, slots = await _entry_and_slots(calls, public, township_code, kind, entry_id)
    return render(request, "public/book.html", township=place, entry=entry, slots=slots, kind=kind, typed={})


@router.post("/market/{township_code}/{kind}/{entry_id}", operation_id="page_market_booked", **PAGE)
async def book(request: Request, township_code: TownshipCode, kind: Kind, entry_id: EntryId,
               public: PublicCaller, calls: Calls) -> Response:
    form = await read_form(request)
    place = await township(calls, public, township_code)
    entry, slots = await _entry_and_slots(calls, public, township_code, kind, entry_id)
    typed = {"name": text(form, "name", 50), "phone": typed_number(form, "phone", 20),
             "topic": text(form, "topic", 500), "slot_id": text(form, "slot_id", 12)}
    slot = next((s for s in slots if str(s["id"]) == typed["slot_id"]), None)
    errors: dict[str, str] = {}
    try:
        booking = BookingCreate.model_validate({k: typed[k] or None for k in ("name", "phone", "topic")})
    except ValidationError as exc:
        errors = field_errors(exc, BOOKING_FIELDS)
    if slot is None:
        errors["slot_id"] = BOOKING_FIELDS["slot_id"]
    elif not slot["open"]:  # it began or filled while the form was open
        errors["slot_id"] = words.ERROR_MESSAGES["slot_closed" if slot["begun"] else "slot_full"]
    if errors:
        return render(request, "public/book.html", status_code=422, township=place, entry=entry, slots=slots,
                      kind=kind, typed=typed, errors=errors)
    try:
        made = await calls.call("scheduling", "book", caller=public, slot_id=slot["id"],
                                booking=booking.model_dump(mode="json"))
    except CunbanError as exc:
        return render(request, "public/book.html", status_code=exc.http_status, township=place, entry=entry,
                      slots=slots, kind=kind, typed=typed, message=words.error_message(exc))
    # the booking number is what cancels it, so it goes in no address or cache: the next page shows it (for ten
    # minutes, a reload there included; nothing is booked again)
    return see_once(request, f"/market/{township_code}/{kind}/{entry_id}/booked", {"booking": made, "slot": slot})


@router.get("/market/{township_code}/{kind}/{entry_id}/booked", operation_id="page_market_booking", **PAGE)
async def booked(request: Request, township_code: TownshipCode, kind: Kind, entry_id: EntryId,
                 public: PublicCaller, calls: Calls) -> Response:
    answer = answer_once(request)
    if answer is None:  # long ago, or another browser: the number is not shown again
        return see_other(f"/market/{township_code}")
    place = await township(calls, public, township_code)
    entry, _ = await _entry_and_slots(calls, public, township_code, kind, entry_id)
    return no_store(render(request, "public/booked.html", township=place, entry=entry, **answer))
