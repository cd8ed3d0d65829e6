"""Evaluation's repositories and the unit of work that hands them out: what counting writes (the event log,
the applications it follows, the facts, the daily totals and which township each unit counts under), the
ratings with what may be rated, and the county's score settings with the directory's townships. Use cases
ask these for rows by the domain's names and never touch the session."""
from __future__ import annotations

from services.evaluation.adapters.repositories.counting import (
    Applications,
    DailyTotals,
    EventLog,
    Facts,
    UnitTownships,
)
from services.evaluation.adapters.repositories.ratings import Rateables, Ratings
from services.evaluation.adapters.repositories.settings import ScoreSettings, Townships
from shared.db import UnitOfWork, repository

__all__ = ["Applications", "DailyTotals", "EvaluationUnitOfWork", "EventLog", "Facts", "Rateables", "Ratings",
           "ScoreSettings", "Townships", "UnitTownships"]


class EvaluationUnitOfWork(UnitOfWork):
    """One transaction on evaluation's database, and the repositories that work in it."""

    events = repository(EventLog)
    applications = repository(Applications)
    facts = repository(Facts)
    daily_totals = repository(DailyTotals)
    unit_townships = repository(UnitTownships)
    rateables = repository(Rateables)
    ratings = repository(Ratings)
    score_settings = repository(ScoreSettings)
    townships = repository(Townships)
