"""Scheduling's repositories, one module per family of aggregates, and the unit of work that hands them
out (named on the tables' metadata, so that every scheduling database gives its workers this one)."""
from __future__ import annotations

from services.scheduling.adapters.repositories.appointments import Bookings, Slots
from services.scheduling.adapters.repositories.copies import Calendar, MarketSites, Staff, Villages
from services.scheduling.adapters.repositories.linked_records import LinkedRecords
from services.scheduling.adapters.repositories.occasions import Occasions
from services.scheduling.adapters.repositories.sessions import Commitments, LeaveBook, Roster, Sessions
from services.scheduling.adapters.repositories.visits import Campaigns, VisitMembers, Visits, VisitSeriesBook
from shared.db import UnitOfWork, repository

__all__ = ["SchedulingUnitOfWork", "Occasions", "Sessions", "Visits"]


class SchedulingUnitOfWork(UnitOfWork):
    """One scheduling transaction, and the repositories its use cases ask for rows through."""

    # ---- the directory's data, as scheduling keeps it ----
    market_sites = repository(MarketSites)
    staff = repository(Staff)
    villages = repository(Villages)
    calendar = repository(Calendar)

    # ---- market-day sessions and rosters ----
    sessions = repository(Sessions)
    roster = repository(Roster)
    commitments = repository(Commitments)
    leave = repository(LeaveBook)

    # ---- visits ----
    campaigns = repository(Campaigns)
    visit_series = repository(VisitSeriesBook)
    visits = repository(Visits)
    visit_members = repository(VisitMembers)

    # ---- appointments and what was handled where ----
    slots = repository(Slots)
    bookings = repository(Bookings)
    linked_records = repository(LinkedRecords)
