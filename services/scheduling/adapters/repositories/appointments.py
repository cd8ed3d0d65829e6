"""Appointment slots 预约 at a session or at an appointment visit, and the villagers' bookings of them (name
and phone encrypted)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import case, func, select, update

from services.scheduling.adapters import orm
from shared.db import Repository


def _occasion(session_id: str | None, visit_id: str | None) -> tuple[Any, str | None]:
    """The slot column naming the occasion, and its id: a session's if given, else a visit's."""
    return (orm.SlotRow.session_id if session_id else orm.SlotRow.visit_id), (session_id or visit_id)


class Slots(Repository):
    """The slots offered at sessions and visits; `booked` never exceeds `capacity`."""

    def get(self, slot_id: int) -> orm.SlotRow | None:
        return self.session.get(orm.SlotRow, slot_id)

    def offered(self, *, session_id: str | None = None, visit_id: str | None = None) -> bool:
        """Whether a session (or a visit) offers slots already."""
        column, occasion_id = _occasion(session_id, visit_id)
        return self.session.execute(select(orm.SlotRow.id).where(column == occasion_id)).first() is not None

    def add(self, slot: orm.SlotRow) -> None:
        self.session.add(slot)

    def at(self, *, session_id: str | None = None, visit_id: str | None = None) -> list[orm.SlotRow]:
        """A session's (or a visit's) slots, in the order they start."""
        column, occasion_id = _occasion(session_id, visit_id)
        return list(self.session.execute(select(orm.SlotRow).where(column == occasion_id)
                                         .order_by(orm.SlotRow.starts_at)).scalars())

    def take_place(self, slot_id: int) -> bool:
        """Count one more booking in a slot unless it is full: one conditional UPDATE, so parallel bookings
        can never overfill it. False (the transaction rolled back) when it was full."""
        s = orm.SlotRow
        return self.uow.claim(update(s).where(s.id == slot_id, s.booked < s.capacity).values(booked=s.booked + 1))

    def give_back_place(self, slot_id: int) -> None:
        """Count one booking less in a slot (one was cancelled)."""
        s = orm.SlotRow
        self.session.execute(update(s).where(s.id == slot_id).values(booked=s.booked - 1))

    def free_places(self, session_ids: list[str], visit_ids: list[str], *, now: datetime) -> dict[str, int]:
        """Places left per session or visit that offers slots, in the slots that have not begun by `now` (a
        begun slot takes no booking); one that offers none is absent, one whose slots have all begun has 0."""
        s = orm.SlotRow
        left = func.sum(case((s.starts_at > now, s.capacity - s.booked), else_=0))
        free: dict[str, int] = {}
        for column, ids in ((s.session_id, session_ids), (s.visit_id, visit_ids)):
            if ids:
                free.update(self.session.execute(select(column, left).where(column.in_(ids)).group_by(column)).all())
        return free


class Bookings(Repository):
    """Villagers' bookings of slots: booked, then cancelled, served or a no-show."""

    def get(self, booking_id: str) -> orm.Booking | None:
        return self.session.get(orm.Booking, booking_id)

    def add(self, booking: orm.Booking) -> None:
        self.session.add(booking)

    def phones_held(self, slot_id: int) -> list[str]:
        """The encrypted phones of a slot's bookings still booked (a slot holds a few places)."""
        b = orm.Booking
        return list(self.session.scalars(select(b.phone_enc).where(b.slot_id == slot_id, b.status == "booked")))

    def phone_of(self, booking_id: str) -> str | None:
        """The encrypted phone a booking was made with, or None for an unknown booking."""
        return self.session.execute(select(orm.Booking.phone_enc).where(orm.Booking.id == booking_id)
                                    ).scalar_one_or_none()

    def at(self, *, session_id: str | None = None, visit_id: str | None = None) -> list[Any]:
        """A session's (or a visit's) bookings, whatever their status, each as (booking, slot), by slot time
        and then the order they were made in."""
        column, occasion_id = _occasion(session_id, visit_id)
        b, s = orm.Booking, orm.SlotRow
        return list(self.session.execute(select(b, s).join(s, b.slot_id == s.id).where(column == occasion_id)
                                         .order_by(s.starts_at, b.booked_at)).all())

    def active_at(self, *, session_id: str | None = None, visit_id: str | None = None) -> list[orm.Booking]:
        """A session's (or a visit's) bookings still booked, in the order they were made."""
        column, occasion_id = _occasion(session_id, visit_id)
        b = orm.Booking
        return list(self.session.execute(select(b).join(orm.SlotRow, orm.SlotRow.id == b.slot_id)
                                         .where(column == occasion_id, b.status == "booked")
                                         .order_by(b.booked_at, b.id)).scalars())
