"""The files a sandbox job publishes: a final PNG any reader decodes to exactly the rendered pixels, small preview
JPEGs, the same bytes for the same request, over HTTP as well as called directly."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from playground.sandbox.job_files import FINAL_NAME, preview_name, render_files
from playground.sandbox.png import encode_png
from playground.sandbox.renderer import render_image, render_preview, render_previews

from .conftest import FLUX

PROMPT = "a serene mountain landscape at sunset"


@pytest.fixture(scope="module")
def files() -> dict[str, bytes]:
    return render_files(FLUX, PROMPT, 42, 768, 512, 3)


def test_the_final_png_decodes_to_the_rendered_pixels_and_names_its_origin(files):
    with Image.open(io.BytesIO(files[FINAL_NAME])) as png:
        assert png.format == "PNG" and png.mode == "RGB" and png.size == (768, 512)
        assert png.tobytes() == render_image(FLUX, PROMPT, 42, 768, 512).tobytes()
        assert png.text == {"sandbox": "true", "model": FLUX, "seed": "42"}
    Image.open(io.BytesIO(files[FINAL_NAME])).verify()  # chunk CRCs and structure, as Pillow checks them


def test_previews_are_small_jpegs_going_from_noise_to_the_picture(files):
    assert list(files) == [FINAL_NAME, preview_name(1), preview_name(2), preview_name(3)]
    final = Image.open(io.BytesIO(files[FINAL_NAME])).convert("RGB").resize((384, 256), Image.BILINEAR)
    diffs = []
    for index in (1, 2, 3):
        with Image.open(io.BytesIO(files[preview_name(index)])) as frame:
            assert frame.format == "JPEG" and frame.size == (384, 256)
            diffs.append(np.abs(np.asarray(frame, np.int16) - np.asarray(final, np.int16)).mean())
    assert diffs == sorted(diffs, reverse=True)


def test_the_same_request_gives_the_same_bytes_and_another_seed_another_picture(files):
    assert render_files(FLUX, PROMPT, 42, 768, 512, 3) == files
    other = render_files(FLUX, PROMPT, 43, 768, 512, 3)
    assert other[FINAL_NAME] != files[FINAL_NAME] and other[preview_name(1)] != files[preview_name(1)]
    assert list(render_files("google/imagen-4", PROMPT, 42, 512, 512, 0)) == [FINAL_NAME]


def test_frames_made_together_equal_frames_made_one_by_one():
    final = render_image(FLUX, PROMPT, 5, 640, 512)
    together = render_previews(final, [0.0, 0.25, 0.5, 0.75, 1.0], 5)
    assert [f.tobytes() for f in together] == [render_preview(final, p, 5).tobytes() for p in (0, .25, .5, .75, 1)]


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L", "LA", "P", "1", "I;16", "CMYK"])
def test_the_encoder_writes_pngs_pillow_reads_back_exactly(mode):
    pixels = np.random.default_rng(1).integers(0, 256, (37, 53, 4), dtype=np.uint8)
    image = Image.fromarray(pixels, "RGBA").convert(mode)
    expected = image if mode in ("RGB", "RGBA", "L", "LA") else image.convert("RGB")
    with Image.open(io.BytesIO(encode_png(image, {"k": "v"}))) as back:
        assert back.mode == expected.mode and back.tobytes() == expected.tobytes() and back.text == {"k": "v"}


def test_the_same_seed_over_http_gives_identical_images(api):
    body = {"prompt": PROMPT, "width": 640, "height": 512, "seed": 9}
    images = []
    for _ in range(2):
        job, _ = api.follow(api.job(FLUX, body)["job_id"])
        response = api.get(job["result"]["urls"][0].removeprefix(api.base))
        assert response.status_code == 200 and response.headers["content-type"] == "image/png"
        images.append(response.content)
    assert images[0] == images[1]
    with Image.open(io.BytesIO(images[0])) as png:
        png.load()
        assert png.size == (640, 512) and png.text["seed"] == "9"
