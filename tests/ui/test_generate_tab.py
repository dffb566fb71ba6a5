"""The Generate tab through its public endpoint, as gradio_client (and so the page) calls it."""

import re
import threading
import time

import pytest
from gradio_client import Client
from PIL import Image

from playground.catalog import load_catalog, output_size
from playground.sandbox import Fault
from tests.ui.helpers import endpoint_args

CATALOG = load_catalog()
TEXT_MODELS = [m for m in CATALOG.models if not m.needs_image]


def run(client, **values):
    job = client.submit(*endpoint_args(client, "/generate", **values), api_name="/generate")
    outputs = list(job)
    return outputs


def phases(outputs):
    return [re.search(r'data-phase="([^"]+)"', o[0]).group(1) for o in outputs]


def statuses(outputs):
    return [re.search(r'data-status="([^"]*)"', o[0]).group(1) for o in outputs]


def job_id_of(html):
    match = re.search(r'job <code title="([0-9a-f-]{36})"', html)
    return match.group(1) if match else None


def test_a_run_streams_every_status_then_a_png_that_carries_its_parameters(client):
    outputs = run(client, model="bfl/flux-1-dev", prompt="a serene mountain landscape at sunset",
                  width=1024, height=576, randomize_seed=False, seed=42)
    seen = statuses(outputs)
    # A poller may miss short states (so may a Krea client); it must see waiting, working and previews.
    assert {"queued", "backlogged", "scheduled"} & set(seen), seen
    assert {"processing", "sampling"} & set(seen), seen
    assert "intermediate-complete" in seen and seen[-1] == "completed"
    assert phases(outputs)[-1] == "done"
    final_status, final_image, seed, request, curl, python = outputs[-1]
    assert seed == 42 and '"seed": 42' in request
    assert '"seed": 42' in curl and "$KREA_API_TOKEN" in curl and '"seed": 42' in python
    png = Image.open(final_image)
    assert png.format == "PNG" and png.size == (1024, 576)
    assert png.text["prompt"] == "a serene mountain landscape at sunset"
    assert png.text["model"] == "bfl/flux-1-dev" and png.text["seed"] == "42"
    assert png.text["job_id"] == job_id_of(final_status)
    # previews were shown before the final image, and they are small JPEGs
    previews = [o[1] for o in outputs[:-1] if isinstance(o[1], str) and o[1].endswith((".jpg", ".jpeg"))]
    assert previews and max(Image.open(previews[0]).size) <= 512


def test_queue_time_and_run_time_are_shown_apart(client):
    html = run(client, model="bfl/flux-1-dev", prompt="a lake")[-1][0]
    queue = float(re.search(r"queue <b>([\d.]+) s", html).group(1))
    run_s = float(re.search(r"run <b>([\d.]+) s", html).group(1))
    elapsed = float(re.search(r"elapsed <b>([\d.]+) s", html).group(1))
    assert run_s > 0 and queue >= 0 and queue + run_s <= elapsed + 0.15


def test_a_random_seed_is_drawn_and_shown_back(client):
    first = run(client, model="bfl/flux-1-dev", prompt="a fox", randomize_seed=True)[-1]
    second = run(client, model="bfl/flux-1-dev", prompt="a fox", randomize_seed=True)[-1]
    assert isinstance(first[2], int) and first[2] != second[2]
    assert f"seed <code>{first[2]}</code>" in first[0]


def test_invalid_value_names_the_field_and_sends_no_request(app, client):
    before = len(app.engine.jobs)
    outputs = run(client, model="bfl/flux-1-dev", prompt="a cat", width=5000, height=1024)
    html = outputs[-1][0]
    assert 'data-phase="failed"' in html and 'data-field="width"' in html
    assert "width" in html and "2368" in html
    assert len(app.engine.jobs) == before


def test_an_empty_prompt_is_refused_before_sending(app, client):
    before = len(app.engine.jobs)
    html = run(client, model="krea/krea-2/medium", prompt="   ")[-1][0]
    assert 'data-kind="invalid"' in html and "prompt" in html
    assert len(app.engine.jobs) == before


@pytest.mark.parametrize(
    "fault, kind, words",
    [
        (Fault(kind="submit_status", status=402), "out_of_credits", "balance"),
        (Fault(kind="submit_status", status=429, retry_after=7), "rate_limited", "7"),
        (Fault(kind="submit_status", status=401), "unauthorized", "token"),
        (Fault(kind="job_fails", reason="NSFW content detected"), "job_failed", "NSFW content detected"),
        (Fault(kind="shadow_fail"), "job_failed", "without an image"),
    ],
    ids=["402", "429", "401", "job-failed", "shadow-fail"],
)
def test_failures_reach_the_page_as_messages_that_say_what_to_do(app, client, fault, kind, words):
    app.backend.sandbox.set_fault(fault)
    html = run(client, model="bfl/flux-1-dev", prompt="a cat")[-1][0]
    assert f'data-kind="{kind}"' in html
    assert words.lower() in html.lower()


def test_stop_cancels_the_remote_job(app, client):
    app.backend.sandbox.set_fault(Fault(kind="hang", model="bfl/flux-1-dev"))
    job = client.submit(*endpoint_args(client, "/generate", model="bfl/flux-1-dev", prompt="a cat"),
                        api_name="/generate")
    deadline = time.monotonic() + 20
    job_id = None
    while job_id is None and time.monotonic() < deadline:
        outs = job.outputs()
        job_id = job_id_of(outs[-1][0]) if outs else None
        time.sleep(0.05)
    assert job_id, "the run never showed its job id"
    client.predict(api_name="/stop")
    while not job.done() and time.monotonic() < deadline:
        time.sleep(0.05)
    html = job.outputs()[-1][0]
    assert 'data-phase="cancelled"' in html
    server_job = next(j for j in app.engine.jobs if j.job_id == job_id)
    assert server_job.status == "cancelled"


def test_two_sessions_generate_at_once_not_one_after_the_other(app):
    """Two users at the same time: the second must not wait for the first (Gradio's default limit is 1)."""
    app.backend.sandbox.set_fault(Fault(kind="slow", model="bfl/flux-1-dev", factor=2.5))  # ~2 s jobs
    clients = [Client(app.url, verbose=False) for _ in range(2)]
    results = {}

    def user(index):
        start = time.monotonic()
        outs = list(clients[index].submit(*endpoint_args(clients[index], "/generate", model="bfl/flux-1-dev",
                                                         prompt=f"user {index}"), api_name="/generate"))
        results[index] = (time.monotonic() - start, job_id_of(outs[-1][0]), outs[-1][0])

    threads = [threading.Thread(target=user, args=(i,)) for i in range(2)]
    wall_start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    wall = time.monotonic() - wall_start
    for c in clients:
        c.close()
    assert all('data-phase="done"' in r[2] for r in results.values())
    jobs = {j.job_id: j for j in app.engine.jobs}
    a, b = (jobs[results[i][1]] for i in range(2))
    # Both jobs were on the server at the same time...
    assert a.created_ms < b.ended_ms and b.created_ms < a.ended_ms
    # ...and the pair took about as long as the longer one, not the sum.
    longest = max(r[0] for r in results.values())
    total = sum(r[0] for r in results.values())
    assert wall < 0.75 * total and wall < longest * 1.3, (wall, results)


@pytest.mark.parametrize("model", TEXT_MODELS, ids=[m.id for m in TEXT_MODELS])
def test_every_text_to_image_model_can_be_generated_from_the_tab(app, client, model):
    outputs = run(client, model=model.id, prompt="a lighthouse on a cliff at dusk")
    final = outputs[-1]
    assert 'data-phase="done"' in final[0], final[0]
    body = __import__("json").loads(final[3])["body"]
    assert Image.open(final[1]).size == output_size(model, body)
