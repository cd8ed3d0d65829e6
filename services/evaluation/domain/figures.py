"""The rates derived from the counts. A rate with nothing under it is None (shown as "—"), never 0 or
100%: a unit that completed nothing has no on-time rate."""
from __future__ import annotations

from collections.abc import Mapping

from shared.contracts.evaluation import Metric


def ratio(part: float, whole: float) -> float | None:
    return round(part / whole, 4) if whole else None


def rates(counts: Mapping[Metric, float]) -> dict[str, float | None]:
    completed = counts.get(Metric.COMPLETED, 0)
    average = counts.get(Metric.WORKING_DAYS, 0) / completed if completed else None
    return {"completion_rate": ratio(completed, counts.get(Metric.RECEIVED, 0)),
            "on_time_rate": ratio(counts.get(Metric.ON_TIME, 0), completed),
            "satisfaction_rate": ratio(counts.get(Metric.SATISFIED, 0), counts.get(Metric.RATINGS, 0)),
            "average_working_days": round(average, 2) if average is not None else None}
