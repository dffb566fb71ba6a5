"""A canary token, pasted in real Chromium and used through every path (generate, compare, a failure whose reason
echoes the token, History, downloads): afterwards no log, page, /config, browser storage, run store, image file or
Gradio cache holds a copy."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import requests
from playwright.sync_api import expect

from playground.outputs import PREVIEW_DIR
from playground.sandbox import Fault, SandboxServer
from playground.store import RunFilter
from playground.settings import AppSettings, ClientSettings, PollPolicy, SandboxSettings, Settings
from tests.support import free_port, running_app

pytestmark = pytest.mark.browser

CANARY = "krea-canary-5d1e9b7f0c2a44e8"


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture(scope="module")
def canary_app(tmp_path_factory):
    with SandboxServer(SandboxSettings(speed=0.01, min_job_seconds=0.5, required_token=CANARY)) as krea:
        client = ClientSettings(base_url=krea.base_url, download_host_suffixes=(),
                                poll=PollPolicy(initial_interval=0.05, max_interval=0.2, deadline=30))
        out, data = tmp_path_factory.mktemp("canary-out"), tmp_path_factory.mktemp("canary-data")
        settings = Settings(token=None, use_sandbox=False, client=client,
                            app=AppSettings(output_dir=out, data_dir=data, port=free_port()))
        with running_app(settings) as app:
            yield app, krea


def files_holding(root: Path, needle: bytes) -> list[str]:
    if not root.exists():
        return []
    return [str(p) for p in root.rglob("*") if p.is_file() and needle in p.read_bytes()]


def test_a_pasted_token_leaves_no_copy_anywhere(browser, canary_app, capfd):
    app, krea = canary_app
    logs = Collect()
    logging.getLogger().addHandler(logs)
    root_level = logging.getLogger().level
    logging.getLogger().setLevel(logging.DEBUG)
    context = browser.new_context(viewport={"width": 1366, "height": 1000}, accept_downloads=True)
    page = context.new_page()
    try:
        page.goto(app.url)
        page.locator("#prompt textarea").wait_for()
        if not page.locator("#token-input input, #token-input textarea").first.is_visible():
            page.locator("#token-box").click()
        page.locator("#token-input input, #token-input textarea").first.fill(CANARY)
        page.locator("#token-use").click()
        expect(page.locator("#token-state")).to_contain_text("your token", timeout=10_000)

        # Generate, and download the result.
        page.locator("#prompt textarea").fill("a canary on a wire")
        page.locator("#generate-btn").click()
        expect(page.locator("#status .run-status")).to_have_attribute("data-phase", "done", timeout=30_000)
        with page.expect_download() as download:
            page.locator("#result-image button[aria-label*='ownload' i], #result-image a[download]").first.click()
        downloaded = Path(download.value.path()).read_bytes()

        # A failure whose reason echoes the token back.
        krea.set_fault(Fault(kind="job_fails", reason=f"denied for Bearer {CANARY} ({CANARY})", count=1))
        page.locator("#prompt textarea").fill("a canary that fails")
        page.locator("#generate-btn").click()
        expect(page.locator("#status .run-status")).to_have_attribute("data-phase", "failed", timeout=30_000)
        expect(page.locator("#status .run-error")).to_be_visible()

        # Compare, then History.
        page.get_by_role("tab", name="Compare").click()
        page.locator("#compare-prompt textarea").fill("two canaries")
        page.locator("#compare-btn").click()
        expect(page.locator("#compare-preflight")).to_contain_text("Finished", timeout=60_000)
        page.get_by_role("tab", name="History").click()
        page.locator("#history-table tr[data-run-id]").first.click()
        expect(page.locator("#history-details .run-details")).to_be_visible()

        assert len(krea.engine.jobs) >= 3  # the token really was used (the stand-in accepts only it)
        html = page.content()
        storage = page.evaluate("() => JSON.stringify([Object.entries(localStorage), "
                                "Object.entries(sessionStorage), document.cookie])")
        config = requests.get(f"{app.url}config", timeout=10).text
    finally:
        context.close()
        logging.getLogger().removeHandler(logs)
        logging.getLogger().setLevel(root_level)

    failed = app.service.store.query(RunFilter(search="canary that fails"))
    assert failed and "denied for" in failed[0].record.error.message  # the echoed reason did flow through
    captured = capfd.readouterr()
    assert CANARY not in html
    assert CANARY not in storage
    assert CANARY not in config
    assert CANARY.encode() not in downloaded
    assert not [line for line in logs.lines if CANARY in line]
    assert CANARY not in captured.out and CANARY not in captured.err
    needle = CANARY.encode()
    assert files_holding(app.settings.app.data_dir, needle) == []
    assert files_holding(app.settings.app.output_dir, needle) == []
    assert files_holding(PREVIEW_DIR, needle) == []
    from gradio.utils import get_upload_folder

    assert files_holding(Path(get_upload_folder()), needle) == []
