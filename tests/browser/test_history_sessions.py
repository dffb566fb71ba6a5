"""Runs belong to the browser that made them: a reload finds them (even mid-run), and a hosted app shows each
visitor only their own, in real Chromium."""

from __future__ import annotations

import dataclasses

import pytest
from playwright.sync_api import expect

from playground.store import RunFilter
from tests.support import fast_settings, running_app

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def hosted_app(tmp_path_factory):
    settings = fast_settings(tmp_path_factory.mktemp("hosted-out"), min_job_seconds=3.0)
    settings = dataclasses.replace(settings, app=dataclasses.replace(settings.app, hosted=True))
    with running_app(settings) as running:
        yield running


def start(page, prompt: str) -> None:
    page.locator("#prompt textarea").fill(prompt)
    page.locator("#generate-btn").click()


def history_rows(page):
    page.get_by_role("tab", name="History").click()
    return page.locator("#history-table tr[data-run-id]")


def test_a_reload_mid_run_finds_the_run_in_history_and_it_finishes_there(browser, hosted_app):
    context = browser.new_context(viewport={"width": 1366, "height": 1000})
    page = context.new_page()
    try:
        page.goto(hosted_app.url)
        page.locator("#prompt textarea").wait_for()
        start(page, "reload test: a slow heron")
        expect(page.locator("#status .run-status")).to_have_attribute("data-phase", "following", timeout=10_000)
        page.reload()  # the page goes; the run does not
        page.locator("#prompt textarea").wait_for()
        rows = history_rows(page).filter(has_text="a slow heron")
        expect(rows).to_have_count(1, timeout=10_000)
        # While it runs the tab refreshes itself, and the row ends Completed without a click.
        expect(rows.first).to_contain_text("Completed", timeout=20_000)
        done = hosted_app.service.store.query(RunFilter(search="slow heron"))
        assert len(done) == 1 and done[0].record.image_path and done[0].record.cost_usd is not None
    finally:
        context.close()


def test_a_hosted_app_shows_each_visitor_only_their_own_runs(browser, hosted_app):
    alice = browser.new_context()
    bob = browser.new_context()
    try:
        a, b = alice.new_page(), bob.new_page()
        for page in (a, b):
            page.goto(hosted_app.url)
            page.locator("#prompt textarea").wait_for()
        start(a, "alice's private owl")
        expect(a.locator("#status .run-status")).to_have_attribute("data-phase", "done", timeout=30_000)
        start(b, "bob's private cat")
        expect(b.locator("#status .run-status")).to_have_attribute("data-phase", "done", timeout=30_000)

        expect(history_rows(a).filter(has_text="alice's private owl")).to_have_count(1, timeout=10_000)
        expect(history_rows(a).filter(has_text="bob's private cat")).to_have_count(0)
        expect(history_rows(b).filter(has_text="bob's private cat")).to_have_count(1, timeout=10_000)
        expect(history_rows(b).filter(has_text="alice's private owl")).to_have_count(0)

        # The browser id survives a reload (it lives in the browser, encrypted), so Alice still sees hers.
        a.reload()
        a.locator("#prompt textarea").wait_for()
        expect(history_rows(a).filter(has_text="alice's private owl")).to_have_count(1, timeout=10_000)
        # Bob cannot open Alice's run by id either.
        alice_run = hosted_app.service.store.query(RunFilter(search="alice"))[0]
        bob_session = "not-alice"
        assert hosted_app.service.visible_run(bob_session, alice_run.run_id) is None
        assert hosted_app.service.delete_runs(bob_session, [alice_run.run_id]) == 0
    finally:
        alice.close()
        bob.close()
