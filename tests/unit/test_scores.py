"""The composite score: weights validated, components without data left out (never counted as 0),
competition ranking, and units below the minimum sample shown but not ranked."""
import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.evaluation.domain.scores import components, rank, score
from shared.contracts.base import parse
from shared.contracts.evaluation import Metric, ScoreComponent, ScoreSettings
from shared.errors import ValidationFailed

C = ScoreComponent


def test_weights_are_non_negative_and_add_up_to_one():
    assert sum(ScoreSettings().weights.values()) == pytest.approx(1)
    for weights in ({"completion": 0.5, "on_time": 0.6}, {"completion": 1.2, "on_time": -0.2}, {}):
        with pytest.raises(ValidationFailed):
            parse(ScoreSettings, {"weights": weights})
    assert parse(ScoreSettings, {"weights": {"satisfaction": 1}}).weights == {C.SATISFACTION: 1}


def test_a_component_without_data_is_left_out_not_counted_as_zero():
    counts = {Metric.RECEIVED: 10, Metric.COMPLETED: 8, Metric.ON_TIME: 8}
    parts = components(counts)
    assert parts[C.SATISFACTION] is None and parts[C.ATTENDANCE] is None and parts[C.CONDUCT] == 1
    settings = parse(ScoreSettings, {"weights": {"completion": 0.5, "satisfaction": 0.5}})
    assert score(parts, settings) == 0.8  # completion alone, its weight scaled up
    assert score({C.COMPLETION: None, C.SATISFACTION: None}, settings) is None


def test_substantiated_complaints_lower_the_conduct_component():
    assert components({Metric.SUBSTANTIATED: 1})[C.CONDUCT] == 0.5
    assert components({Metric.SUBSTANTIATED: 3})[C.CONDUCT] == 0.25


def test_ranking_ties_share_a_place_and_small_samples_are_not_ranked():
    ranks = rank([("a", 0.9, 20), ("b", 0.95, 5), ("c", 0.9, 30), ("d", 0.7, 12), ("e", None, 50)], min_sample=10)
    assert ranks == {"a": 1, "c": 1, "d": 3, "b": None, "e": None}


@given(st.lists(st.tuples(st.text(min_size=1, max_size=3), st.one_of(st.none(), st.floats(0, 1)),
                          st.integers(0, 50)), unique_by=lambda x: x[0], max_size=20), st.integers(1, 30))
def test_a_better_score_never_ranks_below_a_worse_one(units, min_sample):
    ranks = rank(units, min_sample)
    ranked = [(s, ranks[u]) for u, s, n in units if ranks[u] is not None]
    assert all(n >= min_sample and s is not None for u, s, n in units if ranks[u] is not None)
    for s1, r1 in ranked:
        for s2, r2 in ranked:
            if s1 > s2:
                assert r1 < r2
