"""Evaluation on top of the run service: grids (prompts × models × seeds) and the blind arena.

The tabs call these; they read forms into plans, check everything before anything is sent (RunRefused with the
field to mark, as every other run), and go through the run service for routes, journals and stops. One run record
per job feeds the contact sheet, the exports, History and the leaderboard alike.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from playground.arena import ArenaError, Pairing, StoredVote, VoteBook, draw_pair
from playground.catalog import Model
from playground.compare import SharedSettings
from playground.grid_plan import GridInputError, GridPlan, GridPreflight, grid_preflight, parse_prompts, \
    parse_seeds, plan_grid
from playground.grid_runner import GridHandle, GridRunner, GridSettings, GridSnapshot, MAX_CONCURRENCY
from playground.runs import RunRefused
from playground.service import ComparisonPlan, ComparisonRequest, RunService, read_number
from playground.journal import Watch

ARENA_PREFIX = "arena:"


@dataclass(frozen=True)
class GridRequest:
    """The Grid form as text and choices, read by :meth:`Evaluation.plan_grid`."""

    prompts: str = ""
    prompt_file: str | None = None
    model_ids: tuple[str, ...] = ()
    seeds: str = ""
    width: Any = 1024
    height: Any = 1024
    steps: Any = None
    guidance: Any = None
    concurrency: Any = 4
    budget_usd: Any = None
    allow_unpriced: bool = False


@dataclass(frozen=True)
class ArenaRound:
    """A round: the hidden pairing, the comparison running it, and the plan (A is ``plan.adapted[0]``)."""

    round_id: str
    prompt: str
    pairing: Pairing
    plan: ComparisonPlan


def _refused(exc: GridInputError | ArenaError) -> RunRefused:
    return RunRefused.invalid(exc.field, str(exc))


class Evaluation:
    """Grids and arena rounds for every session of the app."""

    def __init__(self, service: RunService, *, shared_leaderboard: bool = False) -> None:
        self.service = service
        self.shared_leaderboard = shared_leaderboard
        self.grids = GridRunner(service.store, lambda: service.catalog, service)
        self.votes = VoteBook(service.store)

    # --- grids -------------------------------------------------------------------------------------------------

    def plan_grid(self, session_id: str, request: GridRequest,
                  seeds: Sequence[int] | None = None) -> tuple[GridPlan, GridPreflight, GridSettings]:
        """The plan, its preflight and what to store, or RunRefused naming the field. Every cell's request is
        checked against its model here, so a started grid has no cell the catalog would refuse. `seeds`: already
        drawn ones (a count draws new seeds on every call)."""
        try:
            prompts = parse_prompts(request.prompts, request.prompt_file)
            seed_list = list(seeds) if seeds is not None else parse_seeds(request.seeds)
            models = [self.service.model(m) for m in dict.fromkeys(request.model_ids or ())]
            shared = SharedSettings(
                prompt="",
                width=int(read_number(request.width, "grid-width", "Width", integer=True, minimum=64,
                                      maximum=16384) or 1024),
                height=int(read_number(request.height, "grid-height", "Height", integer=True, minimum=64,
                                       maximum=16384) or 1024),
                steps=read_number(request.steps, "grid-steps", "Steps", integer=True, minimum=1),
                guidance=read_number(request.guidance, "grid-guidance", "Guidance", minimum=0))
            concurrency = int(read_number(request.concurrency, "grid-concurrency", "Jobs at once", integer=True,
                                          minimum=1, maximum=MAX_CONCURRENCY) or 1)
            budget = read_number(request.budget_usd, "grid-budget", "Budget cap", minimum=0)
            plan = plan_grid(prompts, models, seed_list, shared)
        except GridInputError as exc:
            raise _refused(exc) from None
        for _cell, adapted in plan.adapted_cells():
            self.service.check_body(adapted.model, adapted.params, comparing=True)
        expected = {m.id: self.service.expected_seconds(session_id, m) for m in plan.models}
        preflight = grid_preflight(plan, budget_usd=budget, concurrency=concurrency, expected_seconds=expected)
        return plan, preflight, GridSettings.of(plan, concurrency, budget)

    def start_grid(self, session_id: str, request: GridRequest, seeds: Sequence[int] | None = None) -> str:
        """Check, store and start a grid; its id. RunRefused before anything is sent (budget included)."""
        plan, preflight, settings = self.plan_grid(session_id, request, seeds)
        try:
            preflight.check(request.allow_unpriced)
        except GridInputError as exc:
            raise _refused(exc) from None
        route = self.service.batch_route(session_id, settings.concurrency, preflight.cost_usd or 0.0)
        owner = self.service.sessions.owner(session_id)
        return self.grids.start(lambda grid_id: GridHandle(grid_id, owner, session_id, route), plan, settings)

    def _own_grid(self, session_id: str, grid_id: str) -> str:
        owner = self.grids.owner_of(grid_id)
        wanted = self.service.history_owner(session_id)
        if owner is None or (wanted is not None and owner != wanted):
            raise RunRefused.invalid("grid", "That grid is not one of yours, or it was deleted.")
        return owner

    def grid(self, session_id: str, grid_id: str) -> GridSnapshot | None:
        try:
            self._own_grid(session_id, grid_id)
        except RunRefused:
            return None
        return self.grids.snapshot(grid_id)

    def grid_list(self, session_id: str) -> list[tuple[str, str, Any, GridSettings]]:
        return self.grids.grids(self.service.history_owner(session_id))

    def pause_grid(self, session_id: str, grid_id: str) -> None:
        self._own_grid(session_id, grid_id)
        self.grids.pause(grid_id)

    def cancel_grid(self, session_id: str, grid_id: str) -> None:
        self._own_grid(session_id, grid_id)
        self.grids.cancel(grid_id)

    def resume_grid(self, session_id: str, grid_id: str, *, failed_too: bool = False) -> int:
        """Go on with a paused (or restarted) grid, or re-run its failed cells; how many cells will run."""
        owner = self._own_grid(session_id, grid_id)
        snap = self.grids.snapshot(grid_id)
        if snap is None:
            return 0
        route = self.service.batch_route(session_id, snap.settings.concurrency, 0.0)
        return self.grids.resume(grid_id, GridHandle(grid_id, owner, session_id, route), failed_too=failed_too)

    # --- arena -------------------------------------------------------------------------------------------------

    @property
    def can_show_everyone(self) -> bool:
        """Whether a leaderboard may count every visitor's votes: on the owner's machine, or when enabled."""
        return not self.service.hosted or self.shared_leaderboard

    def vote_owner(self, session_id: str, everyone: bool = False) -> str | None:
        """Whose votes a leaderboard counts: this browser's, or everyone's (None) when asked and allowed."""
        return None if everyone and self.can_show_everyone else self.service.sessions.owner(session_id)

    def start_round(self, session_id: str, prompt: str, pool: Sequence[str], *, width: Any = 1024,
                    height: Any = 1024, rng: random.Random | None = None) -> tuple[ArenaRound, Watch]:
        """Draw a pair (thin pairs first), run it as a two-model comparison with one seed, sides shuffled. A new
        round stops this session's previous one (its finished images stay in History)."""
        models = [self.service.model(m) for m in dict.fromkeys(pool or ())]
        text_models = [m for m in models if not m.needs_image]
        try:
            pairing = draw_pair([m.id for m in text_models], self.votes.pair_counts(self.vote_owner(session_id)),
                                rng)
        except ArenaError as exc:
            raise _refused(exc) from None
        self.service.stop(session_id, ARENA_PREFIX)
        request = ComparisonRequest(prompt=prompt, model_ids=(pairing.model_a, pairing.model_b), width=width,
                                    height=height, seed=None, randomize_seed=True)
        plan, watch = self.service.start_comparison(session_id, request, key_prefix=ARENA_PREFIX)
        return ArenaRound(plan.group_id, plan.adapted[0].params.get("prompt", prompt), pairing, plan), watch

    def vote(self, session_id: str, round_id: str, outcome: str) -> StoredVote:
        """Keep the vote on a finished round (both runs done); RunRefused otherwise."""
        group, runs = self.service.visible_group(session_id, round_id)
        settings = group.settings if group is not None else {}
        order = list(settings.get("model_ids") or [])
        by_model = {r.record.model_id: r for r in runs}
        if len(order) != 2 or any(m not in by_model for m in order):
            raise RunRefused.invalid("arena-vote", "That round is not one of yours, or it has not started yet.")
        a, b = (by_model[m] for m in order)
        if not (a.record.image_path and b.record.image_path):
            raise RunRefused.invalid("arena-vote", "Wait until both images are in: a vote needs both.")
        try:
            return self.votes.record(owner=self.service.sessions.owner(session_id), round_id=round_id,
                                     prompt=a.record.prompt, run_a=a.run_id, model_a=order[0], run_b=b.run_id,
                                     model_b=order[1], outcome=outcome)
        except ArenaError as exc:
            raise _refused(exc) from None

    def undo_vote(self, session_id: str) -> StoredVote | None:
        return self.votes.undo(self.service.sessions.owner(session_id))

    def round_models(self, plan: ComparisonPlan) -> tuple[Model, Model]:
        return plan.adapted[0].model, plan.adapted[1].model

    def names(self) -> Mapping[str, str]:
        return {m.id: m.name for m in self.service.catalog.models}

    def votes_of(self, session_id: str, everyone: bool = False) -> list[StoredVote]:
        return self.votes.votes(self.vote_owner(session_id, everyone))


def pool_ids(models: Iterable[Model]) -> list[str]:
    return [m.id for m in models if not m.needs_image]
