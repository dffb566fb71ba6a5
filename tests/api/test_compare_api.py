"""/compare as a script calls it: one prompt, several models at once, one record per model."""

import pytest
from gradio_client.exceptions import AppError

from playground.sandbox import Fault

FIVE = ["krea/krea-2/medium", "bfl/flux-1-dev", "google/nano-banana-pro", "bytedance/seedream-4",
        "openai/gpt-image-2"]


def compare(client, **values):
    return client.predict(**values, api_name="/compare")


def test_five_models_complete_side_by_side_with_their_adaptations(client):
    images, records = compare(client, prompt="a lighthouse at dusk", models=FIVE, width=1000, height=1000)
    assert [r["model"] for r in records] == FIVE
    assert all(r["phase"] == "done" for r in records) and all(i.endswith(".png") for i in images)
    assert "1000x1000 sent as 1:1, 1K" in records[0]["notes"]
    gpt = records[4]
    assert any(n.startswith("1000x1000 sent as") for n in gpt["notes"])
    assert "seed ignored: this model takes no seed" in gpt["notes"]
    assert len({r["group_id"] for r in records}) == 1


def test_one_failing_model_does_not_break_the_others(app, client):
    app.backend.sandbox.set_fault(Fault(kind="job_fails", model="google/nano-banana-pro",
                                        reason="Content policy: ip_detected"))
    images, records = compare(client, prompt="a famous mouse", models=FIVE)
    assert [r["phase"] for r in records] == ["done", "done", "failed", "done", "done"]
    assert images[2] is None and "ip_detected" in records[2]["error"]["message"]
    assert records[2]["cost_usd"] == 0.0


def test_jobs_are_fired_at_once(app, client):
    _, records = compare(client, prompt="a bridge", models=FIVE)
    jobs = {j.job_id: j for j in app.engine.jobs}
    mine = [jobs[r["job_id"]] for r in records]
    assert max(j.created_ms for j in mine) < min(j.ended_ms for j in mine)  # all submitted before any finished


def test_the_same_seed_goes_to_every_model_that_takes_one(client):
    _, records = compare(client, prompt="a bridge", models=["bfl/flux-1-dev", "bytedance/seedream-4"], seed=777)
    assert [r["seed"] for r in records] == [777, 777]


def test_a_seed_out_of_range_is_refused(app, client):
    before = len(app.engine.jobs)
    with pytest.raises(AppError, match="seed|Seed"):
        compare(client, prompt="a bridge", models=FIVE[:2], seed=-5)
    assert len(app.engine.jobs) == before


def test_over_budget_is_refused_before_any_job(app, client):
    before = len(app.engine.jobs)
    with pytest.raises(AppError, match="over your budget"):
        compare(client, prompt="a bridge", models=["krea/krea-2/medium", "bfl/flux-1-dev"], budget_usd=0.01)
    assert len(app.engine.jobs) == before


def test_a_cap_refuses_unpriced_models_and_names_them_unless_allowed(app, client):
    unpriced = ["bytedance/seedream-4", "openai/gpt-image-2"]
    before = len(app.engine.jobs)
    with pytest.raises(AppError) as refused:
        compare(client, prompt="a bridge", models=unpriced, budget_usd=0.01)
    assert "Seedream 4" in str(refused.value) and "GPT Image 2" in str(refused.value)
    assert len(app.engine.jobs) == before
    _, records = compare(client, prompt="a bridge", models=unpriced, budget_usd=0.01, allow_unpriced=True)
    assert [r["phase"] for r in records] == ["done", "done"]


def test_the_model_count_is_two_to_eight(client):
    with pytest.raises(AppError, match="Choose 2 to 8 models"):
        compare(client, prompt="a bridge", models=["bfl/flux-1-dev"])


def test_a_script_that_cancels_its_comparison_cancels_every_job_at_krea(app):
    import time

    from gradio_client import Client

    from playground.sandbox import Fault

    app.backend.sandbox.set_fault(Fault(kind="hang", count=2))
    client = Client(app.url, verbose=False)
    try:
        job = client.submit(prompt="cancel this comparison", models=["bfl/flux-1-dev", "krea/krea-2/medium"],
                            api_name="/compare")
        mine = lambda: [j for j in app.engine.jobs if j.prompt == "cancel this comparison"]  # noqa: E731
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not (len(mine()) == 2 and all(j.status == "processing"
                                                                             for j in mine())):
            time.sleep(0.05)
        assert [j.status for j in mine()] == ["processing", "processing"]
        job.cancel()
        cancelled_by = time.monotonic() + 5
        while time.monotonic() < cancelled_by and not all(j.status == "cancelled" for j in mine()):
            time.sleep(0.05)
        assert [j.status for j in mine()] == ["cancelled", "cancelled"]
    finally:
        client.close()


def test_one_set_of_references_goes_to_every_model_each_record_saying_what_its_model_did(client, tmp_path):
    from gradio_client import handle_file
    from PIL import Image

    red = tmp_path / "red.png"
    Image.new("RGB", (64, 64), (230, 20, 20)).save(red)
    models = ["krea/krea-2/medium", "bfl/flux-1-dev", "openai/gpt-image-2"]
    _, records = compare(client, prompt="a lighthouse", models=models, references=[handle_file(str(red))],
                         reference_strength=0.5)
    assert all(r["phase"] == "done" for r in records), [r["error"] for r in records]
    bodies = [r["request"]["body"] for r in records]
    assert bodies[0]["image_style_references"][0]["url"].startswith("http")
    assert all(any("reference" in n or "style" in n for n in r["notes"]) for r in records), \
        [r["notes"] for r in records]
    # one upload for all three: the same asset URL wherever a picture was sent
    urls = {item["url"] if isinstance(item, dict) else item for body in bodies for key in
            ("image_style_references", "style_images", "image_urls") for item in body.get(key, [])}
    assert len(urls) == 1, urls
