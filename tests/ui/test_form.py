"""The Generate form's helpers: size rules shown under the size boxes, what is read back for a model."""

import pytest

from playground.catalog import load_catalog
from playground.ui.form import size_info

CATALOG = load_catalog()
SIZED = [m for m in CATALOG.models if m.param("width") is not None]


@pytest.mark.parametrize("model", SIZED, ids=[m.id for m in SIZED])
def test_every_models_size_rule_is_stated_in_full(model):
    for name in ("width", "height"):
        text = size_info(model.param(name))
        assert "?" not in text and "–" in text and text.endswith(("px", "multiple of 16")), text


def test_gpt_image_2_states_its_range_and_multiple():
    assert size_info(CATALOG.get("openai/gpt-image-2").param("width")) == "480–3840 px, multiple of 16"
