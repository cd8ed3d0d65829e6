"""The composite score: each component a rate between 0 and 1, weighted as the county says. A component
with nothing under it (no ratings yet, no posts rostered) is left out and the others' weights are
scaled up, so a unit is neither rewarded nor punished for what it was never asked to do; the
components are always shown beside the score. Pure."""
from __future__ import annotations

from collections.abc import Mapping

from services.evaluation.domain.figures import rates, ratio
from shared.contracts.evaluation import Metric, ScoreComponent, ScoreSettings


def components(counts: Mapping[Metric, float]) -> dict[ScoreComponent, float | None]:
    r = rates(counts)
    attended, missed = counts.get(Metric.SESSIONS_ATTENDED, 0), counts.get(Metric.SESSIONS_MISSED, 0)
    return {ScoreComponent.COMPLETION: r["completion_rate"], ScoreComponent.ON_TIME: r["on_time_rate"],
            ScoreComponent.SATISFACTION: r["satisfaction_rate"],
            ScoreComponent.ATTENDANCE: ratio(attended, attended + missed),
            ScoreComponent.CONDUCT: round(1 / (1 + counts.get(Metric.SUBSTANTIATED, 0)), 4)}


def score(parts: Mapping[ScoreComponent, float | None], settings: ScoreSettings) -> float | None:
    present = {c: w for c, w in settings.weights.items() if parts.get(c) is not None and w > 0}
    total = sum(present.values())
    if not total:
        return None
    return round(sum(parts[c] * w for c, w in present.items()) / total, 4)


def rank(scored: list[tuple[str, float | None, int]], min_sample: int) -> dict[str, int | None]:
    """Competition ranking (1, 2, 2, 4) of the units with a score and at least `min_sample` received;
    the others are shown unranked."""
    eligible = sorted(((s, u) for u, s, n in scored if s is not None and n >= min_sample), key=lambda x: (-x[0], x[1]))
    ranks: dict[str, int | None] = {u: None for u, _, _ in scored}
    previous, position = None, 0
    for index, (value, unit) in enumerate(eligible, start=1):
        if value != previous:
            position, previous = index, value
        ranks[unit] = position
    return ranks
