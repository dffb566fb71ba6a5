"""/generate as a script calls it: named parameters, model defaults for the rest, a streamed record per update."""

import threading

import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError
from PIL import Image

from playground.catalog import MAX_SEED, load_catalog, output_size
from playground.sandbox import Fault

CATALOG = load_catalog()
TEXT_MODELS = [m for m in CATALOG.models if not m.needs_image]


def stream(client, **values):
    """Every (image, record) the endpoint yields, last one final."""
    return list(client.submit(**values, api_name="/generate"))


def test_model_and_prompt_alone_make_an_image_with_its_record(client):
    image, record = client.predict(model="bfl/flux-1-dev", prompt="a red fox", api_name="/generate")
    assert record["phase"] == "done" and record["status"] == "completed" and record["error"] is None
    png = Image.open(image)
    assert png.size == (1024, 1024)  # Flux's default size
    assert png.text["prompt"] == "a red fox" and png.text["job_id"] == record["job_id"]
    assert record["request"]["endpoint"] == "/generate/image/bfl/flux-1-dev"
    assert record["request"]["body"]["prompt"] == "a red fox"
    assert 0 <= record["seed"] <= MAX_SEED and png.text["seed"] == str(record["seed"])
    assert record["cost_usd"] == CATALOG.get("bfl/flux-1-dev").price.usd
    assert record["queue_s"] >= 0 and record["run_s"] > 0 and record["total_s"] >= record["run_s"]


def test_the_stream_shows_waiting_working_previews_then_the_final_image(client):
    outputs = stream(client, model="bfl/flux-1-dev", prompt="a serene mountain landscape", width=1024,
                     height=576, seed=42)
    statuses = [record["status"] for _, record in outputs]
    # A poller may miss short states (so may a Krea client); it must see waiting, working and previews.
    assert {"queued", "backlogged", "scheduled"} & set(statuses), statuses
    assert {"processing", "sampling"} & set(statuses), statuses
    assert "intermediate-complete" in statuses and statuses[-1] == "completed"
    previews = [image for image, record in outputs[:-1] if image]
    assert previews and max(Image.open(previews[0]).size) <= 512
    final_image, final = outputs[-1]
    assert final["seed"] == 42 and final["request"]["body"]["seed"] == 42
    assert Image.open(final_image).size == (1024, 576)


def test_params_carry_any_other_field_by_its_krea_name(app, client):
    _, record = client.predict(model="bfl/flux-1-dev", prompt="a fox", params={"steps": 7, "seed": 5},
                               api_name="/generate")
    assert record["request"]["body"]["steps"] == 7 and record["seed"] == 5
    server_job = next(j for j in app.engine.jobs if j.job_id == record["job_id"])
    assert server_job.seed == 5


def test_a_random_seed_is_drawn_per_run_and_returned(client):
    seeds = {client.predict(model="bfl/flux-1-dev", prompt="a fox", api_name="/generate")[1]["seed"]
             for _ in range(2)}
    assert len(seeds) == 2


@pytest.mark.parametrize("values, field, words", [
    ({"width": "abc"}, "width", "must be a number"),
    ({"width": 5000}, "width", "2368"),
    ({"seed": -1}, "seed", "between 0 and 4294967295"),
    ({"seed": 2**63}, "seed", "between 0 and 4294967295"),
    ({"prompt": "   "}, "prompt", "Type a prompt"),
    ({"model": "acme/nope"}, "model", "Unknown model"),
    ({"params": {"bogus": 1}}, "bogus", "Unknown field"),
    ({"model": "openai/gpt-image-2", "width": 100000, "height": 1024}, "width", "3840"),
], ids=["text-width", "width-too-big", "negative-seed", "seed-2^63", "blank-prompt", "unknown-model",
        "unknown-field", "gpt-image-2-width"])
def test_a_bad_value_is_refused_with_one_message_naming_it_and_nothing_is_sent(app, client, values, field, words):
    before = len(app.engine.jobs)
    call = {"model": "bfl/flux-1-dev", "prompt": "a cat", **values}
    with pytest.raises(AppError) as refused:
        client.predict(**call, api_name="/generate")
    message = str(refused.value)
    assert words in message and (field in message or field == "prompt")
    assert message.strip() and len(app.engine.jobs) == before


@pytest.mark.parametrize(
    "fault, kind, words",
    [
        (Fault(kind="submit_status", status=402), "out_of_credits", "balance"),
        (Fault(kind="submit_status", status=401), "unauthorized", "token"),
        (Fault(kind="job_fails", reason="NSFW content detected"), "job_failed", "NSFW content detected"),
        (Fault(kind="shadow_fail"), "job_failed", "without an image"),
    ],
    ids=["402", "401", "job-failed", "shadow-fail"],
)
def test_a_failed_run_returns_its_record_with_the_error_kind_and_message(app, client, fault, kind, words):
    app.backend.sandbox.set_fault(fault)
    image, record = client.predict(model="bfl/flux-1-dev", prompt="a cat", api_name="/generate")
    assert image is None and record["phase"] == "failed"
    assert record["error"]["kind"] == kind and words.lower() in record["error"]["message"].lower()
    assert record["cost_usd"] == 0.0  # failed jobs are not billed


def test_two_sessions_generate_at_the_same_time(app):
    """The second user must not wait for the first (Gradio's default concurrency is 1 per event)."""
    app.backend.sandbox.set_fault(Fault(kind="slow", model="bfl/flux-1-dev", factor=2.5))  # ~2 s jobs
    clients = [Client(app.url, verbose=False) for _ in range(2)]
    records = {}

    def user(index):
        records[index] = clients[index].predict(model="bfl/flux-1-dev", prompt=f"user {index}",
                                                api_name="/generate")[1]

    threads = [threading.Thread(target=user, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for c in clients:
        c.close()
    assert all(r["phase"] == "done" for r in records.values())
    jobs = {j.job_id: j for j in app.engine.jobs}
    a, b = (jobs[records[i]["job_id"]] for i in range(2))
    assert a.created_ms < b.ended_ms and b.created_ms < a.ended_ms  # both were on the server at once


@pytest.mark.parametrize("model", TEXT_MODELS, ids=[m.id for m in TEXT_MODELS])
def test_every_text_to_image_model_runs_with_its_defaults(client, model):
    image, record = client.predict(model=model.id, prompt="a lighthouse on a cliff at dusk", api_name="/generate")
    assert record["phase"] == "done", record["error"]
    assert Image.open(image).size == output_size(model, record["request"]["body"])


def test_a_refused_request_is_not_logged_as_a_traceback(client, capfd):
    capfd.readouterr()
    with pytest.raises(AppError):
        client.predict(model="bfl/flux-1-dev", prompt="a cat", width="abc", api_name="/generate")
    assert "Traceback" not in capfd.readouterr().err


def test_a_script_that_cancels_its_call_cancels_the_job_at_krea_within_seconds(app):
    # A job that never ends by itself: only a DELETE ends it. job.cancel() must send one (defect: it used to poll on
    # until the deadline, holding a slot, and never cancel).
    import time

    app.backend.sandbox.set_fault(Fault(kind="hang", count=1))
    client = Client(app.url, verbose=False)
    try:
        job = client.submit(model="bfl/flux-1-dev", prompt="cancel me", api_name="/generate")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not any(
                j.prompt == "cancel me" and j.status == "processing" for j in app.engine.jobs):
            time.sleep(0.05)
        server_job = next(j for j in app.engine.jobs if j.prompt == "cancel me")
        assert server_job.status == "processing"
        job.cancel()
        cancelled_by = time.monotonic() + 5
        while time.monotonic() < cancelled_by and server_job.status != "cancelled":
            time.sleep(0.05)
        assert server_job.status == "cancelled"
    finally:
        client.close()


def test_reference_pictures_sent_with_handle_file_steer_the_image_and_the_record_says_how(client, tmp_path):
    from gradio_client import handle_file

    red = tmp_path / "red.png"
    Image.new("RGB", (64, 64), (255, 0, 0)).save(red)
    values = dict(model="krea/krea-2/medium", prompt="a quiet harbour", seed=11)
    plain_image, plain = client.predict(**values, api_name="/generate")
    image, record = client.predict(**values, references=[handle_file(str(red))], reference_strength=1.0,
                                   api_name="/generate")
    refs = record["request"]["body"]["image_style_references"]
    assert len(refs) == 1 and refs[0]["url"].startswith("http") and refs[0]["strength"] == 1.0
    assert any("image_style_references" in n for n in record["notes"]), record["notes"]

    def redness(path):
        pixels = Image.open(path).convert("RGB").resize((32, 32)).get_flattened_data()
        return sum(p[0] - (p[1] + p[2]) / 2 for p in pixels) / len(pixels)

    assert redness(image) > redness(plain_image) + 60
    assert record["cost_usd"] > plain["cost_usd"]  # Krea 2 with style references costs more


def test_an_edit_model_takes_its_input_image_by_the_api(client, tmp_path):
    from gradio_client import handle_file

    source = tmp_path / "source.png"
    Image.new("RGB", (96, 64), (20, 200, 40)).save(source)
    _, record = client.predict(model="bfl/flux-1-kontext-dev", prompt="make it night", seed=3,
                               edit_image=handle_file(str(source)), api_name="/generate")
    assert record["phase"] == "done" and record["request"]["body"]["image_url"].startswith("http")


def test_a_file_path_not_sent_through_the_upload_is_refused():
    """gradio_client uploads what handle_file names; a raw call naming a server path gets no file from it."""
    import gradio as gr

    from playground.api import _uploaded_path

    for value in ({"path": "/etc/hostname", "meta": {"_type": "gradio.FileData"}}, {"path": "/etc/hostname"},
                  "/etc/hostname"):
        with pytest.raises(gr.Error, match="handle_file"):
            _uploaded_path(value, "references")
