"""Notifications' repositories and the unit of work that hands them out: the messages with the staff's
console notices and the numbers opted out; each county's settings and templates; and what it follows of
other services (applications, complaints, bookings, stations, market sites, staff, villages). Use cases
ask these for rows by the domain's names and never touch the session."""
from __future__ import annotations

from functools import cached_property

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
from shared.db import UnitOfWork

__all__ = ["Applications", "Bookings", "Complaints", "CountySettings", "MarketSites", "Messages",
           "NotificationsUnitOfWork", "OptOuts", "Staff", "StaffNotices", "Stations", "Templates", "Villages"]


class NotificationsUnitOfWork(UnitOfWork):
    """One transaction on the notifications database, and the repositories that work in it."""

    @cached_property
    def messages(self) -> Messages:
        return Messages(self)

    @cached_property
    def staff_notices(self) -> StaffNotices:
        return StaffNotices(self)

    @cached_property
    def opt_outs(self) -> OptOuts:
        return OptOuts(self)

    @cached_property
    def county_settings(self) -> CountySettings:
        return CountySettings(self)

    @cached_property
    def templates(self) -> Templates:
        return Templates(self)

    @cached_property
    def applications(self) -> Applications:
        return Applications(self)

    @cached_property
    def complaints(self) -> Complaints:
        return Complaints(self)

    @cached_property
    def bookings(self) -> Bookings:
        return Bookings(self)

    @cached_property
    def stations(self) -> Stations:
        return Stations(self)

    @cached_property
    def market_sites(self) -> MarketSites:
        return MarketSites(self)

    @cached_property
    def staff(self) -> Staff:
        return Staff(self)

    @cached_property
    def villages(self) -> Villages:
        return Villages(self)
