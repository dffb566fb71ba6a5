"""Every model says which image inputs it takes (kind, count, strength, required), and validation holds bodies
to exactly that: URLs as the spec says, per-model counts, strength ranges, one message naming the value's path."""

from __future__ import annotations

import json

import pytest

from playground.catalog import IMAGE_INPUT_KINDS, Catalog, ImageInput, example_params, load_catalog, validate_params
from playground.catalog.validation import EXAMPLE_IMAGE_URL, is_data_image_uri, is_http_url

CATALOG = load_catalog()
KREA2 = ("krea/krea-2/medium", "krea/krea-2/large", "krea/krea-2/medium-turbo")
PNG_DATA_URI = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8/5+hHgAHggJ/PchI7wAAAABJRU5ErkJggg=="

# (model, field) -> (kind, max items, strength min, strength max, required): the table of the issue.
TABLE = {
    ("krea/krea-2/medium", "image_style_references"): ("style_reference", 10, 0, 1, False),
    ("krea/krea-2/medium", "moodboards"): ("moodboard", 1, 0, 1, False),
    ("krea/krea-2/medium", "styles"): ("lora_style", None, -2, 2, False),
    ("bfl/flux-1-dev", "image_url"): ("edit_image", 1, 0, 1, False),
    ("bfl/flux-1-dev", "styles"): ("lora_style", None, -2, 2, False),
    ("bfl/flux-1-dev", "style_images"): ("style_image", None, -2, 2, False),
    ("bfl/flux-1-dev", "image_style_references"): ("style_reference", None, -2, 2, False),
    ("bfl/flux-1-kontext-dev", "image_url"): ("edit_image", 1, 0, 1, True),
    ("bfl/flux-1-kontext-dev", "style_images"): ("style_image", 1, -2, 2, False),
    ("google/nano-banana-pro", "image_urls"): ("edit_images", 14, None, None, False),
    ("google/nano-banana-2", "image_urls"): ("edit_images", 14, None, None, False),
    ("google/nano-banana", "image_urls"): ("edit_images", None, None, None, False),
    ("ideogram/ideogram-3", "character_reference_images"): ("character_reference", 1, None, None, False),
    ("runway/gen-4-image", "reference_images"): ("reference_image", 3, None, None, True),
    ("openai/gpt-image", "styles"): ("lora_style", 5, -2, 2, False),
    ("openai/gpt-image", "style_images"): ("style_image", 15, -2, 2, False),
    ("openai/gpt-image-2", "image_urls"): ("edit_images", 10, None, None, False),
    ("openai/gpt-image-2", "style_images"): ("style_image", 10, -2, 2, False),
    ("luma/uni-1", "style_images"): ("style_image", 9, -2, 2, False),
    ("bytedance/seedream-4", "style_images"): ("style_image", None, -2, 2, False),
    ("bytedance/seedream-5-lite", "style_images"): ("style_image", 14, -2, 2, False),
    ("z-image/z-image", "image_url"): ("edit_image", 1, 0, 1, False),
    ("z-image/z-image", "style_images"): ("style_image", 1, -2, 2, False),
    ("bytedance/seededit", "image_url"): ("edit_image", 1, None, None, True),
}


def body_for(model_id: str, **fields) -> dict:
    model = CATALOG.get(model_id)
    return {**example_params(model, "a lighthouse"), **fields}


def errors(model_id: str, **fields) -> list:
    return validate_params(CATALOG.get(model_id), body_for(model_id, **fields))


def only_error(model_id: str, **fields):
    found = errors(model_id, **fields)
    assert len(found) == 1, found
    return found[0]


@pytest.mark.parametrize("key", sorted(TABLE))
def test_the_image_input_table(key):
    model_id, field = key
    item = CATALOG.get(model_id).image_input(field)
    kind, max_items, low, high, required = TABLE[key]
    assert (item.kind, item.max_items, item.strength_min, item.strength_max, item.required) == (
        kind, max_items, low, high, required)
    assert item.label and item.help and item.source  # every limit says where it comes from
    assert any(mark in item.source for mark in ("[C", "[3P", "[I"))


def test_every_image_field_of_every_model_is_described():
    for model in CATALOG.models:
        described = {i.field for i in model.image_inputs}
        for p in model.params:
            if p.name in ("image_url", "image_urls", "style_images", "image_style_references", "moodboards",
                          "character_reference_images", "reference_images", "styles"):
                assert p.name in described, (model.id, p.name)
        for item in model.image_inputs:
            assert item.kind in IMAGE_INPUT_KINDS
            param = model.param(item.field)
            assert param is not None and (item.max_items == param.max_items or item.kind == "edit_image")


def test_models_without_image_inputs():
    bare = {m.id for m in CATALOG.models if not m.image_inputs}
    assert bare == {"bfl/flux-1.1-pro", "bfl/flux-1.1-pro-ultra", "ideogram/ideogram-2-turbo", "google/imagen-3",
                    "google/imagen-4", "google/imagen-4-fast", "google/imagen-4-ultra"}


def test_krea2_inputs_and_their_defaults():
    for model_id in KREA2:
        model = CATALOG.get(model_id)
        refs, mood = model.image_input("image_style_references"), model.image_input("moodboards")
        assert (refs.strength_default, refs.data_uri, refs.by_id, refs.item_keys) == (0.5, True, False,
                                                                                     ("url", "strength"))
        assert (mood.strength_default, mood.data_uri, mood.by_id, mood.item_keys) == (0.23, False, True,
                                                                                     ("id", "strength"))
        assert model.image_input("styles").by_id


def test_single_edit_image_strength_lives_in_a_top_level_field():
    flux = CATALOG.get("bfl/flux-1-dev").image_input("image_url")
    assert (flux.strength_field, flux.strength_per_item, flux.strength_default) == ("strength", False, 1)
    z = CATALOG.get("z-image/z-image").image_input("image_url")
    assert (z.strength_field, z.strength_min, z.strength_max, z.strength_default) == ("denoising_strength", 0, 1, 0.6)
    assert CATALOG.get("bytedance/seededit").image_input("image_url").strength_field is None


def test_image_only_models_are_the_ones_whose_input_is_required():
    required = {m.id for m in CATALOG.models if any(i.required for i in m.image_inputs)}
    assert required == {m.id for m in CATALOG.models if m.needs_image} == {
        "bfl/flux-1-kontext-dev", "bytedance/seededit", "runway/gen-4-image"}


def test_image_inputs_survive_json():
    text = CATALOG.to_json()
    again = Catalog.from_json(text)
    assert again == CATALOG
    flux = json.loads(text)["models"][[m.id for m in CATALOG.models].index("bfl/flux-1-dev")]
    assert {"field": "image_url", "kind": "edit_image"}.items() <= flux["image_inputs"][0].items()
    item = CATALOG.get("runway/gen-4-image").image_input("reference_images")
    assert ImageInput.from_dict(json.loads(json.dumps(item.to_dict()))) == item


def test_a_newer_spec_maximum_wins_over_ours(spec):
    newer = json.loads(json.dumps(spec))
    body = newer["paths"]["/generate/image/ideogram/ideogram-3"]["post"]["requestBody"]["content"][
        "application/json"]["schema"]
    body["properties"]["character_reference_images"]["maxItems"] = 4
    model = load_catalog(openapi=newer).get("ideogram/ideogram-3")
    assert model.image_input("character_reference_images").max_items == model.param(
        "character_reference_images").max_items == 4


# --- required inputs ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("model_id, body, words", [
    ("bfl/flux-1-kontext-dev", {"prompt": "make it snow"}, "Flux Kontext edits a picture you give it"),
    ("bfl/flux-1-kontext-dev", {"prompt": "make it snow", "image_url": None}, "Set image_url"),
    ("bytedance/seededit", {"prompt": "make it snow"}, "SeedEdit edits a picture you give it"),
    ("bytedance/seededit", {"prompt": "make it snow", "image_url": ""}, "http(s) URL"),
    ("runway/gen-4-image", {"prompt": "@hero on a beach"}, "needs 1 to 3 reference images, each {url, tag}"),
    ("runway/gen-4-image", {"prompt": "@hero on a beach", "reference_images": []}, "@tag"),
])
def test_image_only_models_refuse_a_body_without_their_input(model_id, body, words):
    found = validate_params(CATALOG.get(model_id), body)
    assert len(found) == 1, found
    field = "reference_images" if model_id.startswith("runway") else "image_url"
    assert found[0].field == field and found[0].message.startswith(f"{field} is required: ")
    assert words in found[0].message


def test_image_only_models_take_their_input():
    for model_id in ("bfl/flux-1-kontext-dev", "bytedance/seededit", "runway/gen-4-image"):
        assert errors(model_id) == [], model_id  # example bodies carry the input


# --- URLs ----------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["https://gen.krea.ai/images/a.png", "http://127.0.0.1:8787/files/x/y.png",
                                   "HTTPS://Example.com/a%20b.png?x=1"])
def test_http_urls(value):
    assert is_http_url(value)


@pytest.mark.parametrize("value", ["", "gen.krea.ai/a.png", "ftp://host/a.png", "https:///a.png", "https://a b/c",
                                   "javascript:alert(1)", "https://host:99999999/a.png", PNG_DATA_URI])
def test_not_http_urls(value):
    assert not is_http_url(value)


def test_data_image_uris():
    assert is_data_image_uri(PNG_DATA_URI)
    assert not is_data_image_uri("data:text/plain;base64,aGk=")
    assert not is_data_image_uri("data:image/png,rawbytes")
    assert not is_data_image_uri("data:image/png;base64,not base64!")


@pytest.mark.parametrize("model_id, fields, path", [
    ("bfl/flux-1-dev", {"image_url": "gen.krea.ai/a.png"}, "image_url"),
    ("bfl/flux-1-kontext-dev", {"image_url": "file:///etc/passwd"}, "image_url"),
    ("bfl/flux-1-dev", {"style_images": [{"url": "ftp://x/a.png", "strength": 1}]}, "style_images.0.url"),
    ("ideogram/ideogram-3", {"character_reference_images": ["not a url"]}, "character_reference_images.0"),
    ("runway/gen-4-image", {"reference_images": [{"url": "x", "tag": "hero"}]}, "reference_images.0.url"),
    ("google/nano-banana-2", {"image_urls": [EXAMPLE_IMAGE_URL, "//cdn/a.png"]}, "image_urls.1"),
])
def test_a_uri_field_takes_an_http_url_only(model_id, fields, path):
    error = only_error(model_id, **fields)
    assert error.path == path
    assert error.message.startswith(f"{path} must be an http(s) URL (got ")


def test_data_uris_only_where_krea_takes_them():
    for model_id in KREA2:
        refs = [{"url": PNG_DATA_URI, "strength": 0.6}, {"url": EXAMPLE_IMAGE_URL}]
        assert errors(model_id, image_style_references=refs) == [], model_id
    error = only_error("bfl/flux-1-dev", style_images=[{"url": PNG_DATA_URI, "strength": 1}])
    assert error.path == "style_images.0.url" and "takes no data: URI" in error.message and "/assets" in error.message
    error = only_error("krea/krea-2/medium", image_style_references=[{"url": "data:text/html;base64,PGI+"}])
    assert "an http(s) URL or a data:image/...;base64, URI" in error.message


def test_gpt_image_urls_follow_the_spec_which_sets_no_uri_format():
    # Its items are typed plain "string" in the spec: anything textual is taken, as Krea's own check would.
    assert errors("openai/gpt-image-2", image_urls=["asset-123"]) == []


# --- counts and strengths ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("model_id, field, item, limit", [
    ("krea/krea-2/large", "image_style_references", {"url": EXAMPLE_IMAGE_URL}, 10),
    ("krea/krea-2/medium", "moodboards", {"id": "8f2c"}, 1),
    ("ideogram/ideogram-3", "character_reference_images", EXAMPLE_IMAGE_URL, 1),
    ("google/nano-banana-pro", "image_urls", EXAMPLE_IMAGE_URL, 14),
    ("openai/gpt-image-2", "image_urls", EXAMPLE_IMAGE_URL, 10),
    ("bytedance/seedream-5-lite", "style_images", {"url": EXAMPLE_IMAGE_URL, "strength": 1}, 14),
    ("luma/uni-1", "style_images", {"url": EXAMPLE_IMAGE_URL, "strength": 1}, 9),
    ("z-image/z-image", "style_images", {"url": EXAMPLE_IMAGE_URL, "strength": 1}, 1),
])
def test_per_model_maximum_item_counts(model_id, field, item, limit):
    assert errors(model_id, **{field: [item] * limit}) == []
    error = only_error(model_id, **{field: [item] * (limit + 1)})
    plural = "s" * (limit != 1)
    assert (error.field, error.message) == (field, f"{field} takes at most {limit} item{plural} (got {limit + 1})")


@pytest.mark.parametrize("model_id, field, item, path, message", [
    ("krea/krea-2/medium", "image_style_references", {"url": EXAMPLE_IMAGE_URL, "strength": 1.5},
     "image_style_references.0.strength", "must be between 0 and 1 (got 1.5)"),
    ("krea/krea-2/large", "moodboards", {"id": "8f2c", "strength": -0.1},
     "moodboards.0.strength", "must be between 0 and 1 (got -0.1)"),
    ("bfl/flux-1-dev", "style_images", {"url": EXAMPLE_IMAGE_URL, "strength": 2.5},
     "style_images.0.strength", "must be between -2 and 2 (got 2.5)"),
    ("bfl/flux-1-dev", "image_style_references", {"url": EXAMPLE_IMAGE_URL},
     "image_style_references.0.strength", "is required"),
])
def test_strength_ranges_name_the_path(model_id, field, item, path, message):
    good = {"url": EXAMPLE_IMAGE_URL, "strength": 0.5} if "url" in item else {"id": "8f2c", "strength": 0.5}
    if CATALOG.get(model_id).image_input(field).max_items != 1:  # the bad one second, where two are allowed
        item, path = [good, item], path.replace(".0.", ".1.")
    error = only_error(model_id, **{field: item if isinstance(item, list) else [item]})
    assert (error.field, error.path, error.message) == (field, path, f"{path} {message}")


def test_edit_strength_range():
    assert only_error("bfl/flux-1-kontext-dev", strength=1.2).message == "strength must be between 0 and 1 (got 1.2)"
    assert only_error("z-image/z-image", image_url=EXAMPLE_IMAGE_URL, denoising_strength=-1).field == (
        "denoising_strength")


def test_a_full_krea2_body_with_every_input_is_valid():
    body = body_for("krea/krea-2/large",
                    image_style_references=[{"url": EXAMPLE_IMAGE_URL, "strength": 0.6}, {"url": PNG_DATA_URI}],
                    moodboards=[{"id": "0b7e2c1a-5f1e-4f25-9d0a-1c2b3d4e5f60", "strength": 0.23}],
                    styles=[{"id": "style-1", "strength": 0.8}])
    assert validate_params(CATALOG.get("krea/krea-2/large"), body) == []
