"""The arena's rating maths: Bradley–Terry with ties, bootstrap intervals, rank bands and the win matrix."""

import dataclasses
import math

import numpy as np
import pytest

from playground.rating import (
    ELO_PER_NAT,
    INIT,
    OUTCOMES,
    NoFiniteRatings,
    Vote,
    bootstrap,
    fit,
    leaderboard,
    win_matrix,
)


def votes(a: str, b: str, outcome: str, times: int) -> list[Vote]:
    return [Vote(a, b, outcome)] * times


def theta(ratings: dict[str, float]) -> dict[str, float]:
    return {m: (r - INIT) / ELO_PER_NAT for m, r in ratings.items()}


def gradient(thetas: dict[str, float], data: list[Vote]) -> dict[str, float]:
    """∂/∂θ of Σ log-likelihood with ties as half wins: observed minus expected wins of each model."""
    share = {"a": 1.0, "b": 0.0, "tie": 0.5, "both_bad": 0.5}
    g = dict.fromkeys(thetas, 0.0)
    for v in data:
        p = 1.0 / (1.0 + math.exp(-(thetas[v.model_a] - thetas[v.model_b])))
        g[v.model_a] += share[v.outcome] - p
        g[v.model_b] -= share[v.outcome] - p
    return g


def zermelo(data: list[Vote], iterations: int = 20_000) -> dict[str, float]:
    """Hunter's (2004) MM iteration, written independently of the module, as a cross-check (centred θ)."""
    models = sorted({m for v in data for m in (v.model_a, v.model_b)})
    k = {m: i for i, m in enumerate(models)}
    wins = np.zeros((len(models), len(models)))
    for v in data:
        s = {"a": 1.0, "b": 0.0}.get(v.outcome, 0.5)
        wins[k[v.model_a], k[v.model_b]] += s
        wins[k[v.model_b], k[v.model_a]] += 1 - s
    games = wins + wins.T
    gamma = np.ones(len(models))
    for _ in range(iterations):
        gamma = wins.sum(1) / (games / (gamma[:, None] + gamma[None, :])).sum(1)
        gamma /= np.exp(np.log(gamma).mean())
    return dict(zip(models, np.log(gamma)))


# --- votes ---------------------------------------------------------------------------------------------------------


def test_a_vote_refuses_self_pairs_unknown_outcomes_and_empty_ids():
    assert OUTCOMES == ("a", "b", "tie", "both_bad")
    with pytest.raises(ValueError, match="itself"):
        Vote("m", "m", "a")
    with pytest.raises(ValueError, match="unknown outcome"):
        Vote("m", "n", "draw")
    with pytest.raises(ValueError, match="two model ids"):
        Vote("", "n", "a")
    with pytest.raises(dataclasses.FrozenInstanceError):
        Vote("m", "n", "a").outcome = "b"


# --- the fit -------------------------------------------------------------------------------------------------------


def test_two_models_without_prior_give_the_log_odds():
    # A beat B 3 times, B beat A once: the MLE has σ(θA - θB) = 3/4, so θA - θB = ln 3
    # and the Elo gap is 400·log10(3) ≈ 190.85, split evenly around 1000.
    data = votes("A", "B", "a", 3) + votes("A", "B", "b", 1)
    r = fit(data, prior=0)
    assert r["A"] - r["B"] == pytest.approx(400 * math.log10(3), abs=1e-6)
    assert r["A"] == pytest.approx(1000 + 200 * math.log10(3), abs=1e-6)
    assert (r["A"] + r["B"]) / 2 == pytest.approx(1000, abs=1e-9)


def test_the_default_prior_is_half_a_virtual_tie_per_pair():
    # Half a tie is a quarter win each way: 3.25 against 1.25, a gap of 400·log10(2.6) ≈ 165.98.
    r = fit(votes("A", "B", "a", 3) + votes("A", "B", "b", 1))
    assert r["A"] - r["B"] == pytest.approx(400 * math.log10(2.6), abs=1e-6)


def test_a_sweep_is_finite_with_the_prior_and_refused_without_it():
    data = votes("A", "B", "a", 10)
    r = fit(data)
    assert r["A"] - r["B"] == pytest.approx(400 * math.log10(10.25 / 0.25), abs=1e-6)
    with pytest.raises(NoFiniteRatings):
        fit(data, prior=0)


def test_a_chain_with_ties_matches_its_closed_form():
    # A comparison graph that is a tree decouples: each edge's gap is the log-odds on that edge alone.
    # A–B: 2 wins, 1 loss, 1 tie -> 2.5 : 1.5, so θA - θB = ln(5/3).
    # B–C: 1 win, 2 ties          -> 2   : 1,   so θB - θC = ln 2.
    # Centring (θA + θB + θC = 0) gives θB = (ln 2 - ln(5/3)) / 3.
    data = (votes("A", "B", "a", 2) + votes("B", "A", "a", 1) + votes("A", "B", "tie", 1)
            + votes("B", "C", "a", 1) + votes("C", "B", "both_bad", 2))
    t = theta(fit(data, prior=0))
    b = (math.log(2) - math.log(5 / 3)) / 3
    assert t["B"] == pytest.approx(b, abs=1e-9)
    assert t["A"] == pytest.approx(b + math.log(5 / 3), abs=1e-9)
    assert t["C"] == pytest.approx(b - math.log(2), abs=1e-9)


def test_a_triangle_with_ties_is_a_stationary_point_and_agrees_with_zermelo():
    data = (votes("A", "B", "a", 5) + votes("A", "B", "b", 2) + votes("A", "B", "tie", 2)
            + votes("B", "C", "a", 3) + votes("C", "B", "a", 3) + votes("B", "C", "both_bad", 1)
            + votes("C", "A", "a", 1) + votes("A", "C", "a", 4) + votes("C", "A", "tie", 3))
    t = theta(fit(data, prior=0))
    assert sum(t.values()) == pytest.approx(0, abs=1e-12)
    assert all(abs(g) < 1e-9 for g in gradient(t, data).values())
    reference = zermelo(data)
    assert all(t[m] == pytest.approx(reference[m], abs=1e-7) for m in t)
    assert t["A"] > t["B"] > t["C"]


def test_ties_count_as_half_a_win_each():
    split = fit(votes("A", "B", "a", 1) + votes("A", "B", "b", 1) + votes("A", "C", "a", 2))
    tied = fit(votes("A", "B", "tie", 2) + votes("A", "C", "a", 2))
    assert split == pytest.approx(tied, abs=1e-9)
    assert split["A"] > split["B"] > split["C"]


def test_a_pair_with_only_ties_rates_both_at_the_mean():
    assert fit(votes("A", "B", "tie", 4), prior=0) == pytest.approx({"A": 1000, "B": 1000}, abs=1e-9)


def test_both_bad_can_be_left_out_of_the_fit():
    data = votes("A", "B", "a", 3) + votes("A", "B", "b", 1) + votes("A", "B", "both_bad", 6)
    assert fit(data, both_bad_as_tie=False, prior=0)["A"] - 1000 == pytest.approx(200 * math.log10(3), abs=1e-6)
    assert fit(data, prior=0)["A"] - 1000 == pytest.approx(200 * math.log10(6 / 4), abs=1e-6)  # 6 : 4 with ties


def test_swapping_sides_changes_nothing():
    rng = np.random.default_rng(7)
    models = ["m1", "m2", "m3", "m4"]
    data = []
    for _ in range(60):
        a, b = rng.choice(models, 2, replace=False)
        data.append(Vote(str(a), str(b), OUTCOMES[rng.integers(4)]))
    flip = {"a": "b", "b": "a", "tie": "tie", "both_bad": "both_bad"}
    swapped = [Vote(v.model_b, v.model_a, flip[v.outcome]) for v in data]
    assert fit(swapped) == pytest.approx(fit(data), abs=1e-9)
    assert fit(swapped, prior=0) == pytest.approx(fit(data, prior=0), abs=1e-9)
    assert bootstrap(swapped, rounds=50, seed=3) == bootstrap(data, rounds=50, seed=3)


def test_no_votes_and_a_negative_prior():
    assert fit([]) == {}
    assert leaderboard([]) == []
    assert bootstrap([], rounds=5) == {}
    with pytest.raises(ValueError, match="negative"):
        fit(votes("A", "B", "a", 1), prior=-1)


def test_models_that_never_met_are_linked_by_the_prior():
    data = votes("A", "B", "a", 3) + votes("C", "D", "a", 3)
    r = fit(data)
    assert r["A"] == pytest.approx(r["C"], abs=1e-9) and r["B"] == pytest.approx(r["D"], abs=1e-9)
    with pytest.raises(NoFiniteRatings):
        fit(data, prior=0)


# --- bootstrap -----------------------------------------------------------------------------------------------------


def matchup(wins_a: int, wins_b: int, ties: int = 0) -> list[Vote]:
    return votes("A", "B", "a", wins_a) + votes("A", "B", "b", wins_b) + votes("A", "B", "tie", ties)


def test_bootstrap_is_seeded_and_brackets_the_estimate():
    data = matchup(12, 8, 4) + votes("B", "C", "a", 7) + votes("C", "B", "a", 5) + votes("A", "C", "tie", 3)
    one, same, other = (bootstrap(data, rounds=300, seed=s) for s in (1, 1, 2))
    assert one == same
    assert one != other
    assert all(abs(one[m].lower - other[m].lower) < 40 and abs(one[m].upper - other[m].upper) < 40 for m in one)
    point = fit(data)
    for m, interval in one.items():
        assert interval.lower < point[m] < interval.upper
        assert interval.rounds == 300  # every model is in every resample here


def test_more_votes_narrow_the_interval():
    few = bootstrap(matchup(6, 4), rounds=400, seed=0)["A"]
    many = bootstrap(matchup(60, 40), rounds=400, seed=0)["A"]
    assert (many.upper - many.lower) < 0.5 * (few.upper - few.lower)


def test_a_model_absent_from_a_resample_uses_the_rounds_it_appeared_in():
    data = matchup(30, 20) + votes("A", "Z", "a", 1)  # Z has one vote: missing from ~37% of resamples
    z = bootstrap(data, rounds=200, seed=0)["Z"]
    assert 90 < z.rounds < 170
    assert z.lower <= z.upper


def test_bootstrap_validates_its_arguments():
    with pytest.raises(ValueError):
        bootstrap(matchup(1, 1), rounds=0)
    with pytest.raises(ValueError):
        bootstrap(matchup(1, 1), confidence=1.5)


# --- leaderboard ---------------------------------------------------------------------------------------------------


def test_clearly_separated_models_get_distinct_ranks():
    data = (votes("A", "B", "a", 40) + votes("A", "B", "b", 4) + votes("B", "C", "a", 40) + votes("B", "C", "b", 4)
            + votes("A", "C", "a", 40) + votes("C", "A", "both_bad", 2))
    board = leaderboard(data, rounds=200, seed=0)
    assert [s.model for s in board] == ["A", "B", "C"]
    assert [s.rank_band for s in board] == ["1", "2", "3"]
    a = board[0]
    assert (a.votes, a.wins, a.losses, a.ties, a.both_bad) == (86, 80, 4, 0, 2)
    assert a.lower < a.rating < a.upper


def test_overlapping_models_share_a_band():
    data = (matchup(10, 9) + votes("A", "C", "a", 30) + votes("B", "C", "a", 30)
            + votes("C", "A", "a", 1) + votes("C", "B", "a", 1))
    board = leaderboard(data, rounds=200, seed=0)
    assert {s.model: s.rank_band for s in board} == {"A": "1–2", "B": "1–2", "C": "3"}
    assert [(s.best_rank, s.worst_rank) for s in board] == [(1, 2), (1, 2), (3, 3)]


def test_without_bootstrap_only_equal_ratings_share_a_band_and_ids_break_ties():
    board = leaderboard(votes("B", "A", "tie", 3) + votes("A", "C", "a", 2) + votes("B", "C", "a", 2), rounds=0)
    assert [(s.model, s.rank_band) for s in board] == [("A", "1–2"), ("B", "1–2"), ("C", "3")]
    assert board[0].lower == board[0].upper == board[0].rating


# --- win matrix ----------------------------------------------------------------------------------------------------


def test_win_matrix_counts_ties_as_half_and_leaves_unmet_pairs_empty():
    data = matchup(3, 1, 2) + votes("C", "B", "a", 1) + votes("B", "C", "both_bad", 1)
    rates, counts = win_matrix(data)
    assert list(rates.index) == list(rates.columns) == ["A", "B", "C"]
    assert rates.loc["A", "B"] == pytest.approx(4 / 6) and rates.loc["B", "A"] == pytest.approx(2 / 6)
    assert rates.loc["C", "B"] == pytest.approx(0.75)
    assert math.isnan(rates.loc["A", "C"]) and math.isnan(rates.loc["A", "A"])
    assert counts.loc["A", "B"] == counts.loc["B", "A"] == 6 and counts.loc["A", "C"] == 0
    rates, counts = win_matrix(data, both_bad_as_tie=False)
    assert rates.loc["C", "B"] == 1.0 and counts.loc["B", "C"] == 1


# --- scale ---------------------------------------------------------------------------------------------------------


def test_two_thousand_votes_over_ten_models_with_two_hundred_rounds_runs():
    rng = np.random.default_rng(0)
    strength = np.linspace(-1.5, 1.5, 10)
    data = []
    for _ in range(2000):
        i, j = rng.choice(10, 2, replace=False)
        p = 1 / (1 + math.exp(-(strength[i] - strength[j])))
        u = rng.random()
        outcome = "tie" if u < 0.1 else "both_bad" if u < 0.15 else "a" if rng.random() < p else "b"
        data.append(Vote(f"model-{i}", f"model-{j}", outcome))
    board = leaderboard(data, rounds=200, seed=0)
    assert len(board) == 10 and board[0].model == "model-9" and board[-1].model == "model-0"
    assert sum(s.votes for s in board) == 4000
