"""Scheduling's repositories, one module per family of aggregates, and the unit of work that hands them
out (named on the tables' metadata, so that every scheduling database gives its workers this one)."""
from __future__ import annotations

from functools import cached_property

from services.scheduling.adapters.repositories.appointments import Bookings, Slots
from services.scheduling.adapters.repositories.copies import Calendar, MarketSites, Staff, Villages
from services.scheduling.adapters.repositories.linked_records import LinkedRecords
from services.scheduling.adapters.repositories.occasions import Occasions
from services.scheduling.adapters.repositories.sessions import Commitments, LeaveBook, Roster, Sessions
from services.scheduling.adapters.repositories.visits import Campaigns, VisitMembers, Visits, VisitSeriesBook
from shared.db import UnitOfWork

__all__ = ["SchedulingUnitOfWork", "Occasions", "Sessions", "Visits"]


class SchedulingUnitOfWork(UnitOfWork):
    """One scheduling transaction, and the repositories its use cases ask for rows through."""

    # ---- the directory's data, as scheduling keeps it ----
    @cached_property
    def market_sites(self) -> MarketSites:
        return MarketSites(self)

    @cached_property
    def staff(self) -> Staff:
        return Staff(self)

    @cached_property
    def villages(self) -> Villages:
        return Villages(self)

    @cached_property
    def calendar(self) -> Calendar:
        return Calendar(self)

    # ---- market-day sessions and rosters ----
    @cached_property
    def sessions(self) -> Sessions:
        return Sessions(self)

    @cached_property
    def roster(self) -> Roster:
        return Roster(self)

    @cached_property
    def commitments(self) -> Commitments:
        return Commitments(self)

    @cached_property
    def leave(self) -> LeaveBook:
        return LeaveBook(self)

    # ---- visits ----
    @cached_property
    def campaigns(self) -> Campaigns:
        return Campaigns(self)

    @cached_property
    def visit_series(self) -> VisitSeriesBook:
        return VisitSeriesBook(self)

    @cached_property
    def visits(self) -> Visits:
        return Visits(self)

    @cached_property
    def visit_members(self) -> VisitMembers:
        return VisitMembers(self)

    # ---- appointments and what was handled where ----
    @cached_property
    def slots(self) -> Slots:
        return Slots(self)

    @cached_property
    def bookings(self) -> Bookings:
        return Bookings(self)

    @cached_property
    def linked_records(self) -> LinkedRecords:
        return LinkedRecords(self)
