"""Notifications' repositories and the unit of work that hands them out: the messages with the staff's
console notices and the numbers opted out; each county's settings and templates; and what it follows of
other services (applications, complaints, bookings, stations, market sites, staff, villages). Use cases
ask these for rows by the domain's names and never touch the session."""
from __future__ import annotations

from services.notifications.adapters.repositories.counties import CountySettings, Templates
from services.notifications.adapters.repositories.followed import (
    Applications,
    Bookings,
    Complaints,
    MarketSites,
    Staff,
    Stations,
    Villages,
)
from services.notifications.adapters.repositories.messages import Messages, OptOuts, StaffNotices
from shared.db import UnitOfWork, repository

__all__ = ["Applications", "Bookings", "Complaints", "CountySettings", "MarketSites", "Messages",
           "NotificationsUnitOfWork", "OptOuts", "Staff", "StaffNotices", "Stations", "Templates", "Villages"]


class NotificationsUnitOfWork(UnitOfWork):
    """One transaction on the notifications database, and the repositories that work in it."""

    messages = repository(Messages)
    staff_notices = repository(StaffNotices)
    opt_outs = repository(OptOuts)
    county_settings = repository(CountySettings)
    templates = repository(Templates)
    applications = repository(Applications)
    complaints = repository(Complaints)
    bookings = repository(Bookings)
    stations = repository(Stations)
    market_sites = repository(MarketSites)
    staff = repository(Staff)
    villages = repository(Villages)
