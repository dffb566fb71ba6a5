"""Screenshots of the app in real Chromium: desktop and phone widths, light and dark, after a real run.

    python scripts/screenshots.py --out /tmp/shots [--readme]

`--readme` also writes assets/screenshot.png (the desktop, light, Generate tab image the README shows).
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
                page.get_by_role("tab", name="History").click()
                page.locator("#history-table tr[data-run-id]").first.click()
                page.locator("#history-details .run-details[data-run-id]").wait_for(timeout=10_000)
                scroll_through(page)
                path = out / f"history-{name}-{scheme}.png"
                page.screenshot(path=str(path), full_page=True)
                shots.append(path)
                page.close()
        browser.close()
    return shots


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="/tmp/shots", type=Path)
    parser.add_argument("--readme", action="store_true")
    args = parser.parse_args()
    for shot in shoot(args.out, args.readme):
        print(shot)
