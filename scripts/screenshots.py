"""Screenshots of every tab in real Chromium (Generate, Compare and its diff view, Arena after a vote, Grid after
a 2 x 3 x 2 run, History): desktop and phone widths, light and dark, after real runs.

    python scripts/screenshots.py --out /tmp/shots [--readme]

`--readme` also writes the README's images: assets/screenshot.png (the top of the Generate tab) and
assets/screenshots/<tab>.jpg (each tab, desktop, light, the whole page scaled to 1000 px wide).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from playwright.sync_api import sync_playwright  # noqa: E402

from playground.chromium import CHROMIUM_ARGS, CHROMIUM_PATH  # noqa: E402
from playground.launcher import free_port, running_app  # noqa: E402
from playground.settings import AppSettings, PollPolicy, SandboxSettings, Settings  # noqa: E402

def scroll_through(page) -> None:
    """Scroll to the bottom and back, as a person would: images below the fold load lazily."""
    height = page.evaluate("document.documentElement.scrollHeight")
    for y in range(0, height, 600):
        page.evaluate(f"window.scrollTo(0, {y})")
        page.wait_for_timeout(60)
    page.evaluate("window.scrollTo(0, 0)")
    page.wait_for_timeout(300)


VIEWPORTS = {"desktop": {"width": 1366, "height": 1000}, "phone": {"width": 390, "height": 844}}


def shoot(out: Path, readme: bool) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    shots = []
    settings = Settings(use_sandbox=True, sandbox=SandboxSettings(speed=0.03, min_job_seconds=1.0),
                        app=AppSettings(output_dir=Path(tempfile.mkdtemp()), data_dir=Path(tempfile.mkdtemp()),
                                        port=free_port(),
                                        sandbox_poll=PollPolicy(initial_interval=0.05, max_interval=0.2)))
    with running_app(settings) as app, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM_PATH, args=CHROMIUM_ARGS)
        for scheme in ("light", "dark"):
            for name, viewport in VIEWPORTS.items():
                page = browser.new_page(viewport=viewport, color_scheme=scheme)
                page.goto(app.url + ("?__theme=dark" if scheme == "dark" else "?__theme=light"))
                page.locator("#prompt textarea").fill("a serene mountain landscape at sunset")
                page.locator("#generate-btn").click()
                page.locator("#status [data-phase=done]").wait_for(timeout=30_000)
                page.wait_for_timeout(500)
                path = out / f"generate-{name}-{scheme}.png"
                page.screenshot(path=str(path), full_page=True)
                shots.append(path)
                if readme and name == "desktop" and scheme == "light":
                    page.screenshot(path=str(Path("assets/screenshot.png")), full_page=False)
                page.get_by_role("tab", name="Compare").click()
                page.locator("#compare-prompt textarea").fill("a cat on a windowsill on a snowy night")
                page.locator("#compare-btn").click()
                page.locator("#compare-preflight :text('Finished')").wait_for(timeout=60_000)
                scroll_through(page)
                path = out / f"compare-{name}-{scheme}.png"
                page.screenshot(path=str(path), full_page=True)
                shots.append(path)
                page.locator("#compare-diff-box").get_by_text("Diff two tiles").click()
                page.locator("#compare-diff-show").click()
                page.locator("#compare-diff .diff-view .diff-mode").first.wait_for(timeout=15_000)
                page.locator("#compare-diff-box").scroll_into_view_if_needed()
                path = out / f"compare-diff-{name}-{scheme}.png"
                page.locator("#compare-diff-box").screenshot(path=str(path))
                shots.append(path)

                page.get_by_role("tab", name="Arena").click()
                page.locator("#arena-prompt textarea").fill("a red fox in fresh snow")
                page.locator("#arena-start").click()
                page.wait_for_function("() => !document.querySelector('#arena-vote-a').disabled", timeout=30_000)
                page.locator("#arena-vote-a").click()
                page.locator("#arena-reveal-text").wait_for(timeout=10_000)
                scroll_through(page)
                path = out / f"arena-{name}-{scheme}.png"
                page.screenshot(path=str(path), full_page=True)
                shots.append(path)

                page.get_by_role("tab", name="Grid").click()
                page.locator("#grid-prompts textarea").fill("a lighthouse at dusk\na bowl of ramen")
                page.locator("#grid-seeds input, #grid-seeds textarea").first.fill("1, 2")
                page.locator("#grid-run").click()
                page.locator("#grid-progress", has_text="12 of 12").wait_for(timeout=90_000)
                scroll_through(page)
                path = out / f"grid-{name}-{scheme}.png"
                page.screenshot(path=str(path), full_page=True)
                shots.append(path)

                page.get_by_role("tab", name="History").click()
                page.locator("#history-table tr[data-run-id]").first.click()
                page.locator("#history-details .run-details[data-run-id]").wait_for(timeout=10_000)
                scroll_through(page)
                path = out / f"history-{name}-{scheme}.png"
                page.screenshot(path=str(path), full_page=True)
                shots.append(path)
                page.close()
        browser.close()
    if readme:
        for shot in shots:
            tab, rest = shot.stem.split("-", 1)
            if rest == "desktop-light" or (tab == "compare" and rest == "diff-desktop-light"):
                readme_image(shot, Path("assets/screenshots") / f"{shot.stem.replace('-desktop-light', '')}.jpg")
    return shots


def readme_image(source: Path, target: Path, width: int = 1000, max_height: int = 2600) -> None:
    """A README-sized JPEG of a screenshot: scaled to `width`, cut at `max_height` (the page's top matters)."""
    from PIL import Image

    target.parent.mkdir(parents=True, exist_ok=True)
    with Image.open(source) as image:
        scaled = image.convert("RGB").resize((width, round(image.height * width / image.width)), Image.LANCZOS)
    scaled.crop((0, 0, width, min(scaled.height, max_height))).save(target, "JPEG", quality=82, optimize=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="/tmp/shots", type=Path)
    parser.add_argument("--readme", action="store_true")
    args = parser.parse_args()
    for shot in shoot(args.out, args.readme):
        print(shot)
