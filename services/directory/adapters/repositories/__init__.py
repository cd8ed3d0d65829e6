"""The directory's repositories, handed out by its unit of work: what its use cases ask for records through,
named for the directory's words (`uow.villages.names_in_township(code)`, `uow.calendar.entered(county, days)`)."""
from __future__ import annotations

from functools import cached_property

from services.directory.adapters.repositories.calendar import CalendarDays, CalendarYears
from services.directory.adapters.repositories.catalogue import CatalogueItems
from services.directory.adapters.repositories.people import AuditLog, EndedSessions, StaffMembers, StationKeys
from services.directory.adapters.repositories.tree import Counties, MarketSites, Stations, Townships, Villages
from shared.db import UnitOfWork

__all__ = ["AuditLog", "CalendarDays", "CalendarYears", "CatalogueItems", "Counties", "DirectoryUnitOfWork",
           "EndedSessions", "MarketSites", "StaffMembers", "StationKeys", "Stations", "Townships", "Villages"]


class DirectoryUnitOfWork(UnitOfWork):
    """One transaction of the directory, and the repositories its use cases read and write through."""

    # ---- the tenant tree
    @cached_property
    def counties(self) -> Counties:
        return Counties(self)

    @cached_property
    def townships(self) -> Townships:
        return Townships(self)

    @cached_property
    def villages(self) -> Villages:
        return Villages(self)

    @cached_property
    def stations(self) -> Stations:
        return Stations(self)

    @cached_property
    def market_sites(self) -> MarketSites:
        return MarketSites(self)

    # ---- people and accounts
    @cached_property
    def staff(self) -> StaffMembers:
        return StaffMembers(self)

    @cached_property
    def station_keys(self) -> StationKeys:
        return StationKeys(self)

    @cached_property
    def ended_sessions(self) -> EndedSessions:
        return EndedSessions(self)

    @cached_property
    def audit_log(self) -> AuditLog:
        return AuditLog(self)

    # ---- the catalogue and the calendar
    @cached_property
    def catalogue(self) -> CatalogueItems:
        return CatalogueItems(self)

    @cached_property
    def calendar(self) -> CalendarDays:
        return CalendarDays(self)

    @cached_property
    def calendar_years(self) -> CalendarYears:
        return CalendarYears(self)
