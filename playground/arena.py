"""The blind arena: two models drawn from a pool, run on one prompt with the same settings and seed, shown as A and
B; a vote; then the names. Votes live in the run store beside the two run records they judge, and feed the
leaderboard (:mod:`playground.rating`).

A round is a two-model comparison (``RunService.start_comparison``): the same adapted settings and seed as Compare,
the same journal, the runs in History. This module only draws pairs, keeps the votes and reads them back.
"""

from __future__ import annotations

import csv
import random
import secrets
import statistics
import uuid
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from playground.outputs import PREVIEW_DIR
from playground.rating import OUTCOMES, Outcome, Standing, Vote, leaderboard
from playground.store import RunStore, StoredRun, utc_now

MIN_POOL = 2
KEY_OUTCOMES: dict[str, Outcome] = {"1": "a", "2": "b", "0": "tie", "x": "both_bad"}  # the vote keys
OUTCOME_WORDS: dict[Outcome, str] = {"a": "A is better", "b": "B is better", "tie": "Tie", "both_bad": "Both bad"}
LEADERBOARD_ROUNDS = 500  # bootstrap resamples: a stable 95% interval in well under a second for a few models
LEADERBOARD_SEED = 0  # the same votes always give the same intervals


class ArenaError(ValueError):
    """A round or vote that cannot be taken; the message says what to do. `field` names the control."""

    def __init__(self, message: str, field: str = "arena") -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Pairing:
    """Which model is shown on which side."""

    model_a: str
    model_b: str


def draw_pair(pool: Sequence[str], pair_votes: Mapping[frozenset[str], int],
              rng: random.Random | None = None) -> Pairing:
    """Two distinct models from `pool`, pairs with few votes more likely (weight 1 / (1 + votes)), sides shuffled.

    Favouring thin pairs spreads the votes, which narrows the intervals fastest; never excluding a pair keeps every
    pairing possible, so nobody can predict the next one."""
    models = list(dict.fromkeys(str(m) for m in pool if m))
    if len(models) < MIN_POOL:
        raise ArenaError(f"Choose at least {MIN_POOL} models for the pool ({len(models)} chosen).", "arena-pool")
    rng = rng or random.SystemRandom()
    pairs = [(a, b) for i, a in enumerate(models) for b in models[i + 1:]]
    weights = [1.0 / (1 + pair_votes.get(frozenset(p), 0)) for p in pairs]
    a, b = rng.choices(pairs, weights=weights, k=1)[0]
    return Pairing(a, b) if rng.random() < 0.5 else Pairing(b, a)


@dataclass(frozen=True)
class StoredVote:
    vote_id: str
    owner: str
    created_at: str
    round_id: str
    prompt: str
    run_a: str
    model_a: str
    run_b: str
    model_b: str
    outcome: Outcome

    @property
    def vote(self) -> Vote:
        return Vote(self.model_a, self.model_b, self.outcome)


class VoteBook:
    """The arena's votes, in the run store's ``votes`` table (one vote per round)."""

    def __init__(self, store: RunStore) -> None:
        self.store = store

    def record(self, *, owner: str, round_id: str, prompt: str, run_a: str, model_a: str, run_b: str, model_b: str,
               outcome: str) -> StoredVote:
        """Keep one vote; ArenaError if the outcome is unknown or the round already has a vote."""
        if outcome not in OUTCOMES:
            raise ArenaError(f"Unknown vote {outcome!r}: use A, B, Tie or Both bad.", "arena-vote")
        vote = StoredVote(uuid.uuid4().hex, owner, utc_now(), round_id, prompt, run_a, model_a, run_b, model_b,
                          outcome)  # type: ignore[arg-type]
        try:
            self.store.execute(
                "INSERT INTO votes(vote_id, owner, created_at, round_id, prompt, run_a, model_a, run_b, model_b, "
                "outcome) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (vote.vote_id, owner, vote.created_at, round_id, prompt, run_a, model_a, run_b, model_b, outcome))
        except Exception as exc:  # sqlite3.IntegrityError: the round's unique index
            if "UNIQUE" in str(exc):
                raise ArenaError("This round already has a vote. Undo it first to vote again.",
                                 "arena-vote") from None
            raise
        return vote

    def undo(self, owner: str | None, vote_id: str | None = None) -> StoredVote | None:
        """Remove a vote (the owner's latest when no id is given); the removed vote, or None if there was none.
        The runs stay in History."""
        votes = [v for v in self.votes(owner) if vote_id is None or v.vote_id == vote_id]
        if not votes:
            return None
        latest = votes[0]
        self.store.execute("DELETE FROM votes WHERE vote_id = ?", (latest.vote_id,))
        return latest

    def votes(self, owner: str | None) -> list[StoredVote]:
        """Newest first; `owner` None: every visitor's."""
        where, args = ("owner = ?", (owner,)) if owner is not None else ("1 = 1", ())
        rows = self.store.execute(f"SELECT * FROM votes WHERE {where} ORDER BY created_at DESC, rowid DESC", args)
        return [StoredVote(**{k: row[k] for k in row.keys()}) for row in rows]

    def pair_counts(self, owner: str | None) -> Counter[frozenset[str]]:
        return Counter(frozenset((v.model_a, v.model_b)) for v in self.votes(owner))

    def export_csv(self, owner: str | None, directory: Path, names: Mapping[str, str] | None = None) -> Path:
        """Every vote with both runs' seed, times and costs (as the run store has them), oldest first."""
        votes = list(reversed(self.votes(owner)))
        runs = self.store.runs([v.run_a for v in votes] + [v.run_b for v in votes])
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / "arena-votes.csv"
        names = names or {}
        with path.open("w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out)
            writer.writerow(["voted_at", "prompt", "outcome", "winner", "model_a", "model_b", "seed", "total_s_a",
                             "total_s_b", "cost_usd_a", "cost_usd_b", "run_a", "run_b", "vote_id"])
            for v in votes:
                a, b = runs.get(v.run_a), runs.get(v.run_b)
                winner = {"a": v.model_a, "b": v.model_b}.get(v.outcome, "")
                writer.writerow([v.created_at, v.prompt, v.outcome, names.get(winner, winner),
                                 names.get(v.model_a, v.model_a), names.get(v.model_b, v.model_b),
                                 _field(a, "seed"), _field(a, "total_s"), _field(b, "total_s"),
                                 _field(a, "cost_usd"), _field(b, "cost_usd"), v.run_a, v.run_b, v.vote_id])
        return path


def _field(run: StoredRun | None, name: str):
    value = getattr(run.record, name) if run is not None else None
    return "" if value is None else value


@dataclass(frozen=True)
class ModelCosts:
    """A model's median time and cost per image, over the arena runs it made."""

    median_s: float | None
    median_usd: float | None
    images: int


def model_costs(votes: Iterable[StoredVote], store: RunStore) -> dict[str, ModelCosts]:
    """Median time and cost per finished image for every model in `votes`, from their run records."""
    votes = list(votes)
    runs = store.runs([v.run_a for v in votes] + [v.run_b for v in votes])
    times: dict[str, list[float]] = {}
    costs: dict[str, list[float]] = {}
    seen: set[str] = set()
    for v in votes:
        for run_id, model_id in ((v.run_a, v.model_a), (v.run_b, v.model_b)):
            times.setdefault(model_id, [])
            costs.setdefault(model_id, [])
            run = runs.get(run_id)
            if run is None or run_id in seen or not run.record.image_path:
                continue
            seen.add(run_id)
            if run.record.total_s is not None:
                times[model_id].append(run.record.total_s)
            if run.record.cost_usd is not None:
                costs[model_id].append(run.record.cost_usd)
    return {m: ModelCosts(statistics.median(times[m]) if times[m] else None,
                          statistics.median(costs[m]) if costs[m] else None, len(times[m])) for m in times}


def standings(votes: Sequence[StoredVote], rounds: int = LEADERBOARD_ROUNDS) -> list[Standing]:
    """The leaderboard of these votes (seeded: the same votes give the same intervals)."""
    return leaderboard([v.vote for v in votes], rounds=rounds, seed=LEADERBOARD_SEED) if votes else []


BLIND_DIR = PREVIEW_DIR / "arena"  # swept with the previews (playground.cleanup)


def blind_copy(path: str | Path) -> str:
    """A copy of a result that says nothing of its model: a JPEG without the PNG's text chunks (which name the
    model) under a random name (the saved file's name holds the model's). What the arena shows before the vote."""
    BLIND_DIR.mkdir(parents=True, exist_ok=True)
    target = BLIND_DIR / f"{secrets.token_hex(12)}.jpg"
    with Image.open(path) as image:
        image.convert("RGB").save(target, "JPEG", quality=92)
    return str(target)
