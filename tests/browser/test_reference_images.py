"""Reference images on the Generate tab in real Chromium: pictures dropped in, what each model does with them,
an image-only model that says what it needs, and a result reused as a reference."""

from __future__ import annotations

import io

from PIL import Image
from playwright.sync_api import expect

from tests.browser.test_generate_page import choose_model, watch_statuses


def picture(tmp_path, name="orange.png", colour=(230, 120, 20)):
    path = tmp_path / name
    Image.new("RGB", (96, 64), colour).save(path)
    return path


def generate_and_wait(page) -> str:
    """Click Generate and wait for this run's end (not the previous run's card, still on screen at first)."""
    code = page.locator("#status .status-meta code").first
    before = code.get_attribute("title") if code.count() else None
    page.get_by_role("button", name="Generate").click()
    page.wait_for_function(
        "(before) => { const c = document.querySelector('#status .status-meta code');"
        " return c && c.getAttribute('title') !== before; }", arg=before, timeout=15_000)
    return watch_statuses(page)[1]


def sent(app, job_id: str) -> dict:
    """The body the app sent for a job, as its run store recorded it."""
    from playground.store import RunFilter

    [run] = [r for r in app.service.store.query(RunFilter(limit=1000)) if r.record.job_id == job_id]
    return run.record.params


def open_references(page):
    box = page.locator("#references")
    if not box.locator("#reference-pictures").is_visible():
        box.get_by_text("Reference images").first.click()
    return box


def add_picture(page, path):
    page.locator("#reference-pictures input[type=file]").set_input_files(str(path))
    expect(page.locator("#reference-pictures img").first).to_be_visible(timeout=10_000)


def test_a_style_reference_goes_to_krea_2_as_its_own_field_and_is_uploaded_once(page, app, tmp_path):
    choose_model(page, "Krea 2 Medium")
    open_references(page)
    add_picture(page, picture(tmp_path))
    limits = page.locator("#reference-limits")
    expect(limits).to_contain_text("Style references: up to 10, strength 0 to 1")  # the limits, before any picture
    expect(limits).to_contain_text("at most 75 MB")
    note = page.locator("#reference-note")
    expect(note).to_contain_text("sent as image_style_references, strength 0.5", timeout=10_000)
    choose_model(page, "Imagen 4")
    expect(note).to_contain_text("takes no reference images")
    choose_model(page, "Krea 2 Medium")

    before = {j.job_id for j in app.engine.jobs}
    for prompt in ("a harbour in the style of the picture", "the same harbour at night"):
        page.locator("#prompt textarea").fill(prompt)
        assert generate_and_wait(page) == "done"
    jobs = [j for j in app.engine.jobs if j.job_id not in before]
    assert len(jobs) == 2
    refs = [sent(app, j.job_id)["image_style_references"] for j in jobs]
    assert all(len(r) == 1 and r[0]["strength"] == 0.5 and "/assets-files/" in r[0]["url"] for r in refs)
    assert refs[0][0]["url"] == refs[1][0]["url"]  # one upload for both runs

    # The session's uploads are listed, and one can be deleted at the API.
    asset_id = refs[0][0]["url"].split("/assets-files/")[1].split("/")[0]
    assert app.engine.assets.find(asset_id) is not None
    uploads = page.locator("#uploads")
    uploads.locator("input").click()
    page.get_by_role("option", name=f"· {asset_id}").click()
    page.get_by_role("button", name="Delete", exact=True).click()
    expect(page.locator("#reference-note")).to_contain_text(f"Deleted {asset_id} at the API", timeout=10_000)
    assert app.engine.assets.find(asset_id) is None


def test_an_image_only_model_asks_for_its_input_then_edits_it(page, app, tmp_path):
    choose_model(page, "Flux Kontext")
    expect(page.locator("#references")).to_contain_text("Input image · required")
    edit = page.locator("#edit-image")
    expect(edit).to_be_visible()
    before = len(app.engine.jobs)
    page.locator("#prompt textarea").fill("make it blue")
    page.get_by_role("button", name="Generate").click()
    error = page.locator("#status .run-error")
    error.wait_for(timeout=15_000)
    assert "image_url" in error.inner_text() and "Nothing was sent" in error.inner_text()
    assert len(app.engine.jobs) == before

    edit.locator("input[type=file]").set_input_files(str(picture(tmp_path, "to-edit.png", (20, 60, 200))))
    expect(page.locator("#reference-note")).to_contain_text("input image sent as image_url", timeout=10_000)
    assert generate_and_wait(page) == "done"
    job = app.engine.jobs[-1]
    assert job.model_id == "bfl/flux-1-kontext-dev" and "/assets-files/" in sent(app, job.job_id)["image_url"]


def test_a_result_becomes_a_reference_with_one_click(page):
    page.locator("#prompt textarea").fill("a lighthouse")
    page.get_by_role("button", name="Generate").click()
    _seen, phase = watch_statuses(page)
    assert phase == "done"
    page.get_by_role("button", name="Use as reference").click()
    expect(page.locator("#reference-pictures img").first).to_be_visible(timeout=10_000)
    expect(page.locator("#reference-note")).to_contain_text("reference", timeout=10_000)
    # Drawn from the result on screen: a real picture, not a placeholder.
    src = page.locator("#reference-pictures img").first.get_attribute("src")
    data = page.request.get(src).body()
    assert Image.open(io.BytesIO(data)).size[0] > 0


def test_compare_shares_one_picture_and_each_tile_says_what_its_model_did_with_it(page, app, tmp_path):
    from tests.browser.test_compare_page import open_compare, tile_phase

    open_compare(page)
    page.locator("#compare-references").get_by_text("Reference images").first.click()
    page.locator("#compare-reference-pictures input[type=file]").set_input_files(str(picture(tmp_path)))
    plan = page.locator("#compare-reference-plan")
    krea_item = plan.get_by_role("listitem").filter(has_text="Krea 2 Medium")
    expect(krea_item).to_contain_text("1 reference sent as image_style_references, strength 0.5", timeout=10_000)
    seedream = plan.get_by_role("listitem").filter(has_text="Seedream 4")
    expect(seedream).to_contain_text("style_images, strength 0.5 → 1.0")  # mapped to Seedream's own range
    expect(krea_item).to_contain_text("$0.035 with them ($0.030 without)")  # the price difference, counted
    expect(page.locator("#compare-preflight")).to_contain_text("The pictures add ≈ $0.005 in all")

    page.locator("#compare-prompt textarea").fill("a harbour, after the picture")
    page.get_by_role("button", name="Compare", exact=True).click()
    page.locator("#compare-preflight", has_text="Finished").wait_for(timeout=60_000)
    assert all(tile_phase(page, i) == "done" for i in range(5))
    expect(page.locator("#tile-0-status")).to_contain_text("image_style_references")
    krea = next(j for j in reversed(app.engine.jobs) if j.model_id == "krea/krea-2/medium")
    sent_refs = sent(app, krea.job_id)["image_style_references"]
    assert len(sent_refs) == 1 and "/assets-files/" in sent_refs[0]["url"]

    # A tile's result joins the shared pictures for the next comparison.
    page.locator("#tile-1-use-as-reference").click()
    expect(page.locator("#compare-reference-pictures img")).to_have_count(2, timeout=10_000)
    expect(krea_item).to_contain_text("2 references sent as image_style_references", timeout=10_000)


def test_a_run_from_history_becomes_a_reference_in_generate(page, app):
    from tests.browser.test_history_page import generate, open_history

    generate(page, "a windmill to reuse, reference test")
    run = app.service.history("any")[0].record
    open_history(page)
    row = page.locator("#history-table tbody tr:visible").filter(has_text="a windmill to reuse")
    row.first.locator("td").nth(2).click()
    expect(page.locator("#history-details .run-details")).to_have_attribute("data-run-id", run.run_id)
    page.locator("#history-use-as-reference").click()
    expect(page.locator("#prompt textarea")).to_be_visible()  # back on Generate
    expect(page.locator("#reference-pictures img").first).to_be_visible(timeout=10_000)
    choose_model(page, "Krea 2 Medium")
    expect(page.locator("#reference-note")).to_contain_text("1 reference sent as image_style_references")


def test_a_lora_style_from_the_list_and_a_krea_2_moodboard_are_sent_by_id(page, app):
    choose_model(page, "Flux")
    open_references(page)
    styles = page.locator("#reference-styles")
    expect(styles).to_be_visible()
    expect(page.locator("#reference-moodboard")).to_be_hidden()  # Flux takes no moodboard
    styles.locator("input").click()
    first = page.get_by_role("option").first
    name = first.inner_text().strip()
    first.click()
    page.keyboard.press("Escape")
    expect(page.locator("#reference-note")).to_contain_text(f"LoRA style {name} sent as styles, strength 1.0",
                                                            timeout=10_000)
    page.locator("#prompt textarea").fill("a lighthouse with a LoRA style")
    assert generate_and_wait(page) == "done"
    body = sent(app, app.engine.jobs[-1].job_id)
    assert len(body["styles"]) == 1 and body["styles"][0]["strength"] == 1.0

    choose_model(page, "Krea 2 Medium")
    expect(page.locator("#reference-moodboard")).to_be_visible()
    styles.get_by_role("button", name="Clear").click()  # Krea 2 takes LoRA styles too: only the moodboard here
    moodboard = page.locator("#reference-moodboard textarea, #reference-moodboard input").first
    moodboard.fill("5b0a3c1e-0000-4000-8000-000000000001")
    moodboard.press("Tab")
    expect(page.locator("#reference-note")).to_contain_text("moodboard 5b0a", timeout=10_000)
    page.locator("#prompt textarea").fill("a lighthouse after a moodboard")
    assert generate_and_wait(page) == "done"
    run = app.service.history("any")[0].record
    assert run.params["moodboards"] == [{"id": "5b0a3c1e-0000-4000-8000-000000000001", "strength": 0.23}]
    assert run.cost_usd == 0.04  # Krea 2 Medium's moodboard price
