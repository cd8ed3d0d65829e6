"""Appointment use cases 预约: a session's (or an appointment visit's) hours cut into slots, villagers or a
station booking a place (one per phone number, never past a slot's capacity), bookings cancelled, served
or missed, and each change announced so that notifications can tell the villager."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from services.scheduling.adapters import orm
from services.scheduling.adapters.repositories import SchedulingUnitOfWork
from services.scheduling.service_layer.sessions import find_session, require_manager
from shared.contracts.caller import Caller, Role
from shared.contracts.scheduling import BookingChanged, BookingCreate, BookingView, SlotsCreate, SlotView
from shared.errors import Conflict, NotFound
from shared.pii import PersonalDataVault, mask_name, mask_phone


def create_slots(uow: SchedulingUnitOfWork, *, caller: Caller, session_id: str, cmd: SlotsCreate) -> list[SlotView]:
    session = find_session(uow, caller, session_id)
    require_manager(caller, session.township_code)
    return make_slots(uow, session.starts_at, session.ends_at, cmd, session_id=session.id)


def make_slots(uow: SchedulingUnitOfWork, starts_at: datetime, ends_at: datetime, cmd: SlotsCreate, *,
               session_id: str | None = None, visit_id: str | None = None) -> list[SlotView]:
    """Cut an occasion's hours into slots of `cmd.minutes`, once per occasion."""
    if uow.slots.offered(session_id=session_id, visit_id=visit_id):
        raise Conflict("slots are offered here already", code="slots_exist")
    step = timedelta(minutes=cmd.minutes)
    starts = starts_at
    while starts + step <= ends_at:
        uow.slots.add(orm.SlotRow(session_id=session_id, visit_id=visit_id, starts_at=starts, ends_at=starts + step,
                                  capacity=cmd.capacity, booked=0))
        starts += step
    uow.commit()
    return list_slots(uow, session_id=session_id, visit_id=visit_id)


def list_slots(uow: SchedulingUnitOfWork, *, session_id: str | None = None,
               visit_id: str | None = None) -> list[SlotView]:
    return [SlotView(id=s.id, session_id=s.session_id, visit_id=s.visit_id, starts_at=s.starts_at, ends_at=s.ends_at,
                     capacity=s.capacity, booked=s.booked)
            for s in uow.slots.at(session_id=session_id, visit_id=visit_id)]


def list_bookings(uow: SchedulingUnitOfWork, *, caller: Caller, session_id: str,
                  vault: PersonalDataVault) -> list[BookingView]:
    """Who booked a place at a market-day post, by slot time: for the township's staff who serve it
    (names and phones in full, to call a villager who is late)."""
    find_session(uow, caller, session_id)
    return bookings_of(uow, vault, session_id=session_id)


def bookings_of(uow: SchedulingUnitOfWork, vault: PersonalDataVault, *, session_id: str | None = None,
                visit_id: str | None = None) -> list[BookingView]:
    return [_booking_view(booking, slot, vault, full=True)
            for booking, slot in uow.bookings.at(session_id=session_id, visit_id=visit_id)]


def _slot_occasion(uow: SchedulingUnitOfWork, slot: orm.SlotRow) -> tuple[str, bool]:
    """The township a slot belongs to, and whether its session or visit still takes bookings."""
    if slot.session_id:
        session = uow.sessions.get(slot.session_id)
        return session.township_code, session.status == "scheduled"
    visit = uow.visits.get(slot.visit_id)
    return visit.township_code, visit.status == "planned"


def book(uow: SchedulingUnitOfWork, *, caller: Caller, slot_id: int, cmd: BookingCreate, vault: PersonalDataVault,
         now: datetime) -> BookingView:
    """Take a place in a slot: one per phone number (a second tap or a second visit to the page books
    nothing twice). The capacity check and the count are one conditional UPDATE, so parallel bookings can
    never overfill a slot."""
    slot = uow.slots.get(slot_id)
    if slot is None:
        raise NotFound("slot not found", code="slot_not_found")
    township_code, open_ = _slot_occasion(uow, slot)
    if caller.role is not Role.PUBLIC and not caller.sees_township(township_code):  # staff book in their own
        raise NotFound("slot not found", code="slot_not_found")
    if not open_ or slot.starts_at <= now:
        raise Conflict("this slot is no longer open for booking", code="slot_closed")
    if not uow.slots.take_place(slot_id):
        raise Conflict("this slot is full", code="slot_full")
    held = uow.bookings.phones_held(slot_id)
    if any(vault.decrypt(phone) == cmd.phone for phone in held):  # a slot holds a few places: reading them is cheap
        raise Conflict("this phone number has a place in this slot already", code="already_booked")
    booking = orm.Booking(id=uuid.uuid4().hex, slot_id=slot_id, name_enc=vault.encrypt(cmd.name),
                          phone_enc=vault.encrypt(cmd.phone), topic=cmd.topic, status="booked", booked_at=now,
                          booked_by=caller.staff_id)
    uow.bookings.add(booking)
    _booking_changed(uow, booking, slot, now)
    uow.commit()
    return _booking_view(booking, slot, vault, full=caller.role is not Role.PUBLIC)


def change_booking(uow: SchedulingUnitOfWork, *, caller: Caller, booking_id: str, status: str,
                   vault: PersonalDataVault, now: datetime) -> BookingView:
    """Cancel (frees the place), or mark served / no-show (staff of the township)."""
    booking = uow.bookings.get(booking_id)
    if booking is None:
        raise NotFound("booking not found", code="booking_not_found")
    slot = uow.slots.get(booking.slot_id)
    township_code, _ = _slot_occasion(uow, slot)
    # the villager cancels with the booking's id; staff act only on their own township's bookings
    if (status != "cancelled" or caller.role is not Role.PUBLIC) and not caller.sees_township(township_code):
        raise NotFound("booking not found", code="booking_not_found")
    if booking.status != "booked":
        raise Conflict(f"the booking is {booking.status} already", code="booking_closed")
    booking.status = status
    if status == "cancelled":
        uow.slots.give_back_place(slot.id)
    _booking_changed(uow, booking, slot, now)
    uow.commit()
    return _booking_view(booking, slot, vault, full=caller.role is not Role.PUBLIC)


def _booking_changed(uow: SchedulingUnitOfWork, booking: orm.Booking, slot: orm.SlotRow, now: datetime) -> None:
    if slot.session_id:
        session = uow.sessions.get(slot.session_id)
        site = uow.market_sites.get(session.site_code)
        occasion, occasion_id, township, place = ("session", session.id, session.township_code,
                                                  site.name if site else session.site_code)
    else:
        visit = uow.visits.get(slot.visit_id)
        occasion, occasion_id, township, place = "visit", visit.id, visit.township_code, visit.place
    event = BookingChanged(booking_id=booking.id, status=booking.status, occasion=occasion, occasion_id=occasion_id,
                           township_code=township, starts_at=slot.starts_at, place=place)
    uow.record_event("booking_changed", event.model_dump(mode="json"), township_code=township, now=now)


def notice_contact(uow: SchedulingUnitOfWork, *, booking_id: str, vault: PersonalDataVault) -> str | None:
    """The phone a villager booked with, for the message notifications is about to send (the platform's own
    caller only)."""
    phone_enc = uow.bookings.phone_of(booking_id)
    return vault.decrypt(phone_enc) if phone_enc else None


def _booking_view(booking: orm.Booking, slot: orm.SlotRow, vault: PersonalDataVault, *, full: bool) -> BookingView:
    name, phone = vault.decrypt(booking.name_enc), vault.decrypt(booking.phone_enc)
    return BookingView(id=booking.id, slot_id=slot.id, starts_at=slot.starts_at, status=booking.status,
                       name=name if full else mask_name(name), phone=phone if full else mask_phone(phone),
                       topic=booking.topic)

