"""The run service's rules, without Gradio: sessions, seeds, budgets, estimates per backend, validation once."""

from __future__ import annotations

import pytest

from playground.catalog import MAX_SEED, load_catalog
from playground.compare import SharedSettings, adapt
from playground.runs import Phase, RunRefused
from playground.service import ComparisonRequest, GenerationRequest
from tests.support import sandbox_service

CATALOG = load_catalog()


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    with sandbox_service(tmp_path_factory) as running:
        yield running


def refusal(call) -> RunRefused:
    with pytest.raises(RunRefused) as refused:
        call()
    return refused.value


def test_a_first_run_in_a_new_session_gets_a_stop_switch(service):
    # begin_run on a session nobody has used yet once called a method that did not exist
    stop = service.sessions.begin_run("never-seen-before", "generate")
    assert not stop.is_set()
    assert service.stop("never-seen-before", "generate") == 1 and stop.is_set()


def test_the_body_is_validated_once_with_defaults_filled_and_whole_numbers_as_integers(service):
    _, body = service.prepare_generation(GenerationRequest(
        "krea/krea-2/medium", "a fox", params={"aspect_ratio": None}, seed=12.0))
    assert body["aspect_ratio"] == "1:1" and body["resolution"] == "1K"  # required, so the model's default
    assert body["seed"] == 12 and isinstance(body["seed"], int)
    _, body = service.prepare_generation(GenerationRequest("bfl/flux-1-dev", "a fox", params={"steps": 28.0,
                                                                                             "width": "768"}))
    assert body["steps"] == 28 and body["width"] == 768 and isinstance(body["steps"], int)


@pytest.mark.parametrize("seed", [-1, MAX_SEED + 1, 2**63, "abc", 1.5])
def test_a_seed_outside_0_to_max_is_refused_naming_the_seed(service, seed):
    error = refusal(lambda: service.prepare_generation(GenerationRequest("bfl/flux-1-dev", "a fox", seed=seed))).error
    assert error.field == "seed" and error.kind == "invalid"


def test_randomize_draws_a_seed_in_range_and_a_seedless_model_gets_none(service):
    _, body = service.prepare_generation(GenerationRequest("bfl/flux-1-dev", "a fox", randomize_seed=True))
    assert 0 <= body["seed"] <= MAX_SEED
    _, body = service.prepare_generation(GenerationRequest("google/nano-banana-pro", "a fox", seed=5))
    assert "seed" not in body


def test_a_prompt_that_cannot_be_encoded_is_refused_before_anything_is_sent(service):
    error = refusal(lambda: service.prepare_generation(GenerationRequest("bfl/flux-1-dev", "a fox \ud800"))).error
    assert error.field == "prompt" and "cannot be sent" in error.message


def test_a_pasted_token_session_gets_real_krea_estimates_not_sandbox_ones(service):
    flux = CATALOG.get("bfl/flux-1-dev")
    sandbox_estimate = service.expected_seconds("visitor-a", flux)
    service.sessions.use_token("visitor-b", "a-real-krea-token")
    assert service.expected_seconds("visitor-b", flux) == flux.expected_seconds
    assert sandbox_estimate < flux.expected_seconds
    service.sessions.forget_token("visitor-b")


def test_a_cap_refuses_models_it_cannot_price_by_name(service):
    request = ComparisonRequest("a fox", ("bytedance/seedream-4", "openai/gpt-image-2", "bfl/flux-1-dev"),
                                budget_usd=0.01)
    error = refusal(lambda: service.start_comparison("s1", request)).error
    assert error.kind == "budget" and "Seedream 4" in error.message and "GPT Image 2" in error.message
    plan = service.plan_comparison("s1", request)
    service.check_budget(plan, allow_unpriced=True)  # explicitly allowed: no refusal


def test_an_over_budget_comparison_is_refused(service):
    request = ComparisonRequest("a fox", ("krea/krea-2/medium", "bfl/flux-1-dev"), budget_usd=0.001)
    assert refusal(lambda: service.start_comparison("s1", request)).error.kind == "budget"


@pytest.mark.parametrize("ids, words", [(("bfl/flux-1-dev",), "Choose 2 to 8"),
                                         (("bfl/flux-1-dev", "bfl/flux-1-dev"), "Choose 2 to 8"),
                                         (("bfl/flux-1-dev", "acme/none"), "Unknown model")])
def test_a_comparison_needs_two_to_eight_known_models(service, ids, words):
    assert words in refusal(lambda: service.plan_comparison("s1", ComparisonRequest("a fox", ids))).error.message


def test_a_comparison_runs_through_the_service_and_releases_its_switches(service):
    plan, snapshots = service.start_comparison("s2", ComparisonRequest(
        "a fox", ("bfl/flux-1-dev", "bytedance/seedream-4"), width=512, height=512, seed=9))
    final = list(snapshots)[-1]
    assert [u.phase for u in final.updates] == [Phase.DONE, Phase.DONE]
    assert [u.seed for u in final.updates] == [9, 9] and plan.seed == 9
    assert service.stop("s2", "compare:") == 0  # nothing left running under this session


def test_qwen_guidance_out_of_range_is_clamped_with_a_note():
    qwen = adapt(CATALOG.get("qwen/2512"), SharedSettings("a fox", guidance=50))
    high = CATALOG.get("qwen/2512").param("cfg_scale").maximum
    assert qwen.params["cfg_scale"] == high and any(n.startswith("guidance 50 →") for n in qwen.notes)


def test_one_tab_or_script_cannot_take_every_slot(service):
    from playground.krea.errors import ErrorKind

    limit = service.session_run_limit
    service.session_run_limit = 2
    try:
        service.sessions.begin_run("greedy", "api-generate:1")
        service.sessions.begin_run("greedy", "api-generate:2")
        refused = refusal(lambda: service.start_generation("greedy", GenerationRequest("bfl/flux-1-dev", "x")))
        assert refused.error.kind == ErrorKind.RATE_LIMITED and "2 runs going" in refused.error.message
        two = ComparisonRequest("x", ("bfl/flux-1-dev", "krea/krea-2/medium"))
        assert refusal(lambda: service.start_comparison("greedy", two)).error.kind == ErrorKind.RATE_LIMITED
        service.start_generation("someone-else", GenerationRequest("bfl/flux-1-dev", "x"))  # not refused
        service.stop("greedy", "api-generate:1")  # a stopped run no longer counts
        service.start_generation("greedy", GenerationRequest("bfl/flux-1-dev", "x"))
    finally:
        service.session_run_limit = limit
        service.stop("greedy", "")
