"""The directory's repositories, handed out by its unit of work: what its use cases ask for records through,
named for the directory's words (`uow.villages.names_in_township(code)`, `uow.calendar.entered(county, days)`)."""
from __future__ import annotations

from services.directory.adapters.repositories.calendar import CalendarDays, CalendarYears
from services.directory.adapters.repositories.catalogue import CatalogueItems
from services.directory.adapters.repositories.people import AuditLog, EndedSessions, StaffMembers, StationKeys
from services.directory.adapters.repositories.tree import Counties, MarketSites, Stations, Townships, Villages
from shared.db import UnitOfWork, repository

__all__ = ["AuditLog", "CalendarDays", "CalendarYears", "CatalogueItems", "Counties", "DirectoryUnitOfWork",
           "EndedSessions", "MarketSites", "StaffMembers", "StationKeys", "Stations", "Townships", "Villages"]


class DirectoryUnitOfWork(UnitOfWork):
    """One transaction of the directory, and the repositories its use cases read and write through."""

    # ---- the tenant tree
    counties = repository(Counties)
    townships = repository(Townships)
    villages = repository(Villages)
    stations = repository(Stations)
    market_sites = repository(MarketSites)

    # ---- people and accounts
    staff = repository(StaffMembers)
    station_keys = repository(StationKeys)
    ended_sessions = repository(EndedSessions)
    audit_log = repository(AuditLog)

    # ---- the catalogue and the calendar
    catalogue = repository(CatalogueItems)
    calendar = repository(CalendarDays)
    calendar_years = repository(CalendarYears)
