"""The composite score: weights validated, components without data left out (never counted as 0),
competition ranking, and units below the minimum sample shown but not ranked."""
import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.evaluation.domain.scores import commendable, components, rank, score
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
    counts = {Metric.RECEIVED: 10, Metric.COHORT_COMPLETED: 8, Metric.COHORT_ON_TIME: 8}
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


def test_a_staff_members_on_time_component_is_of_the_steps_they_held_not_of_what_they_received():
    """首问 received a case that went late at a colleague's step: their on-time component is not charged
    with it (they held no step); the colleague's is of the steps they held."""
    agent = {Metric.RECEIVED: 10, Metric.COHORT_COMPLETED: 10, Metric.COHORT_ON_TIME: 7}
    assert components(agent)[C.ON_TIME] == 0.7  # a station's or township's: the cases' own
    assert components(agent, staff=True)[C.ON_TIME] is None
    cadre = {Metric.STEPS_HANDLED: 4, Metric.STEPS_ON_TIME: 3}
    assert components(cadre, staff=True)[C.ON_TIME] == 0.75


def test_commendation_is_the_top_share_of_the_ranked_and_a_tie_must_fit_in_it():
    settings = ScoreSettings(commend_top=3)  # the default share: 20 %, at least one place
    assert commendable({"a": 1, "b": 2}, settings) == {"a"}  # two ranked: one place, not three
    assert commendable({"a": 1, "b": 1}, settings) == set()  # a tie for the one place: nobody
    assert commendable({"a": 1, "b": None}, settings) == {"a"}
    assert commendable({}, settings) == set() and commendable({"a": None}, settings) == set()
    ten = {str(n): n + 1 for n in range(10)}
    assert commendable(ten, settings) == {"0", "1"}  # 20 % of ten
    assert commendable(ten, ScoreSettings(commend_top=1)) == {"0"}  # never more than commend_top
    assert commendable(ten, ScoreSettings(commend_top=0)) == set()


@given(st.lists(st.one_of(st.none(), st.sampled_from([0.5, 0.6, 0.7, 0.8, 0.9])), max_size=30),
       st.floats(0.01, 1), st.integers(0, 10))
def test_commendation_never_takes_more_than_its_share(scores, share, top):
    settings = ScoreSettings(commend_share=share, commend_top=top)
    ranks = rank([(str(i), s, 10) for i, s in enumerate(scores)], min_sample=1)
    chosen = commendable(ranks, settings)
    ranked = sum(r is not None for r in ranks.values())
    assert all(ranks[u] <= ranks[v] for u in chosen for v in ranks if ranks[v] is not None and v not in chosen)
    assert len(chosen) <= min(top, max(1, int(ranked * share + 1e-9))) if ranked else not chosen
