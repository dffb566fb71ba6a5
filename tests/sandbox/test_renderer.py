"""The sandbox renderer: deterministic, model-specific, prompt-shaped pictures and diffusion-like previews."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from playground.sandbox.renderer import (
    STYLES,
    _mark,
    parse_prompt,
    render_image,
    render_preview,
)

ONE_PER_PROVIDER = [
    "krea/krea-2/medium", "bfl/flux-1-dev", "google/nano-banana-pro", "openai/gpt-image-2",
    "bytedance/seedream-4", "ideogram/ideogram-3", "luma/uni-1", "runway/gen-4-image", "qwen/2512",
    "z-image/z-image",
]


def pixels(img: Image.Image) -> np.ndarray:
    return np.asarray(img, np.float32)


def mean_abs_diff(a: Image.Image, b: Image.Image) -> float:
    return float(np.abs(pixels(a) - pixels(b)).mean())


# --- size and determinism -----------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [(1024, 1024), (1024, 576), (576, 1024), (1000, 777), (64, 64), (64, 1500), (333, 97)])
def test_the_picture_has_exactly_the_requested_size(size: tuple[int, int]) -> None:
    img = render_image("bfl/flux-1-dev", "a serene mountain landscape at sunset", 1, *size)
    assert img.mode == "RGB"
    assert img.size == size


def test_a_huge_request_returns_that_size() -> None:
    img = render_image("krea/krea-2/medium", "a cat on a snowy night", 3, 8192, 8192)
    assert img.size == (8192, 8192)
    assert img.mode == "RGB"


def test_sizes_outside_the_supported_range_are_refused() -> None:
    with pytest.raises(ValueError, match="width and height"):
        render_image("bfl/flux-1-dev", "x", 1, 8, 512)


@pytest.mark.parametrize("model", ONE_PER_PROVIDER + ["acme/unknown-model"])
def test_the_same_arguments_give_identical_bytes(model: str) -> None:
    args = (model, "neon cyberpunk city at night", 1234, 640, 384)
    assert render_image(*args).tobytes() == render_image(*args).tobytes()


def test_different_seeds_give_different_pictures() -> None:
    a = render_image("google/imagen-4", "ocean beach at sunrise", 1, 512, 512)
    b = render_image("google/imagen-4", "ocean beach at sunrise", 2, 512, 512)
    assert mean_abs_diff(a, b) > 2


def test_one_seed_gives_the_same_composition_at_any_size() -> None:
    small = render_image("google/imagen-4", "a lake at night", 5, 256, 256)
    large = render_image("google/imagen-4", "a lake at night", 5, 1024, 1024).resize((256, 256), Image.BILINEAR)
    assert mean_abs_diff(small, large) < 8


# --- per-model looks ----------------------------------------------------------------------------------------


def test_every_provider_has_its_own_look() -> None:
    imgs = {m: render_image(m, "a serene mountain landscape at sunset", 7, 256, 256) for m in ONE_PER_PROVIDER}
    names = list(imgs)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            assert mean_abs_diff(imgs[a], imgs[b]) > 6, (a, b)


def test_models_of_one_provider_differ_too() -> None:
    a = render_image("krea/krea-2/medium", "a red fox", 1, 256, 256)
    b = render_image("krea/krea-2/large", "a red fox", 1, 256, 256)
    assert a.tobytes() != b.tobytes()


def test_unknown_models_get_a_stable_look_of_their_own() -> None:
    a = render_image("acme/mystery-1", "a quiet morning", 3, 256, 256)
    assert a.tobytes() == render_image("acme/mystery-1", "a quiet morning", 3, 256, 256).tobytes()
    assert mean_abs_diff(a, render_image("acme/other-9", "a quiet morning", 3, 256, 256)) > 3


def test_each_catalogued_provider_has_a_style() -> None:
    assert set(STYLES) >= {"krea", "bfl", "google", "openai", "bytedance", "ideogram", "luma", "runway", "qwen",
                           "z-image"}


# --- prompt words -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("model", ONE_PER_PROVIDER + ["acme/unknown-model"])
def test_night_is_darker_than_a_snowy_day(model: str) -> None:
    night = pixels(render_image(model, "a lake at night", 5, 256, 256)).mean()
    day = pixels(render_image(model, "a snowy day", 5, 256, 256)).mean()
    assert night < day - 30


@pytest.mark.parametrize("model", ONE_PER_PROVIDER + ["acme/unknown-model"])
def test_a_sunset_is_warm(model: str) -> None:
    px = pixels(render_image(model, "a serene mountain landscape at sunset", 5, 256, 256))
    assert px[..., 0].mean() > px[..., 2].mean()


def test_colour_words_tint_the_picture() -> None:
    red = pixels(render_image("openai/gpt-image-2", "a red sky over hills", 2, 256, 256))
    blue = pixels(render_image("openai/gpt-image-2", "a blue sky over hills", 2, 256, 256))
    assert red[..., 0].mean() - red[..., 2].mean() > blue[..., 0].mean() - blue[..., 2].mean() + 10


def test_scene_words_change_the_picture() -> None:
    base = render_image("bfl/flux-1-dev", "a quiet evening", 9, 256, 256)
    for words in ("a quiet evening by the ocean", "a quiet evening in the forest", "a quiet evening in the city",
                  "a quiet evening in the desert", "a cat on a quiet evening"):
        assert mean_abs_diff(base, render_image("bfl/flux-1-dev", words, 9, 256, 256)) > 4, words


def test_prompt_words_are_read_as_scene_tags_and_colours() -> None:
    scene = parse_prompt("A serene mountain landscape at sunset, with a RED sky and a cat")
    assert {"mountain", "sunset", "cat"} <= scene.tags
    assert scene.sky == "sunset"
    assert scene.colors == ((215, 45, 50),)
    assert parse_prompt("neon cyberpunk city").sky == "night"
    assert parse_prompt("", frozenset({"ocean"})).tags == {"ocean"}  # no scene words: the model's own scene


# --- the sandbox mark ---------------------------------------------------------------------------------------


def test_the_mark_is_small_semi_transparent_and_in_the_bottom_right_corner() -> None:
    img = Image.new("RGB", (1024, 576))
    _mark(img, "SANDBOX")
    px = pixels(img).max(axis=2)
    ys, xs = np.nonzero(px)
    assert len(ys) > 50
    assert ys.min() > 576 * 0.85 and xs.min() > 1024 * 0.6
    assert px.max() < 200  # semi-transparent white, never solid


def test_tiny_pictures_still_render_with_a_shorter_mark() -> None:
    assert render_image("krea/krea-2/medium-turbo", "a dog", 1, 64, 64).size == (64, 64)




# --- previews -----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def final() -> Image.Image:
    return render_image("bfl/flux-1-dev", "a serene mountain landscape at sunset", 42, 1024, 576)


def test_previews_are_small_and_keep_the_aspect_ratio(final: Image.Image) -> None:
    for progress in (0.0, 0.5, 1.0):
        frame = render_preview(final, progress, 42)
        assert frame.size == (384, 216)
        assert frame.mode == "RGB"
    assert max(render_preview(final, 0.5, 42, max_side=128).size) <= 128


def test_previews_go_from_noise_to_the_final_picture(final: Image.Image) -> None:
    target = final.resize((384, 216), Image.BILINEAR, reducing_gap=2.0)
    diffs = [mean_abs_diff(render_preview(final, p, 42), target) for p in (0.0, 0.3, 0.7, 1.0)]
    assert diffs[0] > 30
    assert diffs[3] < 1
    assert diffs == sorted(diffs, reverse=True)


def test_previews_are_deterministic_and_clamp_progress(final: Image.Image) -> None:
    assert render_preview(final, 0.4, 7).tobytes() == render_preview(final, 0.4, 7).tobytes()
    assert render_preview(final, -1, 7).tobytes() == render_preview(final, 0.0, 7).tobytes()
    assert render_preview(final, 2, 7).tobytes() == render_preview(final, 1.0, 7).tobytes()


def test_previews_of_a_picture_smaller_than_max_side_keep_its_size() -> None:
    small = render_image("google/imagen-4", "hills", 1, 200, 120)
    assert render_preview(small, 0.5, 1).size == (200, 120)
