"""The client against a server that speaks Krea's protocol: the sandbox always, the real API when opted in."""

from __future__ import annotations

import uuid
from io import BytesIO

import pytest
from PIL import Image

from playground.catalog import example_params, load_catalog, output_size
from playground.krea import KreaClient
from playground.krea.errors import (
    BadRequest,
    JobCancelled,
    KreaAPIError,
    JobFailed,
    JobTimeout,
    ModelRetired,
    NotFound,
    OutOfCredits,
    RateLimited,
    ServerError,
    Unauthorized,
)
from playground.sandbox import Fault, SandboxServer
from playground.settings import replace
from tests.contract.conftest import FAST_SANDBOX, Backend, sandbox_client_settings

CATALOG = load_catalog()
TEXT_MODELS = [m for m in CATALOG.models if not m.needs_image]
CHEAP = "bfl/flux-1-dev"
PROMPT = {"prompt": "a lighthouse on a cliff at dusk"}


def jobs_on(sandbox: SandboxServer) -> int:
    return len(sandbox.engine.jobs)


def fault_uses_left(sandbox: SandboxServer, kind: str) -> int | None:
    faults = [f for f in sandbox.engine.faults.list() if f.kind == kind]
    return faults[0].count if faults else 0


# --- generation ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("model", TEXT_MODELS, ids=lambda m: m.id)
def test_every_text_model_completes_and_its_image_downloads(client: KreaClient, model):
    params = example_params(model)
    submitted = client.submit_job(model.id, params, known_fields=model.accepts)
    assert submitted.job_id and not submitted.is_terminal

    seen = list(client.poll_job(submitted.job_id))
    assert seen[-1].is_terminal and all(not j.is_terminal for j in seen[:-1])
    done = client.wait_for_job(submitted.job_id)
    assert done.succeeded and done.urls and done.completed_at is not None

    image = Image.open(BytesIO(client.download_image(done.urls[0])))
    assert image.size == output_size(model, params)


def test_previews_are_never_final(client: KreaClient):
    job = client.submit_job("krea/krea-2/medium-turbo", {**PROMPT, "aspect_ratio": "1:1", "resolution": "1K"})
    for update in client.poll_job(job.job_id):
        if update.status != "completed":
            assert update.urls == ()
    assert update.urls


# --- every documented error status reaches the caller typed ----------------------------------------------


def test_401_wrong_token(backend: Backend):
    if backend.is_sandbox:
        settings = replace(FAST_SANDBOX, required_token="the-right-token")
        with SandboxServer(settings) as strict, KreaClient("a-wrong-token",
                                                          sandbox_client_settings(strict.base_url)) as bad:
            with pytest.raises(Unauthorized) as info:
                bad.submit_job(CHEAP, PROMPT)
            assert jobs_on(strict) == 0
            with pytest.raises(Unauthorized):
                bad.get_job(str(uuid.uuid4()))
    else:
        with backend.new_client("not-a-valid-krea-token") as bad, pytest.raises(Unauthorized) as info:
            bad.list_jobs(limit=1)
    assert "a-wrong-token" not in str(info.value) and "KREA_API_TOKEN" in info.value.user_message


def test_400_names_the_field(backend: Backend, client: KreaClient):
    before = jobs_on(backend.sandbox) if backend.is_sandbox else None
    with pytest.raises(BadRequest) as info:
        client.submit_job(CHEAP, {**PROMPT, "steps": 10_000})
    assert info.value.status in (400, 422)
    if backend.is_sandbox:
        assert info.value.field == "steps" and jobs_on(backend.sandbox) == before


def test_400_unknown_field(backend: Backend, client: KreaClient):
    with pytest.raises(BadRequest) as info:
        client.submit_job(CHEAP, {**PROMPT, "imageUrl": "https://gen.krea.ai/x.png"})
    if backend.is_sandbox:
        assert info.value.field == "imageUrl"


@pytest.mark.sandbox_only
def test_402_when_the_balance_is_spent(sandbox: SandboxServer, client: KreaClient):
    sandbox.engine.balance_usd = 0.0
    before = jobs_on(sandbox)
    with pytest.raises(OutOfCredits) as info:
        client.submit_job(CHEAP, PROMPT)
    assert "Top up" in info.value.user_message and jobs_on(sandbox) == before


@pytest.mark.sandbox_only
def test_402_from_a_submit_fault(sandbox: SandboxServer, client: KreaClient):
    sandbox.set_fault(Fault(kind="submit_status", status=402, count=1))
    with pytest.raises(OutOfCredits):
        client.submit_job(CHEAP, PROMPT)


def test_404_unknown_job(client: KreaClient):
    with pytest.raises(NotFound):
        client.get_job(str(uuid.uuid4()))


def test_404_job_of_another_token(backend: Backend, client: KreaClient):
    if not backend.is_sandbox:
        pytest.skip("needs a second token")
    job = client.submit_job(CHEAP, PROMPT)
    with backend.new_client("someone-else") as other, pytest.raises(NotFound):
        other.get_job(job.job_id)


def test_410_retired_model_names_its_replacement(client: KreaClient):
    with pytest.raises(ModelRetired) as info:
        client.submit_job("bytedance/seedream-3", PROMPT)
    err = info.value
    assert err.status == 410 and "seedream-5-lite" in (err.replacement or "")
    assert "seedream-5-lite" in err.user_message and err.sunset_date


@pytest.mark.sandbox_only
def test_429_with_a_long_retry_after_comes_back_at_once(sandbox: SandboxServer, client: KreaClient):
    sandbox.set_fault(Fault(kind="submit_status", status=429, retry_after=120, count=5))
    with pytest.raises(RateLimited) as info:
        client.submit_job(CHEAP, PROMPT)
    assert info.value.retry_after == 120.0 and "120 seconds" in info.value.user_message
    assert fault_uses_left(sandbox, "submit_status") == 4  # one POST: not retried against a 2-minute hint


@pytest.mark.sandbox_only
def test_429_on_submit_is_handed_back_not_slept_on(sandbox: SandboxServer, client: KreaClient):
    # Even a hint the client could wait out goes back at once: the caller waits, where a Stop can end it.
    sandbox.set_fault(Fault(kind="submit_status", status=429, retry_after=1, count=1))
    before = jobs_on(sandbox)
    with pytest.raises(RateLimited) as info:
        client.submit_job(CHEAP, PROMPT)
    assert info.value.retry_after == 1.0 and jobs_on(sandbox) == before
    assert fault_uses_left(sandbox, "submit_status") == 0  # exactly one POST
    job = client.submit_job(CHEAP, PROMPT)  # a refused submit created no job: safe to send again
    assert job.job_id and jobs_on(sandbox) == before + 1


@pytest.mark.sandbox_only
def test_500_on_submit_is_sent_once(sandbox: SandboxServer, client: KreaClient):
    sandbox.set_fault(Fault(kind="submit_status", status=500, count=5))
    before = jobs_on(sandbox)
    with pytest.raises(ServerError):
        client.submit_job(CHEAP, PROMPT)
    assert fault_uses_left(sandbox, "submit_status") == 4  # exactly one POST reached the server
    assert jobs_on(sandbox) == before


@pytest.mark.sandbox_only
def test_transient_503_on_get_is_recovered_by_retries(sandbox: SandboxServer, client: KreaClient):
    job = client.submit_job(CHEAP, PROMPT)
    sandbox.set_fault(Fault(kind="get_status", status=503, count=2))
    assert client.get_job(job.job_id).job_id == job.job_id
    assert fault_uses_left(sandbox, "get_status") == 0


@pytest.mark.sandbox_only
def test_polling_outlasts_an_outage_longer_than_the_retries(sandbox: SandboxServer, client: KreaClient):
    job = client.submit_job(CHEAP, PROMPT)
    sandbox.set_fault(Fault(kind="get_status", status=503, count=6))  # more than one call's 3 retries
    assert client.wait_for_job(job.job_id).succeeded


# --- jobs that fail --------------------------------------------------------------------------------------


@pytest.mark.sandbox_only
def test_failed_job_raises_job_failed_with_the_reason(sandbox: SandboxServer, client: KreaClient):
    sandbox.set_fault(Fault(kind="job_fails", reason="NSFW content detected", code="nsfw", count=1))
    job = client.submit_job(CHEAP, PROMPT)
    assert list(client.poll_job(job.job_id))[-1].status == "failed"  # following never raises for it
    with pytest.raises(JobFailed) as info:
        client.wait_for_job(job.job_id)
    assert "NSFW content detected" in info.value.reason


@pytest.mark.sandbox_only
def test_silent_failure_still_explains(sandbox: SandboxServer, client: KreaClient):
    sandbox.set_fault(Fault(kind="silent_fail", count=1))
    job = client.submit_job(CHEAP, PROMPT)
    with pytest.raises(JobFailed) as info:
        client.wait_for_job(job.job_id)
    assert "no reason" in info.value.reason


@pytest.mark.sandbox_only
def test_shadow_fail_is_a_failure(sandbox: SandboxServer, client: KreaClient):
    sandbox.set_fault(Fault(kind="shadow_fail", count=1))
    job = client.submit_job(CHEAP, PROMPT)
    last = list(client.poll_job(job.job_id))[-1]
    assert last.status == "completed" and last.failed and last.urls == ()
    with pytest.raises(JobFailed) as info:
        client.wait_for_job(job.job_id)
    assert "possibly filtered by the provider" in info.value.user_message


@pytest.mark.sandbox_only
def test_deadline_raises_job_timeout_and_the_job_lives_on(sandbox: SandboxServer, client: KreaClient):
    sandbox.set_fault(Fault(kind="hang", count=1))
    job = client.submit_job(CHEAP, PROMPT)
    short = replace(client.settings.poll, deadline=0.3)
    with pytest.raises(JobTimeout) as info:
        client.wait_for_job(job.job_id, poll=short)
    assert info.value.job_id == job.job_id and info.value.last_status == "processing"
    assert not client.get_job(job.job_id).is_terminal
    client.cancel_job(job.job_id)


CANCELLABLE = ("queued", "processing")  # "Jobs can only be canceled while ... queued or processing" [C LIFE]


def test_cancel_leaves_the_job_cancelled(backend: Backend, client: KreaClient):
    if backend.is_sandbox:
        backend.sandbox.set_fault(Fault(kind="hang", count=1))  # it stays processing: cancellable until cancelled
    job = client.submit_job(CHEAP, PROMPT)
    if backend.is_sandbox:
        job = next(j for j in client.poll_job(job.job_id) if j.status == "processing")
    try:
        cancelled = client.cancel_job(job.job_id)
    except KreaAPIError as exc:
        now = client.get_job(job.job_id).status
        if backend.is_sandbox or now in CANCELLABLE:
            raise
        pytest.skip(f"the live job was {now} when the cancel arrived ({exc.status}): not cancellable then")
    if not backend.is_sandbox and cancelled.status == "completed":
        pytest.skip("the live job finished before the cancel arrived")
    assert cancelled.status == "cancelled"
    assert client.get_job(job.job_id).status == "cancelled"
    assert [j.status for j in client.poll_job(job.job_id)] == ["cancelled"]
    with pytest.raises(JobCancelled):
        client.wait_for_job(job.job_id)


def test_a_finished_job_is_not_cancelled(backend: Backend, client: KreaClient):
    # Krea documents 200 and 404 for DELETE /jobs/{id}; a job past processing cannot be cancelled [C LIFE].
    done = client.wait_for_job(client.submit_job(CHEAP, PROMPT).job_id)
    with pytest.raises(KreaAPIError) as info:
        client.cancel_job(done.job_id)
    assert 400 <= info.value.status < 500
    if backend.is_sandbox:
        assert isinstance(info.value, NotFound) and "it is completed" in str(info.value)
    after = client.get_job(done.job_id)
    assert after.status == "completed" and after.urls == done.urls


# --- listing ---------------------------------------------------------------------------------------------


def test_list_pages_cover_every_job_once(backend: Backend):
    if not backend.is_sandbox:
        pages = []
        cursor = None
        for _ in range(3):
            page = backend.client.list_jobs(limit=2, cursor=cursor)
            pages.append(page)
            cursor = page.next_cursor
            if not cursor:
                break
        ids = [j.job_id for p in pages for j in p.items]
        assert len(ids) == len(set(ids))
        return
    with backend.new_client(f"pager-{uuid.uuid4().hex}") as own:  # own token: a job list of our own
        submitted = [own.submit_job(CHEAP, {"prompt": f"page test {i}"}).job_id for i in range(5)]
        sizes, ids, cursor = [], [], None
        while True:
            page = own.list_jobs(limit=2, cursor=cursor)
            sizes.append(len(page.items))
            ids += [j.job_id for j in page.items]
            cursor = page.next_cursor
            if cursor is None:
                break
        assert sizes == [2, 2, 1]
        assert ids == list(reversed(submitted))  # newest first, each exactly once
        assert [j.job_id for j in own.iter_jobs(limit=2)] == ids


def test_list_filters_by_status(backend: Backend, client: KreaClient):
    page = client.list_jobs(limit=5, status="completed")
    assert all(j.status == "completed" for j in page.items)


# --- parameters the server refuses ----------------------------------------------------------------------


@pytest.mark.parametrize("params, field", [
    ({"prompt": "x", "bogus": 1}, "bogus"),
    ({"steps": 10}, "prompt"),
    ({"prompt": "x", "width": "wide"}, "width"),
])
def test_the_client_sends_what_it_is_given_and_the_server_refuses(backend: Backend, client: KreaClient,
                                                                  params, field):
    before = jobs_on(backend.sandbox) if backend.is_sandbox else None
    with pytest.raises(BadRequest) as info:
        client.submit_job(CHEAP, params, known_fields=CATALOG.get(CHEAP).accepts)
    assert info.value.status in (400, 422) and info.value.kind == "invalid"
    if backend.is_sandbox:
        assert info.value.field == field and field in info.value.user_message
        assert jobs_on(backend.sandbox) == before
