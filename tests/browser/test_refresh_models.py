"""Against Krea, "Refresh models" reads the live model list again: a model added since the page started is offered
at once, and a failed read keeps the list in use and says why (real Chromium, a loopback spec server)."""

from __future__ import annotations

import copy
import json

from playwright.sync_api import expect

from playground.settings import OPENAPI_SNAPSHOT_PATH
from tests.catalog.test_live_catalog import FLUX_PATH, NEW_PATH, answer
from tests.ui.test_live_models import krea_app, serving, stop


def test_refresh_models_offers_a_model_added_since_start_and_keeps_the_list_when_the_read_fails(browser, tmp_path):
    spec = json.loads(OPENAPI_SNAPSHOT_PATH.read_text())
    server = serving(answer(200, spec))
    try:
        with krea_app(server, tmp_path) as app:
            context = browser.new_context(viewport={"width": 1366, "height": 1000})
            page = context.new_page()
            page.goto(app.url)
            banner = page.locator("#backend-banner")
            expect(banner).to_contain_text("the same models as our list")

            newer = copy.deepcopy(spec)
            operation = copy.deepcopy(newer["paths"][FLUX_PATH])
            operation["post"]["summary"] = "Brand New"
            newer["paths"][NEW_PATH] = operation
            server.serve(answer(200, newer))
            page.get_by_role("button", name="Refresh models").click()
            expect(banner).to_contain_text("1 new since 2026-05: Brand New", timeout=15_000)
            page.locator("#model input").click()
            expect(page.get_by_role("option", name="Brand New").first).to_be_visible()
            page.keyboard.press("Escape")
            assert app.service.catalog.find("acme/brand-new") is not None  # the service runs it too

            server.serve(answer(500, {"error": "down"}))
            page.get_by_role("button", name="Refresh models").click()
            expect(banner).to_contain_text("could not be read again", timeout=15_000)
            expect(banner).to_contain_text("still showing the one read at")
            assert app.service.catalog.find("acme/brand-new") is not None  # nothing taken back
            context.close()
    finally:
        stop(server)


def test_the_sandbox_shows_no_refresh_control(page):
    expect(page.locator("#refresh-models")).to_be_hidden()
