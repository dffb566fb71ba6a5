"""Keyboard and small screens in real Chromium: the shortcuts help, a focus order that never falls to the page
body, no sideways scrolling at 390 px on any tab, and a phone run seen right under its button."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

TABS = ("Generate", "Compare", "Arena", "Grid", "History")


def test_question_mark_opens_the_shortcuts_help_and_escape_closes_it(page):
    page.locator("body").click(position={"x": 5, "y": 5})
    page.keyboard.press("?")
    help_box = page.locator("#shortcuts")
    expect(help_box).to_have_attribute("open", "")
    expect(help_box.locator(".shortcuts-panel")).to_contain_text("A is better")
    page.keyboard.press("Escape")
    expect(help_box).not_to_have_attribute("open", "")
    # typing a "?" in a prompt is just typing
    page.locator("#prompt textarea").fill("")
    page.locator("#prompt textarea").type("why?")
    expect(help_box).not_to_have_attribute("open", "")


def test_tab_moves_from_the_model_picker_to_the_next_control_not_the_page_body(page):
    page.locator("#model input").focus()
    for _ in range(12):
        page.keyboard.press("Tab")
        tag = page.evaluate("document.activeElement === document.body ? 'BODY' : document.activeElement.tagName")
        assert tag != "BODY", "focus fell to the page body"
    assert page.evaluate("!!document.activeElement.closest('#generate-form, #generate-result')")


@pytest.fixture
def phone(browser, app):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.goto(app.url)
    page.locator("#prompt textarea").wait_for()
    yield page
    context.close()


def overflow(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


def open_tab(page, name):
    tab = page.get_by_role("tab", name=name)
    if tab.count() and tab.is_visible():
        tab.click()
        return
    # what does not fit is in Gradio's "More tabs" menu
    page.get_by_role("button", name="More tabs").click()
    page.locator(".overflow-dropdown button", has_text=name).click()


def test_no_tab_scrolls_sideways_on_a_phone(phone):
    phone.locator("#prompt textarea").fill("a lighthouse")
    phone.locator("#generate-btn").click()
    phone.locator("#status [data-phase=done]").wait_for(timeout=30_000)
    for name in TABS:
        open_tab(phone, name)
        phone.wait_for_timeout(400)
        assert overflow(phone) <= 0, f"{name} scrolls sideways by {overflow(phone)} px"


def test_on_a_phone_the_run_is_shown_right_under_the_generate_button(phone):
    phone.locator("#prompt textarea").fill("a lighthouse")
    phone.locator("#generate-btn").click()
    phone.locator("#status [data-phase=done]").wait_for(timeout=30_000)
    gap = phone.evaluate("document.querySelector('#status').getBoundingClientRect().top - "
                         "document.querySelector('#run-buttons').getBoundingClientRect().bottom")
    assert 0 <= gap < 150, gap
    image_top = phone.evaluate("document.querySelector('#result-image').getBoundingClientRect().top")
    model_top = phone.evaluate("document.querySelector('#model').getBoundingClientRect().top")
    assert image_top < model_top  # the picture before the rest of the form
