"""Recipes travel through links and PNGs unchanged: typed back from text, unknown models refused by name."""

from datetime import date
from urllib.parse import parse_qsl

import pytest
from PIL import Image

from playground.catalog import load_catalog
from playground.history import DateError, date_range
from playground.recipes import (
    CompareRecipe,
    Recipe,
    RecipeError,
    compare_query,
    generate_query,
    link_recipe,
    recipe_from_body,
    recipe_from_png,
    recipe_from_query,
)

CATALOG = load_catalog()


def parsed(query: str) -> dict[str, str]:
    return dict(parse_qsl(query, keep_blank_values=True))


def test_a_generate_link_round_trips_with_numbers_and_booleans_typed_by_the_model():
    recipe = Recipe("bfl/flux-1-dev", 'a "fox" & a hound, 50% off?', {"width": 768, "height": 512, "steps": 28,
                                                                       "guidance_scale_flux": 3.5}, 42)
    assert recipe_from_query(CATALOG, parsed(generate_query(recipe))) == recipe


def test_a_link_keeps_only_parameters_the_model_has_and_leaves_bad_text_for_the_service_to_refuse():
    back = recipe_from_query(CATALOG, {"model": "bfl/flux-1-dev", "prompt": "x", "steps": "many",
                                       "made_up": "1", "seed": "7"})
    assert back.params == {"steps": "many"} and back.seed == 7


def test_list_values_travel_as_json_and_come_back_as_lists():
    items = [{"url": "https://example.com/a.png", "strength": 0.5}]
    recipe = Recipe("krea/krea-2/medium", "a fox", {"image_style_references": items}, 3)
    query = generate_query(recipe)
    assert "%27url%27" not in query  # not Python's repr
    assert recipe_from_query(CATALOG, parsed(query)).params["image_style_references"] == items


def test_a_run_link_leaves_out_its_pictures_and_says_so():
    model = CATALOG.find("krea/krea-2/medium")
    body = {"prompt": "a fox", "seed": 9, "width": 1024,
            "image_style_references": [{"url": "http://127.0.0.1:1/assets-files/x.png", "strength": 0.5}]}
    recipe, left_out = link_recipe(model, body)
    assert left_out and recipe.params == {"width": 1024} and recipe.seed == 9 and recipe.prompt == "a fox"
    assert link_recipe(model, {"prompt": "a fox", "width": 1024}) == (Recipe(model.id, "a fox", {"width": 1024}),
                                                                      False)


def test_a_link_to_an_unknown_model_is_refused_naming_it():
    with pytest.raises(RecipeError, match="acme/nope"):
        recipe_from_query(CATALOG, {"model": "acme/nope", "prompt": "x"})
    with pytest.raises(RecipeError, match="acme/nope"):
        recipe_from_query(CATALOG, {"tab": "compare", "models": "bfl/flux-1-dev,acme/nope"})


def test_a_link_without_a_recipe_changes_nothing_and_a_prompt_alone_fills_the_prompt():
    assert recipe_from_query(CATALOG, {}) is None
    assert recipe_from_query(CATALOG, {"__theme": "dark"}) is None
    assert recipe_from_query(CATALOG, {"prompt": "hi"}) == Recipe("", "hi")


def test_a_compare_link_round_trips():
    recipe = CompareRecipe("one prompt", ("bfl/flux-1-dev", "krea/krea-2/medium"), 1024, 768, 5, 30, 4.5)
    assert recipe_from_query(CATALOG, parsed(compare_query(recipe))) == recipe


def test_a_stored_body_becomes_a_recipe_without_prompt_and_seed_in_params():
    recipe = recipe_from_body("bfl/flux-1-dev", {"prompt": "p", "seed": 3, "steps": 20})
    assert recipe == Recipe("bfl/flux-1-dev", "p", {"steps": 20}, 3)


def test_pngs_that_carry_no_recipe_are_refused_with_a_reason(tmp_path):
    plain = tmp_path / "plain.png"
    Image.new("RGB", (4, 4)).save(plain)
    with pytest.raises(RecipeError, match="no playground settings"):
        recipe_from_png(plain)
    jpeg = tmp_path / "photo.jpg"
    Image.new("RGB", (4, 4)).save(jpeg)
    with pytest.raises(RecipeError, match="JPEG"):
        recipe_from_png(jpeg)
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"not an image")
    with pytest.raises(RecipeError, match="not an image"):
        recipe_from_png(junk)


def test_history_dates_read_presets_and_a_typed_day_and_refuse_anything_else():
    today = date(2026, 11, 25)
    assert date_range("any", "", today) == (None, None)
    assert date_range("today", None, today) == ("2026-11-25", None)
    assert date_range("yesterday", None, today) == ("2026-11-24", "2026-11-24")
    assert date_range("7d", None, today) == ("2026-11-19", None)
    assert date_range("any", " 2026-01-02 ", today) == ("2026-01-02", "2026-01-02")
    with pytest.raises(DateError, match="YYYY-MM-DD"):
        date_range("any", "25/11/2026", today)
