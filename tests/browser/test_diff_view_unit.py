"""The diff view's behaviour in real Chromium, on a bare page: DIFF_CSS + the block + DIFF_JS, no app running.

Uses the session `browser` fixture only (not `page`, which starts the whole app).
"""

import re

import numpy as np
import pytest
from PIL import Image, ImageDraw

from playground.ui.diff_view import DIFF_CSS, DIFF_JS, diff_view_html

pytestmark = pytest.mark.browser

# The few Gradio theme variables the block uses, so the bare page looks like the app (light theme).
THEME = """:root { --body-text-color: #1f2937; --body-text-color-subdued: #6b7280; --border-color-primary: #e5e7eb;
  --block-background-fill: #fff; --background-fill-secondary: #f9fafb; --color-accent: #f97316; --radius-lg: 8px; }
body { font-family: sans-serif; margin: 16px; color: var(--body-text-color); }"""


def picture(path, shift=0, size=(640, 480)):
    w, h = size
    y, x = np.mgrid[0:h, 0:w]
    sky = np.stack([60 + x * 120 // w, 90 + y * 100 // h, 200 - y * 80 // h], axis=-1).astype(np.uint8)
    img = Image.fromarray(sky, "RGB")
    draw = ImageDraw.Draw(img)
    draw.ellipse((w * 0.3 + shift, h * 0.25, w * 0.55 + shift, h * 0.6), fill=(250, 200, 40))
    draw.rectangle((0, h * 0.75, w, h), fill=(40, 120, 60))
    img.save(path)
    return path


@pytest.fixture(scope="module")
def block(tmp_path_factory):
    folder = tmp_path_factory.mktemp("diff")
    html = diff_view_html(picture(folder / "a.png"), picture(folder / "b.png", shift=40, size=(600, 480)),
                          "FLUX.1 [dev] <seed 1>", "Krea 2 medium")
    return ("<!doctype html><html><head><meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<style>{THEME}{DIFF_CSS}</style></head><body>{html}</body></html>")


@pytest.fixture
def page(browser, block):
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.set_content(block)
    page.evaluate(f"({DIFF_JS})()")
    page.evaluate(f"({DIFF_JS})()")  # run twice by mistake: must not wire the listeners twice
    yield page
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def transforms(page):
    return page.eval_on_selector_all(".diff-zoomable", "els => els.map((e) => e.style.transform)")


def scale_of(transform):
    return float(re.search(r"scale\(([\d.]+)\)", transform).group(1))


def test_wipe_slider_and_drag_move_the_clip(page):
    b = page.locator(".diff-wipe-b")
    assert "50%" in b.evaluate("e => e.style.clipPath")
    page.locator(".diff-wipe").fill("20")
    assert b.evaluate("e => e.style.clipPath") == "inset(0px 0px 0px 20%)"
    assert page.locator(".diff-wipe").get_attribute("aria-valuetext") == "A left of 20%, B right"
    box = page.locator(".diff-wipe-stage").bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.8, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.7, box["y"] + box["height"] / 2, steps=3)
    page.mouse.up()
    clip = float(re.search(r"([\d.]+)%", b.evaluate("e => e.style.clipPath")).group(1))
    assert clip == pytest.approx(70, abs=1)
    assert float(page.locator(".diff-wipe").input_value()) == pytest.approx(70, abs=1)


def test_mode_buttons_switch_the_visible_panel(page):
    assert page.locator(".diff-panel-wipe").is_visible() and not page.locator(".diff-panel-side").is_visible()
    page.get_by_role("button", name="Side by side").click()
    assert page.locator(".diff-panel-side").is_visible() and not page.locator(".diff-panel-wipe").is_visible()
    assert page.get_by_role("button", name="Side by side").get_attribute("aria-pressed") == "true"
    assert page.get_by_role("button", name="Wipe").get_attribute("aria-pressed") == "false"
    page.get_by_role("button", name="Heatmap").focus()
    page.keyboard.press("Enter")
    assert page.locator(".diff-panel-heatmap").is_visible() and not page.locator(".diff-panel-side").is_visible()
    stats = page.locator(".diff-stats").inner_text()
    assert re.fullmatch(r"mean difference [\d.]+ / 255 · [\d.]+% of pixels differ · PSNR [\d.]+ dB", stats)
    assert "B was 600×480, scaled to 640×480" in page.locator(".diff-note").inner_text()
    assert page.locator(".diff-heatmap").evaluate("img => img.complete && img.naturalWidth") == 640


def test_zoom_and_pan_are_linked(page):
    page.get_by_role("button", name="Side by side").click()
    panes = page.locator(".diff-pane-view")
    box = panes.nth(0).bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.25, box["y"] + box["height"] * 0.25)
    page.mouse.wheel(0, -300)
    page.wait_for_function("document.querySelector('.diff-view').dataset.scale > 1")
    first, second = transforms(page)
    assert first == second and scale_of(first) > 1

    page.get_by_role("button", name="Zoom in").click()
    after = transforms(page)
    assert after[0] == after[1] and scale_of(after[0]) == pytest.approx(scale_of(first) * 1.25, rel=1e-3)

    b = panes.nth(1).bounding_box()
    page.mouse.move(b["x"] + b["width"] / 2, b["y"] + b["height"] / 2)
    page.mouse.down()
    page.mouse.move(b["x"] + b["width"] / 2 + 60, b["y"] + b["height"] / 2 + 30, steps=4)
    page.mouse.up()
    panned = transforms(page)
    assert panned[0] == panned[1] != after[0]

    for _ in range(20):  # clamped at 8x
        page.get_by_role("button", name="Zoom in").click()
    assert scale_of(transforms(page)[0]) == 8
    page.get_by_role("button", name="Reset").click()
    assert {scale_of(t) for t in transforms(page)} == {1}
    assert page.locator(".diff-zoom-level").inner_text() == "100%"


def test_keyboard_zooms_a_focused_pane(page):
    page.get_by_role("button", name="Side by side").click()
    page.locator(".diff-pane").nth(1).focus()
    page.keyboard.press("+")
    page.keyboard.press("ArrowRight")
    first, second = transforms(page)
    assert first == second and scale_of(first) == pytest.approx(1.25)
    page.keyboard.press("0")
    assert scale_of(transforms(page)[0]) == 1


def test_screenshots_and_a_phone_width(browser, block):
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    page = context.new_page()
    page.set_content(block)
    page.evaluate(f"({DIFF_JS})()")
    page.locator(".diff-wipe").fill("35")
    page.screenshot(path="/tmp/diff_view.png", full_page=True)
    page.get_by_role("button", name="Side by side").click()
    page.get_by_role("button", name="Zoom in").click()
    page.screenshot(path="/tmp/diff_view_side.png", full_page=True)
    page.get_by_role("button", name="Heatmap").click()
    page.screenshot(path="/tmp/diff_view_heatmap.png", full_page=True)
    context.close()

    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = phone.new_page()
    page.set_content(block)
    page.evaluate(f"({DIFF_JS})()")
    page.get_by_role("button", name="Side by side").click()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    a, b = (page.locator(".diff-pane").nth(i).bounding_box() for i in range(2))
    assert b["y"] >= a["y"] + a["height"]  # stacked, not squeezed side by side
    page.screenshot(path="/tmp/diff_view_phone.png", full_page=True)
    phone.close()
