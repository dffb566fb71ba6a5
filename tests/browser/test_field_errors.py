"""A refused run marks its field on every tab, with one message: Compare, Arena and Grid (Generate's case is in
test_generate_page.py)."""

from __future__ import annotations

import re

from playwright.sync_api import expect

INVALID = re.compile(r"\bfield-invalid\b")


def test_compare_marks_the_width_it_refuses_and_moves_the_focus_there(page, app):
    page.get_by_role("tab", name="Compare").click()
    page.locator("#compare-prompt textarea").fill("a lighthouse")
    width = page.locator("#compare-width input")
    width.fill("10")
    page.get_by_role("button", name="Compare", exact=True).click()
    error = page.locator("#compare-preflight .run-error")
    expect(error).to_have_attribute("data-field", "width", timeout=10_000)
    expect(page.locator("#compare-width")).to_have_class(INVALID)
    expect(width).to_be_focused()
    assert page.locator("#tab-compare .field-invalid").count() == 1


def test_the_arena_marks_its_pool_and_the_grid_its_seeds(page, app):
    page.get_by_role("tab", name="Grid").click()
    page.locator("#grid-prompts textarea").fill("a fox")
    seeds = page.locator("#grid-seeds textarea, #grid-seeds input").first
    seeds.fill("banana")
    page.locator("#grid-run").click()
    expect(page.locator("#grid-preflight .run-error")).to_have_attribute("data-field", "grid-seeds",
                                                                          timeout=10_000)
    expect(page.locator("#grid-seeds")).to_have_class(INVALID)
    expect(seeds).to_have_attribute("aria-invalid", "true")

    page.get_by_role("tab", name="Arena").click()
    page.locator("#arena-settings").get_by_text("Pool and prompt list").click()
    pool = page.locator("#arena-pool")
    expect(pool.locator("input[type=checkbox]:checked").first).to_be_visible(timeout=10_000)
    while pool.locator("input[type=checkbox]:checked").count() > 1:
        pool.locator("input[type=checkbox]:checked").last.uncheck()
    page.locator("#arena-prompt textarea").fill("a fox")
    page.get_by_role("button", name="Start round").click()
    expect(page.locator("#arena-status .run-error")).to_have_attribute("data-field", "arena-pool", timeout=10_000)
    expect(pool).to_have_class(INVALID)
    # The Grid's mark is still there (its card still is), and only one per tab.
    assert page.locator("#tab-arena .field-invalid").count() == 1
