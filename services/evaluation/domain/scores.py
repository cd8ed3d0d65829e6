"""The composite score: each component a rate between 0 and 1, weighted as the county says. A component
with nothing under it (no ratings yet, no posts rostered) is left out and the others' weights are
scaled up, so a unit is neither rewarded nor punished for what it was never asked to do; the
components are always shown beside the score. Pure."""
from __future__ import annotations

import math
from collections.abc import Mapping

from services.evaluation.domain.figures import rates, ratio
from shared.contracts.evaluation import Basis, Metric, ScoreComponent, ScoreSettings


def components(counts: Mapping[Metric, float], basis: Basis = Basis.COHORT, *,
               staff: bool = False) -> dict[ScoreComponent, float | None]:
    """A staff member's on-time component is of the review steps they held, not of the cases they
    received as 首问 (whose lateness may be a colleague's step): none when they held none."""
    r = rates(counts, basis)
    attended, missed = counts.get(Metric.SESSIONS_ATTENDED, 0), counts.get(Metric.SESSIONS_MISSED, 0)
    on_time = r["step_on_time_rate"] if staff else r["on_time_rate"]
    return {ScoreComponent.COMPLETION: r["completion_rate"], ScoreComponent.ON_TIME: on_time,
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


def commendable(ranks: Mapping[str, int | None], settings: ScoreSettings) -> set[str]:
    """表彰 places: the top share of the ranked units (`commend_share`, rounded down, at least one when any
    is ranked), never more than `commend_top`. A unit is inside them when its whole tie is: two units tied
    for first with one place are both left out, since nothing tells them apart (a rank alone is not a
    commendation). Two ranked units with a share of 20 % give one place, not two."""
    ranked = [r for r in ranks.values() if r is not None]
    if not ranked:
        return set()
    places = min(settings.commend_top, max(1, math.floor(len(ranked) * settings.commend_share + 1e-9)))
    return {unit for unit, r in ranks.items() if r is not None and r + ranked.count(r) - 1 <= places}
