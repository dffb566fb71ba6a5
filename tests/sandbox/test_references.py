"""Image inputs over real HTTP: style references pull the palette in proportion to strength, an edit input gives
the layout, only the sandbox's own images (and data: URIs, and Krea's hosts) are read, the same request gives the
same bytes."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from PIL import Image, ImageDraw

from playground.sandbox.restyle import colour_table, palette_map

from .conftest import FLUX, Api
from .test_assets import image_bytes, uploaded

K2 = "krea/krea-2/medium"
KONTEXT = "bfl/flux-1-kontext-dev"
SEEDEDIT = "bytedance/seededit"
FLUX_512 = {"prompt": "a serene mountain landscape at sunset", "width": 512, "height": 512, "seed": 7}
ORANGE = (235, 120, 20)


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def shapes(flip: bool = False) -> Image.Image:
    """A bold layout: a dark disc on a light ground, a dark band at the bottom (mirrored with ``flip``)."""
    image = Image.new("RGB", (400, 300), (235, 235, 230))
    draw = ImageDraw.Draw(image)
    draw.ellipse((40, 40, 200, 200), fill=(20, 20, 30))
    draw.rectangle((0, 240, 400, 300), fill=(60, 40, 20))
    return image.transpose(Image.FLIP_LEFT_RIGHT) if flip else image


def result(api: Api, model: str, body: dict) -> tuple[bytes, Image.Image]:
    job = api.job(model, body)
    done, _ = api.follow(job["job_id"])
    assert done["status"] == "completed", done
    data = api.session.get(done["result"]["urls"][0]).content
    return data, Image.open(io.BytesIO(data)).convert("RGB")


def mean_colour(image: Image.Image) -> np.ndarray:
    return np.asarray(image, np.float64).reshape(-1, 3).mean(axis=0)


def luminance(image: Image.Image, size: tuple[int, int] = (64, 48)) -> np.ndarray:
    return np.asarray(image.convert("L").resize(size, Image.BILINEAR), np.float64).ravel()


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a, b)[0, 1])


def redness(image: Image.Image) -> float:
    """Mean R minus the mean of mean G and mean B: 255 for pure red, 0 for any grey."""
    r, g, b = mean_colour(image)
    return float(r - (g + b) / 2)


def stripes() -> Image.Image:
    """Another layout altogether: dark vertical bands on a light ground."""
    image = Image.new("RGB", (400, 300), (230, 230, 230))
    draw = ImageDraw.Draw(image)
    for x in range(0, 400, 80):
        draw.rectangle((x, 0, x + 40, 300), fill=(20, 20, 20))
    return image


# ------------------------------------------------------------------------------ acceptance: image inputs


def test_krea_2_medium_with_a_solid_red_style_reference_at_strength_1_is_redder_than_without(api):
    # Acceptance ("Image inputs"): the same prompt and the same seed, with and without the reference.
    red = uploaded(api, image_bytes(size=(64, 64), color=(255, 0, 0)))
    body = {"prompt": "a quiet harbour at dawn", "aspect_ratio": "1:1", "resolution": "1K", "seed": 1234}
    _, without = result(api, K2, body)
    _, with_red = result(api, K2, {**body, "image_style_references": [{"url": red["image_url"], "strength": 1}]})
    assert with_red.size == without.size
    assert redness(with_red) - redness(without) > 100, (redness(without), redness(with_red))  # of 255
    assert redness(with_red) > 150
    _, again = result(api, K2, body)
    assert again.tobytes() == without.tobytes()  # same prompt and seed: the difference is the reference's


def test_flux_kontext_keeps_the_layout_of_its_input_image(api):
    # Acceptance ("Image inputs"): downscaled luminance follows the input given as image_url, well above how it
    # follows a different input.
    body = {"prompt": "a lake at sunrise", "width": 768, "height": 576, "seed": 11}
    inputs = {"shapes": shapes(), "stripes": stripes()}
    edits = {}
    for name, picture in inputs.items():
        asset = uploaded(api, png(picture))
        _, edits[name] = result(api, KONTEXT, {**body, "image_url": asset["image_url"]})
    for name, other in (("shapes", "stripes"), ("stripes", "shapes")):
        own = correlation(luminance(edits[name]), luminance(inputs[name]))
        different = correlation(luminance(edits[name]), luminance(inputs[other]))
        assert own > 0.8 and own - different > 0.5, (name, own, different)


# --------------------------------------------------------------------------------------- style references


def test_a_style_reference_pulls_the_mean_colour_in_proportion_to_strength(api):
    asset = uploaded(api, image_bytes(size=(64, 64), color=ORANGE))
    target = np.asarray(ORANGE, np.float64)
    distances = {}
    for strength in (0.0, 0.25, 0.5, 1.0):
        refs = [{"url": asset["image_url"], "strength": strength}]
        _, image = result(api, FLUX, {**FLUX_512, "style_images": refs})
        distances[strength] = float(np.linalg.norm(mean_colour(image) - target))
    d0 = distances[0.0]
    assert d0 > 60  # the prompt's own picture is far from orange
    assert distances[0.0] > distances[0.25] > distances[0.5] > distances[1.0]
    for strength in (0.25, 0.5, 1.0):  # the sandbox pulls 0.8 x strength of the way (docs/SANDBOX.md)
        assert distances[strength] / d0 == pytest.approx(1 - 0.8 * strength, abs=0.06), distances
    _, plain = result(api, FLUX, FLUX_512)
    assert float(np.linalg.norm(mean_colour(plain) - target)) == pytest.approx(d0, abs=1.0)


def test_a_negative_strength_pushes_away_from_the_reference(api):
    asset = uploaded(api, image_bytes(size=(64, 64), color=ORANGE))
    target = np.asarray(ORANGE, np.float64)
    _, plain = result(api, FLUX, FLUX_512)
    _, away = result(api, FLUX, {**FLUX_512, "style_images": [{"url": asset["image_url"], "strength": -1}]})
    assert np.linalg.norm(mean_colour(away) - target) > np.linalg.norm(mean_colour(plain) - target) + 20


def test_krea_2_takes_data_uris_moodboards_and_sandbox_styles(api):
    blue = "data:image/png;base64," + base64.b64encode(image_bytes(color=(20, 60, 230))).decode()
    body = {"prompt": "a quiet harbour", "aspect_ratio": "1:1", "resolution": "1K", "seed": 3}
    _, plain = result(api, K2, body)
    _, styled = result(api, K2, {**body, "image_style_references": [{"url": blue, "strength": 1}]})
    assert mean_colour(styled)[2] - mean_colour(styled)[0] > mean_colour(plain)[2] - mean_colour(plain)[0] + 40
    style = next(s for s in api.get("/styles").json()["items"] if s["title"] == "Sandbox Noir")  # greys
    _, noir = result(api, K2, {**body, "styles": [{"id": style["id"], "strength": 1}]})
    assert np.asarray(noir, np.float64).std(axis=2).mean() < np.asarray(plain, np.float64).std(axis=2).mean() * 0.5
    _, moody = result(api, K2, {**body, "moodboards": [{"id": "5b0a7c6e-1111-4a2b-9c3d-000000000001"}]})
    assert moody.tobytes() != plain.tobytes()
    _, unknown = result(api, K2, {**body, "styles": [{"id": "not-a-sandbox-style", "strength": 1}]})
    assert unknown.tobytes() == plain.tobytes()  # a LoRA the sandbox does not have: no effect


def test_palette_map_gives_exactly_the_references_mean_colour():
    picture = Image.open(io.BytesIO(image_bytes(size=(300, 200), noise=True))).convert("RGB")
    reference = shapes()
    mapped = palette_map(picture, colour_table(reference))
    small = reference.copy()
    small.thumbnail((64, 64), Image.BILINEAR, reducing_gap=2.0)
    assert mean_colour(mapped) == pytest.approx(mean_colour(small), abs=1.0)


# ------------------------------------------------------------------------------------------------- edits


def test_an_edit_keeps_the_layout_of_its_input(api):
    body = {"prompt": "a lake at sunrise", "width": 768, "height": 576, "seed": 11}
    edits = {}
    for flip in (False, True):
        asset = uploaded(api, png(shapes(flip)))
        _, edits[flip] = result(api, KONTEXT, {**body, "image_url": asset["image_url"]})
    source, mirrored = luminance(shapes()), luminance(shapes(flip=True))
    assert correlation(luminance(edits[False]), source) > 0.8
    assert correlation(luminance(edits[True]), mirrored) > 0.8
    assert correlation(luminance(edits[False]), mirrored) < 0.6  # the layout follows the input, not the prompt
    assert edits[False].size == (768, 576)


def test_a_completed_job_image_can_be_the_next_jobs_input(api):
    first, first_image = result(api, FLUX, FLUX_512)
    url = api.get("/jobs").json()["items"][0]["result"]["urls"][0]
    _, edited = result(api, SEEDEDIT, {"prompt": "make it winter", "image_url": url, "seed": 1})
    assert correlation(luminance(edited), luminance(first_image)) > 0.7


def test_image_urls_are_edit_inputs_and_then_style_images_are_ignored(api):
    asset = uploaded(api, png(shapes()))
    orange = uploaded(api, image_bytes(size=(64, 64), color=ORANGE))
    body = {"prompt": "a city at night", "width": 512, "height": 384, "image_urls": [asset["image_url"]]}
    _, alone = result(api, "google/nano-banana-2", body)
    assert correlation(luminance(alone), luminance(shapes())) > 0.8
    styled, _ = result(api, "google/nano-banana-2",
                       {**body, "style_images": [{"url": orange["image_url"], "strength": 2}]})
    # "If provided, style images are ignored" [spec]: the PNG names the inputs the render used.
    assert Image.open(io.BytesIO(styled)).text["references"] == "image_urls.0"


# -------------------------------------------------------------------------------------------- refusals


@pytest.mark.parametrize("model, body, field", [
    (FLUX, {**FLUX_512, "style_images": [{"url": "https://example.com/a.png", "strength": 1}]}, "style_images.0.url"),
    (KONTEXT, {"prompt": "x", "image_url": "https://cdn.example.org/in.jpg"}, "image_url"),
    (K2, {"prompt": "x", "aspect_ratio": "1:1", "resolution": "1K",
          "image_style_references": [{"url": "http://10.0.0.5/a.png", "strength": 0.5}]},
     "image_style_references.0.url"),
    ("runway/gen-4-image", {"prompt": "x", "reference_images": [{"url": "https://imgur.com/a.png", "tag": "hero"}]},
     "reference_images.0.url"),
    ("google/nano-banana-2", {"prompt": "a cat", "image_urls": ["https://example.com/a.png"]}, "image_urls.0"),
])
def test_a_url_on_another_host_is_an_invalid_asset_url_naming_the_field(api, model, body, field):
    response = api.submit(model, body)
    assert response.status_code == 400
    message = response.json()["error"]
    assert message.startswith("Invalid asset URL") and field in message


def test_sandbox_urls_that_hold_no_image_are_refused(api, sandbox):
    asset = uploaded(api)
    api.delete(f"/assets/{asset['id']}")
    gone = api.submit(KONTEXT, {"prompt": "x", "image_url": asset["image_url"]})
    assert gone.status_code == 400 and "Invalid asset URL" in gone.json()["error"]
    elsewhere = api.submit(KONTEXT, {"prompt": "x", "image_url": f"{sandbox.base_url}/openapi.json"})
    assert elsewhere.status_code == 400 and "image_url" in elsewhere.json()["error"]
    for data_uri in ("data:image/png;base64,!!!", "data:text/plain,hello",
                     "data:image/png;base64," + base64.b64encode(b"not an image").decode()):
        body = {"prompt": "x", "aspect_ratio": "1:1", "resolution": "1K",
                "image_style_references": [{"url": data_uri, "strength": 0.5}]}
        response = api.submit(K2, body)
        assert response.status_code == 400 and "image_style_references.0.url" in response.json()["error"]


def test_a_loopback_alias_of_the_sandbox_is_the_sandbox(api, sandbox):
    asset = uploaded(api, png(shapes()))
    alias = asset["image_url"].replace("127.0.0.1", "localhost")
    assert api.submit(KONTEXT, {"prompt": "x", "image_url": alias}).status_code == 200


def test_krea_hosted_urls_are_accepted_with_a_stand_in_picture(api):
    body = {"prompt": "make it blue", "image_url": "https://gen.krea.ai/images/abc.png", "seed": 5}
    first, _ = result(api, SEEDEDIT, body)
    again, _ = result(api, SEEDEDIT, body)
    assert first == again


# ------------------------------------------------------------------------------------------- determinism


def test_the_same_request_with_references_gives_the_same_bytes(api):
    edit = uploaded(api, png(shapes()))
    orange = uploaded(api, image_bytes(size=(64, 64), color=ORANGE))
    body = {"prompt": "a forest", "width": 512, "height": 512, "seed": 42, "image_url": edit["image_url"],
            "style_images": [{"url": orange["image_url"], "strength": 0.6}]}
    first, _ = result(api, KONTEXT, body)
    second, _ = result(api, KONTEXT, body)
    assert first == second
    other = uploaded(api, png(shapes(flip=True)))
    flipped, _ = result(api, KONTEXT, {**body, "image_url": other["image_url"]})
    assert flipped != first
