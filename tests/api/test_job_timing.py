"""How the real app learns a job has ended, against the real sandbox over loopback: a poll schedule that learns
each model's job length from the server's timestamps, and webhook mode, where the sandbox calls the app's own
receiver and no poll is made between submit and completion."""

from __future__ import annotations

import dataclasses

import pytest
import requests
from gradio_client import Client

from playground.krea.follow import DURATIONS
from playground.settings import PollPolicy
from tests.support import fast_settings, running_app

FLUX = "bfl/flux-1-dev"


def jobs_of(app, prompt: str):
    return [j for j in app.engine.jobs if j.prompt == prompt]


@pytest.fixture(scope="module")
def webhook_app(tmp_path_factory):
    settings = fast_settings(tmp_path_factory.mktemp("hook-out"))
    settings = dataclasses.replace(settings, app=dataclasses.replace(settings.app, webhooks="on"))
    with running_app(settings) as app:
        yield app


@pytest.fixture(scope="module")
def polling_app(tmp_path_factory):
    settings = fast_settings(tmp_path_factory.mktemp("poll-out"))
    # Krea's own schedule (looks at most every 4 s before the window): the window alone must find the end.
    policy = PollPolicy(deadline=60.0)
    settings = dataclasses.replace(settings, app=dataclasses.replace(settings.app, sandbox_poll=policy))
    with running_app(settings) as app:
        yield app


def test_in_webhook_mode_a_job_is_fetched_once_after_the_call_and_never_polled_before(webhook_app):
    client = Client(webhook_app.url, verbose=False, download_files=False)
    try:
        for i in range(3):
            _, record = client.predict(model=FLUX, prompt=f"called back {i}", api_name="/generate")
            assert record["phase"] == "done"
    finally:
        client.close()
    for i in range(3):
        [job] = jobs_of(webhook_app, f"called back {i}")
        assert job.webhook_url and job.webhook_url.startswith(webhook_app.url.rstrip("/") + "/krea-webhook/")
        assert job.webhook_result == "200"  # a follower was waiting for exactly this job
        assert job.polls == 1  # the GET the call prompted; none between submit and completion


def test_the_receiver_takes_only_its_own_path_and_only_jobs_with_an_id(webhook_app):
    hook = webhook_app.url.rstrip("/") + webhook_app.backend.webhook_path
    assert requests.post(hook, json={"job_id": "nobody-follows-this"}, timeout=5).status_code == 404
    assert requests.post(hook, data=b"not json", timeout=5).status_code == 400
    assert requests.post(hook, json={"status": "completed"}, timeout=5).status_code == 400
    assert requests.get(hook, timeout=5).status_code == 405
    assert requests.post(hook, data=b"x" * (300 * 1024), timeout=5).status_code == 413
    guessed = webhook_app.url.rstrip("/") + "/krea-webhook/guessed-secret"
    answer = requests.post(guessed, json={"job_id": "x"}, timeout=5)
    assert answer.status_code != 200 and "received" not in answer.text
    # The secret is nowhere in the page or its config.
    page = requests.get(webhook_app.url, timeout=5).text + requests.get(f"{webhook_app.url}config", timeout=5).text
    assert webhook_app.backend.webhook_path not in page


def test_the_schedule_learns_a_model_and_aims_its_polls_at_the_end(polling_app):
    client = Client(polling_app.url, verbose=False, download_files=False)
    try:
        for i in range(6):
            _, record = client.predict(model=FLUX, prompt=f"learned {i}", api_name="/generate")
            assert record["phase"] == "done"
    finally:
        client.close()
    expect = DURATIONS.expect(polling_app.backend.base_url, FLUX, None)
    assert expect is not None and expect.timed >= 6
    lengths = []
    for i in range(6):
        [job] = jobs_of(polling_app, f"learned {i}")
        lengths.append(job.duration)
        assert job.polls >= 1
    assert expect.early <= min(lengths) and max(lengths) <= expect.late + 0.2
    # Once learned, a job is polled from its window's start every 0.25 s: a handful of GETs, not one per
    # 50 ms as the test policy's classic schedule would.
    learned = [jobs_of(polling_app, f"learned {i}")[0].polls for i in range(3, 6)]
    assert max(learned) <= (expect.late - expect.early) / 0.25 + 3, (learned, expect)


def test_webhook_settings_and_where_the_calls_go(tmp_path):
    from playground.backend import webhook_url
    from playground.settings import AppSettings, Settings, load_settings

    assert load_settings({}).app.public_url is None and load_settings({}).app.webhooks == "auto"
    space = load_settings({"SPACE_HOST": "me-playground.hf.space"})
    assert space.app.public_url == "https://me-playground.hf.space"
    assert load_settings({"PLAYGROUND_PUBLIC_URL": "https://x.example/"}).app.public_url == "https://x.example"
    with pytest.raises(ValueError, match="PLAYGROUND_WEBHOOKS"):
        load_settings({"PLAYGROUND_WEBHOOKS": "sometimes"})
    with pytest.raises(ValueError, match="http"):
        load_settings({"PLAYGROUND_PUBLIC_URL": "x.example"})

    def settings(**app):
        return Settings(app=AppSettings(port=7860, **app))

    path = "/krea-webhook/s3cret"
    # Against Krea: only with a public address (Krea cannot call a loopback one).
    assert webhook_url(settings(), path, sandbox=False) is None
    assert webhook_url(settings(webhooks="on"), path, sandbox=False) is None
    assert webhook_url(settings(public_url="https://x.example"), path, sandbox=False) == \
        "https://x.example/krea-webhook/s3cret"
    assert webhook_url(settings(public_url="https://x.example", webhooks="off"), path, sandbox=False) is None
    # The sandbox calls the app on loopback, and only when asked (polled jobs show preview frames).
    assert webhook_url(settings(public_url="https://x.example"), path, sandbox=True) is None
    assert webhook_url(settings(webhooks="on", host="0.0.0.0"), path, sandbox=True) == \
        "http://127.0.0.1:7860/krea-webhook/s3cret"
