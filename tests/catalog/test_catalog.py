"""The catalog lists every model with the facts the app needs, and models.json never goes stale."""

from __future__ import annotations

import json

import pytest

from playground.catalog import Catalog, Model, derive_catalog, load_catalog
from playground.catalog.build import build_catalog, main
from playground.settings import CATALOG_PATH, OPENAPI_SNAPSHOT_PATH

KREA2 = ("krea/krea-2/medium", "krea/krea-2/large", "krea/krea-2/medium-turbo")


def test_models_json_equals_a_fresh_derivation_from_the_snapshot():
    fresh = build_catalog(OPENAPI_SNAPSHOT_PATH).to_json()
    assert CATALOG_PATH.read_text(encoding="utf-8") == fresh, "run: python -m playground.catalog.build"


def test_loaded_catalog_round_trips_through_json(catalog):
    assert Catalog.from_json(catalog.to_json()) == catalog
    assert catalog == build_catalog()


def test_models_and_params_are_hashable(catalog):
    flux = catalog.get("bfl/flux-1-dev")
    assert {flux: 1}[catalog.get("bfl/flux-1-dev")] == 1
    assert len({p for p in flux.params}) == len(flux.params)
    assert hash(catalog) == hash(load_catalog())


def test_default_load_is_cached():
    assert load_catalog() is load_catalog()


def test_every_spec_endpoint_and_the_krea2_family_are_present(spec, catalog):
    spec_ids = [p[len("/generate/image/"):] for p in spec["paths"] if p.startswith("/generate/image/")]
    assert len(spec_ids) == 22
    assert set(catalog.ids) == set(spec_ids) | set(KREA2)
    assert len(catalog.ids) == len(set(catalog.ids)) == 25


def test_get_and_by_path(catalog):
    flux = catalog.get("bfl/flux-1-dev")
    assert flux.path == "/generate/image/bfl/flux-1-dev"
    assert catalog.by_path("/generate/image/bfl/flux-1-dev") is flux
    assert "bfl/flux-1-dev" in catalog
    with pytest.raises(KeyError):
        catalog.get("bfl/flux-9")
    with pytest.raises(KeyError):
        catalog.by_path("/jobs/123")


@pytest.mark.parametrize("model_id, name, provider", [
    ("bfl/flux-1-dev", "Flux", "Black Forest Labs"),
    ("bfl/flux-1-kontext-dev", "Flux Kontext", "Black Forest Labs"),
    ("bfl/flux-1.1-pro", "Flux 1.1 Pro", "Black Forest Labs"),
    ("google/nano-banana-pro", "Nano Banana Pro", "Google"),
    ("openai/gpt-image-2", "GPT Image 2", "OpenAI"),
    ("openai/gpt-image", "ChatGPT Image", "OpenAI"),
    ("bytedance/seedream-4", "Seedream 4", "ByteDance"),
    ("krea/krea-2/medium", "Krea 2 Medium", "Krea"),
    ("krea/krea-2/medium-turbo", "Krea 2 Medium Turbo", "Krea"),
    ("qwen/2512", "Qwen 2512", "Alibaba Qwen"),
    ("z-image/z-image", "Z Image", "Z Image"),
    ("runway/gen-4-image", "Runway Gen-4", "Runway"),
    ("luma/uni-1", "Luma UNI-1", "Luma"),
    ("ideogram/ideogram-3", "Ideogram 3", "Ideogram"),
])
def test_display_names_and_providers(catalog, model_id, name, provider):
    model = catalog.get(model_id)
    assert (model.name, model.provider) == (name, provider)
    assert model.description and model.description != name


def test_display_order_popular_first_then_krea2_then_providers_then_image_models(catalog):
    assert catalog.ids[:7] == ("krea/krea-2/medium", "bfl/flux-1-dev", "google/nano-banana-pro",
                               "bytedance/seedream-4", "openai/gpt-image-2", "krea/krea-2/large",
                               "krea/krea-2/medium-turbo")
    needs = [m.needs_image for m in catalog.models]
    assert needs == sorted(needs), "needs_image models come last"
    rest = [m.provider for m in catalog.models[7:] if not m.needs_image]
    seen: list[str] = []
    for provider in rest:
        if not seen or seen[-1] != provider:
            assert provider not in seen, f"{provider} is split in two groups"
            seen.append(provider)


def test_image_editing_models_need_an_image(catalog):
    assert {m.id for m in catalog.models if m.needs_image} == {
        "bytedance/seededit", "runway/gen-4-image", "bfl/flux-1-kontext-dev"}


def test_previews_only_for_krea_hosted_models(catalog):
    assert {m.id for m in catalog.models if m.previews} == set(KREA2) | {"bfl/flux-1-dev", "bfl/flux-1-kontext-dev"}


@pytest.mark.parametrize("model_id, sizing", [
    ("bfl/flux-1-dev", "wh"), ("krea/krea-2/large", "ratio"), ("z-image/z-image", "ratio"),
    ("google/nano-banana-pro", "both"), ("google/nano-banana", "both"), ("bytedance/seededit", "none"),
])
def test_sizing_kinds(catalog, model_id, sizing):
    assert catalog.get(model_id).sizing == sizing


def test_flux_params_match_the_spec_exactly(catalog):
    flux = catalog.get("bfl/flux-1-dev")
    assert [p.name for p in flux.params] == ["prompt", "strength", "seed", "steps", "width", "height",
                                             "guidance_scale_flux", "image_url", "styles", "style_images",
                                             "image_style_references"]
    assert flux.required == ("prompt",)
    assert flux.param("prompt").max_length == 1800
    width = flux.param("width")
    assert (width.type, width.minimum, width.maximum, width.default, width.multiple_of) == ("number", 512, 2368,
                                                                                          1024, None)
    assert width.is_integer
    steps = flux.param("steps")
    assert (steps.type, steps.minimum, steps.maximum, steps.default) == ("integer", 1, 100, 25)
    guidance = flux.param("guidance_scale_flux")
    assert (guidance.minimum, guidance.maximum, guidance.default) == (0, 24, 3)
    assert flux.param("seed").default is None  # the spec's default is a per-snapshot random number
    assert flux.param("image_url").nullable and flux.param("image_url").needs_url
    assert flux.param("styles").needs_url and not flux.param("width").needs_url
    assert flux.param("styles").schema["items"]["required"] == ["id", "strength"]
    assert flux.accepts == frozenset(p.name for p in flux.params)


def test_stable_seed_default_is_kept(catalog):
    assert catalog.get("google/imagen-4").param("seed").default == 1337


def test_krea2_family_shape(catalog):
    for model_id in KREA2:
        model = catalog.get(model_id)
        ratio, res = model.param("aspect_ratio"), model.param("resolution")
        assert ratio.required and res.required
        assert (ratio.default, res.default) == ("1:1", "1K")
        assert ratio.choices == ("1:1", "4:3", "3:2", "16:9", "2.35:1", "4:5", "2:3", "9:16")
        assert model.param("creativity").choices == ("raw", "low", "medium", "high")
        assert model.param("creativity").default == "medium"
        for slider in ("intensity", "complexity", "movement"):
            p = model.param(slider)
            assert (p.type, p.minimum, p.maximum, p.default) == ("integer", -100, 100, 0)
        assert model.param("image_style_references").max_items == 10
        assert model.param("moodboards").max_items == 1
        assert model.param("width") is None
    assert catalog.get("krea/krea-2/medium").param("resolution").choices == ("1K",)
    assert catalog.get("krea/krea-2/medium-turbo").param("resolution").choices == ("1K", "2K")


def test_gpt_image_2_keeps_the_spec_shape_with_multiple_of_16(catalog):
    gpt = catalog.get("openai/gpt-image-2")
    assert gpt.required == ("prompt", "width", "height")
    assert gpt.param("width").multiple_of == gpt.param("height").multiple_of == 16
    assert gpt.param("aspect_ratio") is None and gpt.param("resolution") is None
    assert any("16" in note for note in gpt.notes)


@pytest.mark.parametrize("model_id", ["bytedance/seedream-4", "bytedance/seedream-5-lite"])
def test_seedream_sizes_follow_the_spec_down_to_one_pixel(catalog, model_id):
    # The spec gives 4096 as the maximum and no minimum: the old 512 floor refused spec-valid bodies.
    model = catalog.get(model_id)
    for side in ("width", "height"):
        p = model.param(side)
        assert (p.required, p.minimum, p.maximum, p.multiple_of) == (True, 1, 4096, None)


def test_expected_seconds_from_spec_tables_and_notes(catalog):
    assert catalog.get("bfl/flux-1-dev").expected_seconds == 7
    assert catalog.get("openai/gpt-image-2").expected_seconds == 55
    assert catalog.get("openai/gpt-image").expected_seconds == 72
    assert catalog.get("bytedance/seedream-4").expected_seconds == 20
    assert catalog.get("krea/krea-2/medium").expected_seconds == 8
    assert all(m.expected_seconds > 0 for m in catalog.models)


def test_prices(catalog):
    medium = catalog.get("krea/krea-2/medium").price
    assert (medium.usd, medium.source) == (0.03, "confirmed")
    nb2 = catalog.get("google/nano-banana-2").price
    assert (nb2.usd, nb2.compute_units, nb2.source) == (0.08, 34.4, "confirmed")
    assert "1K" in nb2.basis
    flux = catalog.get("bfl/flux-1-dev").price
    assert (flux.usd, flux.compute_units, flux.source) == (0.007, 3, "third-party")
    gpt2 = catalog.get("openai/gpt-image-2").price
    assert (gpt2.usd, gpt2.compute_units, gpt2.source) == (None, 127, "compute-units")
    assert catalog.get("google/nano-banana-pro").price.compute_units == 60.1  # the 1K row
    assert catalog.get("ideogram/ideogram-3").price.compute_units == 34.4  # without character reference
    for model in catalog.models:
        assert model.price.source in ("confirmed", "third-party", "compute-units")
        assert model.price.basis
        assert model.price.label()


def test_retired_seedream_3(catalog):
    assert "bytedance/seedream-3" not in catalog
    retired = catalog.retired["bytedance/seedream-3"]
    assert retired.sunset_date == "2026-05-13"
    assert retired.replacement == "bytedance/seedream-5-lite"
    assert retired.replacement in catalog
    assert retired.path == "/generate/image/bytedance/seedream-3"
    body = retired.body()
    assert body["error"] == "model_unavailable" and body["reason"] == "deprecated"
    assert set(body) == {"error", "reason", "message", "sunset_date", "replacement", "migration_url"}
    assert "seedream-3" in body["message"]


def test_build_cli_writes_the_same_file(tmp_path):
    out = tmp_path / "models.json"
    assert main(["--openapi", str(OPENAPI_SNAPSHOT_PATH), "--out", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == CATALOG_PATH.read_text(encoding="utf-8")


def test_newer_spec_is_loaded_at_run_time(spec, tmp_path):
    newer = json.loads(json.dumps(spec))
    paths = newer["paths"]
    op = json.loads(json.dumps(paths["/generate/image/google/imagen-4"]))
    op["post"]["summary"] = "Imagen 5"
    paths["/generate/image/google/imagen-5"] = op
    k2 = json.loads(json.dumps(paths["/generate/image/z-image/z-image"]))
    k2["post"]["summary"] = "Krea 2 Medium"
    paths["/generate/image/krea/krea-2/medium"] = k2  # the spec's own Krea 2 schema wins over the overrides
    paths["/generate/image/bytedance/seedream-3"] = paths["/generate/image/bytedance/seedream-4"]
    del paths["/generate/image/google/imagen-3"]

    from_dict = load_catalog(openapi=newer)
    file = tmp_path / "openapi.json"
    file.write_text(json.dumps(newer), encoding="utf-8")
    from_file = load_catalog(openapi=str(file))
    assert from_dict.models == from_file.models
    assert from_file.source == "openapi.json"

    assert from_dict.get("google/imagen-5").name == "Imagen 5"
    assert from_dict.get("google/imagen-5").provider == "Google"
    assert "google/imagen-3" not in from_dict
    assert "bytedance/seedream-3" not in from_dict, "a sunset model stays retired"
    krea2 = from_dict.get("krea/krea-2/medium")
    assert krea2.param("aspect_ratio").choices == ("1:1", "4:3", "2:3", "16:9", "9:16")
    assert krea2.param("aspect_ratio").default == "1:1"
    assert from_dict.ids[0] == "krea/krea-2/medium"


def test_unknown_provider_and_refs_in_a_newer_spec():
    spec = {
        "paths": {"/generate/image/acme/paint-1": {"post": {
            "summary": "Paint 1",
            "description": "| Compute Units | Average Completion Time |\n|---|---|\n| ~2 | ~1 minute |",
            "requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Body"}}}},
        }}},
        "components": {"schemas": {"Body": {"type": "object", "required": ["prompt"], "properties": {
            "prompt": {"type": "string"}, "size": {"$ref": "#/components/schemas/Size"}}}, "Size": {
            "type": "string", "enum": ["s", "m"]}}},
    }
    model = derive_catalog(spec).get("acme/paint-1")
    assert isinstance(model, Model)
    assert (model.name, model.provider, model.expected_seconds) == ("Paint 1", "Acme", 60)
    assert model.price.compute_units == 2 and model.price.usd is None
    assert model.param("size").choices == ("s", "m")
    assert model.sizing == "none"
