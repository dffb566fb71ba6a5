"""Translating one set of shared settings into each model's own schema, the preflight estimate, the ZIP manifest."""

import dataclasses
import json
import zipfile

from playground.catalog import load_catalog, validate_params
from playground.compare import MANIFEST_FORMAT, MANIFEST_VERSION, SharedSettings, adapt, export_zip, preflight, \
    results_table
from playground.krea.errors import ErrorKind
from playground.runs import Phase, RunError, RunRecord, RunUpdate

CATALOG = load_catalog()


def test_size_becomes_ratio_and_nearest_resolution_for_ratio_models():
    small = adapt(CATALOG.get("krea/krea-2/medium"), SharedSettings("a fox", 1000, 1000))
    assert small.params["aspect_ratio"] == "1:1" and small.params["resolution"] == "1K"
    assert "1000x1000 sent as 1:1, 1K" in small.notes
    big = adapt(CATALOG.get("krea/krea-2/medium-turbo"), SharedSettings("a fox", 2560, 1440))
    assert big.params["aspect_ratio"] == "16:9" and big.params["resolution"] == "2K"


def test_size_is_snapped_to_a_models_multiple():
    adapted = adapt(CATALOG.get("openai/gpt-image-2"), SharedSettings("a fox", 1000, 1000))
    assert adapted.params["width"] % 16 == 0 and adapted.params["height"] % 16 == 0
    assert any(n.startswith("1000x1000 sent as") for n in adapted.notes)


def test_steps_and_guidance_are_clamped_or_reported_as_ignored():
    flux = adapt(CATALOG.get("bfl/flux-1-dev"), SharedSettings("a fox", seed=5, steps=500, guidance=3))
    assert flux.params["steps"] == 100 and flux.params["guidance_scale_flux"] == 3 and flux.params["seed"] == 5
    assert "steps 500 → 100 (allowed 1–100)" in flux.notes
    banana = adapt(CATALOG.get("google/nano-banana-pro"), SharedSettings("a fox", seed=5, steps=30, guidance=3))
    assert {"seed ignored: this model takes no seed", "steps ignored: this model has no steps",
            "guidance ignored: this model has no guidance"} <= set(banana.notes)


def test_a_range_with_one_bound_is_reported_without_failing():
    flux = CATALOG.get("bfl/flux-1-dev")
    steps = dataclasses.replace(flux.param("steps"), minimum=None)
    model = dataclasses.replace(flux, params=tuple(steps if p.name == "steps" else p for p in flux.params))
    assert "steps 500 → 100 (allowed –100)" in adapt(model, SharedSettings("a fox", steps=500)).notes


def test_every_text_model_gets_a_valid_request():
    for model in CATALOG.models:
        if not model.needs_image:
            adapted = adapt(model, SharedSettings("a fox", 1000, 700, seed=1, steps=30, guidance=4))
            assert validate_params(model, adapted.params) == [], model.id


def test_preflight_sums_known_prices_and_takes_the_slowest_time():
    picked = [adapt(CATALOG.get(i), SharedSettings("a fox")) for i in ("bfl/flux-1-dev", "openai/gpt-image-2")]
    plan = preflight(picked, budget_usd=0.001)
    assert plan.jobs == 2 and plan.cost_usd == CATALOG.get("bfl/flux-1-dev").price.usd
    assert plan.unpriced == ("GPT Image 2",) and plan.est_seconds == 55 and plan.over_budget


def test_the_zip_manifest_says_what_it_is_so_it_can_be_opened_again(tmp_path):
    flux = CATALOG.get("bfl/flux-1-dev")
    update = RunUpdate(model_id=flux.id, phase=Phase.FAILED, label="Failed", params={"prompt": "a fox", "seed": 3})
    path = export_zip([RunRecord.from_update(update, flux)], tmp_path, "http://127.0.0.1:9")
    with zipfile.ZipFile(path) as archive:
        manifest = json.loads(archive.read("manifest.json"))
    assert (manifest["format"], manifest["version"]) == (MANIFEST_FORMAT, MANIFEST_VERSION)
    assert manifest["api_base"] == "http://127.0.0.1:9"
    assert manifest["runs"][0]["request"] == {"method": "POST", "endpoint": flux.path,
                                              "body": {"prompt": "a fox", "seed": 3}}


def test_the_results_table_draws_every_column_escaped_and_says_when_there_is_nothing_yet():
    from playground.ui.compare_render import frame_html  # (imports Gradio)

    assert "No results yet" in frame_html(None) and frame_html(results_table([])) == frame_html(None)
    flux = CATALOG.get("bfl/flux-1-dev")
    failed = RunUpdate(model_id=flux.id, phase=Phase.FAILED, label="Failed", job_id="job-1", seed=4,
                       error=RunError(ErrorKind.INVALID, "bad <prompt> & more"), params={"prompt": "a fox"})
    html = frame_html(results_table([RunRecord.from_update(failed, flux, notes=("steps 500 → 100",))]))
    assert "<th" in html and html.count("<tr") == 2 and 'data-status="failed"' in html
    assert "bad &lt;prompt&gt; &amp; more" in html and "steps 500 → 100" in html and "<code>job-1</code>" in html
    assert "nan" not in html.lower()  # unknown times are blank cells
