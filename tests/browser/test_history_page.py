"""History, links and PNG info in real Chromium: runs are found again and their setups come back exactly."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import expect

from playground.outputs import png_metadata, with_text_chunks
from playground.recipes import Recipe, generate_query
from tests.support import wait_for

pytestmark = pytest.mark.browser

DONE = 30_000


def generate(page, prompt: str) -> None:
    page.locator("#prompt textarea").fill(prompt)
    page.locator("#generate-btn").click()
    expect(page.locator("#status .run-status")).to_have_attribute("data-phase", "done", timeout=DONE)


def run_ids(app) -> set[str]:
    return {s.run_id for s in app.service.history("any")}


def new_finished_run(app, known: set[str]):
    return next((s.record for s in app.service.history("any") if s.run_id not in known and s.is_terminal), None)


def open_history(page) -> None:
    page.get_by_role("tab", name="History").click()
    page.locator("#history-refresh").click()


def test_a_run_appears_in_history_and_load_into_generate_restores_its_form(page, app):
    # Another model than the default, and a fixed seed; then the form is changed and the run loaded back.
    page.locator("#model input").click()
    page.get_by_role("option", name="Krea 2 Medium ·").click()
    expect(page.locator("#aspect-ratio")).to_be_visible()
    page.locator("#randomize input").uncheck()
    page.locator("#seed input").fill("4242")
    generate(page, "a lighthouse in a storm, history test")
    sent = app.service.history("any")[0].record
    assert sent.prompt == "a lighthouse in a storm, history test" and sent.seed == 4242
    assert sent.model_id == "krea/krea-2/medium"

    open_history(page)
    row = page.locator("#history-table tbody tr:visible").filter(has_text="a lighthouse in a storm")
    expect(row.first).to_be_visible(timeout=10_000)
    expect(row.first).to_contain_text("4242")
    expect(row.first).to_contain_text("Completed")
    expect(page.locator("#history-gallery img").first).to_be_visible()
    row.first.locator("td").nth(2).click()
    expect(page.locator("#history-details .run-details")).to_have_attribute("data-run-id", sent.run_id)
    expect(page.locator("#history-image img")).to_be_visible()

    page.get_by_role("tab", name="Generate").click()
    page.locator("#model input").click()
    page.get_by_role("option", name="Flux ·").first.click()
    expect(page.locator("#width")).to_be_visible()
    page.locator("#prompt textarea").fill("something else")
    page.locator("#seed input").fill("1")
    page.get_by_role("tab", name="History").click()
    page.locator("#history-load").click()
    expect(page.locator("#prompt textarea")).to_have_value("a lighthouse in a storm, history test")
    expect(page.locator("#model input")).to_have_value(re.compile(r"^Krea 2 Medium ·"))
    expect(page.locator("#aspect-ratio")).to_be_visible()
    expect(page.locator("#width")).to_be_hidden()
    expect(page.locator("#seed input")).to_have_value("4242")
    expect(page.locator("#randomize input")).not_to_be_checked()
    expect(page.locator("#aspect-ratio input")).to_have_value(str(sent.params["aspect_ratio"]))
    # And it runs exactly the same body again.
    known = run_ids(app)
    page.locator("#generate-btn").click()
    again = wait_for(lambda: new_finished_run(app, known))
    assert again.params == sent.params


def test_run_again_resubmits_the_same_body(page, app):
    page.locator("#randomize input").uncheck()
    page.locator("#seed input").fill("777")
    generate(page, "run again test: a red kite over hills")
    before = app.service.history("any")[0].record
    open_history(page)
    row = page.locator("#history-table tbody tr:visible").filter(has_text="run again test")
    row.first.locator("td").nth(2).click()
    expect(page.locator("#history-details .run-details")).to_have_attribute("data-run-id", before.run_id)
    known = run_ids(app)
    page.locator("#history-run-again").click()
    expect(page.get_by_role("tab", name="Generate")).to_have_attribute("aria-selected", "true")
    after = wait_for(lambda: new_finished_run(app, known))
    expect(page.locator("#status .run-status")).to_have_attribute("data-phase", "done", timeout=DONE)
    assert after.params == before.params and after.model_id == before.model_id


def test_search_and_status_filters_narrow_the_table(page, app):
    generate(page, "zebra crossing unique-word-qx7")
    open_history(page)
    page.locator("#history-search textarea, #history-search input").first.fill("unique-word-qx7")
    page.locator("#history-search textarea, #history-search input").first.press("Enter")
    rows = page.locator("#history-table tbody tr:visible")
    expect(rows).to_have_count(1, timeout=10_000)
    expect(rows.first).to_contain_text("unique-word-qx7")
    page.locator("#history-day input, #history-day textarea").first.fill("yesterday-ish")
    page.locator("#history-day input, #history-day textarea").first.press("Enter")
    expect(page.locator("#history-filter-note .run-error")).to_contain_text("YYYY-MM-DD")


def test_a_link_with_query_parameters_prefills_the_form(browser, app):
    query = generate_query(Recipe("bfl/flux-1-dev", "a link-made fox in snow", {"width": 640, "height": 832,
                                                                                "steps": 21}, 99))
    context = browser.new_context(viewport={"width": 1366, "height": 1000})
    page = context.new_page()
    try:
        page.goto(f"{app.url}?{query}")
        expect(page.locator("#prompt textarea")).to_have_value("a link-made fox in snow", timeout=15_000)
        expect(page.locator("#width input")).to_have_value("640")
        expect(page.locator("#height input")).to_have_value("832")
        expect(page.locator("#seed input")).to_have_value("99")
        expect(page.locator("#randomize input")).not_to_be_checked()
        page.locator("#advanced").click()
        expect(page.locator("#param-steps input[type=number]")).to_have_value("21")
        # Running it keeps the setup in the address bar, and Copy link gives the same link back.
        page.locator("#generate-btn").click()
        expect(page.locator("#status .run-status")).to_have_attribute("data-phase", "done", timeout=DONE)
        expect(page.locator("#share-link textarea, #share-link input").first).to_have_value(
            re.compile(r"prompt=a\+link-made\+fox"), timeout=10_000)
        params = parse_qs(urlsplit(page.url).query)
        assert params["model"] == ["bfl/flux-1-dev"] and params["seed"] == ["99"] and params["width"] == ["640"]
    finally:
        context.close()


def test_a_link_naming_an_unknown_model_says_so_and_leaves_the_form(browser, app):
    context = browser.new_context()
    page = context.new_page()
    try:
        page.goto(f"{app.url}?model=acme/nope&prompt=hello")
        expect(page.locator("#status .run-error")).to_contain_text("acme/nope", timeout=15_000)
    finally:
        context.close()


def test_dropping_a_png_made_by_the_app_fills_the_form(page, app, tmp_path):
    generate(page, "a png-info owl at dusk")
    made = app.service.history("any")[0].record
    page.locator("#prompt textarea").fill("changed")
    page.locator("#png-accordion").click()
    page.locator("#png-drop input[type=file]").set_input_files(made.image_path)
    expect(page.locator("#prompt textarea")).to_have_value("a png-info owl at dusk", timeout=10_000)
    expect(page.locator("#seed input")).to_have_value(str(made.seed))
    expect(page.locator("#randomize input")).not_to_be_checked()
    expect(page.locator("#png-note")).to_contain_text("Settings loaded")


def test_a_png_without_settings_is_refused_on_the_drop_zone(page, tmp_path):
    from PIL import Image

    path = tmp_path / "plain.png"
    Image.new("RGB", (8, 8), "red").save(path)
    page.locator("#png-accordion").click()
    page.locator("#png-drop input[type=file]").set_input_files(str(path))
    expect(page.locator("#png-note .run-error")).to_contain_text("no playground settings", timeout=10_000)
    expect(page.locator("#prompt textarea")).to_have_value("")


def test_png_metadata_written_by_the_app_is_what_the_drop_reads(tmp_path):
    # The writer and the reader agree on the chunk names (no browser needed; fast guard for the drop test).
    from io import BytesIO

    from PIL import Image

    from playground.recipes import recipe_from_png

    buffer = BytesIO()
    Image.new("RGB", (4, 4)).save(buffer, format="PNG")
    meta = png_metadata(prompt="é 日本 \"q\"", model_id="bfl/flux-1-dev", params={"prompt": "x", "steps": 20,
                                                                                 "seed": 5}, seed=5, job_id="j",
                        backend="sandbox")
    path = tmp_path / "a.png"
    path.write_bytes(with_text_chunks(buffer.getvalue(), meta))
    recipe = recipe_from_png(path)
    assert recipe == Recipe("bfl/flux-1-dev", "é 日本 \"q\"", {"steps": 20}, 5)
