"""What a job costs with the body that will be sent: Krea 2 costs more with style references and more again with a
moodboard (the moodboard rate when both), Nano Banana 2 more at 2K and 4K; base prices stay as they were."""

from __future__ import annotations

import pytest

from playground.catalog import applied_rules, estimate_label, estimate_usd, example_params, load_catalog
from playground.catalog.validation import EXAMPLE_IMAGE_URL

CATALOG = load_catalog()
REFS = [{"url": EXAMPLE_IMAGE_URL, "strength": 0.6}]
MOOD = [{"id": "0b7e2c1a-5f1e-4f25-9d0a-1c2b3d4e5f60"}]


def price(model_id: str, **fields) -> float | None:
    model = CATALOG.get(model_id)
    return estimate_usd(model, {**example_params(model), **fields})


@pytest.mark.parametrize("model_id, plain, refs, mood", [
    ("krea/krea-2/medium", 0.030, 0.035, 0.040),  # [C K2M]
    ("krea/krea-2/large", 0.060, 0.065, 0.070),  # [C K2L]
    ("krea/krea-2/medium-turbo", 0.015, 0.020, 0.025),  # [3P] base, [I] steps
])
def test_krea2_style_references_and_moodboards_cost_more(model_id, plain, refs, mood):
    assert price(model_id) == pytest.approx(plain)
    assert price(model_id, image_style_references=REFS) == pytest.approx(refs)
    assert price(model_id, moodboards=MOOD) == pytest.approx(mood)
    assert price(model_id, moodboards=MOOD, image_style_references=REFS) == pytest.approx(mood)  # moodboard rate
    assert price(model_id, image_style_references=[], moodboards=None) == pytest.approx(plain)  # empty: no effect


def test_the_sources_of_the_krea2_figures():
    medium = CATALOG.get("krea/krea-2/medium")
    assert {r.source for r in medium.price.rules} == {"[C K2M]"}
    turbo = CATALOG.get("krea/krea-2/medium-turbo")
    assert all(r.source.startswith("[I]") for r in turbo.price.rules)


def test_nano_banana_2_by_resolution():
    assert price("google/nano-banana-2") == 0.08
    assert price("google/nano-banana-2", resolution="2K") == 0.12
    assert price("google/nano-banana-2", resolution="4K") == 0.16


def test_ideogram_3_with_a_character_reference():
    assert price("ideogram/ideogram-3") == 0.063
    assert price("ideogram/ideogram-3", character_reference_images=[EXAMPLE_IMAGE_URL]) == 0.1575


def test_models_without_a_usd_price_stay_unpriced():
    assert price("openai/gpt-image-2") is None
    assert price("bytedance/seedream-4", style_images=[{"url": EXAMPLE_IMAGE_URL, "strength": 1}]) is None


def test_without_inputs_every_estimate_is_the_base_price():
    for model in CATALOG.models:
        assert estimate_usd(model, example_params(model)) == model.price.usd, model.id


def test_base_price_fields_are_unchanged():
    medium = CATALOG.get("krea/krea-2/medium").price
    assert (medium.usd, medium.compute_units, medium.basis, medium.source) == (0.03, None, "per image at 1K",
                                                                               "confirmed")
    assert medium.label() == "$0.030 per image at 1K"


def test_labels_for_the_form():
    medium = CATALOG.get("krea/krea-2/medium")
    body = {**example_params(medium), "moodboards": MOOD, "image_style_references": REFS}
    assert [r.label for r in applied_rules(medium, body)] == ["with a moodboard", "with style references"]
    assert estimate_label(medium, body) == "$0.040 with a moodboard [C K2M]"
    turbo = CATALOG.get("krea/krea-2/medium-turbo")
    assert estimate_label(turbo, {**example_params(turbo), "image_style_references": REFS}).startswith("~$0.020 ")
    assert estimate_label(medium, example_params(medium)) == medium.price.label()
    assert estimate_usd(medium, "not a body") == 0.03  # type: ignore[arg-type]
