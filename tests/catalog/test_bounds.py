"""Every number the app sends has a range: what Krea would refuse is refused here first, naming the field."""

from __future__ import annotations

import json

import pytest

from playground.catalog import MAX_SEED, example_params, load_catalog, snap_size, validate_params

CATALOG = load_catalog()
MODELS_WITH_A_SEED = [m.id for m in CATALOG.models if m.param("seed") is not None]

# Number fields deliberately left without a minimum or a maximum: (model id, field path) -> why.
# None today; anything added here must say why Krea cannot refuse a value of any size.
LEFT_OPEN: dict[tuple[str, str], str] = {}


def errors_for(model_id: str, **fields) -> list:
    """The errors of the model's minimal valid body with ``fields`` set on top."""
    model = CATALOG.get(model_id)
    return validate_params(model, {**example_params(model, "a lighthouse"), **fields})


def only_error(model_id: str, **fields):
    errors = errors_for(model_id, **fields)
    assert len(errors) == 1, errors
    return errors[0]


def number_fields(schema: dict, path: str):
    """(path, schema) of every number/integer inside a param's schema: array items and object properties."""
    if not isinstance(schema, dict):
        return
    kinds = schema.get("type") if isinstance(schema.get("type"), list) else [schema.get("type")]
    if {"number", "integer"} & set(kinds):
        yield path, schema
    if isinstance(schema.get("items"), dict):
        yield from number_fields(schema["items"], f"{path}[]")
    for key, sub in (schema.get("properties") or {}).items():
        yield from number_fields(sub, f"{path}.{key}")


def test_every_number_field_of_every_model_has_both_bounds():
    open_ended = []
    for model in CATALOG.models:
        for p in model.params:
            if p.type in ("integer", "number") and (p.minimum is None or p.maximum is None):
                open_ended.append((model.id, p.name))
            for path, schema in number_fields(p.schema, p.name):
                if path != p.name and ("minimum" not in schema or "maximum" not in schema):
                    open_ended.append((model.id, path))
    assert [field for field in open_ended if field not in LEFT_OPEN] == []


def test_the_specs_own_random_seed_defaults_stay_valid():
    # 3317551338 (a default in one spec snapshot) is past the signed 32-bit limit: the range must include it.
    assert errors_for("bfl/flux-1-dev", seed=3317551338) == []


@pytest.mark.parametrize("model_id", MODELS_WITH_A_SEED)
def test_every_seeded_model_takes_seeds_from_0_to_max_seed(model_id):
    seed = CATALOG.get(model_id).param("seed")
    assert (seed.minimum, seed.maximum) == (0, MAX_SEED)
    assert errors_for(model_id, seed=0) == []
    assert errors_for(model_id, seed=MAX_SEED) == []


@pytest.mark.parametrize("model_id", ["bfl/flux-1-dev", "bytedance/seedream-4", "krea/krea-2/medium"])
def test_a_seed_of_2_to_the_63_is_refused_naming_the_seed(model_id):
    error = only_error(model_id, seed=2**63)
    assert (error.field, error.message) == ("seed", f"seed must be between 0 and {MAX_SEED} (got {2**63})")


def test_a_negative_or_one_too_large_seed_is_refused():
    assert only_error("bytedance/seedream-4", seed=-1).field == "seed"
    assert only_error("bytedance/seedream-4", seed=MAX_SEED + 1).field == "seed"


def test_gpt_image_2_width_100000_is_refused_with_the_allowed_range():
    error = only_error("openai/gpt-image-2", width=100000)
    assert (error.field, error.message) == ("width", "width must be between 480 and 3840 (got 100000)")
    assert only_error("openai/gpt-image-2", height=16).message == "height must be between 480 and 3840 (got 16)"


def test_gpt_image_2_sides_run_from_480_to_3840_keeping_openais_own_extremes():
    gpt = CATALOG.get("openai/gpt-image-2")
    for side in ("width", "height"):
        assert (gpt.param(side).minimum, gpt.param(side).maximum, gpt.param(side).multiple_of) == (480, 3840, 16)
    assert errors_for("openai/gpt-image-2", width=3840, height=2160) == []  # OpenAI's largest listed size
    assert errors_for("openai/gpt-image-2", width=480, height=1440) == []  # 3:1 with 691,200 pixels


def test_gpt_image_2_oversized_request_is_snapped_into_its_range():
    width, height, notes = snap_size(CATALOG.get("openai/gpt-image-2"), 100000, 100000)
    assert (width, height) == (3840, 3840) and notes


def test_qwen_cfg_scale_50_is_refused():
    error = only_error("qwen/2512", cfg_scale=50)
    assert (error.field, error.message) == ("cfg_scale", "cfg_scale must be between 0 and 20 (got 50)")
    assert errors_for("qwen/2512", cfg_scale=4) == []


def test_qwen_has_a_size_and_steps_range():
    qwen = CATALOG.get("qwen/2512")
    assert [(qwen.param(n).minimum, qwen.param(n).maximum) for n in ("width", "height", "num_inference_steps")] == [
        (256, 2048), (256, 2048), (1, 100)]
    assert only_error("qwen/2512", width=100000).field == "width"
    assert only_error("qwen/2512", num_inference_steps=1000).field == "num_inference_steps"


@pytest.mark.parametrize("model_id", ["google/nano-banana-pro", "google/nano-banana-2", "google/nano-banana"])
def test_nano_banana_sizes_have_a_range(model_id):
    model = CATALOG.get(model_id)
    assert [(model.param(n).minimum, model.param(n).maximum) for n in ("width", "height")] == [
        (256, 8192), (256, 8192)]
    assert only_error(model_id, width=100000).message == "width must be between 256 and 8192 (got 100000)"


@pytest.mark.parametrize("model_id", ["bfl/flux-1-dev", "bfl/flux-1-kontext-dev"])
def test_flux_strength_runs_from_0_to_1(model_id):
    strength = CATALOG.get(model_id).param("strength")
    assert (strength.minimum, strength.maximum, strength.default) == (0, 1, 1)
    assert only_error(model_id, strength=2).message == "strength must be between 0 and 1 (got 2)"


def test_a_bound_documented_by_a_newer_spec_wins_over_ours(spec):
    newer = json.loads(json.dumps(spec))
    body = newer["paths"]["/generate/image/openai/gpt-image-2"]["post"]["requestBody"]["content"][
        "application/json"]["schema"]
    body["properties"]["width"]["maximum"] = 4096  # the newer spec documents a maximum, not a minimum
    width = load_catalog(openapi=newer).get("openai/gpt-image-2").param("width")
    assert (width.minimum, width.maximum) == (480, 4096)
