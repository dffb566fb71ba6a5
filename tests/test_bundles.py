"""Comparison bundles: a saved comparison's ZIP read back record for record, re-run with today's models and compared
model by model, and hostile or broken ZIPs refused with a message that says why. A real sandbox on loopback."""

from __future__ import annotations

import io
import json
import re
import struct
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest
from PIL import Image

from playground import bundles
from playground.bundles import BundleError, image_bytes, image_verdict, read_bundle, record_from_manifest, \
    regression_summary, regression_table
from playground.catalog import load_catalog
from playground.compare import export_zip
from playground.runs import Phase, RunRefused
from playground.sandbox import Fault
from playground.service import ComparisonRequest
from tests.support import sandbox_service

CATALOG = load_catalog()
SESSION = "bundle-tests"
THREE = ("krea/krea-2/medium", "bfl/flux-1-dev", "openai/gpt-image-2")  # GPT Image 2 takes no seed


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    with sandbox_service(tmp_path_factory) as running:
        yield running


@pytest.fixture
def sandbox(service):
    service.backend.sandbox.clear_faults()
    yield service.backend.sandbox
    service.backend.sandbox.clear_faults()


def finished(plan, snapshots):
    last = None
    for last in snapshots:
        pass
    assert last is not None and last.done
    return last.records(list(plan.adapted), plan.group_id)


def compare(service, models=THREE, seed=42):
    plan, snapshots = service.start_comparison(SESSION, ComparisonRequest("a lighthouse at dusk", models, width=512,
                                                                          height=512, seed=seed))
    return finished(plan, snapshots)


@pytest.fixture(scope="module")
def saved(service, tmp_path_factory):
    """A finished comparison and the ZIP that Compare's "Download images + manifest" makes of it."""
    records = compare(service)
    return records, export_zip(records, tmp_path_factory.mktemp("zip"), service.backend.base_url)


# --- round trip ------------------------------------------------------------------------------------------------

def test_a_saved_comparison_reads_back_record_for_record_with_its_images(service, saved, tmp_path):
    records, zip_path = saved
    bundle = read_bundle(zip_path, tmp_path / "opened", CATALOG)
    assert bundle.api_base == service.backend.base_url and bundle.version == 1
    assert len(bundle.records) == len(records) == 3
    for old, new in zip(records, bundle.records):
        assert Path(new.image_path).parent == (tmp_path / "opened").resolve()
        assert Path(new.image_path).read_bytes() == Path(old.image_path).read_bytes()
        assert replace(new, image_path=old.image_path) == old  # every field, exact body included
    assert bundle.items == [(r.model_id, r.params) for r in records]


def test_a_manifest_from_before_format_and_version_were_written_still_opens(saved, tmp_path):
    records, zip_path = saved
    with zipfile.ZipFile(zip_path) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        images = {n: archive.read(n) for n in archive.namelist() if n.endswith(".png")}
    del manifest["format"], manifest["version"]
    bundle = read_bundle(make_zip(tmp_path, manifest, images), tmp_path / "opened", CATALOG)
    assert [r.run_id for r in bundle.records] == [r.run_id for r in records]


# --- re-run ----------------------------------------------------------------------------------------------------

def test_a_rerun_sends_the_exact_bodies_and_the_deterministic_sandbox_gives_identical_images(service, saved,
                                                                                           tmp_path):
    _records, zip_path = saved
    old = list(read_bundle(zip_path, tmp_path / "opened", CATALOG).records)
    before = len(service.backend.sandbox.engine.jobs)
    plan, snapshots = service.start_rerun(SESSION, [(r.model_id, r.params) for r in old])
    assert plan.preflight.budget_usd is None and plan.seed == 42
    new = finished(plan, snapshots)
    assert len(service.backend.sandbox.engine.jobs) == before + 3
    assert [r.params for r in new] == [r.params for r in old] and all(r.phase == Phase.DONE for r in new)
    assert new[0].group_id == plan.group_id != old[0].group_id

    seeded = [(a, b) for a, b in zip(old, new) if "seed" in a.params]
    assert len(seeded) == 2
    for a, b in seeded:  # the files differ (each carries its own job id), the image inside them does not
        assert Path(a.image_path).read_bytes() != Path(b.image_path).read_bytes()
        assert image_bytes(Path(a.image_path).read_bytes()) == image_bytes(Path(b.image_path).read_bytes())

    table = regression_table(old, new)
    assert list(table["image"]) == ["identical bytes", "identical bytes", "different pixels (no seed)"]
    assert list(table["old status"]) == list(table["new status"]) == ["Completed"] * 3
    assert list(table["new size"]) == list(table["old size"]) and all(table["new size"])
    summary = regression_summary(table)
    assert summary.startswith("2 of 3 images identical") and "GPT Image 2 takes no seed" in summary

    group, runs = service.store.group(plan.group_id)  # journaled like any comparison, under a fresh group
    assert sorted(r.record.model_id for r in runs) == sorted(THREE) and all(r.is_terminal for r in runs)
    assert group.settings["rerun"] is True and group.settings["model_ids"] == list(THREE)


def test_a_run_that_failed_then_works_today_shows_as_a_status_change(service, sandbox):
    sandbox.set_fault(Fault(kind="job_fails", model="bfl/flux-1-dev", reason="Content policy", count=1))
    old = compare(service, models=("krea/krea-2/medium", "bfl/flux-1-dev"), seed=7)
    assert [r.phase for r in old] == [Phase.DONE, Phase.FAILED]
    plan, snapshots = service.start_rerun(SESSION, [(r.model_id, r.params) for r in old])
    table = regression_table(old, finished(plan, snapshots))
    assert list(table["new status"]) == ["Completed", "Completed"]
    assert list(table["image"]) == ["identical bytes", "only the re-run has an image"]
    assert "Flux: Failed → Completed" in regression_summary(table)


def refusal(call) -> RunRefused:
    with pytest.raises(RunRefused) as refused:
        call()
    return refused.value


def test_a_rerun_refuses_retired_and_unknown_models_by_name_and_sends_nothing(service):
    body = {"prompt": "a fox", "width": 512, "height": 512, "seed": 1}
    before = len(service.backend.sandbox.engine.jobs)
    error = refusal(lambda: service.start_rerun(SESSION, [("bytedance/seedream-3", body), ("acme/painter", body),
                                                          ("bfl/flux-1-dev", body)])).error
    assert error.kind == "retired" and error.field == "models"
    assert "Seedream 3" in error.message and "2026-05-13" in error.message
    assert "bytedance/seedream-5-lite" in error.message and "'acme/painter'" in error.message
    only_retired = refusal(lambda: service.start_rerun(SESSION, [("bytedance/seedream-3", body)])).error
    assert only_retired.replacement == "bytedance/seedream-5-lite"
    assert len(service.backend.sandbox.engine.jobs) == before


def test_a_rerun_checks_every_body_against_todays_catalog(service):
    before = len(service.backend.sandbox.engine.jobs)
    error = refusal(lambda: service.start_rerun(SESSION, [("bfl/flux-1-dev", {"prompt": "a fox", "steps": 5000})]))
    assert error.error.field == "steps" and error.error.message.startswith("Flux:")
    body = {"prompt": "a fox", "width": 512, "height": 512, "seed": 1}
    twice = refusal(lambda: service.start_rerun(SESSION, [("bfl/flux-1-dev", body)] * 2)).error
    assert "appears twice" in twice.message
    assert "1 to 8" in refusal(lambda: service.start_rerun(SESSION, [])).error.message
    assert len(service.backend.sandbox.engine.jobs) == before


def test_a_rerun_has_no_budget_cap(service):
    # 3 priced models well over any cap a person would set on the form: a re-run still goes (the page shows the
    # cost before the button is pressed)
    plan, snapshots = service.start_rerun(SESSION, [
        ("krea/krea-2/large", {"prompt": "a fox", "aspect_ratio": "1:1", "resolution": "1K", "seed": 3}),
        ("google/nano-banana-pro", {"prompt": "a fox", "aspect_ratio": "1:1", "resolution": "1K"})])
    assert plan.preflight.cost_usd > 0.2 and not plan.preflight.over_budget
    assert all(r.phase == Phase.DONE for r in finished(plan, snapshots))


# --- comparing images -------------------------------------------------------------------------------------------

def png(color=(200, 80, 30), size=(16, 16), **save) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format="PNG", **save)
    return buffer.getvalue()


def test_image_verdicts_tell_identical_bytes_from_same_pixels_from_different(tmp_path):
    def file(name, data):
        (tmp_path / name).write_bytes(data)
        return str(tmp_path / name)

    a = file("a.png", png())
    a_text = file("a_text.png", png(pnginfo=_info(job_id="another job")))
    a_other_encoding = file("a9.png", png(compress_level=0))
    other = file("b.png", png(color=(0, 0, 0)))
    bigger = file("c.png", png(size=(32, 16)))
    assert image_verdict(a, a_text) == "identical bytes"  # our text chunks (job id, recipe) do not count
    assert image_verdict(a, a_other_encoding) == "same pixels"
    assert image_verdict(a, other) == "different pixels"
    assert image_verdict(a, other, seeded=False) == "different pixels (no seed)"
    assert image_verdict(a, bigger) == "different size (16x16 → 32x16)"
    assert image_verdict(None, a) == "only the re-run has an image"
    assert image_verdict(None, None) == "no images"


def _info(**text):
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    for key, value in text.items():
        info.add_text(key, value)
    return info


# --- hostile and broken ZIPs ------------------------------------------------------------------------------------

def entry(image: str | None = "01_bfl_flux-1-dev.png", **changes) -> dict:
    base = {"run_id": "r1", "model": "bfl/flux-1-dev", "model_name": "Flux",
            "request": {"method": "POST", "endpoint": "/generate/image/bfl/flux-1-dev",
                        "body": {"prompt": "a fox", "width": 64, "height": 64, "seed": 1}},
            "prompt": "a fox", "seed": 1, "phase": "done", "status": "completed", "job_id": "j1",
            "backend": "sandbox", "started_at": "2026-05-01T10:00:00+00:00", "queue_s": 0.1, "run_s": 1.0,
            "total_s": 1.2, "cost_usd": 0.007, "priced": True, "image_size": [16, 16], "error": None, "notes": [],
            "group_id": "g1"}
    if image is not None:
        base["image"] = image
    return {**base, **changes}


def manifest(*runs, **changes) -> dict:
    return {"format": "krea-playground/comparison", "version": 1, "api_base": "http://127.0.0.1:1",
            "runs": list(runs) or [entry()], **changes}


def make_zip(tmp_path: Path, content, files: dict | None = None, name="bundle.zip") -> Path:
    path = tmp_path / name
    with zipfile.ZipFile(path, "w") as archive:
        if content is not None:
            archive.writestr("manifest.json", content if isinstance(content, (str, bytes)) else json.dumps(content))
        for member, data in (files or {}).items():
            archive.writestr(member, data)
    return path


def refused(tmp_path, zip_path) -> str:
    with pytest.raises(BundleError) as error:
        read_bundle(zip_path, tmp_path / "out", CATALOG)
    return str(error.value)


def test_a_good_hand_made_bundle_opens_and_extracts_only_the_named_images(tmp_path):
    path = make_zip(tmp_path, manifest(), {"01_bfl_flux-1-dev.png": png(), "run-me.sh": b"rm -rf ~",
                                           "../escape.png": png(), "unnamed.png": png()})
    bundle = read_bundle(path, tmp_path / "out", CATALOG)
    assert bundle.records[0].model_name == "Flux" and bundle.records[0].image_size == (16, 16)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["01_bfl_flux-1-dev.png"]
    assert not (tmp_path / "escape.png").exists()


@pytest.mark.parametrize("name", ["../escape.png", "/tmp/escape.png", "sub/dir.png", "..\\escape.png", ".png",
                                  "image.PNG.exe", "C:escape.png"])
def test_image_names_with_folders_or_traversal_are_refused(tmp_path, name):
    path = make_zip(tmp_path, manifest(entry(image=name)), {name: png()})
    assert "not a plain .png file name" in refused(tmp_path, path)
    assert not (tmp_path / "escape.png").exists() and not Path("/tmp/escape.png").exists()


def test_a_file_that_is_not_a_zip_is_refused(tmp_path):
    path = tmp_path / "photo.zip"
    path.write_bytes(png())
    assert "is not a ZIP file" in refused(tmp_path, path)


def test_a_zip_without_a_manifest_is_refused(tmp_path):
    assert "has no manifest.json" in refused(tmp_path, make_zip(tmp_path, None, {"a.png": png()}))


@pytest.mark.parametrize("content, message", [
    ("{not json", "not valid JSON (line 1"),
    (b"\xff\xfe\x00garbage", "not UTF-8"),
    ("[1, 2, 3]", "does not describe a comparison"),
    (json.dumps({"runs": "many"}), "does not describe a comparison"),
    (json.dumps(manifest(format="someone-else/export")), "not a comparison saved by this playground"),
    (json.dumps(manifest(version=2)), "saved by a newer playground (manifest version 2"),
    (json.dumps(manifest(version="1")), "unknown version"),
    (json.dumps(manifest(runs=[])), "lists no runs"),
    (json.dumps(manifest(*[entry(image=None)] * 9)), "at most 8"),
    (json.dumps(manifest(entry(request={"endpoint": "/generate/image/bfl/flux-1-dev"}))), "no request body"),
    (json.dumps(manifest(entry(phase="exploded"))), "phase 'exploded'"),
    (json.dumps(manifest(entry(total_s="fast"))), "“total_s” must be a number"),
    (json.dumps(manifest(entry(model="krea/krea-2/medium"))), "but its request went to"),
])
def test_a_garbled_or_foreign_manifest_is_refused_with_what_is_wrong(tmp_path, content, message):
    assert message in refused(tmp_path, make_zip(tmp_path, content, {"01_bfl_flux-1-dev.png": png()}))


def test_bad_images_are_refused_naming_the_run(tmp_path):
    missing = make_zip(tmp_path, manifest(), {}, name="missing.zip")
    assert "Run 1 (Flux)" in refused(tmp_path, missing) and "missing from the ZIP" in refused(tmp_path, missing)
    not_png = make_zip(tmp_path, manifest(), {"01_bfl_flux-1-dev.png": b"GIF89a not a png"}, name="gif.zip")
    assert "is not a PNG image" in refused(tmp_path, not_png)
    truncated = make_zip(tmp_path, manifest(), {"01_bfl_flux-1-dev.png": png(size=(64, 64))[:60]}, name="cut.zip")
    assert "damaged PNG" in refused(tmp_path, truncated)
    huge = png()[:16] + struct.pack(">II", 100_000, 100_000) + png()[24:]  # claims 10 gigapixels
    assert "more than this playground opens" in refused(
        tmp_path, make_zip(tmp_path, manifest(), {"01_bfl_flux-1-dev.png": huge}, name="huge.zip"))


def test_entries_over_the_size_caps_are_refused_before_they_are_unpacked(tmp_path, monkeypatch):
    monkeypatch.setattr(bundles, "MAX_IMAGE_BYTES", 10_000)
    big = make_zip(tmp_path, manifest(), {"01_bfl_flux-1-dev.png": png() + b"\0" * 20_000}, name="big.zip")
    assert "over the 10 KB limit" in refused(tmp_path, big)
    monkeypatch.setattr(bundles, "MAX_MANIFEST_BYTES", 100)
    assert "manifest.json is" in refused(tmp_path, make_zip(tmp_path, manifest(), {}, name="m.zip"))
    monkeypatch.setattr(bundles, "MAX_MEMBERS", 3)
    many = make_zip(tmp_path, manifest(), {f"{i}.txt": b"x" for i in range(5)}, name="many.zip")
    assert "holds 6 files" in refused(tmp_path, many)
    monkeypatch.setattr(bundles, "MAX_BUNDLE_BYTES", 50)
    assert "a comparison bundle is at most" in refused(tmp_path, many)


def test_a_zip_whose_directory_lies_about_a_size_is_refused_as_damaged(tmp_path):
    data = png() + b"\0" * 5000  # a bomb's trick: the directory says 10 bytes, the entry unpacks to more
    path = make_zip(tmp_path, manifest(), {"01_bfl_flux-1-dev.png": data})
    raw = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("01_bfl_flux-1-dev.png")
    real = struct.pack("<I", info.file_size)
    for offset in range(len(raw) - 4):  # the uncompressed size in the local header and the central directory
        if raw[offset:offset + 4] == real:
            raw[offset:offset + 4] = struct.pack("<I", 10)
    path.write_bytes(bytes(raw))
    assert "could not be read from the ZIP" in refused(tmp_path, path)


def test_a_model_gone_from_the_catalog_keeps_its_saved_name():
    record = record_from_manifest(entry(model="bytedance/seedream-3", model_name="Seedream 3", request={
        "endpoint": "/generate/image/bytedance/seedream-3", "body": {"prompt": "a fox"}}), CATALOG)
    assert record.model_name == "Seedream 3" and record.request_path == "/generate/image/bytedance/seedream-3"


# --- the Compare tab's view of a past comparison ----------------------------------------------------------------

def test_the_compare_tab_fills_its_form_and_shows_a_stored_group_without_running(service, saved):
    import gradio as gr

    from playground.recipes import CompareRecipe, RecipeError
    from playground.ui.compare_tab import build_compare_tab
    from playground.ui.context import UIContext

    with gr.Blocks() as demo:
        tab = build_compare_tab(UIContext(demo, CATALOG, service.backend, service.sessions, service, 4))
    values = tab.fill(CompareRecipe("a fox", ("bfl/flux-1-dev", "krea/krea-2/medium"), seed=5, steps=20))
    assert len(values) == len(tab.fill_outputs) == 8
    assert values[:2] == ["a fox", ["bfl/flux-1-dev", "krea/krea-2/medium"]] and values[4:7] == [5, False, "20"]
    assert tab.fill(CompareRecipe("a fox", ("bfl/flux-1-dev",)))[5] is True  # no seed: randomize
    with pytest.raises(RecipeError, match="acme/painter"):
        tab.fill(CompareRecipe("a fox", ("acme/painter",)))

    records, _zip = saved
    _group, runs = service.store.group(records[0].group_id)  # History's records: model ids, images by path
    before = len(service.backend.sandbox.engine.jobs)
    shown = tab.show_past([r.record for r in reversed(runs)], {"prompt": "a lighthouse at dusk",
                                                               "model_ids": list(THREE)})
    assert len(shown) == len(tab.past_outputs) and len(service.backend.sandbox.engine.jobs) == before
    tables = [v for v in shown if isinstance(v, str) and 'class="results-table"' in v]
    rows = re.findall(r"<tr data-status[^>]*>(.*?)</tr>", tables[0])
    models = [re.search(r"<td[^>]*>(.*?)</td>", row).group(1) for row in rows]
    assert models == ["Krea 2 Medium", "Flux", "GPT Image 2"]  # names, not the store's ids
    assert all(r.job_id in row for r, row in zip(records, rows))
    pictures = [v["value"] for v in shown if isinstance(v, dict) and str(v.get("value", "")).endswith(".png")]
    assert pictures == [r.image_path for r in records]  # the tiles show the stored images from their paths
    assert any(isinstance(v, list) and [r.run_id for r in v] == [r.run_id for r in records] for v in shown)


def test_a_bundle_refused_half_way_leaves_no_files_behind(tmp_path):
    good, bad = entry(), entry(image="02_seedream.png", run_id="r2")
    path = make_zip(tmp_path, manifest(good, bad), {"01_bfl_flux-1-dev.png": png(), "02_seedream.png": b"junk"})
    assert "Run 2" in refused(tmp_path, path)
    assert list((tmp_path / "out").iterdir()) == []
