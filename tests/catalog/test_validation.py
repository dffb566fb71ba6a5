"""One validation for the form, the client and the sandbox: every error names its field and what is allowed."""

from __future__ import annotations

import pytest

from playground.catalog import FieldError, ValidationFailed, check_params, example_params, validate_params
from playground.catalog.validation import EXAMPLE_IMAGE_URL


def messages(model, params) -> list[str]:
    return [e.message for e in validate_params(model, params)]


def only_error(model, params) -> FieldError:
    errors = validate_params(model, params)
    assert len(errors) == 1, errors
    return errors[0]


@pytest.fixture()
def flux(catalog):
    return catalog.get("bfl/flux-1-dev")


def test_every_model_example_validates_clean(catalog):
    for model in catalog.models:
        body = example_params(model, "a red fox in fresh snow")
        assert validate_params(model, body) == [], model.id
        assert body["prompt"] == "a red fox in fresh snow"
        for name in model.required:
            assert name in body


def test_example_bodies_are_minimal_and_fill_required_defaults(catalog):
    assert example_params(catalog.get("bfl/flux-1-dev"), "x") == {"prompt": "x"}
    assert example_params(catalog.get("krea/krea-2/medium"), "x") == {
        "prompt": "x", "aspect_ratio": "1:1", "resolution": "1K"}
    assert example_params(catalog.get("bytedance/seedream-4"), "x") == {"prompt": "x", "width": 1024, "height": 1024}
    assert example_params(catalog.get("z-image/z-image"), "x") == {"prompt": "x", "aspect_ratio": "1:1",
                                                                    "resolution": "1K"}
    assert example_params(catalog.get("bytedance/seededit"), "x")["image_url"] == EXAMPLE_IMAGE_URL
    assert example_params(catalog.get("bfl/flux-1-kontext-dev"), "x")["image_url"] == EXAMPLE_IMAGE_URL
    runway = example_params(catalog.get("runway/gen-4-image"), "x")
    assert runway["reference_images"] == [{"url": EXAMPLE_IMAGE_URL, "tag": "ref1"}]


def test_defaults_of_every_text_model_validate(catalog):
    for model in catalog.models:
        if model.needs_image:
            continue
        body = {p.name: p.default for p in model.params if p.default is not None}
        body.update(example_params(model))
        assert validate_params(model, body) == [], model.id


def test_unknown_field_lists_what_the_model_accepts(flux):
    error = only_error(flux, {"prompt": "x", "foo": 1})
    assert error.field == "foo"
    assert error.message.startswith("Unknown field 'foo': Flux accepts prompt, strength, seed, steps, width")


def test_unknown_camel_case_alias_suggests_the_snake_case_name(flux):
    assert "did you mean 'image_url'" in only_error(flux, {"prompt": "x", "imageUrl": "https://a/b.png"}).message
    assert "did you mean 'guidance_scale_flux'" in only_error(flux, {"prompt": "x", "guidance_scale": 3}).message


def test_required_fields(catalog):
    seedream = catalog.get("bytedance/seedream-4")
    errors = validate_params(seedream, {"prompt": "x"})
    assert [(e.field, e.message) for e in errors] == [("width", "width is required"),
                                                       ("height", "height is required")]
    assert only_error(catalog.get("bfl/flux-1-dev"), {}).message == "prompt is required"


@pytest.mark.parametrize("value, message", [
    ("x" * 2100, "prompt must be at most 1800 characters (got 2100)"),
    (42, "prompt must be a string (got 42)"),
])
def test_prompt_checks(flux, value, message):
    assert only_error(flux, {"prompt": value}).message == message


def test_prompt_min_length_is_the_specs(catalog):
    nbp = catalog.get("google/nano-banana-pro")
    assert only_error(nbp, {"prompt": "ab"}).message == "prompt must be at least 3 characters (got 2)"
    assert only_error(catalog.get("bytedance/seedream-4"), {"prompt": "", "width": 1024, "height": 1024}).message == (
        "prompt must not be empty")  # minLength 1


@pytest.mark.parametrize("model_id, body", [
    ("qwen/2512", {"prompt": ""}),  # no minLength in the spec
    ("z-image/z-image", {"prompt": "", "aspect_ratio": "1:1", "resolution": "1K"}),
    ("bfl/flux-1-dev", {"prompt": ""}),  # maxLength only
    ("bytedance/seedream-4", {"prompt": "   ", "width": 1024, "height": 1024}),  # 3 characters meet minLength 1
])
def test_a_prompt_the_spec_takes_is_taken(catalog, model_id, body):
    # The run service refuses a blank prompt before this check ("Type a prompt first"); the shared check, which
    # the sandbox answers with, follows the spec.
    assert validate_params(catalog.get(model_id), body) == []


@pytest.mark.parametrize("params, field, message", [
    ({"width": 4000}, "width", "width must be between 512 and 2368 (got 4000)"),
    ({"width": 100}, "width", "width must be between 512 and 2368 (got 100)"),
    ({"width": True}, "width", "width must be a number (got true)"),
    ({"width": "1024"}, "width", "width must be a number (got '1024')"),
    ({"steps": 0}, "steps", "steps must be between 1 and 100 (got 0)"),
    ({"steps": 2.5}, "steps", "steps must be a whole number (got 2.5)"),  # typed integer in the spec
    ({"guidance_scale_flux": False}, "guidance_scale_flux", "guidance_scale_flux must be a number (got false)"),
    ({"guidance_scale_flux": 30}, "guidance_scale_flux", "guidance_scale_flux must be between 0 and 24 (got 30)"),
    ({"guidance_scale_flux": float("nan")}, "guidance_scale_flux", "guidance_scale_flux must be a number (got nan)"),
    ({"strength": None}, "strength", "strength must not be null"),
    ({"styles": "anime"}, "styles", "styles must be a list (got 'anime')"),
])
def test_type_and_range_errors(flux, params, field, message):
    error = only_error(flux, {"prompt": "x", **params})
    assert (error.field, error.message) == (field, message)


def test_valid_numbers_pass(flux):
    assert validate_params(flux, {"prompt": "x", "width": 1024.0, "height": 576, "guidance_scale_flux": 3.5,
                                  "seed": 42, "image_url": None}) == []


@pytest.mark.parametrize("model_id, fields", [
    ("bfl/flux-1-dev", {"width": 1000.5, "height": 767.25}),
    ("bfl/flux-1-dev", {"seed": 1.5}),
    ("google/imagen-4", {"seed": 4242.75, "width": 1024.5}),
    ("bytedance/seedream-4", {"width": 1000.5, "height": 1024}),
])
def test_fractional_numbers_the_spec_types_number_are_taken(catalog, model_id, fields):
    # The spec types these "number" while typing steps, Qwen's sizes and the sliders "integer" in the same
    # schemas: Krea's own check takes 1000.5 here, so this one does too.
    model = catalog.get(model_id)
    assert validate_params(model, {**example_params(model), **fields}) == []


def test_fractions_are_refused_where_the_spec_says_integer(catalog):
    qwen = catalog.get("qwen/2512")
    assert only_error(qwen, {"prompt": "x", "width": 1000.5}).message == "width must be a whole number (got 1000.5)"
    krea = catalog.get("krea/krea-2/medium")
    assert only_error(krea, {**example_params(krea), "intensity": 0.5}).field == "intensity"


def test_one_sided_ranges(catalog):
    seedream = catalog.get("bytedance/seedream-4")
    assert only_error(seedream, {"prompt": "x", "width": 5000, "height": 1024}).message == (
        "width must be between 1 and 4096 (got 5000)")


@pytest.mark.parametrize("model_id", ["bytedance/seedream-4", "bytedance/seedream-5-lite"])
def test_seedream_takes_the_small_sizes_its_spec_takes(catalog, model_id):
    seedream = catalog.get(model_id)
    assert validate_params(seedream, {"prompt": "x", "width": 256, "height": 300}) == []
    assert validate_params(seedream, {"prompt": "x", "width": 1, "height": 4096}) == []
    # The one floor kept: no picture has a side under one pixel.
    assert only_error(seedream, {"prompt": "x", "width": 0, "height": 1024}).message == (
        "width must be between 1 and 4096 (got 0)")


def test_gpt_image_2_multiple_of_16(catalog):
    gpt = catalog.get("openai/gpt-image-2")
    error = only_error(gpt, {"prompt": "x", "width": 1000, "height": 1024})
    assert (error.field, error.message) == ("width", "width must be a multiple of 16 (got 1000)")
    assert validate_params(gpt, {"prompt": "x", "width": 1024, "height": 1360}) == []
    assert [e.field for e in validate_params(gpt, {"prompt": "x", "width": 1080, "height": 1350})] == [
        "width", "height"]


def test_enum_choices(catalog):
    krea = catalog.get("krea/krea-2/medium")
    error = only_error(krea, {"prompt": "x", "aspect_ratio": "5:7", "resolution": "1K"})
    assert error.message == ("aspect_ratio must be one of 1:1, 4:3, 3:2, 16:9, 2.35:1, 4:5, 2:3, 9:16 "
                             "(got '5:7')")
    assert only_error(krea, {"prompt": "x", "aspect_ratio": "1:1", "resolution": "2K"}).field == "resolution"
    turbo = catalog.get("krea/krea-2/medium-turbo")
    assert validate_params(turbo, {"prompt": "x", "aspect_ratio": "1:1", "resolution": "2K"}) == []
    assert only_error(krea, {"prompt": "x", "aspect_ratio": "1:1", "resolution": "1K",
                             "intensity": 150}).message == "intensity must be between -100 and 100 (got 150)"


def test_null_only_when_nullable(catalog):
    luma = catalog.get("luma/uni-1")
    assert validate_params(luma, {"prompt": "x", "output_format": None}) == []
    assert only_error(luma, {"prompt": "x", "output_format": "gif"}).message == (
        "output_format must be one of png, jpeg (got 'gif')")
    assert only_error(luma, {"prompt": "x", "web_search": None}).message == "web_search must not be null"
    assert only_error(luma, {"prompt": "x", "web_search": "yes"}).message == (
        "web_search must be true or false (got 'yes')")


def test_array_item_counts(catalog):
    kontext = catalog.get("bfl/flux-1-kontext-dev")
    item = {"url": "https://gen.krea.ai/a.png", "strength": 1}
    assert only_error(kontext, {"prompt": "x", "image_url": EXAMPLE_IMAGE_URL,
                                "style_images": [item, item]}).message == "style_images takes at most 1 item (got 2)"
    runway = catalog.get("runway/gen-4-image")
    refs = [{"url": EXAMPLE_IMAGE_URL, "tag": f"ref{i}"} for i in range(4)]
    assert only_error(runway, {"prompt": "x", "reference_images": refs}).message == (
        "reference_images takes at most 3 items (got 4)")
    krea = catalog.get("krea/krea-2/large")
    refs = [{"url": "https://gen.krea.ai/a.png"}] * 11
    assert only_error(krea, {"prompt": "x", "aspect_ratio": "1:1", "resolution": "1K",
                             "image_style_references": refs}).message == (
        "image_style_references takes at most 10 items (got 11)")


def test_array_item_objects(flux, catalog):
    errors = validate_params(flux, {"prompt": "x", "styles": [{"id": "abc"}, {"id": 5, "strength": 3}]})
    assert [e.message for e in errors] == [
        "styles.0.strength is required",
        "styles.1.id must be a string (got 5)",
        "styles.1.strength must be between -2 and 2 (got 3)",
    ]
    assert all(e.field == "styles" for e in errors)
    assert [e.path for e in errors] == ["styles.0.strength", "styles.1.id", "styles.1.strength"]
    assert only_error(flux, {"prompt": "x", "style_images": [{"url": 7, "strength": 1}]}).message == (
        "style_images.0.url must be a string (got 7)")
    assert only_error(flux, {"prompt": "x", "style_images": ["https://a/b.png"]}).message == (
        "style_images.0 must be an object (got 'https://a/b.png')")
    runway = catalog.get("runway/gen-4-image")
    bad_tag = {"prompt": "x", "reference_images": [{"url": EXAMPLE_IMAGE_URL, "tag": "Bad Tag"}]}
    assert only_error(runway, bad_tag).message.startswith("reference_images.0.tag must match")
    gpt = catalog.get("openai/gpt-image-2")
    assert only_error(gpt, {"prompt": "x", "width": 1024, "height": 1024, "image_urls": [1]}).message == (
        "image_urls.0 must be a string (got 1)")


def test_every_message_names_its_field(catalog):
    flux = catalog.get("bfl/flux-1-dev")
    bad = {"prompt": 1, "width": 9999, "steps": "many", "styles": [{}], "foo": 1, "seed": -0.5}
    errors = validate_params(flux, bad)
    assert {e.field for e in errors} == {"prompt", "width", "steps", "styles", "foo", "seed"}
    for e in errors:
        assert e.field in e.message and e.path in e.message


def test_body_must_be_an_object(flux):
    assert validate_params(flux, ["prompt"])[0].field == "body"


def test_check_params_raises_validation_failed(flux):
    check_params(flux, {"prompt": "ok"})
    with pytest.raises(ValidationFailed) as caught:
        check_params(flux, {"prompt": "x" * 1801, "width": 4000})
    failure = caught.value
    assert isinstance(failure, Exception)
    assert failure.field == "prompt"
    assert [e.field for e in failure.errors] == ["prompt", "width"]
    assert str(failure) == ("prompt must be at most 1800 characters (got 1801); "
                            "width must be between 512 and 2368 (got 4000)")
