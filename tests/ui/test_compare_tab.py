"""The Compare tab through its public endpoint: five models at once, faults isolated per tile, exports."""

import csv
import json
import re
import zipfile

from playground.sandbox import Fault
from tests.ui.helpers import endpoint_args

FIVE = ["krea/krea-2/medium", "bfl/flux-1-dev", "google/nano-banana-pro", "bytedance/seedream-4",
        "openai/gpt-image-2"]


def compare(client, **values):
    job = client.submit(*endpoint_args(client, "/compare", **values), api_name="/compare")
    return list(job)


def tiles(final, count):
    """(status html, image) per tile from the last output (client outputs: preflight, then head+image per tile)."""
    return [(final[1 + 2 * i], final[2 + 2 * i]) for i in range(count)]


def phase(html):
    return re.search(r'data-phase="([^"]+)"', html).group(1)


def test_five_models_complete_side_by_side(app, client):
    outputs = compare(client, prompt="a lighthouse at dusk", models=FIVE, width=1000, height=1000)
    final = outputs[-1]
    assert "Finished" in final[0]
    for html, image in tiles(final, 5):
        assert phase(html) == "done", html
        assert image and image.endswith(".png")
    # the shared size was translated per model, and each tile says so
    krea_tile = final[1]
    assert "1000x1000 sent as 1:1, 1K" in krea_tile
    gpt_tile = final[9]
    assert "1000x1000 sent as 1008x1008" in gpt_tile or "1000x1000 sent as 992x992" in gpt_tile
    assert "seed ignored" in gpt_tile


def test_one_failing_model_does_not_break_the_others(app, client):
    app.backend.sandbox.set_fault(Fault(kind="job_fails", model="google/nano-banana-pro",
                                        reason="Content policy: ip_detected"))
    final = compare(client, prompt="a famous mouse", models=FIVE)[-1]
    results = tiles(final, 5)
    assert [phase(h) for h, _ in results] == ["done", "done", "failed", "done", "done"]
    failed_html, failed_image = results[2]
    assert "Content policy: ip_detected" in failed_html and not failed_image
    table = final[-5]
    rows = {row[0]: row for row in table["data"]}
    assert rows["Nano Banana Pro"][1] == "Failed" and "ip_detected" in rows["Nano Banana Pro"][-1]
    assert rows["Nano Banana Pro"][5] == 0.0  # failed jobs are not billed


def test_jobs_are_fired_at_once(app, client):
    compare(client, prompt="a bridge", models=FIVE)
    jobs = sorted(app.engine.jobs, key=lambda j: j.created_ms)[-5:]
    assert max(j.created_ms for j in jobs) < min(j.ended_ms for j in jobs)  # all submitted before any finished


def test_same_seed_goes_to_every_model_that_takes_one(app, client):
    final = compare(client, prompt="a bridge", models=["bfl/flux-1-dev", "bytedance/seedream-4"],
                    randomize_seed=False, seed=777)[-1]
    assert all("seed <code>777</code>" in html for html, _ in tiles(final, 2))


def test_over_budget_comparison_is_refused_before_any_job(app, client):
    before = len(app.engine.jobs)
    final = compare(client, prompt="a bridge", models=FIVE, budget_cap=0.05)[-1]
    assert "over your budget" in final[0]
    assert len(app.engine.jobs) == before


def test_exports_table_as_csv_and_images_with_manifest(app, client):
    final = compare(client, prompt="a harbor", models=FIVE[:3])[-1]
    csv_path, zip_path = (item["value"] if isinstance(item, dict) else item for item in final[-3:-1])
    with open(csv_path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["model"] for r in rows] == ["Krea 2 Medium", "Flux", "Nano Banana Pro"]
    assert {"queue s", "run s", "total s", "cost $", "job id", "seed"} <= set(rows[0])
    with zipfile.ZipFile(zip_path) as archive:
        names = archive.namelist()
        manifest = json.loads(archive.read("manifest.json"))
    assert sum(n.endswith(".png") for n in names) == 3
    assert manifest["runs"][1]["request"]["path"] == "/generate/image/bfl/flux-1-dev"
    assert manifest["runs"][1]["request"]["body"]["prompt"] == "a harbor"
