"""The Arena in real Chromium: a blind round, a vote by key that reveals the names and updates the leaderboard,
undo, and the votes' CSV."""

from __future__ import annotations

from playwright.sync_api import expect


def open_arena(page):
    page.get_by_role("tab", name="Arena").click()
    page.locator("#arena-prompt textarea").wait_for()


def play(page, prompt="a lighthouse at dusk"):
    page.locator("#arena-prompt textarea").fill(prompt)
    page.get_by_role("button", name="Start round").click()
    expect(page.locator("#arena-vote-a")).to_be_enabled(timeout=30_000)


def test_a_round_voted_with_a_key_reveals_the_names_and_updates_the_leaderboard(page, app):
    open_arena(page)
    play(page)
    # Before the vote nothing on the page names a model: heads, images, the page's text.
    names = [m.name for m in app.service.text_models]
    heads = page.locator("#arena-a-head").inner_text() + page.locator("#arena-b-head").inner_text()
    assert not any(n in heads for n in names), heads
    for side in ("a", "b"):
        expect(page.locator(f"#arena-{side}-image img")).to_be_visible(timeout=10_000)
        src = page.locator(f"#arena-{side}-image img").get_attribute("src")
        assert src and not any(part in src for part in ("flux", "krea-2", "imagen", "seedream", "gpt-image"))
    votes_before = len(app.service.store.execute("SELECT * FROM votes"))

    page.locator("body").click(position={"x": 5, "y": 5})  # focus off the prompt box: keys vote
    page.keyboard.press("1")
    reveal = page.locator("#arena-reveal-text")
    expect(reveal).to_contain_text("A is better", timeout=10_000)
    [vote] = app.service.store.execute("SELECT * FROM votes ORDER BY rowid DESC LIMIT 1")
    assert len(app.service.store.execute("SELECT * FROM votes")) == votes_before + 1 and vote["outcome"] == "a"
    name_a = app.service.catalog.get(vote["model_a"]).name
    name_b = app.service.catalog.get(vote["model_b"]).name
    expect(reveal).to_contain_text(f"A was {name_a}, B was {name_b}")
    expect(page.locator("#arena-a-head")).to_contain_text(name_a)
    board = page.locator("#arena-leaderboard")
    expect(board.locator(f'tr[data-model="{vote["model_a"]}"]')).to_contain_text("1–0–0")
    expect(board.locator(f'tr[data-model="{vote["model_b"]}"]')).to_contain_text("0–0–1")
    expect(page.locator("#arena-vote-a")).to_be_disabled()  # one vote per round
    # both runs are in the store, done, with their images
    runs = app.service.store.runs([vote["run_a"], vote["run_b"]])
    assert all(r.record.image_path for r in runs.values()) and len(runs) == 2

    # Undo takes the vote back and the round can be voted again.
    page.get_by_role("button", name="Undo my last vote").click()
    expect(page.locator("#arena-status")).to_contain_text("Undid", timeout=10_000)
    expect(page.locator("#arena-vote-b")).to_be_enabled()
    assert len(app.service.store.execute("SELECT * FROM votes")) == votes_before
    page.locator("body").click(position={"x": 5, "y": 5})  # off the Undo button, whose own Enter would undo again
    page.keyboard.press("2")
    expect(reveal).to_contain_text("B is better", timeout=10_000)

    # Enter starts the next round; a tie by key; the CSV lists both votes.
    page.keyboard.press("Enter")
    expect(page.locator("#arena-vote-tie")).to_be_enabled(timeout=30_000)
    page.keyboard.press("0")
    expect(reveal).to_contain_text("Tie", timeout=10_000)
    expect(page.locator("#arena-leaderboard")).to_contain_text("of 2 votes")
    with page.expect_download() as download:
        page.locator("#arena-csv").click()
    lines = open(download.value.path(), encoding="utf-8").read().splitlines()
    assert len(lines) == 3 and lines[0].startswith("voted_at,prompt,outcome")


def test_a_pool_of_one_model_is_refused_with_a_message_and_nothing_runs(page, app):
    open_arena(page)
    page.locator("#arena-settings").get_by_text("Pool and prompt list").click()
    pool = page.locator("#arena-pool")
    boxes = pool.locator("input[type=checkbox]")
    expect(pool.locator("input[type=checkbox]:checked").first).to_be_visible(timeout=10_000)
    first = next(i for i in range(boxes.count()) if boxes.nth(i).is_checked())
    for i in range(boxes.count()):
        if i != first and boxes.nth(i).is_checked():
            boxes.nth(i).uncheck()
    jobs = len(app.engine.jobs)
    page.locator("#arena-prompt textarea").fill("a fox")
    page.get_by_role("button", name="Start round").click()
    expect(page.locator("#arena-status")).to_contain_text("at least 2 models", timeout=10_000)
    assert len(app.engine.jobs) == jobs
