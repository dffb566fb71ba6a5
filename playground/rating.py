"""The rating maths of the blind arena: Bradley–Terry with ties, bootstrap intervals, rank bands, a win matrix.

A vote compares two models. As on LMSYS Chatbot Arena, a tie counts as half a win for each side, and so does
"both_bad" (a tie between two bad answers) unless `BOTH_BAD_AS_TIE` is off, in which case it says nothing about
which model is better and is left out of the fit. Strengths θ maximise the Bradley–Terry likelihood
p(i beats j) = 1 / (1 + exp(-(θi - θj))) with those fractional wins, centred to mean 0, and are shown on the Elo
scale: rating = INIT + SCALE / ln(BASE) · θ.

Prior: every pair of rated models gets `PRIOR_TIES` of a virtual tie (PRIOR_TIES / 2 of a win each way), whether or
not they met. It keeps the scores finite when a model won (or lost) every vote, links groups of models that never
met, and is worth far less than one real vote. With `prior=0` the fit is the plain MLE, which exists only if the
"beat or tied" graph is strongly connected (Zermelo/Ford); otherwise `NoFiniteRatings` is raised.

The fit is Newton's method on the (concave) log-likelihood with a backtracking line search: a handful of
iterations to 1e-9 for tens of models, which is what makes 1000 bootstrap refits cheap.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np
import pandas as pd

Outcome = Literal["a", "b", "tie", "both_bad"]
OUTCOMES: tuple[Outcome, ...] = get_args(Outcome)

INIT = 1000.0  # the rating of an average model (θ = 0)
SCALE = 400.0  # Elo points per factor BASE in the odds of winning
BASE = 10.0
ELO_PER_NAT = SCALE / math.log(BASE)  # ≈ 173.7 rating points per unit of θ

PRIOR_TIES = 0.5  # weight of the virtual tie every pair of models gets (a quarter win each way)
BOTH_BAD_AS_TIE = True  # False: "both_bad" votes carry no preference and are left out of the fit
TOLERANCE = 1e-9  # stop when no θ moves by more than this (in nats)
MAX_ITERATIONS = 100  # Newton needs ~10; the cap only guards against a pathological input
BOOTSTRAP_ROUNDS = 1000
CONFIDENCE = 0.95

# The share of the win that goes to model A.
_SHARE_OF_A: dict[Outcome, float] = {"a": 1.0, "b": 0.0, "tie": 0.5, "both_bad": 0.5}


class NoFiniteRatings(ValueError):
    """With no prior, some group of models beat (or lost to) all the others: the MLE is at infinity."""


@dataclass(frozen=True)
class Vote:
    model_a: str
    model_b: str
    outcome: Outcome

    def __post_init__(self) -> None:
        if not (isinstance(self.model_a, str) and self.model_a and isinstance(self.model_b, str) and self.model_b):
            raise ValueError(f"a vote needs two model ids, got {self.model_a!r} and {self.model_b!r}")
        if self.model_a == self.model_b:
            raise ValueError(f"a model cannot be compared with itself: {self.model_a!r}")
        if self.outcome not in OUTCOMES:
            raise ValueError(f"unknown outcome {self.outcome!r}; expected one of {', '.join(OUTCOMES)}")


@dataclass(frozen=True)
class Interval:
    """A bootstrap percentile interval in rating points, from the `rounds` resamples the model appeared in."""

    lower: float
    upper: float
    rounds: int


@dataclass(frozen=True)
class Standing:
    model: str
    rating: float
    lower: float
    upper: float
    votes: int  # every vote the model took part in, both_bad included
    wins: int
    losses: int
    ties: int  # outcome "tie" only
    both_bad: int
    best_rank: int
    worst_rank: int
    rank_band: str  # "1", "1–2": the ranks the intervals allow


@dataclass(frozen=True)
class _Encoded:
    """Votes as index arrays over sorted model ids; `share` is A's part of the win for the votes that count."""

    models: tuple[str, ...]
    a: np.ndarray
    b: np.ndarray
    share: np.ndarray

    def wins(self, weights: np.ndarray | None = None) -> np.ndarray:
        """wins[i, j]: how much i beat j (ties half each), each vote counted `weights` times."""
        n = len(self.models)
        w = np.ones(len(self.a)) if weights is None else weights
        flat = np.bincount(self.a * n + self.b, weights=w * self.share, minlength=n * n)
        flat += np.bincount(self.b * n + self.a, weights=w * (1.0 - self.share), minlength=n * n)
        return flat.reshape(n, n)


def _encode(votes: Sequence[Vote], both_bad_as_tie: bool) -> _Encoded:
    models = tuple(sorted({m for v in votes for m in (v.model_a, v.model_b)}))
    index = {m: i for i, m in enumerate(models)}
    kept = [v for v in votes if both_bad_as_tie or v.outcome != "both_bad"]
    return _Encoded(
        models,
        np.array([index[v.model_a] for v in kept], dtype=np.int64),
        np.array([index[v.model_b] for v in kept], dtype=np.int64),
        np.array([_SHARE_OF_A[v.outcome] for v in kept], dtype=float),
    )


def _strongly_connected(edges: np.ndarray) -> bool:
    """Whether every model reaches every other along `edges[i, j]` (i beat or tied j) and back."""
    n = len(edges)

    def reach(adjacency: np.ndarray) -> bool:
        seen = np.zeros(n, dtype=bool)
        seen[0] = True
        frontier = seen.copy()
        while frontier.any():
            frontier = adjacency[frontier].any(axis=0) & ~seen
            seen |= frontier
        return bool(seen.all())

    return reach(edges) and reach(edges.T)


def _log_likelihood(theta: np.ndarray, wins: np.ndarray) -> float:
    diff = theta[:, None] - theta[None, :]
    return float(-(wins * np.logaddexp(0.0, -diff)).sum())  # Σ wins_ij · log σ(θi - θj)


def _theta(wins: np.ndarray, prior: float) -> np.ndarray:
    """Centred maximum-likelihood strengths (nats) for a square matrix of fractional wins."""
    if prior < 0:
        raise ValueError(f"the prior is a pseudo-count and cannot be negative: {prior}")
    n = len(wins)
    if n < 2:
        return np.zeros(n)
    wins = wins + (prior / 2.0) * (1.0 - np.eye(n))
    if not _strongly_connected(wins > 0):
        raise NoFiniteRatings("no finite ratings without a prior: some models won (or lost) every vote they met")
    games = wins + wins.T
    # The Hessian is singular along (1, …, 1), the direction centring removes; adding 1·1ᵀ/n there makes it solvable
    # and yields the step orthogonal to it, since the gradient always sums to zero.
    centring = np.full((n, n), 1.0 / n)
    theta = np.zeros(n)
    value = _log_likelihood(theta, wins)
    for _ in range(MAX_ITERATIONS):
        # σ(θi - θj) without overflow, and with full relative precision in both tails (see the gradient)
        p = np.exp(-np.logaddexp(0.0, theta[None, :] - theta[:, None]))
        # wins·(1 - p) - losses·p, with 1 - p taken as σ(θj - θi): exact even when p rounds to 1
        gradient = (wins * p.T - wins.T * p).sum(axis=1)
        curvature = games * p * p.T
        step = np.linalg.solve(np.diag(curvature.sum(axis=1)) - curvature + centring, gradient)
        slope = float(gradient @ step)
        t = 1.0
        while True:  # Armijo backtracking; the slack absorbs rounding once the gain is below float precision
            candidate = theta + t * step
            new_value = _log_likelihood(candidate, wins)
            if new_value >= value + 1e-4 * t * slope - 1e-12 * (1.0 + abs(value)) or t < 1e-8:
                break
            t /= 2.0
        theta, value = candidate - candidate.mean(), new_value
        if np.max(np.abs(t * step)) < TOLERANCE:
            break
    return theta


def to_rating(theta: np.ndarray | float) -> np.ndarray | float:
    return INIT + ELO_PER_NAT * theta


def fit(
    votes: Iterable[Vote], *, prior: float = PRIOR_TIES, both_bad_as_tie: bool = BOTH_BAD_AS_TIE
) -> dict[str, float]:
    """Elo-scaled Bradley–Terry ratings of every model in the votes (mean INIT), by model id."""
    encoded = _encode(list(votes), both_bad_as_tie)
    ratings = to_rating(_theta(encoded.wins(), prior))
    return {m: float(r) for m, r in zip(encoded.models, ratings)}


def _bootstrap(encoded: _Encoded, rounds: int, seed: int, prior: float) -> np.ndarray:
    """ratings[round, model], NaN where the model was absent from that resample or the round had no finite fit."""
    n_models, n_votes = len(encoded.models), len(encoded.a)
    samples = np.full((rounds, n_models), np.nan)
    if n_votes == 0:
        return samples
    rng = np.random.default_rng(seed)
    for r in range(rounds):
        weights = np.bincount(rng.integers(0, n_votes, size=n_votes), minlength=n_votes).astype(float)
        present = np.zeros(n_models, dtype=bool)
        present[encoded.a[weights > 0]] = True
        present[encoded.b[weights > 0]] = True
        wins = encoded.wins(weights)[np.ix_(present, present)]
        try:
            samples[r, present] = to_rating(_theta(wins, prior))
        except NoFiniteRatings:  # only without a prior: the round says nothing finite about anyone
            continue
    return samples


def _intervals(encoded: _Encoded, samples: np.ndarray, confidence: float) -> dict[str, Interval]:
    tail = (1.0 - confidence) / 2.0 * 100.0
    result = {}
    for k, model in enumerate(encoded.models):
        seen = samples[:, k][~np.isnan(samples[:, k])]
        if len(seen) == 0:
            result[model] = Interval(math.nan, math.nan, 0)
        else:
            lower, upper = np.percentile(seen, [tail, 100.0 - tail])
            result[model] = Interval(float(lower), float(upper), len(seen))
    return result


def bootstrap(
    votes: Iterable[Vote],
    rounds: int = BOOTSTRAP_ROUNDS,
    seed: int = 0,
    confidence: float = CONFIDENCE,
    *,
    prior: float = PRIOR_TIES,
    both_bad_as_tie: bool = BOTH_BAD_AS_TIE,
) -> dict[str, Interval]:
    """Percentile intervals of each model's rating over `rounds` resamples of the votes (with replacement).

    A model absent from a resample has no rating in that round: its interval uses the rounds it appeared in
    (`Interval.rounds`), and is NaN if it appeared in none. The intervals are a function of (votes, seed) alone.
    """
    if rounds < 1:
        raise ValueError(f"bootstrap needs at least one round, got {rounds}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence}")
    encoded = _encode(list(votes), both_bad_as_tie)
    return _intervals(encoded, _bootstrap(encoded, rounds, seed, prior), confidence)


def _band(best: int, worst: int) -> str:
    return str(best) if best == worst else f"{best}–{worst}"


def leaderboard(
    votes: Iterable[Vote],
    *,
    rounds: int = BOOTSTRAP_ROUNDS,
    seed: int = 0,
    confidence: float = CONFIDENCE,
    prior: float = PRIOR_TIES,
    both_bad_as_tie: bool = BOTH_BAD_AS_TIE,
) -> list[Standing]:
    """One standing per model, best rating first (ties by model id), with rank bands from the intervals.

    A model ranks at best 1 + the number of models whose lower bound is above its upper bound, and at worst the
    number of models whose upper bound reaches its lower bound (itself included): overlapping models share a band.
    `rounds=0` skips the bootstrap: each interval is the point rating, so only equal ratings share a band.
    """
    votes = list(votes)
    if not votes:
        return []
    ratings = fit(votes, prior=prior, both_bad_as_tie=both_bad_as_tie)
    if rounds:
        intervals = bootstrap(votes, rounds, seed, confidence, prior=prior, both_bad_as_tie=both_bad_as_tie)
    else:
        intervals = {m: Interval(r, r, 0) for m, r in ratings.items()}
    # A model never seen in a resample has an unknown interval: it may rank anywhere.
    lower = {m: -math.inf if math.isnan(i.lower) else i.lower for m, i in intervals.items()}
    upper = {m: math.inf if math.isnan(i.upper) else i.upper for m, i in intervals.items()}

    tally = {m: dict.fromkeys(("votes", "wins", "losses", "ties", "both_bad"), 0) for m in ratings}
    for v in votes:
        for model in (v.model_a, v.model_b):
            tally[model]["votes"] += 1
        if v.outcome == "a" or v.outcome == "b":
            winner, loser = (v.model_a, v.model_b) if v.outcome == "a" else (v.model_b, v.model_a)
            tally[winner]["wins"] += 1
            tally[loser]["losses"] += 1
        else:
            key = "ties" if v.outcome == "tie" else "both_bad"
            tally[v.model_a][key] += 1
            tally[v.model_b][key] += 1

    standings = []
    for m in sorted(ratings, key=lambda m: (-ratings[m], m)):
        best = 1 + sum(lower[o] > upper[m] for o in ratings)
        worst = sum(upper[o] >= lower[m] for o in ratings)
        i = intervals[m]
        standings.append(Standing(m, ratings[m], i.lower, i.upper, **tally[m], best_rank=best, worst_rank=worst,
                                  rank_band=_band(best, worst)))
    return standings


def win_matrix(
    votes: Iterable[Vote], *, both_bad_as_tie: bool = BOTH_BAD_AS_TIE
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(rates, counts) indexed by model id on both axes, ready for a heatmap.

    rates[row][col] is how often the row model beat the column model, ties counting half; NaN where the two never
    met (and on the diagonal). counts holds the votes between each pair, symmetric, and counts only the votes that
    enter the fit (no "both_bad" when `both_bad_as_tie` is off).
    """
    encoded = _encode(list(votes), both_bad_as_tie)
    wins = encoded.wins()
    games = wins + wins.T
    with np.errstate(invalid="ignore", divide="ignore"):
        rates = np.where(games > 0, wins / games, np.nan)
    index = pd.Index(encoded.models, name="model")
    return (
        pd.DataFrame(rates, index=index, columns=index.rename("opponent")),
        pd.DataFrame(games.round().astype(np.int64), index=index, columns=index.rename("opponent")),
    )
