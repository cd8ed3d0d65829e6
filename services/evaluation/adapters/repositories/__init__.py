"""Evaluation's repositories and the unit of work that hands them out: what counting writes (the event log,
the applications it follows, the facts, the daily totals and which township each unit counts under), the
ratings with what may be rated, and the county's score settings with the directory's townships. Use cases
ask these for rows by the domain's names and never touch the session."""
from __future__ import annotations

from functools import cached_property

from services.evaluation.adapters.repositories.counting import (
    Applications,
    DailyTotals,
    EventLog,
    Facts,
    UnitTownships,
)
from services.evaluation.adapters.repositories.ratings import Rateables, Ratings
from services.evaluation.adapters.repositories.settings import ScoreSettings, Townships
from shared.db import UnitOfWork

__all__ = ["Applications", "DailyTotals", "EvaluationUnitOfWork", "EventLog", "Facts", "Rateables", "Ratings",
           "ScoreSettings", "Townships", "UnitTownships"]


class EvaluationUnitOfWork(UnitOfWork):
    """One transaction on evaluation's database, and the repositories that work in it."""

    @cached_property
    def events(self) -> EventLog:
        return EventLog(self)

    @cached_property
    def applications(self) -> Applications:
        return Applications(self)

    @cached_property
    def facts(self) -> Facts:
        return Facts(self)

    @cached_property
    def daily_totals(self) -> DailyTotals:
        return DailyTotals(self)

    @cached_property
    def unit_townships(self) -> UnitTownships:
        return UnitTownships(self)

    @cached_property
    def rateables(self) -> Rateables:
        return Rateables(self)

    @cached_property
    def ratings(self) -> Ratings:
        return Ratings(self)

    @cached_property
    def score_settings(self) -> ScoreSettings:
        return ScoreSettings(self)

    @cached_property
    def townships(self) -> Townships:
        return Townships(self)
