"""The Compare tab in real Chromium."""

import io
import json
import re
import zipfile
from urllib.parse import parse_qs, urlparse

from PIL import Image
from playwright.sync_api import expect

from playground.sandbox import Fault
from tests.support import wait_for


def tile_phase(page, index):
    return page.locator(f"#tile-{index}-status .run-status").get_attribute("data-phase")


def open_compare(page):
    page.get_by_role("tab", name="Compare").click()
    page.locator("#compare-prompt textarea").wait_for()


def test_compare_shows_one_final_image_per_chosen_model(page):
    open_compare(page)
    page.locator("#compare-prompt textarea").fill("a lighthouse at dusk")
    page.get_by_role("button", name="Compare", exact=True).click()
    page.locator("#compare-preflight", has_text="Finished").wait_for(timeout=60_000)
    for index in range(5):
        assert tile_phase(page, index) == "done"
        assert ".png" in page.locator(f"#tile-{index}-image img").get_attribute("src")
    assert not page.locator("#tile-5").is_visible()
    assert page.locator("#compare-table").inner_text().count("Completed") == 5
    # the timing chart draws a queue bar and a run bar per model (vega renders marks as SVG paths)
    bars = page.locator("#compare-chart g.mark-rect path")
    bars.first.wait_for(timeout=10_000)
    assert bars.count() == 10


def test_stop_all_cancels_unfinished_jobs_and_keeps_finished_tiles(page, app):
    for model in ("bytedance/seedream-4", "openai/gpt-image-2"):
        app.backend.sandbox.set_fault(Fault(kind="hang", model=model))
    open_compare(page)
    page.locator("#compare-prompt textarea").fill("a harbor")
    page.get_by_role("button", name="Compare", exact=True).click()
    wait_for(lambda: [tile_phase(page, i) for i in range(3)] == ["done"] * 3, what="three finished tiles")
    page.get_by_role("button", name="Stop all").click()
    wait_for(lambda: tile_phase(page, 3) == "cancelled" and tile_phase(page, 4) == "cancelled",
             what="two cancelled tiles")
    for index in range(3):
        assert ".png" in page.locator(f"#tile-{index}-image img").get_attribute("src")
    hung = [j for j in app.engine.jobs if j.model_id in ("bytedance/seedream-4", "openai/gpt-image-2")]
    assert hung and all(j.status == "cancelled" for j in hung[-2:])


def test_one_tiles_stop_cancels_only_that_job(page, app):
    app.backend.sandbox.set_fault(Fault(kind="hang", model="openai/gpt-image-2"))
    open_compare(page)
    page.locator("#compare-prompt textarea").fill("a quiet street")
    page.get_by_role("button", name="Compare", exact=True).click()
    page.locator('#tile-4-status .run-status[data-phase="following"] .status-meta code').wait_for(timeout=20_000)
    job_id = page.locator("#tile-4-status .status-meta code").first.get_attribute("title")
    page.locator("#tile-4-stop").click()
    page.locator("#compare-preflight", has_text="Finished").wait_for(timeout=60_000)
    assert [tile_phase(page, i) for i in range(5)] == ["done"] * 4 + ["cancelled"]
    assert next(j for j in app.engine.jobs if j.job_id == job_id).status == "cancelled"


def test_clicking_a_tile_image_shows_it_large(page):
    open_compare(page)
    page.locator("#compare-prompt textarea").fill("a red kite")
    page.get_by_role("button", name="Compare", exact=True).click()
    page.locator("#compare-preflight", has_text="Finished").wait_for(timeout=60_000)
    tile = page.locator("#tile-1-image")
    small = tile.bounding_box()["width"]
    tile.locator("img").click()
    wait_for(lambda: tile.bounding_box()["width"] > 3 * small, seconds=5, what="the tile image to open large")


def test_a_budget_cap_refuses_unpriced_models_by_name_and_sends_nothing(page, app):
    before = len(app.engine.jobs)
    open_compare(page)  # the default five include Seedream 4 and GPT Image 2, which have no USD price
    page.locator("#compare-budget textarea").fill("0.01")
    page.locator("#compare-budget textarea").press("Tab")
    preflight = page.locator("#compare-preflight .warn")
    preflight.wait_for(timeout=10_000)
    assert "Seedream 4" in preflight.inner_text() and "GPT Image 2" in preflight.inner_text()
    page.locator("#compare-prompt textarea").fill("a harbor")
    page.get_by_role("button", name="Compare", exact=True).click()
    page.locator('#compare-preflight .run-error[data-kind="budget"]').wait_for(timeout=10_000)
    page.wait_for_timeout(300)
    assert len(app.engine.jobs) == before


# --- links, copy as code, saved comparisons -------------------------------------------------------------------

def fix_seed(page, seed):
    page.locator("#compare-randomize input").uncheck()
    page.locator("#compare-seed input").fill(str(seed))
    page.locator("#compare-seed input").press("Tab")


def run_compare(page, prompt, seed=None):
    open_compare(page)
    if seed is not None:
        fix_seed(page, seed)
    page.locator("#compare-prompt textarea").fill(prompt)
    page.get_by_role("button", name="Compare", exact=True).click()
    page.locator("#compare-preflight", has_text="Finished").wait_for(timeout=60_000)


def test_after_a_run_the_address_bar_holds_the_form_and_copy_link_gives_the_whole_url(page):
    run_compare(page, "a red kite", seed=77)
    wait_for(lambda: "tab=compare" in page.url, seconds=10, what="the form in the address bar")
    query = parse_qs(urlparse(page.url).query)
    assert query["prompt"] == ["a red kite"] and query["seed"] == ["77"]
    assert query["models"][0].split(",")[:2] == ["krea/krea-2/medium", "bfl/flux-1-dev"]
    page.locator("#compare-prompt textarea").fill("a blue kite")
    page.locator("#compare-copy-link").click()
    link = page.locator("#compare-share-link input, #compare-share-link textarea").first
    expect(link).to_have_value(re.compile(r"^http://127\.0\.0\.1:\d+/\?tab=compare&prompt=a\+blue\+kite&"))
    assert "seed=77" in link.input_value() and "a+blue+kite" in page.url


def test_copy_as_code_holds_every_call_of_the_comparison(page):
    run_compare(page, "a green kite", seed=8)
    accordion = page.locator("#compare-code")
    expect(accordion).to_contain_text("Copy as code (all 5 calls at once)")
    accordion.get_by_text("Copy as code").click()
    page.get_by_role("tab", name="Python").click()
    # The editor draws only the lines in view; its Download link holds the whole program.
    href = page.locator("#compare-code-python a[download]").get_attribute("href")
    code = page.evaluate("async (url) => (await fetch(url)).text()", href)
    for path in ("krea/krea-2/medium", "bfl/flux-1-dev", "google/nano-banana-pro", "bytedance/seedream-4",
                 "openai/gpt-image-2"):
        assert f'("/generate/image/{path}", {{' in code
    assert code.count('"seed": 8') == 3 and code.count('"prompt": "a green kite"') == 5
    compile(code, "compare.py", "exec")  # a whole, valid Python program


def test_a_saved_zip_opens_in_the_tiles_and_reruns_beside_the_old_images_with_a_regression_table(page, app,
                                                                                              tmp_path):
    run_compare(page, "a lighthouse at dusk", seed=5)
    with page.expect_download() as download:
        page.locator("#compare-zip").click()
    saved = tmp_path / "comparison.zip"
    download.value.save_as(saved)
    with zipfile.ZipFile(saved) as archive:
        old_jobs = [run["job_id"] for run in json.loads(archive.read("manifest.json"))["runs"]]

    page.reload()  # a fresh page: nothing on screen but what the ZIP holds
    open_compare(page)
    page.locator("#compare-open").get_by_text("Open a saved comparison").click()
    page.locator("#compare-bundle input[type=file]").set_input_files(str(saved))
    bar = page.locator("#compare-past-bar")
    bar.wait_for(timeout=20_000)
    assert "Saved comparison" in bar.inner_text() and "comparison.zip" in bar.inner_text()
    assert "seed 5" in bar.inner_text()
    expect(page.locator("#compare-prompt textarea")).to_have_value("a lighthouse at dusk")  # the form follows
    expect(page.locator("#compare-seed input")).to_have_value("5")
    for index in range(5):
        assert tile_phase(page, index) == "done"
        assert ".png" in page.locator(f"#tile-{index}-image img").get_attribute("src")
    table = page.locator("#compare-table").inner_text()
    assert all(job in table for job in old_jobs)

    before = len(app.engine.jobs)
    page.locator("#compare-rerun").click()
    page.locator("#compare-preflight", has_text="Re-run finished").wait_for(timeout=60_000)
    assert len(app.engine.jobs) == before + 5
    regression = page.locator("#compare-regression").inner_text()
    assert regression.count("identical bytes") == 3 and regression.count("different pixels (no seed)") == 2
    summary = page.locator("#compare-regression-summary").inner_text()
    assert "3 of 5 images identical" in summary and "take no seed" in summary
    for index in range(5):  # the old image beside the new one
        assert ".png" in page.locator(f"#tile-{index}-before-image img").get_attribute("src")
        assert ".png" in page.locator(f"#tile-{index}-image img").get_attribute("src")
    new_table = page.locator("#compare-table").inner_text()
    assert not any(job in new_table for job in old_jobs)  # the results table holds the re-run
    expect(page.locator("#compare-chart g.mark-rect path")).to_have_count(10)
    expect(page.locator("#compare-rerun")).to_be_enabled()

    page.get_by_role("button", name="Compare", exact=True).click()  # a new comparison leaves the saved one
    page.locator("#compare-preflight", has_text="Finished").wait_for(timeout=60_000)
    expect(bar).to_be_hidden()
    expect(page.locator("#compare-regression-box")).to_be_hidden()
    expect(page.locator("#tile-0-before-image")).to_be_hidden()


def test_a_zip_that_is_not_a_saved_comparison_says_why_and_changes_nothing(page, tmp_path):
    path = tmp_path / "holiday.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("beach.txt", "sun")
    open_compare(page)
    page.locator("#compare-open").get_by_text("Open a saved comparison").click()
    page.locator("#compare-bundle input[type=file]").set_input_files(str(path))
    error = page.locator("#compare-bundle-note .run-error")
    error.wait_for(timeout=20_000)
    assert "no manifest.json" in error.inner_text()
    assert not page.locator("#compare-past-bar").is_visible()


def test_a_compare_link_opens_the_compare_tab_with_its_form_filled(page, app):
    page.goto(app.url + "?tab=compare&prompt=a+paper+boat&models=bfl/flux-1-dev,krea/krea-2/medium&seed=5")
    prompt = page.locator("#compare-prompt textarea")
    prompt.wait_for(timeout=15_000)
    expect(prompt).to_have_value("a paper boat", timeout=10_000)
    checked = page.locator("#compare-models label:has(input:checked)")
    expect(checked).to_have_count(2)
    assert sorted(c.inner_text().strip() for c in checked.all()) == ["Flux", "Krea 2 Medium"]
    expect(page.locator("#compare-seed input")).to_have_value("5")
    expect(page.locator("#compare-randomize input")).not_to_be_checked()


def saved_run(model_id, name, body, image):
    return {"run_id": f"run-{name}", "model": model_id, "model_name": name,
            "request": {"method": "POST", "endpoint": f"/generate/image/{model_id}", "body": body},
            "prompt": body["prompt"], "seed": body.get("seed"), "phase": "done", "status": "completed",
            "job_id": f"job-{name}", "backend": "krea", "started_at": "2026-04-01T09:30:00+00:00", "queue_s": 1.0,
            "run_s": 5.0, "total_s": 6.5, "cost_usd": 0.01, "priced": True, "image_size": [32, 32], "error": None,
            "notes": [], "group_id": "old-group", "image": image}


def test_a_saved_comparison_with_a_retired_model_is_shown_but_its_rerun_is_refused_by_name(page, app, tmp_path):
    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), (90, 120, 200)).save(buffer, format="PNG")
    body = {"prompt": "an old harbour", "width": 512, "height": 512, "seed": 9}
    manifest = {"format": "krea-playground/comparison", "version": 1, "api_base": "https://api.krea.ai",
                "runs": [saved_run("bfl/flux-1-dev", "Flux", body, "01_flux.png"),
                         saved_run("bytedance/seedream-3", "Seedream 3", body, "02_seedream-3.png")]}
    path = tmp_path / "april.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("manifest.json", json.dumps(manifest))
        archive.writestr("01_flux.png", buffer.getvalue())
        archive.writestr("02_seedream-3.png", buffer.getvalue())
    open_compare(page)
    page.locator("#compare-open").get_by_text("Open a saved comparison").click()
    page.locator("#compare-bundle input[type=file]").set_input_files(str(path))
    bar = page.locator("#compare-past-bar")
    bar.wait_for(timeout=20_000)
    expect(bar).to_contain_text("Not in today's catalog (a re-run will be refused): Seedream 3")
    expect(page.locator("#tile-1-status")).to_contain_text("Seedream 3")
    assert ".png" in page.locator("#tile-1-image img").get_attribute("src")
    before = len(app.engine.jobs)
    page.locator("#compare-rerun").click()
    error = page.locator('#compare-preflight .run-error[data-kind="retired"]')
    error.wait_for(timeout=10_000)
    assert "Seedream 3" in error.inner_text() and "bytedance/seedream-5-lite" in error.inner_text()
    page.wait_for_timeout(300)
    assert len(app.engine.jobs) == before


def test_the_diff_view_opens_on_two_tiles_with_a_wipe_and_a_heatmap(page):
    run_compare(page, "a harbour for the diff view", seed=5)
    page.locator("#compare-diff-box").get_by_text("Diff two tiles").click()
    page.get_by_role("button", name="Show the difference").click()
    view = page.locator("#compare-diff .diff-view")
    expect(view).to_be_visible(timeout=15_000)
    expect(view.locator("input.diff-wipe")).to_be_visible()
    view.get_by_role("button", name="Heatmap").click()
    expect(view).to_contain_text("of pixels differ")
    names = page.locator("#tile-0-status b").first.inner_text()
    expect(view).to_contain_text(names)


# --- layout: tiles, buttons, table, chart, phone -------------------------------------------------------------------

def tile_rows(page):
    """The tiles on show grouped into rows by their top edge: [[(index, box), ...], ...]."""
    rows: dict[int, list] = {}
    for index in range(8):
        tile = page.locator(f"#tile-{index}")
        if tile.count() and tile.is_visible():
            box = tile.bounding_box()
            rows.setdefault(round(box["y"]), []).append((index, box))
    return [rows[top] for top in sorted(rows)]


def set_models(page, names):
    """Tick exactly these models (by their labels) in the Compare form."""
    boxes = page.locator("#compare-models label")
    for i in range(boxes.count()):
        label = boxes.nth(i)
        ticked = label.locator("input").is_checked()
        if ticked != (label.inner_text().strip() in names):
            label.click()
    expect(page.locator("#compare-models label:has(input:checked)")).to_have_count(len(names))


def test_five_tiles_fill_rows_evenly_with_their_images_side_by_side(page):
    page.set_viewport_size({"width": 1400, "height": 1000})
    run_compare(page, "a lighthouse at dusk")
    rows = tile_rows(page)
    assert sorted(len(row) for row in rows) == [2, 3]  # 3 + 2, not 4 + 1
    for row in rows:  # notes and status cards differ from tile to tile; the images still line up
        tops = [page.locator(f"#tile-{index}-image").bounding_box()["y"] for index, _ in row]
        assert max(tops) - min(tops) <= 2, tops
        assert len({round(box["height"]) for _, box in row}) == 1


MORE_MODELS = ["Krea 2 Large", "Krea 2 Medium Turbo", "Flux 1.1 Pro"]
DEFAULT_NAMES = ["Krea 2 Medium", "Flux", "Nano Banana Pro", "Seedream 4", "GPT Image 2"]


def test_two_to_eight_tiles_make_rows_of_equal_count_give_or_take_one(page):
    page.set_viewport_size({"width": 1280, "height": 1000})
    open_compare(page)
    page.locator("#compare-prompt textarea").fill("a kite over the dunes")
    expected = {2: [2], 3: [3], 4: [4], 6: [3, 3], 7: [4, 3], 8: [4, 4]}
    for count, sizes in expected.items():
        set_models(page, (DEFAULT_NAMES + MORE_MODELS)[:count])
        page.get_by_role("button", name="Compare", exact=True).click()
        page.locator("#compare-preflight", has_text="Finished in").wait_for(timeout=60_000)
        wait_for(lambda: sum(len(r) for r in tile_rows(page)) == count, seconds=10, what=f"{count} tiles")
        assert [len(row) for row in tile_rows(page)] == sizes, count


def test_stop_shows_only_on_running_tiles_and_use_as_reference_only_on_tiles_with_an_image(page, app):
    app.backend.sandbox.set_fault(Fault(kind="hang", model="openai/gpt-image-2"))
    open_compare(page)
    page.locator("#compare-prompt textarea").fill("a night market")
    page.get_by_role("button", name="Compare", exact=True).click()
    wait_for(lambda: [tile_phase(page, i) for i in range(4)] == ["done"] * 4, what="four finished tiles")
    for index in range(4):
        expect(page.locator(f"#tile-{index}-stop")).to_be_hidden()
        expect(page.locator(f"#tile-{index}-use-as-reference")).to_be_visible()
    expect(page.locator("#tile-4-stop")).to_be_visible()  # still running
    expect(page.locator("#tile-4-use-as-reference")).to_be_hidden()
    page.locator("#tile-4-stop").click()
    page.locator("#compare-preflight", has_text="Finished").wait_for(timeout=60_000)
    expect(page.locator("#tile-4-stop")).to_be_hidden()
    expect(page.locator("#tile-4-use-as-reference")).to_be_hidden()  # cancelled: no final image


def test_the_results_table_fits_the_page_with_its_notes_and_errors_and_says_when_it_is_empty(page, app):
    app.backend.sandbox.set_fault(Fault(kind="job_fails", model="google/nano-banana-pro",
                                        reason="The provider rejected the request after a moderation review."))
    page.set_viewport_size({"width": 1280, "height": 1000})
    open_compare(page)
    table = page.locator("#compare-table")
    expect(table).to_contain_text("No results yet")
    assert "1" not in table.inner_text()  # no placeholder headers
    page.locator("#compare-prompt textarea").fill("a lighthouse at dusk")
    page.get_by_role("button", name="Compare", exact=True).click()
    page.locator("#compare-preflight", has_text="Finished").wait_for(timeout=60_000)
    expect(table.locator("tbody tr")).to_have_count(5)
    wrap = table.locator(".results-wrap")
    assert wrap.evaluate("e => e.scrollWidth <= e.clientWidth")  # nothing hidden behind a sideways scroll
    error = table.locator('tr[data-status="failed"] td.col-error')
    expect(error).to_contain_text("moderation review")
    expect(table.locator("td.col-notes").first).to_contain_text("sent as")
    assert table.locator("thead").bounding_box()["height"] < 40  # one line of headers
    for cell in (error, table.locator("td.col-notes").first):
        assert wrap.bounding_box()["x"] + wrap.bounding_box()["width"] >= cell.bounding_box()["x"] + \
            cell.bounding_box()["width"] - 1


def test_the_timing_chart_keeps_tile_order(page):
    run_compare(page, "a kite in the rain")
    labels = page.locator("#compare-chart .role-axis-label text")
    labels.first.wait_for(timeout=10_000)
    placed = [(t.bounding_box()["x"], t.text_content()) for t in labels.all()]
    names = [name for _, name in sorted(placed) if name in DEFAULT_NAMES]
    assert names == DEFAULT_NAMES


def test_on_a_phone_the_compare_tab_never_scrolls_sideways(browser, app):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = context.new_page()
    try:
        page.goto(app.url)
        open_compare(page)
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        page.locator("#compare-prompt textarea").fill("a lighthouse at dusk")
        page.locator("#compare-btn").click()
        page.locator("#compare-preflight", has_text="Finished").wait_for(timeout=60_000)
        page.locator("#compare-chart g.mark-rect path").first.wait_for(timeout=10_000)
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        assert [len(row) for row in tile_rows(page)] == [1] * 5  # one column of tiles
    finally:
        context.close()
