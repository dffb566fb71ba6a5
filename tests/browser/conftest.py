"""Real Chromium (Debian's /usr/bin/chromium) driven by Playwright against the real app on loopback."""

import os

import pytest

from playground.chromium import CHROMIUM_ARGS, CHROMIUM_PATH
from tests.support import fast_settings, running_app

pytestmark = pytest.mark.browser


def pytest_collection_modifyitems(items):
    if os.path.exists(CHROMIUM_PATH):
        return
    if os.environ.get("CI"):
        raise pytest.UsageError(f"{CHROMIUM_PATH} is missing on CI: scripts/test.sh should have installed it")
    skip = pytest.mark.skip(reason=f"{CHROMIUM_PATH} not installed (apt-get install -y chromium)")
    for item in items:
        if "tests/browser" in str(item.fspath):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM_PATH, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    with running_app(fast_settings(tmp_path_factory.mktemp("outputs"))) as running:
        yield running


@pytest.fixture
def page(browser, app):
    app.backend.sandbox.clear_faults()
    context = browser.new_context(viewport={"width": 1366, "height": 1000})
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(app.url)
    page.locator("#prompt textarea").wait_for()
    yield page
    context.close()
    app.backend.sandbox.clear_faults()
    assert not errors, f"JavaScript errors on the page: {errors}"
