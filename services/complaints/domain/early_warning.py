"""Early warning 苗头性问题 ("早排查、早发现、早控制、早解决"): is a village seeing a burst of complaints of
one category, or a rise against its own past? Pure: daily counts in, a verdict out. The service keeps
one counter row per village, category and day, so each new complaint costs a read of at most
`window_days + baseline_days` rows, never a scan of history."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from shared.contracts.complaints import WarningRule


@dataclass(frozen=True)
class Verdict:
    rule: Literal["burst", "rise"]
    count: int  # complaints in the window
    expected: float  # the village's average for a window of that length (0 for a burst)


def window_start(rule: WarningRule, today: date) -> date:
    return today - timedelta(days=rule.window_days - 1)


def history_start(rule: WarningRule, today: date) -> date:
    """The first day whose count matters: the baseline before the window."""
    return window_start(rule, today) - timedelta(days=rule.baseline_days)


def assess(rule: WarningRule, daily: Mapping[date, int], today: date) -> Verdict | None:
    """A burst when the window holds at least `threshold`; a rise when the village has a past, the window
    holds at least `rise_min`, and that is at least `rise_factor` times its average window."""
    first = window_start(rule, today)
    in_window = sum(n for day, n in daily.items() if first <= day <= today)
    if in_window >= rule.threshold:
        return Verdict("burst", in_window, 0.0)
    before = sum(n for day, n in daily.items() if history_start(rule, today) <= day < first)
    expected = before * rule.window_days / rule.baseline_days
    if before and in_window >= rule.rise_min and in_window >= rule.rise_factor * expected:
        return Verdict("rise", in_window, round(expected, 2))
    return None
