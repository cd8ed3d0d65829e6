"""The rates derived from the counts. A rate with nothing under it is None (shown as "—"), never 0 or
100%: a unit that completed nothing has no on-time rate. Completion rates are of a cohort — of the
applications received in the period, those completed so far — so they never pass 100 %; a flow (what
was completed in the period, whenever it was received) has no completion rate."""
from __future__ import annotations

from collections.abc import Mapping

from shared.contracts.evaluation import Basis, Metric

# what "completed", "on time" and "working days" are read from, per basis
COMPLETION_METRICS = {
    Basis.COHORT: (Metric.COHORT_COMPLETED, Metric.COHORT_ON_TIME, Metric.COHORT_WORKING_DAYS),
    Basis.FLOW: (Metric.COMPLETED, Metric.ON_TIME, Metric.WORKING_DAYS)}


def ratio(part: float, whole: float) -> float | None:
    return round(part / whole, 4) if whole else None


def rates(counts: Mapping[Metric, float], basis: Basis = Basis.COHORT) -> dict[str, float | None]:
    done, on_time, working_days = (counts.get(m, 0) for m in COMPLETION_METRICS[basis])
    average = working_days / done if done else None
    return {"completion_rate": ratio(done, counts.get(Metric.RECEIVED, 0)) if basis is Basis.COHORT else None,
            "on_time_rate": ratio(on_time, done),
            "satisfaction_rate": ratio(counts.get(Metric.SATISFIED, 0), counts.get(Metric.RATINGS, 0)),
            "average_working_days": round(average, 2) if average is not None else None,
            "step_on_time_rate": ratio(counts.get(Metric.STEPS_ON_TIME, 0), counts.get(Metric.STEPS_HANDLED, 0))}
