"""The Compare tab in real Chromium."""

import time

from playground.sandbox import Fault


def tile_phase(page, index):
    return page.locator(f"#tile-{index}-status .run-status").get_attribute("data-phase")


def wait_for(predicate, timeout=45.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


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
    wait_for(lambda: tile.bounding_box()["width"] > 3 * small, timeout=5, what="the tile image to open large")


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
