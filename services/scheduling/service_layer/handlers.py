"""Scheduling use cases of market days, market-day sessions 便民服务岗 and their rosters, attendance,
reminders, and appointment slots with bookings, gathered under the one name the service calls them by.
Each family lives in its own module: market_days, sessions, rosters, attendance, appointments (and the
visits' families behind visits.py)."""
from __future__ import annotations

from services.scheduling.service_layer.appointments import (
    book,
    bookings_of,
    change_booking,
    create_slots,
    list_bookings,
    list_slots,
    make_slots,
    notice_contact,
)
from services.scheduling.service_layer.attendance import check, close_attendance, send_reminders, update_gauges
from services.scheduling.service_layer.market_days import describe, keep_site, public_market_calendar, site_market_days
from services.scheduling.service_layer.rosters import (
    ROSTERABLE,
    assign,
    busy,
    check_cadre,
    commit_cadre,
    generate_roster,
    leave,
    record_leave,
    swap,
)
from services.scheduling.service_layer.sessions import (
    SESSION_MANAGERS,
    days_off,
    generate_sessions,
    list_sessions,
    local_instant,
    require_manager,
)
from shared.contracts.scheduling import SessionQuery

__all__ = [
    "ROSTERABLE", "SESSION_MANAGERS", "SessionQuery", "assign", "book", "bookings_of", "busy", "change_booking",
    "check", "check_cadre", "close_attendance", "commit_cadre", "create_slots", "days_off", "describe",
    "generate_roster", "generate_sessions", "keep_site", "leave", "list_bookings", "list_sessions", "list_slots",
    "local_instant", "make_slots", "notice_contact", "public_market_calendar", "record_leave", "require_manager",
    "send_reminders", "site_market_days", "swap", "update_gauges",
]
