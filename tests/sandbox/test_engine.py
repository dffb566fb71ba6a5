"""The job engine without HTTP: a fake clock stepped by hand, renders run inline, webhooks captured."""

from __future__ import annotations

import random
from concurrent.futures import Executor, Future

import pytest
from PIL import Image

from playground.catalog import load_catalog
from playground.sandbox import Fault, JobEngine
from playground.sandbox.engine import (
    PHASES,
    PREVIEWS_FROM,
    CapacityExceeded,
    NotCancellable,
    OutOfCredits,
    iso_ms,
    owner_key,
    parse_cursor,
    webhook_url_error,
)
from playground.sandbox.faults import FaultRegistry
from playground.settings import SandboxSettings

CATALOG = load_catalog()
FLUX = CATALOG.get("bfl/flux-1-dev")  # previews, $0.007, ~7 s
IMAGEN = CATALOG.get("google/imagen-4-fast")  # no previews, $0.021
BODY = {"prompt": "a quiet harbour", "width": 512, "height": 512}
T0 = 1_760_000_000.0


class FakeClock:
    def __init__(self, now: float = T0):
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class InlineExecutor(Executor):
    """Runs work at once; ``hold=True`` keeps it until :meth:`release` (a slow renderer)."""

    def __init__(self, hold: bool = False):
        self.hold = hold
        self.waiting: list = []

    def submit(self, fn, *args, **kwargs):
        future: Future = Future()
        if self.hold:
            self.waiting.append((fn, args, kwargs))
        else:
            future.set_result(fn(*args, **kwargs))
        return future

    def release(self) -> None:
        while self.waiting:
            fn, args, kwargs = self.waiting.pop(0)
            fn(*args, **kwargs)


def fake_render(model_id, prompt, seed, width, height):
    return Image.new("RGB", (width, height), (seed % 256, 60, 90))


def fake_previews(final, progresses, seed, max_side=384):
    image = final.copy()
    image.thumbnail((max_side, max_side))
    return [image] * len(progresses)


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def hooks():
    return []


@pytest.fixture
def make_engine(clock, hooks):
    engines = []

    def make(executor=None, engine_options=None, **changes):
        settings = SandboxSettings(**{"speed": 1.0, "min_job_seconds": 1.0, **changes})
        engine = JobEngine(
            settings,
            catalog=CATALOG,
            clock=clock,
            rng=random.Random(7),
            executor=executor or InlineExecutor(),
            renderer=(fake_render, fake_previews),
            webhook_sender=lambda url, payload: hooks.append((url, payload)) or 200,
            **(engine_options or {}),
        )
        engines.append(engine)
        return engine

    yield make
    for engine in engines:
        engine.stop()


def status(engine, job):
    return engine.view(engine.get("tok", job.job_id))["status"]


def test_a_job_walks_every_phase_on_the_clock(make_engine, clock):
    engine = make_engine()
    job = engine.submit("tok", IMAGEN, BODY)
    assert status(engine, job) == "queued"
    seen = []
    for fraction in [start for _, start in PHASES] + [0.99]:
        clock.now = T0 + job.duration * fraction + 1e-6
        seen.append(status(engine, job))
    assert seen == ["scheduled", "processing", "sampling", "sampling"]
    clock.now = T0 + job.duration + 5
    view = engine.view(engine.get("tok", job.job_id), "http://sb")
    assert view["status"] == "completed"
    assert view["completed_at"] == iso_ms(int((T0 + job.duration) * 1000))  # when it ended, not when we looked
    assert view["result"] == {"urls": [f"http://sb/files/{job.job_id}/image.png"]}
    data, media = engine.file(job.job_id, "image.png")
    assert media == "image/png" and data.startswith(b"\x89PNG")


def test_duration_is_scaled_floored_and_jittered(make_engine):
    engine = make_engine(speed=0.5, min_job_seconds=2.0)
    for _ in range(30):
        flux = engine.submit("tok", FLUX, BODY).duration  # 7 * 0.5 = 3.5 s
        imagen = engine.submit("tok2", IMAGEN, BODY).duration  # 6 * 0.5 = 3 s
        assert 3.5 * 0.75 <= flux <= 3.5 * 1.25
        assert 3.0 * 0.75 <= imagen <= 3.0 * 1.25
    engine = make_engine(speed=0.01, min_job_seconds=2.0)
    assert 1.5 <= engine.submit("tok", FLUX, BODY).duration <= 2.5  # the floor, jittered


def test_previews_show_progressive_frames_before_completion(make_engine, clock):
    engine = make_engine()
    job = engine.submit("tok", FLUX, BODY)
    assert 2 <= job.preview_frames <= 4
    urls = []
    for step in range(1, 40):
        clock.now = T0 + job.duration * (PREVIEWS_FROM + (1 - PREVIEWS_FROM) * step / 40)
        view = engine.view(engine.get("tok", job.job_id), "http://sb")
        assert view["status"] == "intermediate-complete"
        urls.append(view["result"]["urls"][0])
    frames = list(dict.fromkeys(urls))
    assert frames == [f"http://sb/files/{job.job_id}/preview-{i}.jpg" for i in range(1, job.preview_frames + 1)]
    assert engine.file(job.job_id, "image.png") is None  # not published before completed
    assert engine.file(job.job_id, "preview-1.jpg")[1] == "image/jpeg"
    clock.now = T0 + job.duration + 0.01
    assert engine.view(engine.get("tok", job.job_id), "http://sb")["result"]["urls"][0].endswith("/image.png")


def test_completion_waits_for_the_image(make_engine, clock):
    executor = InlineExecutor(hold=True)
    engine = make_engine(executor=executor)
    job = engine.submit("tok", IMAGEN, BODY)
    clock.now = T0 + job.duration * 3
    assert status(engine, job) == "sampling"  # late renderer: no URL that would 404
    assert engine.file(job.job_id, "image.png") is None
    executor.release()
    clock.advance(0.25)
    view = engine.view(engine.get("tok", job.job_id))
    assert view["status"] == "completed"
    assert view["completed_at"] == iso_ms(int((T0 + job.duration * 3) * 1000))  # when the image was ready


def test_renderer_errors_fail_the_job_visibly(make_engine, clock):
    engine = make_engine()
    engine._renderer = (lambda *a: 1 / 0, fake_previews)
    job = engine.submit("tok", IMAGEN, BODY)
    clock.now = T0 + job.duration
    view = engine.view(engine.get("tok", job.job_id))
    assert view["status"] == "failed"
    assert view["error"]["code"] == "internal_error" and "ZeroDivisionError" in view["error"]["message"]


def test_backlog_is_fifo_and_starts_when_a_slot_frees(make_engine, clock):
    engine = make_engine(concurrency_limit=2, backlog_limit=2)
    jobs = [engine.submit("tok", IMAGEN, BODY) for _ in range(4)]
    assert [j.status for j in jobs] == ["queued", "queued", "backlogged", "backlogged"]
    with pytest.raises(CapacityExceeded) as refused:
        engine.submit("tok", IMAGEN, BODY)
    assert refused.value.retry_after == max(1, -(-min(j.duration for j in jobs[:2]) // 1))
    assert engine.submit("other", IMAGEN, BODY).status == "queued"  # per-token limits
    first = min(jobs[:2], key=lambda j: j.duration)
    clock.now = first.end_time + 0.001
    engine.tick()
    assert jobs[2].status != "backlogged" and jobs[3].status == "backlogged"
    assert jobs[2].started == pytest.approx(first.end_time, abs=0.001)  # from when the slot freed
    clock.now = T0 + 1000
    engine.tick()
    assert all(j.status == "completed" for j in jobs)


def at_phase(clock, job, status: str) -> None:
    """Set the clock inside ``status``'s stretch of the job's life (queued .. scheduled .. processing ..)."""
    starts = {"queued": 0.0, **dict(PHASES)}
    clock.now = job.started + job.duration * (starts[status] + 0.01)


def test_cancel_follows_krea_lifecycle_queued_and_processing_only(make_engine, clock, hooks):
    # "Jobs can only be canceled while they have a status of queued or processing" [C LIFE].
    engine = make_engine(concurrency_limit=1)
    queued = engine.submit("tok", IMAGEN, BODY, webhook_url="http://127.0.0.1:9/h")
    waiting = engine.submit("tok", IMAGEN, BODY)
    assert (queued.status, waiting.status) == ("queued", "backlogged")
    assert engine.cancel("other-token", queued.job_id) is None  # another token's job: not found
    with pytest.raises(NotCancellable, match="it is backlogged. Only queued or processing jobs"):
        engine.cancel("tok", waiting.job_id)
    assert waiting.status == "backlogged" and waiting.completed_at is None  # refused: left as it was
    clock.advance(0.01)
    cancelled = engine.cancel("tok", queued.job_id)
    assert cancelled.status == "cancelled" and cancelled.completed_at == iso_ms(int(clock.now * 1000))
    assert engine.view(cancelled)["result"] is None
    with pytest.raises(NotCancellable, match="it is cancelled"):  # terminal: refused, unchanged
        engine.cancel("tok", queued.job_id)
    assert waiting.status == "queued"  # the freed slot went to the backlogged job
    engine._webhook_pool.shutdown(wait=True)
    assert [(url, payload["status"]) for url, payload in hooks] == [("http://127.0.0.1:9/h", "cancelled")]


@pytest.mark.parametrize("phase, allowed", [("queued", True), ("scheduled", False), ("processing", True),
                                            ("sampling", False)])
def test_cancel_by_phase(make_engine, clock, phase, allowed):
    engine = make_engine()
    job = engine.submit("tok", IMAGEN, BODY)
    at_phase(clock, job, phase)
    assert status(engine, job) == phase
    if allowed:
        assert engine.cancel("tok", job.job_id).status == "cancelled"
    else:
        with pytest.raises(NotCancellable) as info:
            engine.cancel("tok", job.job_id)
        assert info.value.status == phase and status(engine, job) == phase


def test_a_finished_job_is_not_cancellable(make_engine, clock):
    engine = make_engine()
    done = engine.submit("tok", IMAGEN, BODY)
    clock.now = T0 + 1000
    assert status(engine, done) == "completed"
    with pytest.raises(NotCancellable, match="it is completed"):
        engine.cancel("tok", done.job_id)
    assert engine.view(done)["result"]["urls"]  # still there: a refused cancel changes nothing


def test_intermediate_complete_is_not_cancellable(make_engine, clock):
    engine = make_engine()
    job = engine.submit("tok", FLUX, BODY)
    clock.now = job.started + job.duration * 0.8
    assert status(engine, job) == "intermediate-complete"
    with pytest.raises(NotCancellable, match="intermediate-complete"):
        engine.cancel("tok", job.job_id)


def test_the_cancellable_statuses_can_be_widened_and_are_checked(make_engine, clock):
    everything = ("backlogged", "queued", "scheduled", "processing", "sampling", "intermediate-complete")
    engine = make_engine(concurrency_limit=1, engine_options={"cancellable": everything})
    engine.submit("tok", IMAGEN, BODY)
    waiting = engine.submit("tok", IMAGEN, BODY)
    assert engine.cancel("tok", waiting.job_id).status == "cancelled"
    for wrong in ((), ("completed",), ("queued", "done")):
        with pytest.raises(ValueError, match="cancellable"):
            make_engine(engine_options={"cancellable": wrong})
    with pytest.raises(ValueError, match="cancel_refused_status"):
        make_engine(engine_options={"cancel_refused_status": 418})


def test_created_at_is_unique_per_token_and_pages_cleanly(make_engine):
    engine = make_engine(concurrency_limit=50)
    jobs = [engine.submit("tok", IMAGEN, BODY) for _ in range(7)]  # the clock does not move at all
    assert len({j.created_at for j in jobs}) == 7
    assert engine.submit("other", IMAGEN, BODY).created_ms == int(T0 * 1000)  # per token
    pages, cursor = [], None
    while True:
        items, cursor = engine.list_jobs("tok", cursor_ms=cursor and parse_cursor(cursor), limit=3)
        pages.append(items)
        if cursor is None:
            break
    assert [len(p) for p in pages] == [3, 3, 1]
    assert [j for page in pages for j in page] == list(reversed(jobs))


def test_balance_is_charged_on_completion_only(make_engine, clock):
    engine = make_engine(balance_usd=0.03)
    engine.faults.add(Fault(kind="job_fails", count=1))
    failed = engine.submit("tok", IMAGEN, BODY)
    cancelled = engine.submit("tok", IMAGEN, BODY)
    engine.cancel("tok", cancelled.job_id)
    clock.advance(100)
    engine.tick()
    assert failed.status == "failed" and engine.balance_usd == pytest.approx(0.03)
    engine.submit("tok", IMAGEN, BODY)
    engine.submit("tok", IMAGEN, BODY)  # 0.03 > 0 still: both accepted, both finish
    clock.advance(100)
    engine.tick()
    assert engine.balance_usd == pytest.approx(0.03 - 2 * 0.021)
    with pytest.raises(OutOfCredits):
        engine.submit("tok", IMAGEN, BODY)


def test_webhook_fires_once_on_the_terminal_state(make_engine, clock, hooks):
    engine = make_engine()
    job = engine.submit("tok", FLUX, BODY, webhook_url="http://localhost:1/h", base_url="http://sb")
    for _ in range(20):
        clock.advance(job.duration / 10)
        engine.tick()
    engine._webhook_pool.shutdown(wait=True)
    assert len(hooks) == 1
    _, payload = hooks[0]
    assert payload == engine.view(job, "http://sb") and payload["status"] == "completed"
    assert job.webhook_result == "200"


def test_old_finished_jobs_are_dropped_past_keep_jobs(make_engine, clock):
    engine = make_engine(keep_jobs=3)
    jobs = [engine.submit("tok", IMAGEN, BODY) for _ in range(5)]
    assert len(engine.jobs) == 5  # nothing finished yet: nothing dropped
    clock.advance(100)
    engine.tick()
    kept = engine.jobs
    assert kept == jobs[2:]
    assert engine.get("tok", jobs[0].job_id) is None and engine.file(jobs[0].job_id, "image.png") is None
    assert engine.file(jobs[4].job_id, "image.png") is not None


def test_job_faults_hang_slow_and_outcomes(make_engine, clock):
    engine = make_engine()
    engine.faults.add(Fault(kind="hang", model=IMAGEN.id, count=1))
    engine.faults.add(Fault(kind="slow", factor=10, count=1))
    hung = engine.submit("tok", IMAGEN, BODY)
    assert hung.faults.slow_factor == 10 and hung.faults.outcome == "hang"
    normal = engine.submit("tok", IMAGEN, BODY)
    assert normal.faults.outcome is None and len(engine.faults) == 0
    clock.advance(10_000)
    engine.tick()
    assert hung.status == "processing" and normal.status == "completed"
    engine.faults.add(Fault(kind="shadow_fail", model=FLUX.id))
    assert engine.submit("tok", IMAGEN, BODY).faults.outcome is None  # other model
    shadow = engine.submit("tok", FLUX, BODY)
    clock.advance(100)
    assert engine.view(engine.get("tok", shadow.job_id))["result"] == {}
    assert engine.file(shadow.job_id, "image.png") is None


def test_fault_registry_counts_down_and_validates():
    registry = FaultRegistry()
    registry.add(Fault(kind="submit_status", status=503, count=2))
    assert registry.take_submit("a/b").status == 503
    assert registry.take_submit("a/b").count == 1  # the copy shows the count before this use
    assert registry.take_submit("a/b") is None
    registry.add(Fault(kind="get_status"))
    assert registry.take_get(None).status == 503  # default status; no count: stays
    assert len(registry) == 1
    for bad in (
        {"kind": "nope"},
        {"kind": "submit_status"},
        {"kind": "submit_status", "status": 200},
        {"kind": "slow", "factor": 0},
        {"kind": "hang", "count": 0},
        {"kind": "hang", "extra": 1},
        {"model": "*"},
    ):
        with pytest.raises(ValueError):
            Fault.from_dict(bad)
    assert Fault.from_dict({"kind": "job_fails"}).reason == "NSFW content detected"


def test_helpers():
    assert iso_ms(1736937000000) == "2025-01-15T10:30:00.000Z"
    assert parse_cursor("2025-01-15T10:30:00.000Z") == 1736937000000
    assert parse_cursor("2025-01-15T11:30:00.5+01:00") == 1736937000500
    with pytest.raises(ValueError):
        parse_cursor("soon")
    assert owner_key("secret") != "secret" and len(owner_key("secret")) == 64
    for ok in ("http://127.0.0.1:8000/h", "http://127.9.9.9/h", "http://[::1]:9/h", "http://localhost/h"):
        assert webhook_url_error(ok, allow_remote=False) is None
    assert "X-Webhook-URL" in webhook_url_error("https://example.com/h", allow_remote=False)
    assert webhook_url_error("https://example.com/h", allow_remote=True) is None
    assert "X-Webhook-URL" in webhook_url_error("file:///etc/passwd", allow_remote=True)


def test_no_raw_token_is_stored(make_engine):
    engine = make_engine()
    job = engine.submit("very-secret-token", IMAGEN, BODY)
    assert "very-secret-token" not in repr(vars(job))


def test_a_refused_submit_still_runs_the_work_it_made_due(make_engine, clock):
    engine = make_engine(concurrency_limit=1, backlog_limit=0)
    job = engine.submit("tok", IMAGEN, BODY)
    clock.now = T0 + job.duration * 0.5  # its render is due, nobody has ticked yet
    with pytest.raises(CapacityExceeded):
        engine.submit("tok", IMAGEN, BODY)
    assert job.assets_ready_at is not None
    clock.now = T0 + job.duration + 0.01
    assert status(engine, job) == "completed"


def test_the_engine_cannot_be_built_without_its_catalog():
    with pytest.raises(TypeError):
        JobEngine(SandboxSettings())  # no bundled default down here: the caller's catalog, always
    with pytest.raises(TypeError, match="catalog"):
        JobEngine(SandboxSettings(), None)



def test_every_job_carries_the_type_krea_would_give_it():
    from playground.sandbox.job_types import job_type, parse_types

    types = {model.id: job_type(model.id) for model in CATALOG.models}
    assert set(types.values()) == {"flux", "k2", "externalImage"}
    assert [m for m, t in types.items() if t == "flux"] == ["bfl/flux-1-dev", "bfl/flux-1-kontext-dev"]
    assert {m for m, t in types.items() if t == "k2"} == {m.id for m in CATALOG.models if m.id.startswith("krea/")}
    assert types["google/nano-banana-pro"] == "externalImage"  # the one Krea's docs show [C I2I]
    assert job_type("image/bfl/flux-1-dev") == "flux" and job_type("bfl/flux-1.1-pro") == "externalImage"
    assert job_type("krea/krea-3/large") == "k2" and job_type("acme/brand-new") == "externalImage"  # newer specs
    assert parse_types(None) is None and parse_types(" , ") is None
    assert parse_types("flux, k1,,externalImage") == {"flux", "k1", "externalImage"}


def test_list_jobs_filters_by_type(make_engine):
    engine = make_engine(concurrency_limit=50)
    flux, imagen = engine.submit("tok", FLUX, BODY), engine.submit("tok", IMAGEN, BODY)
    assert engine.view(flux)["type"] == "flux" and engine.view(imagen)["type"] == "externalImage"
    assert engine.list_jobs("tok", types=frozenset({"flux"}))[0] == [flux]
    assert engine.list_jobs("tok", types=frozenset({"externalImage", "flux"}))[0] == [imagen, flux]
    assert engine.list_jobs("tok", types=frozenset({"loraTraining"})) == ([], None)
    assert engine.list_jobs("tok", types=frozenset({"flux", "externalImage"}), limit=1) == ([imagen],
                                                                                         imagen.created_at)


def test_a_hung_job_is_cancellable_at_every_moment(make_engine, clock):
    # `hang` makes a job only a DELETE can end, so it never rests in a status Krea would not cancel.
    engine = make_engine()
    for fraction in (0.0, 0.1, 0.16, 0.2, 0.5, 3.0):
        engine.faults.add(Fault(kind="hang", count=1))
        job = engine.submit("tok", IMAGEN, BODY)
        clock.now = job.started + job.duration * fraction
        assert status(engine, job) in ("queued", "processing"), fraction
        assert engine.cancel("tok", job.job_id).status == "cancelled"
