"""Sizes: ratio and resolution to pixels, what each job produces, and adapting one size to every model."""

from __future__ import annotations

import pytest

from playground.catalog import (
    ASPECT_RATIOS,
    nearest_aspect_ratio,
    output_size,
    parse_aspect_ratio,
    ratio_resolution_to_size,
    size_params,
    snap_size,
    validate_params,
)


def test_aspect_ratio_table_and_parsing():
    assert ASPECT_RATIOS["16:9"] == pytest.approx(16 / 9)
    assert ASPECT_RATIOS["2.35:1"] == pytest.approx(2.35)
    assert parse_aspect_ratio("7:3") == pytest.approx(7 / 3)
    for bad in ("wide", "0:1", "1:0", "1:2:3", ""):
        with pytest.raises(ValueError):
            parse_aspect_ratio(bad)


@pytest.mark.parametrize("ratio, resolution, size", [
    ("1:1", "1K", (1024, 1024)),
    ("16:9", "1K", (1344, 768)),
    ("9:16", "1K", (768, 1344)),
    ("1:1", "2K", (2048, 2048)),
    ("16:9", "4K", (5376, 3072)),
])
def test_ratio_resolution_to_size(ratio, resolution, size):
    assert ratio_resolution_to_size(ratio, resolution) == size


def test_every_ratio_is_about_one_megapixel_in_multiples_of_16():
    for ratio, value in ASPECT_RATIOS.items():
        w, h = ratio_resolution_to_size(ratio, "1K")
        assert w % 16 == 0 and h % 16 == 0, ratio
        assert 0.85 < w * h / 1024**2 < 1.15, ratio
        assert w / h == pytest.approx(value, rel=0.06), ratio
    with pytest.raises(ValueError):
        ratio_resolution_to_size("1:1", "8K")


def test_output_size_for_each_sizing_kind(catalog):
    flux = catalog.get("bfl/flux-1-dev")
    assert output_size(flux, {"prompt": "x", "width": 1024, "height": 576}) == (1024, 576)
    assert output_size(flux, {"prompt": "x"}) == (1024, 1024)
    assert output_size(catalog.get("bytedance/seedream-4"), {"prompt": "x"}) == (1024, 1024)
    krea = catalog.get("krea/krea-2/medium")
    assert output_size(krea, {"prompt": "x"}) == (1024, 1024)
    assert output_size(krea, {"prompt": "x", "aspect_ratio": "16:9", "resolution": "1K"}) == (1344, 768)
    turbo = catalog.get("krea/krea-2/medium-turbo")
    assert output_size(turbo, {"prompt": "x", "aspect_ratio": "1:1", "resolution": "2K"}) == (2048, 2048)
    nbp = catalog.get("google/nano-banana-pro")
    assert output_size(nbp, {"prompt": "x", "width": 1200, "height": 800}) == (1200, 800)
    assert output_size(nbp, {"prompt": "x", "aspect_ratio": "9:16", "resolution": "2K"}) == (1536, 2688)
    assert output_size(nbp, {"prompt": "x"}) == (1024, 1024)
    assert output_size(catalog.get("google/nano-banana"), {"prompt": "x", "aspect_ratio": "16:9"}) == (1344, 768)
    assert output_size(catalog.get("bytedance/seededit"), {"prompt": "x"}) == (1024, 1024)


def test_nearest_aspect_ratio():
    assert nearest_aspect_ratio(1920, 1080) == "16:9"
    assert nearest_aspect_ratio(1080, 1350) == "4:5"
    assert nearest_aspect_ratio(1000, 1000) == "1:1"
    assert nearest_aspect_ratio(2560, 1080, ["1:1", "16:9", "2.35:1"]) == "2.35:1"
    assert nearest_aspect_ratio(1024, 576, ["1:1", "4:3", "2:3", "9:16"]) == "4:3"
    with pytest.raises(ValueError):
        nearest_aspect_ratio(1, 1, [])


def test_snap_size_rounds_to_multiple_of_16_for_gpt_image_2(catalog):
    gpt = catalog.get("openai/gpt-image-2")
    w, h, notes = snap_size(gpt, 1080, 1350)
    assert (w, h) == (1088, 1344)
    assert len(notes) == 2 and "multiple of 16" in notes[0]
    assert snap_size(gpt, 1024, 1024) == (1024, 1024, [])


def test_snap_size_scales_into_range_keeping_the_shape(catalog):
    pro = catalog.get("bfl/flux-1.1-pro")  # 256..1440
    w, h, notes = snap_size(pro, 2048, 1152)
    assert (w, h) == (1440, 810)
    assert notes and "1440" in notes[0]
    flux = catalog.get("bfl/flux-1-dev")  # 512..2368
    assert snap_size(flux, 256, 256)[:2] == (512, 512)
    assert snap_size(flux, 1024, 576) == (1024, 576, [])
    seedream = catalog.get("bytedance/seedream-4")
    assert snap_size(seedream, 8000, 8000)[:2] == (4096, 4096)


def test_snap_size_for_ratio_and_imageless_sizes(catalog):
    krea = catalog.get("krea/krea-2/medium")
    w, h, notes = snap_size(krea, 1920, 1080)
    assert (w, h) == (1344, 768)
    assert "16:9" in notes[0]
    assert snap_size(krea, 1024, 1024) == (1024, 1024, [])
    assert snap_size(catalog.get("bytedance/seededit"), 800, 600)[:2] == (1024, 1024)


def test_size_params_validate_for_every_model(catalog):
    for model in catalog.models:
        for w, h in ((1024, 576), (1080, 1350), (4000, 1000), (300, 300)):
            fields, _ = size_params(model, w, h)
            body = {"prompt": "a cat", **fields}
            for name in model.required:
                body.setdefault(name, model.param(name).default)
            if model.needs_image:
                continue
            assert validate_params(model, body) == [], (model.id, w, h, fields)
    assert size_params(catalog.get("z-image/z-image"), 1024, 576)[0] == {"aspect_ratio": "16:9", "resolution": "1K"}
    assert size_params(catalog.get("bytedance/seededit"), 1024, 576)[0] == {}


def test_output_size_of_spec_valid_odd_sizes(catalog):
    # Fractional sides (the spec types them "number") are rounded; a Seedream side below 16 px (its spec sets no
    # minimum) is never what a job produces.
    assert output_size(catalog.get("bfl/flux-1-dev"), {"width": 1000.4, "height": 767.6}) == (1000, 768)
    assert output_size(catalog.get("bytedance/seedream-4"), {"width": 5, "height": 4096}) == (16, 4096)
