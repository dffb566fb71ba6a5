"""Grids and the arena on the real sandbox, without Gradio: plans checked before anything is sent, batches that
pause, resume (also after a restart) and cancel, votes kept with both runs and undone."""

from __future__ import annotations

import random
import time

import pytest

from playground.evaluation import Evaluation, GridRequest
from playground.grid_runner import GridRunner, GridState
from playground.runs import Phase, RunRefused
from tests.support import sandbox_service, wait_for

MODELS = ("bfl/flux-1-dev", "krea/krea-2/medium", "google/imagen-4")


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    with sandbox_service(tmp_path_factory) as running:
        yield running


@pytest.fixture(scope="module")
def evaluation(service):
    return Evaluation(service)


def request(**changes) -> GridRequest:
    values = dict(prompts="a red fox\na lighthouse at dusk", model_ids=MODELS, seeds="1, 2", concurrency=4)
    values.update(changes)
    return GridRequest(**values)


def test_a_2x3x2_grid_runs_12_jobs_each_cell_its_own_prompt_model_and_seed(evaluation, service):
    grid_id = evaluation.start_grid("grid-a", request())
    wait_for(lambda: evaluation.grid("grid-a", grid_id).state == GridState.DONE, what="the grid to finish")
    snap = evaluation.grid("grid-a", grid_id)
    assert len(snap.records) == 12 and snap.done == 12 and snap.failed == 0
    for key, record in snap.records.items():
        cell = snap.plan.cell(key)
        assert record.model_id == cell.model_id and record.prompt == snap.plan.prompts[cell.prompt_index]
        assert record.params.get("seed") == cell.seed and record.group_id == grid_id
    assert snap.spent_usd > 0
    # Every job is a run in History like any other.
    assert len([r for r in service.history("grid-a") if r.record.group_id == grid_id]) == 12


def test_a_grid_is_refused_before_anything_is_sent_naming_the_field(evaluation, service):
    before = len(service.backend.sandbox.engine.jobs)
    for changes, field in ((dict(prompts=""), "grid-prompts"), (dict(seeds="x"), "grid-seeds"),
                           (dict(model_ids=()), "grid-models"), (dict(concurrency=99), "grid-concurrency"),
                           (dict(budget_usd="0.01"), "grid-budget")):
        with pytest.raises(RunRefused) as refused:
            evaluation.start_grid("grid-b", request(**changes))
        assert refused.value.error.field == field, (changes, refused.value.error)
    assert len(service.backend.sandbox.engine.jobs) == before


def test_pause_lets_sent_jobs_finish_and_resume_runs_the_rest(evaluation, service):
    grid_id = evaluation.start_grid("grid-c", request(concurrency=1, seeds="1, 2, 3"))
    wait_for(lambda: evaluation.grid("grid-c", grid_id).done >= 1, what="a first cell")
    evaluation.pause_grid("grid-c", grid_id)
    wait_for(lambda: evaluation.grid("grid-c", grid_id).running == 0, what="the sent job to end")
    paused = evaluation.grid("grid-c", grid_id)
    assert paused.state == GridState.PAUSED and 0 < paused.done < 18 and paused.waiting > 0
    time.sleep(0.5)
    assert evaluation.grid("grid-c", grid_id).done == paused.done  # nothing new was sent while paused
    assert evaluation.resume_grid("grid-c", grid_id) == 18 - paused.done
    wait_for(lambda: evaluation.grid("grid-c", grid_id).state == GridState.DONE, what="the rest")
    assert evaluation.grid("grid-c", grid_id).done == 18


def test_cancel_stops_the_jobs_in_flight_and_sends_no_more(evaluation, service):
    grid_id = evaluation.start_grid("grid-d", request(concurrency=2, seeds="1, 2, 3, 4"))
    wait_for(lambda: evaluation.grid("grid-d", grid_id).running >= 1, what="a job in flight")
    evaluation.cancel_grid("grid-d", grid_id)
    wait_for(lambda: evaluation.grid("grid-d", grid_id).running == 0, what="the jobs to stop")
    snap = evaluation.grid("grid-d", grid_id)
    assert snap.state == GridState.CANCELLED and snap.waiting > 0
    started = 24 - snap.waiting
    time.sleep(0.5)
    assert 24 - evaluation.grid("grid-d", grid_id).waiting == started


def test_a_restart_pauses_a_running_grid_and_resume_sends_only_unstarted_cells(evaluation, service, tmp_path):
    grid_id = evaluation.start_grid("grid-e", request(concurrency=1))
    wait_for(lambda: evaluation.grid("grid-e", grid_id).done >= 2, what="two cells")
    evaluation.grids.pause(grid_id)  # stand-in for the process dying: no new cell after this one
    wait_for(lambda: evaluation.grid("grid-e", grid_id).running == 0, what="the job in flight")
    service.store.execute("UPDATE grids SET state = 'running' WHERE grid_id = ?", (grid_id,))
    # A new app on the same store: the grid comes back paused, not running.
    restarted = GridRunner(service.store, lambda: service.catalog, service)
    assert restarted.snapshot(grid_id).state == GridState.PAUSED
    done = restarted.snapshot(grid_id).done
    jobs_before = len(service.backend.sandbox.engine.jobs)
    evaluation.grids = restarted
    assert evaluation.resume_grid("grid-e", grid_id) == 12 - done
    wait_for(lambda: restarted.snapshot(grid_id).state == GridState.DONE, what="the resumed grid")
    assert len(service.backend.sandbox.engine.jobs) - jobs_before == 12 - done  # none sent twice


def test_failed_cells_can_be_run_again(evaluation, service):
    from playground.sandbox import Fault

    service.backend.sandbox.set_fault(Fault(kind="job_fails", count=2))
    try:
        grid_id = evaluation.start_grid("grid-f", request(concurrency=1, prompts="a fox", seeds="7,"))
        wait_for(lambda: evaluation.grid("grid-f", grid_id).state == GridState.DONE, what="the grid")
    finally:
        service.backend.sandbox.clear_faults()
    snap = evaluation.grid("grid-f", grid_id)
    assert snap.failed == 2 and snap.done == 1
    assert evaluation.resume_grid("grid-f", grid_id) == 0  # nothing left to run without asking for failed ones
    assert evaluation.resume_grid("grid-f", grid_id, failed_too=True) == 2
    wait_for(lambda: evaluation.grid("grid-f", grid_id).done == 3, what="the re-run cells")


def test_another_session_cannot_see_or_drive_a_hosted_grid(evaluation, service):
    service.hosted = True
    try:
        service.claim_owner("owner-1", "o" * 32)
        service.claim_owner("owner-2", "p" * 32)
        grid_id = evaluation.start_grid("owner-1", request(prompts="a fox", seeds="1,", model_ids=MODELS[:1]))
        assert evaluation.grid("owner-2", grid_id) is None
        with pytest.raises(RunRefused):
            evaluation.cancel_grid("owner-2", grid_id)
        assert [g[0] for g in evaluation.grid_list("owner-2")] == []
        assert grid_id in [g[0] for g in evaluation.grid_list("owner-1")]
    finally:
        service.hosted = False


# --- arena ---------------------------------------------------------------------------------------------------

def play_round(evaluation, session, prompt="a quiet harbour", pool=MODELS, rng=None):
    arena_round, watch = evaluation.start_round(session, prompt, pool, rng=rng)
    for snapshot in watch:
        last = snapshot
    assert last.done
    return arena_round


def test_a_round_runs_two_different_pool_models_on_one_seed_and_the_vote_keeps_both_runs(evaluation, service):
    arena_round = play_round(evaluation, "arena-a")
    a, b = evaluation.round_models(arena_round.plan)
    assert a.id != b.id and {a.id, b.id} <= set(MODELS)
    seeds = {item.params.get("seed") for item in arena_round.plan.adapted}
    assert len(seeds) == 1
    vote = evaluation.vote("arena-a", arena_round.round_id, "a")
    assert (vote.model_a, vote.model_b) == (a.id, b.id)
    runs = service.store.runs([vote.run_a, vote.run_b])
    assert runs[vote.run_a].record.model_id == a.id and runs[vote.run_b].record.phase == Phase.DONE
    with pytest.raises(RunRefused, match="already has a vote"):
        evaluation.vote("arena-a", arena_round.round_id, "b")
    assert evaluation.undo_vote("arena-a").vote_id == vote.vote_id
    assert evaluation.votes_of("arena-a") == []
    evaluation.vote("arena-a", arena_round.round_id, "tie")  # after an undo, the round can be voted again
    assert [v.outcome for v in evaluation.votes_of("arena-a")] == ["tie"]


def test_pairs_with_few_votes_are_drawn_more_often():
    from collections import Counter

    from playground.arena import draw_pair

    rng = random.Random(4)
    counts = {frozenset(("x", "y")): 50}
    drawn = Counter(frozenset((p.model_a, p.model_b)) for p in
                    (draw_pair(["x", "y", "z"], counts, rng) for _ in range(3000)))
    assert drawn[frozenset(("x", "y"))] < drawn[frozenset(("x", "z"))] / 10
    sides = Counter(draw_pair(["x", "y"], {}, rng).model_a for _ in range(2000))
    assert 850 < sides["x"] < 1150  # sides shuffled


def test_a_pool_of_one_is_refused_naming_the_pool(evaluation):
    with pytest.raises(RunRefused) as refused:
        evaluation.start_round("arena-b", "a fox", MODELS[:1])
    assert refused.value.error.field == "arena-pool"


def test_votes_export_with_both_runs_times_and_costs(evaluation, tmp_path):
    arena_round = play_round(evaluation, "arena-c")
    evaluation.vote("arena-c", arena_round.round_id, "b")
    path = evaluation.votes.export_csv(evaluation.vote_owner("arena-c"), tmp_path, evaluation.names())
    lines = path.read_text().splitlines()
    assert lines[0].startswith("voted_at,prompt,outcome,winner,model_a,model_b,seed,total_s_a")
    assert len(lines) == 2 and "a quiet harbour" in lines[1]


def test_a_grid_waits_out_429s_as_retry_after_says_and_completes(evaluation, service):
    from playground.sandbox import Fault

    service.backend.sandbox.set_fault(Fault(kind="submit_status", status=429, retry_after=0.3, count=3))
    try:
        grid_id = evaluation.start_grid("grid-g", request(concurrency=3, prompts="a fox", seeds="1,"))
        wait_for(lambda: evaluation.grid("grid-g", grid_id).state == GridState.DONE, what="the grid")
    finally:
        service.backend.sandbox.clear_faults()
    snap = evaluation.grid("grid-g", grid_id)
    assert snap.done == 3 and snap.failed == 0
