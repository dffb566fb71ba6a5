"""The Grid tab in real Chromium: a grid runs into a contact sheet, cells open large and diff, pause and resume."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import expect

from playground.grid_runner import GridSettings
from playground.sandbox import Fault
from tests.support import wait_for

pytestmark = pytest.mark.browser

PROMPTS = "a lighthouse at dusk, grid test\na red fox in snow, grid test"
MODELS = ("bfl/flux-1-dev", "krea/krea-2/medium", "google/imagen-4")
FINISH = 60_000


def open_grid(page) -> None:
    page.get_by_role("tab", name="Grid").click()
    page.locator("#grid-prompts textarea").wait_for()


def fill_grid(page, prompts: str = PROMPTS, seeds: str = "1, 2", jobs: int | None = None) -> None:
    page.locator("#grid-prompts textarea").fill(prompts)
    page.locator("#grid-seeds textarea").fill(seeds)
    if jobs is not None:
        box = page.locator("#grid-concurrency input[type=number]")
        box.fill(str(jobs))
        box.press("Enter")
    expect(page.locator("#grid-preflight")).to_contain_text("2 prompts × 3 models × 2 seeds = 12 jobs")


def latest_grid(app) -> tuple[str, GridSettings]:
    row = app.service.store.execute("SELECT grid_id, plan FROM grids ORDER BY created_at DESC LIMIT 1")[0]
    return row["grid_id"], GridSettings.from_json(row["plan"])


def cell_records(app, grid_id: str) -> dict:
    links = app.service.store.execute("SELECT cell_key, run_id FROM grid_cells WHERE grid_id = ?", (grid_id,))
    return {r["cell_key"]: app.service.store.get(r["run_id"]).record for r in links}


def progress(page) -> str:
    return page.locator("#grid-progress").inner_text()


def test_a_2x3x2_grid_runs_into_a_12_cell_sheet_and_its_cells_open_and_diff(page, app):
    open_grid(page)
    fill_grid(page)
    preflight = page.locator("#grid-preflight").inner_text()
    assert re.search(r"≈ \$\d+\.\d+", preflight) and "4 at a time" in preflight
    page.locator("#grid-run").click()
    expect(page.locator("#grid-progress")).to_contain_text("12 of 12 done", timeout=FINISH)
    expect(page.locator("#grid-progress [role=progressbar]")).to_have_attribute("aria-valuenow", "12")
    sheet = page.locator("#grid-sheet")
    expect(sheet.locator("img")).to_have_count(12)
    expect(page.locator("#grid-progress")).to_contain_text("0 failed")

    # Every cell on the page is the job the store ran for it: its prompt, model and seed.
    grid_id, settings = latest_grid(app)
    assert settings.seeds == (1, 2) and settings.model_ids == MODELS
    records = cell_records(app, grid_id)
    assert len(records) == 12
    items = sheet.locator(".grid-item")
    expect(items).to_have_count(12)
    for index in range(12):
        item = items.nth(index)
        key = item.locator("[data-cell-key]").get_attribute("data-cell-key")
        prompt_index, model_id, seed_index = re.fullmatch(r"p(\d+)-m(.+)-s(\d+)", key).groups()
        record = records[key]
        assert record.model_id == model_id == item.get_attribute("data-model-id")
        assert record.seed == (1, 2)[int(seed_index)] == int(item.get_attribute("data-seed"))
        assert record.prompt == PROMPTS.splitlines()[int(prompt_index)]
    expect(page.locator("#grid-pause")).to_be_hidden()
    expect(page.locator("#grid-zip")).to_be_enabled()
    expect(page.locator("#grid-csv")).to_be_enabled()

    # A click on a cell shows it large, with its caption.
    first = sheet.locator("[data-cell-key]").first
    first.click()
    expect(page.locator("#grid-cell-image img")).to_be_visible(timeout=10_000)
    expect(page.locator("#grid-cell-caption")).to_contain_text("seed 1")
    expect(page.locator("#grid-cell-caption")).to_contain_text("Completed")

    # Diff: one ticked is not enough; two open the diff view.
    boxes = sheet.locator("input[data-select-key]")
    boxes.nth(0).check()
    page.locator("#grid-diff-btn").click()
    expect(page.locator("#grid-diff")).to_contain_text("exactly two")
    boxes.nth(1).check()
    page.locator("#grid-diff-btn").click()
    expect(page.locator("#grid-diff .diff-view .diff-modes")).to_be_visible(timeout=15_000)

    # The grid is in "Your grids".
    page.locator("#grid-past input").click()
    expect(page.get_by_role("option", name=re.compile(r"12 jobs · done"))).to_have_count(1, timeout=5_000)
    page.keyboard.press("Escape")


def test_pause_stops_new_jobs_and_resume_finishes_the_grid(page, app):
    open_grid(page)
    fill_grid(page, seeds="3, 4", jobs=1)
    expect(page.locator("#grid-preflight")).to_contain_text("one at a time")
    page.locator("#grid-run").click()
    expect(page.locator("#grid-pause")).to_be_visible(timeout=10_000)
    grid_id, _ = latest_grid(app)
    wait_for(lambda: any(r.phase == "done" for r in cell_records(app, grid_id).values()), what="a first cell")
    page.locator("#grid-pause").click()
    expect(page.locator("#grid-progress .grid-state")).to_have_text("Paused", timeout=15_000)
    expect(page.locator("#grid-resume")).to_be_visible()
    expect(page.locator("#grid-pause")).to_be_hidden()
    jobs = len(app.engine.jobs)
    done = len(cell_records(app, grid_id))
    time.sleep(1.2)
    assert len(app.engine.jobs) == jobs and len(cell_records(app, grid_id)) == done  # nothing new was sent
    assert done < 12
    page.locator("#grid-resume").click()
    expect(page.locator("#grid-progress")).to_contain_text("12 of 12 done", timeout=FINISH)
    expect(page.locator("#grid-progress .grid-state")).to_have_text("Done")
    expect(page.locator("#grid-sheet img")).to_have_count(12)
    expect(page.locator("#grid-resume")).to_be_hidden()


def test_failed_cells_can_be_run_again(page, app):
    app.backend.sandbox.set_fault(Fault(kind="job_fails", model="google/imagen-4", count=2))
    open_grid(page)
    fill_grid(page, seeds="5, 6")
    page.locator("#grid-run").click()
    expect(page.locator("#grid-progress")).to_contain_text("10 of 12 done", timeout=FINISH)
    expect(page.locator("#grid-progress")).to_contain_text("2 failed")
    expect(page.locator("#grid-sheet .grid-chip[data-phase=failed]")).to_have_count(2)
    page.locator("#grid-sheet .grid-item[data-phase=failed] [data-cell-key]").first.click()
    expect(page.locator("#grid-cell-caption .run-error")).to_be_visible()
    page.locator("#grid-rerun-failed").click()
    expect(page.locator("#grid-progress")).to_contain_text("12 of 12 done", timeout=FINISH)
    expect(page.locator("#grid-sheet img")).to_have_count(12)
    expect(page.locator("#grid-rerun-failed")).to_be_hidden()


def test_a_refused_grid_names_the_field_and_sends_nothing(page, app):
    open_grid(page)
    jobs = len(app.engine.jobs)
    grids = len(app.service.store.execute("SELECT grid_id FROM grids"))
    page.locator("#grid-prompts textarea").fill("")
    preflight = page.locator("#grid-preflight")
    expect(preflight.locator("[data-field=grid-prompts]")).to_contain_text("at least one prompt")
    expect(preflight).to_contain_text("Prompts")
    page.locator("#grid-run").click()
    expect(preflight.locator(".run-error[data-field=grid-prompts]")).to_be_visible()
    expect(page.locator("#grid-prompts textarea")).to_have_attribute("aria-invalid", "true")
    # A seed that reads as a count out of range is refused at the seeds box, live and on Run.
    page.locator("#grid-prompts textarea").fill("a fox")
    page.locator("#grid-seeds textarea").fill("42")
    expect(preflight.locator("[data-field=grid-seeds]")).to_contain_text("42,")
    page.locator("#grid-run").click()
    expect(preflight.locator("[data-field=grid-seeds]")).to_be_visible()
    time.sleep(0.5)
    assert len(app.engine.jobs) == jobs
    assert len(app.service.store.execute("SELECT grid_id FROM grids")) == grids


def test_a_grid_is_reopened_from_your_grids_after_a_reload(page, app):
    open_grid(page)
    page.locator("#grid-prompts textarea").fill("a paper boat on a pond, reopen test")
    page.locator("#grid-seeds textarea").fill("9,")
    expect(page.locator("#grid-preflight")).to_contain_text("1 prompt × 3 models × 1 seed = 3 jobs")
    page.locator("#grid-run").click()
    expect(page.locator("#grid-progress")).to_contain_text("3 of 3 done", timeout=FINISH)
    page.reload()
    open_grid(page)
    expect(page.locator("#grid-sheet img")).to_have_count(0)
    page.locator("#grid-past input").click()
    page.get_by_role("option", name=re.compile(r"3 jobs · done · “a paper boat")).click()
    expect(page.locator("#grid-sheet img")).to_have_count(3, timeout=10_000)
    expect(page.locator("#grid-progress")).to_contain_text("3 of 3 done")
    expect(page.locator("#grid-prompts textarea")).to_have_value("a paper boat on a pond, reopen test")
    expect(page.locator("#grid-seeds textarea")).to_have_value("9")
    expect(page.locator("#grid-zip")).to_be_enabled()
