"""The run stream and the Compare merge, driven directly: a real sandbox (or a tiny Krea-like server) on loopback."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from playground.catalog import load_catalog
from playground.compare import SharedSettings, adapt, export_csv, export_zip, results_table, run_comparison
from playground.generate import _Clock, run_generation
from playground.krea import KreaClient
from playground.runs import Phase, RunRecord
from playground.sandbox import Fault, SandboxServer
from playground.settings import ClientSettings, PollPolicy, RetryPolicy, SandboxSettings

CATALOG = load_catalog()
FLUX = CATALOG.get("bfl/flux-1-dev")
BODY = {"prompt": "a small harbour at noon", "width": 512, "height": 512, "seed": 3}
FAST_POLL = PollPolicy(initial_interval=0.02, backoff=1.2, max_interval=0.1, deadline=20)
FAST_RETRY = RetryPolicy(total=1, backoff_factor=0.01, backoff_jitter=0.0)


@pytest.fixture(scope="module")
def sandbox():
    with SandboxServer(SandboxSettings(speed=0.002, min_job_seconds=0.3), CATALOG) as server:
        yield server


@pytest.fixture
def client(sandbox):
    sandbox.clear_faults()
    settings = ClientSettings(base_url=sandbox.base_url, download_host_suffixes=(), poll=FAST_POLL, retry=FAST_RETRY)
    with KreaClient("stream-test-token", settings) as c:
        yield c
    sandbox.clear_faults()


def run(client, tmp_path, body=BODY, model=FLUX, **kwargs):
    return run_generation(client, model, dict(body), output_dir=tmp_path, backend="sandbox", poll=FAST_POLL,
                          **kwargs)


def test_a_run_ends_done_with_a_png_and_a_record(client, tmp_path):
    updates = list(run(client, tmp_path))
    final = updates[-1]
    assert final.phase == Phase.DONE and final.image_path and final.image_size == (512, 512)
    assert len({u.run_id for u in updates}) == 1 and final.started_at
    record = RunRecord.from_update(final, FLUX)
    assert record.cost_usd == FLUX.price.usd and record.request_path == FLUX.path and record.seed == 3


def test_stop_before_send_creates_no_job(sandbox, client, tmp_path):
    before = len(sandbox.engine.jobs)
    stop = threading.Event()
    stop.set()
    updates = list(run(client, tmp_path, stop=stop))
    assert updates[-1].phase == Phase.CANCELLED and updates[-1].job_id is None
    assert len(sandbox.engine.jobs) == before


def test_an_abandoned_stream_cancels_its_job(sandbox, client, tmp_path):
    sandbox.set_fault(Fault(kind="hang", model=FLUX.id))
    stream = run(client, tmp_path)
    job_id = next(u.job_id for u in stream if u.job_id)
    stream.close()  # what Gradio does when a tab closes mid-run
    deadline = time.monotonic() + 5
    job = next(j for j in sandbox.engine.jobs if j.job_id == job_id)
    while job.status != "cancelled" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert job.status == "cancelled"


def test_a_refused_submit_waits_what_krea_asks_and_says_so_then_runs(sandbox, client, tmp_path):
    sandbox.set_fault(Fault(kind="submit_status", status=429, retry_after=1, count=1, model=FLUX.id))
    updates = list(run(client, tmp_path))
    labels = [u.label for u in updates]
    assert any(label.startswith("Krea is busy: retrying in 1 s, attempt 2 of 4") for label in labels), labels
    assert updates[-1].phase == Phase.DONE


def test_stop_ends_a_retry_wait_at_once_and_nothing_is_sent(sandbox, client, tmp_path):
    sandbox.set_fault(Fault(kind="submit_status", status=429, retry_after=30, model=FLUX.id))
    before = len(sandbox.engine.jobs)
    stop = threading.Event()
    stream = run(client, tmp_path, stop=stop)
    busy = next(u for u in stream if u.label.startswith("Krea is busy"))
    assert "retrying in 30 s" in busy.label
    stopped_at = time.monotonic()
    stop.set()
    rest = list(stream)
    assert time.monotonic() - stopped_at < 1.5
    assert rest[-1].phase == Phase.CANCELLED and "before it was sent" in rest[-1].label
    assert len(sandbox.engine.jobs) == before


def test_a_job_past_its_deadline_fails_with_its_id_and_is_left_running(sandbox, client, tmp_path):
    sandbox.set_fault(Fault(kind="hang", model=FLUX.id))
    short = PollPolicy(initial_interval=0.05, backoff=1.0, max_interval=0.05, deadline=0.4)
    updates = list(run_generation(client, FLUX, dict(BODY), output_dir=tmp_path, backend="sandbox", poll=short))
    final = updates[-1]
    assert final.phase == Phase.FAILED and final.error.kind == "timeout" and final.job_id in final.error.message
    job = next(j for j in sandbox.engine.jobs if j.job_id == final.job_id)
    assert job.status != "cancelled"  # it may still finish; the user was told its id
    client.cancel_job(final.job_id)


class _Krea(BaseHTTPRequestHandler):
    """A Krea-like server whose job completes with an image URL that answers 404."""

    def _json(self, status: int, data: dict) -> None:
        body = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self._json(200, {"job_id": "job-1", "status": "queued"})

    def do_GET(self):  # noqa: N802
        if self.path.startswith("/jobs/"):
            base = f"http://127.0.0.1:{self.server.server_port}"
            self._json(200, {"job_id": "job-1", "status": "completed", "result": {"urls": [f"{base}/gone.png"]}})
        else:
            self._json(404, {"error": "not found"})

    def log_message(self, *args):
        pass


def test_a_failed_download_keeps_the_job_id_and_where_the_image_is(tmp_path):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Krea)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        settings = ClientSettings(base_url=f"http://127.0.0.1:{server.server_port}", download_host_suffixes=(),
                                  poll=FAST_POLL, retry=FAST_RETRY)
        with KreaClient("t", settings) as client:
            final = list(run(client, tmp_path))[-1]
    finally:
        server.shutdown()
    assert final.phase == Phase.FAILED and final.error.kind == "bad_image"
    assert "job-1" in final.error.message and "/gone.png" in final.error.message
    record = RunRecord.from_update(final, FLUX)
    assert record.cost_usd == FLUX.price.usd  # Krea completed it: it is billed even though we lost the file


def test_queue_and_run_time_are_split_on_a_fake_clock():
    t = [100.0]
    clock = _Clock(started=t[0], now=lambda: t[0])
    t[0] += 0.5
    clock.accepted = t[0]
    clock.observe("queued")
    t[0] += 2.0
    clock.observe("processing")
    t[0] += 3.0
    clock.observe("completed")
    t[0] += 1.0  # downloading does not count as run time
    timings = clock.timings()
    assert (timings.submit, timings.queue, timings.run) == (0.5, 2.0, 3.0)


def test_a_crashing_tile_fails_alone_and_the_merge_goes_on(sandbox, client, tmp_path):
    shared = SharedSettings("a quiet street", 512, 512, seed=1)
    good = adapt(FLUX, shared)
    seedream = CATALOG.get("bytedance/seedream-4")
    broken = adapt(seedream, shared)
    broken = type(broken)(broken.model, {**broken.params, "prompt": object()}, broken.notes)  # cannot be JSON
    stops = {FLUX.id: threading.Event(), seedream.id: threading.Event()}
    snapshots = list(run_comparison(client, [good, broken], output_dir=tmp_path, backend="sandbox", poll=FAST_POLL,
                                    stops=stops))
    final = snapshots[-1]
    assert final.done and [u.phase for u in final.updates] == [Phase.DONE, Phase.FAILED]
    assert final.updates[1].error.kind == "internal"
    with pytest.raises(Exception):
        snapshots[0].updates[0].__setattr__("phase", "x")  # snapshots are immutable
    records = final.records([good, broken], "group-1")
    table = results_table(records)
    assert list(table["status"]) == ["Completed", "Failed"] and table["cost $"][1] == 0.0
    assert export_csv(records, tmp_path / "out").read_text().count("\n") == 3
    assert export_zip(records, tmp_path / "out", sandbox.base_url).stat().st_size > 0


def test_an_abandoned_comparison_stops_every_tile(sandbox, client, tmp_path):
    sandbox.set_fault(Fault(kind="hang"))
    shared = SharedSettings("a harbour", 512, 512, seed=1)
    adapted = [adapt(CATALOG.get(i), shared) for i in ("bfl/flux-1-dev", "bytedance/seedream-4")]
    stops = {a.model.id: threading.Event() for a in adapted}
    stream = run_comparison(client, adapted, output_dir=tmp_path, backend="sandbox", poll=FAST_POLL, stops=stops)
    for snapshot in stream:
        if all(u.job_id for u in snapshot.updates):
            break
    stream.close()
    assert all(event.is_set() for event in stops.values())


def _png() -> bytes:
    import io

    from PIL import Image
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(buffer, "PNG")
    return buffer.getvalue()


class _Scripted(BaseHTTPRequestHandler):
    """A Krea-like server whose answers the test scripts: `server.gets` is a list of (delay, status, job)."""

    def _send(self, status: int, body: bytes, kind: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self._send(200, json.dumps({"job_id": "job-1", "status": "queued"}).encode())

    def do_GET(self):  # noqa: N802
        if self.path == "/img.png":
            return self._send(200, _png(), "image/png")
        delay, status, job = self.server.gets.pop(0) if len(self.server.gets) > 1 else self.server.gets[0]
        time.sleep(delay)
        self._send(status, json.dumps(job).encode())

    def do_DELETE(self):  # noqa: N802
        self.server.deleted += 1
        answer = dict(self.server.on_delete(self.server.server_port))
        self._send(answer.pop("_status", 200), json.dumps(answer).encode())

    def log_message(self, *args):
        pass


@pytest.fixture
def scripted():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Scripted)
    server.deleted = 0
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings = ClientSettings(base_url=f"http://127.0.0.1:{server.server_port}", download_host_suffixes=(),
                              poll=FAST_POLL, retry=RetryPolicy(total=0))
    with KreaClient("t", settings) as client:
        yield server, client
    server.shutdown()


def test_a_stop_that_arrives_after_the_job_completed_keeps_the_billed_image(scripted, tmp_path):
    server, client = scripted
    server.gets = [(0, 200, {"job_id": "job-1", "status": "processing"})]
    server.on_delete = lambda port: {"job_id": "job-1", "status": "completed",
                                     "result": {"urls": [f"http://127.0.0.1:{port}/img.png"]}}
    stop = threading.Event()
    stream = run(client, tmp_path, stop=stop)
    next(u for u in stream if u.status == "processing")
    stop.set()
    final = list(stream)[-1]
    assert final.phase == Phase.DONE and final.image_path and server.deleted == 1
    assert RunRecord.from_update(final, FLUX).cost_usd == FLUX.price.usd


def test_a_stop_during_a_broken_poll_still_cancels_the_job(scripted, tmp_path):
    server, client = scripted
    server.gets = [(0, 200, {"job_id": "job-1", "status": "processing"}),
                   (0.4, 401, {"error": "token revoked"})]
    server.on_delete = lambda port: {"job_id": "job-1", "status": "cancelled"}
    stop = threading.Event()
    stream = run(client, tmp_path, stop=stop)
    next(u for u in stream if u.status == "processing")
    threading.Timer(0.15, stop.set).start()  # while the next poll is in flight
    final = list(stream)[-1]
    assert final.phase == Phase.CANCELLED and server.deleted == 1


def test_an_unconfirmed_cancel_says_so_and_leaves_the_cost_unknown(scripted, tmp_path):
    server, client = scripted
    server.gets = [(0, 200, {"job_id": "job-1", "status": "processing"})]
    server.on_delete = lambda port: {"_status": 503, "error": "try later"}
    stop = threading.Event()
    stream = run(client, tmp_path, stop=stop)
    next(u for u in stream if u.status == "processing")
    stop.set()
    final = list(stream)[-1]
    assert final.phase == Phase.CANCELLED and "did not confirm" in final.error.message and server.deleted >= 1
    assert RunRecord.from_update(final, FLUX).cost_usd is None  # it may still finish and be billed


def test_the_picture_shown_is_the_final_image_else_a_live_or_stopped_runs_preview():
    from playground.runs import RunUpdate

    live = RunUpdate(model_id=FLUX.id, phase=Phase.FOLLOWING, label="Sampling", preview="p.jpg")
    assert live.picture == "p.jpg"
    assert live.evolve(phase=Phase.DONE, image_path="f.png").picture == "f.png"
    assert live.evolve(phase=Phase.CANCELLED).picture == "p.jpg"  # a stopped run keeps what it showed
    assert live.evolve(phase=Phase.FAILED).picture is None  # a failed run's preview is not a result


def test_a_bug_while_saving_a_billed_image_still_says_where_the_image_is(client, tmp_path, monkeypatch):
    import playground.generate as generate

    def broken(*_args, **_kwargs):
        raise RuntimeError("an unexpected bug")

    monkeypatch.setattr(generate, "save_final_png", broken)
    final = list(run(client, tmp_path))[-1]
    assert final.phase == Phase.FAILED and final.error.kind == "bad_image"
    assert final.job_id in final.error.message and "/files/" in final.error.message  # the image's address
    assert RunRecord.from_update(final, FLUX).cost_usd == FLUX.price.usd  # completed: billed, and said so
