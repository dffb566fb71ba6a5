"""The Generate tab in real Chromium: what a person sees and clicks."""

import re
import time

from playwright.sync_api import expect

from playground.sandbox import Fault


def watch_statuses(page, until_phases=("done", "failed", "cancelled"), timeout=30.0):
    """Read the status card every 30 ms; return the distinct statuses and the final phase."""
    seen, phase = [], None
    card = page.locator("#status .run-status")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, phase = card.get_attribute("data-status"), card.get_attribute("data-phase")
        if status and (not seen or seen[-1] != status):
            seen.append(status)
        if phase in until_phases:
            return seen, phase
        time.sleep(0.03)
    raise AssertionError(f"no terminal phase within {timeout} s; saw {seen}")


def test_type_a_prompt_click_generate_see_statuses_then_the_image(page):
    page.locator("#prompt textarea").fill("a serene mountain landscape at sunset")
    page.get_by_role("button", name="Generate").click()
    seen, phase = watch_statuses(page)
    assert phase == "done"
    assert "queued" in seen or "processing" in seen, seen
    assert seen[-1] == "completed"
    image = page.locator("#result-image img")
    assert ".png" in image.get_attribute("src")
    assert "seed" in page.locator("#status").inner_text()


def test_enter_in_the_prompt_box_generates(page):
    box = page.locator("#prompt textarea")
    box.fill("a misty forest")
    box.press("Enter")
    _seen, phase = watch_statuses(page)
    assert phase == "done"


def test_stop_during_a_run_cancels_the_job_on_the_server(page, app):
    app.backend.sandbox.set_fault(Fault(kind="hang", model="bfl/flux-1-dev"))
    page.locator("#prompt textarea").fill("a cat that never finishes")
    page.get_by_role("button", name="Generate").click()
    job_code = page.locator("#status .status-meta code").first
    job_code.wait_for(timeout=15_000)
    job_id = job_code.get_attribute("title")
    page.get_by_role("button", name="Stop").click()
    _seen, phase = watch_statuses(page)
    assert phase == "cancelled"
    assert "cancelled" in page.locator("#status").inner_text().lower()
    server_job = next(j for j in app.engine.jobs if j.job_id == job_id)
    assert server_job.status == "cancelled"


def test_an_invalid_value_shows_the_fields_error_and_sends_nothing(page, app):
    before = len(app.engine.jobs)
    page.locator("#prompt textarea").fill("a cat")
    width = page.locator("#width input")
    width.fill("5000")
    width.press("Tab")
    page.get_by_role("button", name="Generate").click()
    error = page.locator("#status .run-error")
    error.wait_for(timeout=15_000)
    assert error.get_attribute("data-field") == "width"
    assert "width" in error.inner_text() and "2368" in error.inner_text()
    assert len(app.engine.jobs) == before
    # The field itself is marked, described by the message, and has the focus.
    expect(page.locator("#width")).to_have_class(re.compile(r"\bfield-invalid\b"))
    expect(width).to_have_attribute("aria-invalid", "true")
    expect(width).to_have_attribute("aria-describedby", error.get_attribute("id"))
    expect(width).to_be_focused()
    assert page.locator(".field-invalid").count() == 1 and page.locator(".run-error").count() == 1
    # Fixing it takes the mark away.
    width.fill("1024")
    expect(page.locator("#width")).not_to_have_class(re.compile(r"\bfield-invalid\b"))
    expect(width).not_to_have_attribute("aria-invalid", "true")


def test_ctrl_enter_generates_from_another_field(page):
    page.locator("#prompt textarea").fill("a red barn")
    page.locator("#width input").press("Control+Enter")
    _seen, phase = watch_statuses(page)
    assert phase == "done"


def test_the_form_shows_only_what_the_chosen_model_accepts(page):
    page.locator("#advanced").click()
    expect(page.locator("#width")).to_be_visible()
    expect(page.locator("#param-steps")).to_be_visible()
    page.locator("#model input").click()
    page.get_by_role("option", name="Krea 2 Medium ·").click()
    expect(page.locator("#aspect-ratio")).to_be_visible()
    expect(page.locator("#width")).to_be_hidden()
    expect(page.locator("#param-creativity")).to_be_visible()
    expect(page.locator("#param-steps")).to_be_hidden()


def test_the_page_says_which_backend_is_live(page):
    banner = page.locator("#backend-banner").inner_text()
    assert "Sandbox" in banner and "not by the real models" in banner


def test_elapsed_time_keeps_counting_between_job_updates(page, app):
    app.backend.sandbox.set_fault(Fault(kind="hang", model="bfl/flux-1-dev"))  # stays "processing"
    page.locator("#prompt textarea").fill("a slow one")
    page.get_by_role("button", name="Generate").click()
    page.locator('#status .run-status[data-status="processing"]').wait_for(timeout=15_000)
    elapsed = page.locator("#status .status-times b").first
    first = float(elapsed.inner_text().split()[0])
    page.wait_for_timeout(1200)
    second = float(elapsed.inner_text().split()[0])
    assert second - first >= 0.8, (first, second)
    page.get_by_role("button", name="Stop").click()
    watch_statuses(page)


def choose_model(page, name):
    page.locator("#model input").click()
    page.get_by_role("option", name=f"{name} ·").click()


def test_the_seed_note_follows_the_chosen_model(page):
    seed = page.locator("#seed")
    choose_model(page, "Nano Banana Pro")
    expect(seed).to_contain_text("Nano Banana Pro takes no seed")
    choose_model(page, "Seedream 4")
    expect(seed).not_to_contain_text("takes no seed")
    expect(seed).to_contain_text("4294967295")
    expect(page.locator("#seed input")).to_be_enabled()


def test_a_negative_seed_gives_one_message_on_the_seed_and_no_toast(page, app):
    before = len(app.engine.jobs)
    page.locator("#randomize input").uncheck()
    page.locator("#seed input").fill("-1")
    page.locator("#prompt textarea").fill("a cat")
    page.get_by_role("button", name="Generate").click()
    error = page.locator("#status .run-error")
    error.wait_for(timeout=15_000)
    assert error.get_attribute("data-field") == "seed" and "between 0 and 4294967295" in error.inner_text()
    page.wait_for_timeout(500)
    assert page.locator(".toast-body").count() == 0
    assert len(app.engine.jobs) == before


def test_while_krea_is_busy_the_card_counts_down_and_stop_ends_the_wait(page, app):
    app.backend.sandbox.set_fault(Fault(kind="submit_status", status=429, retry_after=30, model="bfl/flux-1-dev"))
    before = len(app.engine.jobs)
    page.locator("#prompt textarea").fill("a busy day")
    page.get_by_role("button", name="Generate").click()
    label = page.locator("#status .status-label")
    expect(label).to_contain_text("Krea is busy: retrying in", timeout=15_000)
    expect(label).to_contain_text("attempt 2 of 4")
    started = time.monotonic()
    page.get_by_role("button", name="Stop").click()
    _seen, phase = watch_statuses(page, timeout=10)
    assert phase == "cancelled" and time.monotonic() - started < 3
    assert "before it was sent" in page.locator("#status").inner_text()
    assert len(app.engine.jobs) == before
