"""Nothing lost: the run service journals every run, finishes it when nobody watches, and follows it again after a
restart, through the real sandbox on loopback. A recording proxy in front of the sandbox plays the faults
(a submit whose answer is lost) and shows what was sent, in order."""

from __future__ import annotations

import sqlite3
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
from PIL import Image

import playground.generate as generate_module
from playground.catalog import load_catalog
from playground.generate import LOOKUP_MAX_JOBS, LOOKUP_SKEW, look_up_submitted, run_generation
from playground.journal import Journal, RunOrigin, journaled
from playground.krea import KreaClient
from playground.krea.errors import TransportError
from playground.krea.jobs import Job
from playground.runs import Phase, RunRecord, RunUpdate
from playground.sandbox import Fault, SandboxServer
from playground.service import GenerationRequest, RunService
from playground.sessions import Backend, SessionRegistry
from playground.settings import ClientSettings, PollPolicy, RetryPolicy, SandboxSettings
from playground.store import RunFilter, RunStore, StoredRun, TokenSource

CATALOG = load_catalog()
FLUX = CATALOG.get("bfl/flux-1-dev")
BODY = {"prompt": "a lighthouse at dusk", "width": 512, "height": 512, "seed": 11}
REQUEST = GenerationRequest(FLUX.id, BODY["prompt"], params={"width": 512, "height": 512}, seed=11)
FAST_POLL = PollPolicy(initial_interval=0.03, backoff=1.2, max_interval=0.1, deadline=20)
FAST_RETRY = RetryPolicy(total=1, backoff_factor=0.01, backoff_jitter=0.0)
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding", "te",
              "trailer", "upgrade", "proxy-authorization", "proxy-authenticate"}


# --- a recording proxy in front of the sandbox ---------------------------------------------------------------

class _Forward(BaseHTTPRequestHandler):
    def _handle(self) -> None:
        proxy: RecordingProxy = self.server.proxy  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        proxy.seen(self.command, self.path)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}  # Host kept: the
        # sandbox builds its image URLs on it, so downloads come through here too
        answer = requests.request(self.command, proxy.upstream + self.path, data=body, headers=headers,
                                  allow_redirects=False, timeout=10)
        if self.command == "POST" and proxy.take_dropped_answer():
            self.close_connection = True  # the job exists upstream; the client never hears of it
            return
        self.send_response(answer.status_code)
        for key, value in answer.headers.items():
            if key.lower() not in HOP_BY_HOP:
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(answer.content)))
        self.end_headers()
        self.wfile.write(answer.content)

    do_GET = do_POST = do_DELETE = _handle

    def log_message(self, *args) -> None:
        pass


class RecordingProxy:
    """Forwards every request to the sandbox and records (method, path) in order. `hook(method, path)` runs
    before a request is forwarded; `drop_post_answers` POSTs are forwarded but their answer is never sent."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.requests: list[tuple[str, str]] = []
        self.hook = None
        self.drop_post_answers = 0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Forward)
        self._server.daemon_threads = True
        self._server.proxy = self  # type: ignore[attr-defined]
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}"

    def seen(self, method: str, path: str) -> None:
        with self._lock:
            self.requests.append((method, path))
        if self.hook is not None:
            self.hook(method, path)

    def take_dropped_answer(self) -> bool:
        with self._lock:
            if self.drop_post_answers > 0:
                self.drop_post_answers -= 1
                return True
            return False

    def posts(self) -> int:
        with self._lock:
            return sum(1 for method, _ in self.requests if method == "POST")

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture(scope="module")
def sandbox():
    with SandboxServer(SandboxSettings(speed=0.01, min_job_seconds=0.5, concurrency_limit=16, backlog_limit=64),
                       CATALOG) as server:
        yield server


@pytest.fixture
def proxy(sandbox):
    sandbox.clear_faults()
    p = RecordingProxy(sandbox.base_url)
    yield p
    p.close()
    sandbox.clear_faults()


@pytest.fixture
def token():
    """A token of its own per test: the sandbox keeps jobs per token, so each test sees only its own jobs."""
    return f"env-{uuid.uuid4().hex}"


def client_settings(base_url: str, **changes) -> ClientSettings:
    return ClientSettings(base_url=base_url, download_host_suffixes=(), poll=FAST_POLL, retry=FAST_RETRY, **changes)


def krea_service(base_url: str, shared_token: str | None, data: Path, out: Path, **changes) -> RunService:
    """A service as `app.py --no-sandbox` builds it: the operator's token (or none) for `base_url`."""
    settings = client_settings(base_url, **changes)
    backend = Backend("krea", settings, shared_token=shared_token, krea_settings=settings)
    return RunService(CATALOG, backend, SessionRegistry(backend), out, RunStore(data))


def settled(store: RunStore, run_id: str, timeout: float = 15.0) -> StoredRun:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        stored = store.get(run_id)
        if stored is not None and stored.is_terminal:
            return stored
        time.sleep(0.02)
    raise AssertionError(f"run {run_id} did not end in {timeout} s: {store.get(run_id)}")


def wait_until(condition, timeout: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def assert_saved_png(stored: StoredRun, out: Path) -> None:
    path = Path(stored.record.image_path)
    assert path.is_file() and path.resolve().is_relative_to(out.resolve())
    png = Image.open(path)
    assert png.size == (512, 512)
    assert png.text["job_id"] == stored.record.job_id and png.text["prompt"] == BODY["prompt"]
    assert png.text["seed"] == "11" and png.text["model"] == FLUX.id


class KilledRun:
    """A run journaled by the real Journal up to one update, then frozen there: what a process killed at that
    instant leaves on disk. Nothing after that update runs (the generator is kept, never resumed)."""

    def __init__(self, store: RunStore, base_url: str, token: str, *, until, owner: str = "alice",
                 source: TokenSource = TokenSource.ENV, tmp: Path) -> None:
        self.client = KreaClient(token, client_settings(base_url))
        journal = Journal(store, CATALOG, RunOrigin(owner, source, base_url))
        self.stream = journaled(run_generation(self.client, FLUX, dict(BODY), output_dir=tmp, backend="krea",
                                               poll=FAST_POLL, is_known=store.knows_job), journal)
        self.last = next(u for u in self.stream if until(u))

    @property
    def run_id(self) -> str:
        return self.last.run_id


def side_jobs(sandbox: SandboxServer, token: str, count: int) -> list[str]:
    """Jobs created on the account by a POST that never went through the app (what a lost answer leaves)."""
    with KreaClient(token, client_settings(sandbox.base_url)) as other:
        return [other.submit_job(FLUX.path, dict(BODY)).job_id for _ in range(count)]


# --- (a) journal before the first poll ------------------------------------------------------------------------

def test_the_run_is_on_disk_before_its_post_and_its_job_id_before_the_first_poll(proxy, token, tmp_path):
    service = krea_service(proxy.base_url, token, tmp_path / "data", tmp_path / "out")
    store = service.store
    snapshots: list[tuple[str, str, list[StoredRun]]] = []

    def look(method: str, path: str) -> None:
        if method == "POST" or (method == "GET" and path.startswith("/jobs/")):
            snapshots.append((method, path, store.query(RunFilter())))

    proxy.hook = look
    updates = list(service.start_generation("tab", REQUEST))
    assert updates[-1].phase == Phase.DONE
    job_id = updates[-1].job_id
    post_method, _, at_post = snapshots[0]
    assert post_method == "POST" and len(at_post) == 1
    assert at_post[0].record.phase == Phase.SUBMITTING and at_post[0].record.job_id is None
    first_get = next(s for s in snapshots if s[0] == "GET")
    assert first_get[1] == f"/jobs/{job_id}"
    (row,) = first_get[2]
    assert row.record.job_id == job_id and row.record.phase == Phase.FOLLOWING
    assert row.token_source == TokenSource.ENV and row.api_base == proxy.base_url
    wait_until(lambda: not service.is_live(row.run_id), what="the run to end")
    final = store.get(row.run_id)
    assert final.record.phase == Phase.DONE and final.record.cost_usd == FLUX.price.usd
    assert_saved_png(final, tmp_path / "out")


# --- (b) the page leaves, the run goes on ----------------------------------------------------------------------

def test_a_run_whose_page_leaves_still_finishes_into_the_store(sandbox, proxy, token, tmp_path):
    sandbox.set_fault(Fault(kind="slow", factor=2.0, count=1))  # still going when the page leaves
    service = krea_service(proxy.base_url, token, tmp_path / "data", tmp_path / "out")
    stream = iter(service.start_generation("tab", REQUEST))
    first = next(stream)
    stream.close()  # what Gradio does when the tab closes
    stored = settled(service.store, first.run_id)
    assert stored.record.phase == Phase.DONE and stored.label == "Completed"
    assert_saved_png(stored, tmp_path / "out")
    assert not any(method == "DELETE" for method, _ in proxy.requests)  # nothing was cancelled
    wait_until(lambda: not service.is_live(first.run_id), what="the run to be forgotten")
    assert service.stop("tab", "generate") == 0  # its stop switch was released


# --- (c) restart with a job id ---------------------------------------------------------------------------------

def test_after_a_restart_a_run_with_a_job_id_is_followed_to_its_image(sandbox, proxy, token, tmp_path):
    sandbox.set_fault(Fault(kind="slow", factor=3.0, count=1))
    killed = KilledRun(RunStore(tmp_path / "data"), proxy.base_url, token, until=lambda u: u.job_id,
                       tmp=tmp_path / "old-out")
    job = next(j for j in sandbox.engine.jobs if j.job_id == killed.last.job_id)
    assert not job.is_terminal  # the job outlived the process
    posts = proxy.posts()

    service = krea_service(proxy.base_url, token, tmp_path / "data", tmp_path / "out")  # the new process
    assert service.resume_unfinished() == 1
    assert service.resume_unfinished() == 0  # already followed: never twice
    stored = settled(service.store, killed.run_id)
    assert stored.record.phase == Phase.DONE and stored.record.job_id == killed.last.job_id
    assert stored.record.cost_usd == FLUX.price.usd and stored.owner == "alice"
    assert stored.record.total_s and stored.record.total_s > 0
    assert_saved_png(stored, tmp_path / "out")
    assert [r.run_id for r in service.store.query(RunFilter(phase="done"))] == [killed.run_id]
    assert proxy.posts() == posts  # followed, never sent again
    wait_until(lambda: not service.is_live(killed.run_id), what="the resumed run to be forgotten")
    assert service.resume_unfinished() == 0


def test_a_run_killed_while_downloading_is_downloaded_again(sandbox, token, tmp_path):
    (job_id,) = side_jobs(sandbox, token, 1)
    wait_until(lambda: next(j for j in sandbox.engine.jobs if j.job_id == job_id).status == "completed",
               what="the job to complete")
    store = RunStore(tmp_path / "data")
    update = RunUpdate(model_id=FLUX.id, phase=Phase.DOWNLOADING, label="Downloading the image…",
                       run_id="r-download", started_at=datetime.now(timezone.utc).isoformat(), backend="krea",
                       status="completed", job_id=job_id, seed=11, params=dict(BODY))
    store.save(RunRecord.from_update(update, FLUX), owner="alice", token_source=TokenSource.ENV,
               api_base=sandbox.base_url, label=update.label)
    service = krea_service(sandbox.base_url, token, tmp_path / "data", tmp_path / "out")
    assert service.resume_unfinished() == 1
    stored = settled(service.store, "r-download")
    assert stored.record.phase == Phase.DONE
    assert_saved_png(stored, tmp_path / "out")


@pytest.mark.parametrize("mismatch", ["no token", "api base"])
def test_an_env_run_waits_for_an_operator_token_and_the_same_api_base(sandbox, proxy, token, tmp_path, mismatch):
    # The store keeps no token, not even a fingerprint: any operator token for the same API base follows it.
    killed = KilledRun(RunStore(tmp_path / "data"), proxy.base_url, token, until=lambda u: u.job_id,
                       tmp=tmp_path / "old-out")
    if mismatch == "no token":
        other = krea_service(proxy.base_url, None, tmp_path / "data", tmp_path / "out")
    else:
        other = krea_service(sandbox.base_url, token, tmp_path / "data", tmp_path / "out")
    assert other.resume_unfinished() == 0
    waiting = other.store.get(killed.run_id)
    assert waiting.record.phase == Phase.FOLLOWING
    assert waiting.label.startswith("Waiting to be followed again: start the app with the same KREA_API_TOKEN")
    assert proxy.base_url in waiting.label
    service = krea_service(proxy.base_url, token, tmp_path / "data", tmp_path / "out")
    assert service.resume_unfinished() == 1
    assert settled(service.store, killed.run_id).record.phase == Phase.DONE


# --- (d) restart while the POST was out ---------------------------------------------------------------------

@pytest.mark.parametrize("created", [1, 2, 0])
def test_a_run_killed_while_its_post_was_out_is_looked_up_never_sent_again(sandbox, proxy, token, tmp_path,
                                                                          created):
    store = RunStore(tmp_path / "data")
    killed = KilledRun(store, proxy.base_url, token, until=lambda u: True, tmp=tmp_path / "old-out")
    assert killed.last.label == "Sending to the API…" and store.get(killed.run_id).record.job_id is None
    # A job of the account that another run owns is never taken for this one.
    (owned,) = side_jobs(sandbox, token, 1)
    other = RunUpdate(model_id=FLUX.id, phase=Phase.DONE, label="Completed", run_id="other-run",
                      started_at=datetime.now(timezone.utc).isoformat(), backend="krea", status="completed",
                      job_id=owned, params=dict(BODY))
    store.save(RunRecord.from_update(other, FLUX), owner="bob", token_source=TokenSource.ENV,
               api_base=proxy.base_url)
    jobs = side_jobs(sandbox, token, created)  # what the lost POST(s) created

    service = krea_service(proxy.base_url, token, tmp_path / "data", tmp_path / "out")
    assert service.resume_unfinished() == 1
    stored = settled(service.store, killed.run_id)
    assert proxy.posts() == 0  # never a second POST, whatever was found
    if created == 1:
        assert stored.record.phase == Phase.DONE and stored.record.job_id == jobs[0]
        assert_saved_png(stored, tmp_path / "out")
    elif created == 2:
        assert stored.record.phase == Phase.FAILED and stored.record.job_id is None
        assert all(job_id in stored.record.error.message for job_id in jobs)
        assert "Check them in your Krea job list" in stored.record.error.message
        assert stored.record.cost_usd is None or stored.record.cost_usd == 0
    else:
        assert stored.record.phase == Phase.FAILED and stored.record.job_id is None
        assert "nothing was created" in stored.record.error.message
    assert owned not in (stored.record.error.message if stored.record.error else "")
    assert not any(method == "DELETE" for method, _ in proxy.requests)


def test_two_runs_killed_mid_post_never_both_take_the_one_job_that_exists(sandbox, proxy, token, tmp_path):
    store = RunStore(tmp_path / "data")
    first = KilledRun(store, proxy.base_url, token, until=lambda u: True, tmp=tmp_path / "old-out")
    second = KilledRun(store, proxy.base_url, token, until=lambda u: True, tmp=tmp_path / "old-out")
    (job_id,) = side_jobs(sandbox, token, 1)  # only one of the two POSTs reached Krea
    both_looking = threading.Barrier(2)

    def job_lists_answer_together(method: str, path: str) -> None:  # so that two look-ups would overlap
        if path.startswith("/jobs?"):
            try:
                both_looking.wait(timeout=0.5)
            except threading.BrokenBarrierError:
                pass  # one look-up at a time: the second comes after the first is on disk

    proxy.hook = job_lists_answer_together
    service = krea_service(proxy.base_url, token, tmp_path / "data", tmp_path / "out")
    assert service.resume_unfinished() == 2
    ends = [settled(service.store, k.run_id) for k in (first, second)]
    assert sorted(str(s.record.phase) for s in ends) == ["done", "failed"]
    assert [s.record.job_id for s in ends if s.record.phase == Phase.DONE] == [job_id]
    assert proxy.posts() == 0


def test_a_run_killed_while_waiting_out_a_429_was_never_sent(sandbox, token, tmp_path):
    store = RunStore(tmp_path / "data")
    busy = RunUpdate(model_id=FLUX.id, phase=Phase.SUBMITTING, label="Krea is busy: retrying in 18 s, attempt 2 "
                     "of 4", run_id="r-busy", started_at=datetime.now(timezone.utc).isoformat(), backend="krea",
                     seed=11, params=dict(BODY))
    store.save(RunRecord.from_update(busy, FLUX), owner="alice", token_source=TokenSource.USER,
               api_base=sandbox.base_url, label=busy.label)
    side_jobs(sandbox, token, 1)  # a job in the window that is not this run's
    # No token is needed to know that nothing was sent: it ends at start-up, even for a pasted-token run.
    service = krea_service(sandbox.base_url, None, tmp_path / "data", tmp_path / "out")
    service.resume_unfinished()
    stored = settled(service.store, "r-busy", timeout=5)
    assert stored.record.phase == Phase.CANCELLED and stored.record.job_id is None
    assert stored.record.cost_usd == 0 and "no job was created" in stored.record.error.message


def test_look_up_takes_the_one_unknown_job_created_in_the_window():
    sent = datetime(2026, 5, 1, 12, 0, 0, tzinfo=timezone.utc)

    class Jobs:
        def __init__(self, *offsets_and_ids):
            self.jobs = [Job(job_id, "queued", created_at=sent + timedelta(seconds=s)) for s, job_id in
                         sorted(offsets_and_ids, reverse=True)]  # newest first, as Krea lists them

        def iter_jobs(self, limit=100):
            return iter(self.jobs)

    latest = sent + timedelta(seconds=30)
    skew = LOOKUP_SKEW.total_seconds()
    known = {"mine-already"}.__contains__
    job, error = look_up_submitted(Jobs((1, "it"), (-skew - 60, "old"), (30 + skew + 5, "later"),
                                        (2, "mine-already")), sent_at=sent, latest=latest, is_known=known)
    assert job.job_id == "it" and error is None
    job, error = look_up_submitted(Jobs((1, "a"), (-skew + 1, "b")), sent_at=sent, latest=latest, is_known=known)
    assert job is None and "2 new jobs" in error.message and "a" in error.message
    job, error = look_up_submitted(Jobs((-skew - 1, "old")), sent_at=sent, latest=latest, is_known=known)
    assert job is None and "nothing was created" in error.message


def test_look_up_reads_a_bounded_number_of_jobs_even_without_creation_times():
    class Endless:
        served = 0

        def iter_jobs(self, limit=100):
            while True:
                self.served += 1
                yield Job(f"j{self.served}", "completed")  # no created_at

    endless = Endless()
    sent = datetime.now(timezone.utc)
    job, error = look_up_submitted(endless, sent_at=sent, latest=sent, is_known=lambda job_id: False)
    assert job is None and error is not None and endless.served == LOOKUP_MAX_JOBS + 1


# --- (e) sandbox runs of a previous process -------------------------------------------------------------------

def test_sandbox_runs_of_a_previous_process_end_failed_and_free(sandbox, tmp_path):
    store = RunStore(tmp_path / "data")
    started = datetime.now(timezone.utc).isoformat()
    rows = {
        "r-sending": RunUpdate(model_id=FLUX.id, phase=Phase.SUBMITTING, label="Sending to the API…",
                               run_id="r-sending", started_at=started, backend="sandbox", params=dict(BODY)),
        "r-following": RunUpdate(model_id=FLUX.id, phase=Phase.FOLLOWING, label="Working", run_id="r-following",
                                 started_at=started, backend="sandbox", status="processing", job_id="gone-job",
                                 params=dict(BODY)),
    }
    for update in rows.values():
        store.save(RunRecord.from_update(update, FLUX), owner="alice", token_source=TokenSource.SANDBOX,
                   api_base="http://127.0.0.1:1", label=update.label)
    settings = client_settings(sandbox.base_url)
    backend = Backend("sandbox", settings, sandbox=sandbox)
    service = RunService(CATALOG, backend, SessionRegistry(backend), tmp_path / "out", RunStore(tmp_path / "data"))
    assert service.resume_unfinished() == 2
    for run_id in rows:
        stored = settled(service.store, run_id, timeout=5)
        assert stored.record.phase == Phase.FAILED and stored.record.cost_usd == 0, run_id
        assert "sandbox keeps jobs only in memory" in stored.record.error.message
        assert stored.label == "Ended with the restart"
    assert service.store.unfinished() == []


# --- (f) pasted-token runs wait for their owner ---------------------------------------------------------------

def test_a_pasted_token_run_waits_for_its_owner_and_nobody_else_touches_it(sandbox, proxy, tmp_path):
    alice_token = f"alice-{uuid.uuid4().hex}"
    store = RunStore(tmp_path / "data")
    sandbox.set_fault(Fault(kind="slow", factor=3.0, count=1))
    killed = KilledRun(store, proxy.base_url, alice_token, until=lambda u: u.job_id, owner="alice",
                       source=TokenSource.USER, tmp=tmp_path / "old-out")
    before = store.get(killed.run_id)

    service = krea_service(proxy.base_url, None, tmp_path / "data", tmp_path / "out")  # no operator token
    assert service.resume_unfinished() == 0
    waiting = service.store.get(killed.run_id)
    assert waiting.label == "Waiting to be followed again: paste the Krea API token this run was made with."
    assert waiting.record == before.record and waiting.updated_at == before.updated_at  # only the label

    service.sessions.set_owner("bob-tab", "bob")
    service.sessions.use_token("bob-tab", f"bob-{uuid.uuid4().hex}")
    assert service.resume_unfinished("bob-tab") == 0
    assert service.store.get(killed.run_id) == waiting  # not even its label

    service.sessions.set_owner("alice-tab", "alice")
    assert service.resume_unfinished("alice-tab") == 0  # her page, but no token pasted yet
    assert service.store.get(killed.run_id).label == waiting.label
    service.sessions.use_token("alice-tab", alice_token)
    gets = sum(1 for m, p in proxy.requests if m == "GET")
    assert service.resume_unfinished("alice-tab") == 1
    stored = settled(service.store, killed.run_id)
    assert stored.record.phase == Phase.DONE and stored.owner == "alice"
    assert stored.token_source == TokenSource.USER
    assert_saved_png(stored, tmp_path / "out")
    assert sum(1 for m, p in proxy.requests if m == "GET") > gets


def test_a_pasted_token_run_killed_mid_post_is_found_when_the_token_comes_back_later(sandbox, tmp_path,
                                                                                       monkeypatch):
    # Writing "Waiting to be followed again" must not move the time the POST left: the job is looked up around
    # that time, however long the owner takes to paste the token again.
    monkeypatch.setattr(generate_module, "LOOKUP_SKEW", timedelta(seconds=0.3))
    alice_token = f"alice-{uuid.uuid4().hex}"
    store = RunStore(tmp_path / "data")
    killed = KilledRun(store, sandbox.base_url, alice_token, until=lambda u: True, owner="alice",
                       source=TokenSource.USER, tmp=tmp_path / "old-out")
    (job_id,) = side_jobs(sandbox, alice_token, 1)
    short = {"connect_timeout": 0.3, "read_timeout": 0.5}
    time.sleep(1.5)  # the app restarts a while later
    service = krea_service(sandbox.base_url, None, tmp_path / "data", tmp_path / "out", **short)
    assert service.resume_unfinished() == 0
    time.sleep(0.5)
    service.sessions.set_owner("alice-tab", "alice")
    service.sessions.use_token("alice-tab", alice_token)
    assert service.resume_unfinished("alice-tab") == 1
    stored = settled(service.store, killed.run_id)
    assert stored.record.phase == Phase.DONE and stored.record.job_id == job_id


def test_a_run_killed_while_looking_for_its_lost_answer_looks_around_when_it_was_sent(sandbox, token, tmp_path,
                                                                                       monkeypatch):
    # The "Krea did not answer" update is written a read timeout after the POST left.
    monkeypatch.setattr(generate_module, "LOOKUP_SKEW", timedelta(seconds=0.3))
    store = RunStore(tmp_path / "data")
    (job_id,) = side_jobs(sandbox, token, 1)
    sent = datetime.now(timezone.utc)
    lost = RunUpdate(model_id=FLUX.id, phase=Phase.SUBMITTING, label="Krea did not answer: looking for the job in "
                     "your job list…", run_id="r-lost", started_at=sent.isoformat(), backend="krea", seed=11,
                     params=dict(BODY))
    store.save(RunRecord.from_update(lost, FLUX), owner="alice", token_source=TokenSource.ENV,
               api_base=sandbox.base_url, label=lost.label)
    with sqlite3.connect(store.path) as db:  # written when the read timeout (2 s here) ran out
        db.execute("UPDATE runs SET updated_at = ? WHERE run_id = 'r-lost'",
                   ((sent + timedelta(seconds=1.9)).isoformat(timespec="milliseconds"),))
    service = krea_service(sandbox.base_url, token, tmp_path / "data", tmp_path / "out", connect_timeout=0.5,
                           read_timeout=1.5)
    assert service.resume_unfinished() == 1
    stored = settled(service.store, "r-lost")
    assert stored.record.phase == Phase.DONE and stored.record.job_id == job_id


def test_a_run_that_ended_while_resume_looked_is_left_alone(sandbox, tmp_path):
    # resume_unfinished reads the unfinished runs, then takes them one by one; a run of this process that ends
    # in between is no longer live and must not be "resumed" over its final state.
    store = RunStore(tmp_path / "data")
    started = datetime.now(timezone.utc).isoformat()
    going = RunUpdate(model_id=FLUX.id, phase=Phase.FOLLOWING, label="Working", run_id="r-race",
                      started_at=started, backend="sandbox", status="processing", job_id="j", params=dict(BODY))
    store.save(RunRecord.from_update(going, FLUX), owner="alice", token_source=TokenSource.SANDBOX,
               api_base=sandbox.base_url, label="Working")
    stale = store.unfinished()
    done = going.evolve(phase=Phase.DONE, status="completed", label="Completed", image_path="/x.png",
                        image_size=(512, 512))
    store.save(RunRecord.from_update(done, FLUX), owner="alice", token_source=TokenSource.SANDBOX,
               api_base=sandbox.base_url, label="Completed")
    backend = Backend("sandbox", client_settings(sandbox.base_url), sandbox=sandbox)
    service = RunService(CATALOG, backend, SessionRegistry(backend), tmp_path / "out", store)
    service.store.unfinished = lambda: stale  # the list as it was read a moment ago
    assert service.resume_unfinished() == 0
    time.sleep(0.2)
    assert store.get("r-race").record.phase == Phase.DONE


# --- (g) a lost submit answer during a live run ---------------------------------------------------------------

def test_a_post_whose_answer_is_dropped_is_a_transport_error_that_was_sent(sandbox, proxy, token):
    proxy.drop_post_answers = 1
    with KreaClient(token, client_settings(proxy.base_url)) as client:
        with pytest.raises(TransportError) as lost:
            client.submit_job(FLUX.path, dict(BODY))
    assert lost.value.request_sent and proxy.posts() == 1  # not retried by the client either
    assert len([j for j in sandbox.engine.jobs if j.owner == _owner(token)]) == 1  # yet the job exists


def test_a_live_run_whose_submit_answer_is_lost_adopts_its_job_and_never_resends(sandbox, proxy, token, tmp_path):
    proxy.drop_post_answers = 1
    service = krea_service(proxy.base_url, token, tmp_path / "data", tmp_path / "out")
    updates = list(service.start_generation("tab", REQUEST))
    final = updates[-1]
    assert any(u.label.startswith("Krea did not answer") for u in updates)
    assert final.phase == Phase.DONE, final.error
    (created,) = [j.job_id for j in sandbox.engine.jobs if j.owner == _owner(token)]
    assert final.job_id == created and proxy.posts() == 1
    wait_until(lambda: not service.is_live(final.run_id), what="the run to end")
    stored = service.store.get(final.run_id)
    assert stored.record.phase == Phase.DONE and stored.record.job_id == created
    assert_saved_png(stored, tmp_path / "out")


def test_a_lost_submit_answer_with_two_candidate_jobs_is_not_guessed(sandbox, proxy, token, tmp_path):
    side_jobs(sandbox, token, 1)  # another tool made a job on the same account just now
    proxy.drop_post_answers = 1
    service = krea_service(proxy.base_url, token, tmp_path / "data", tmp_path / "out")
    final = list(service.start_generation("tab", REQUEST))[-1]
    assert final.phase == Phase.FAILED and "2 new jobs" in final.error.message
    assert proxy.posts() == 1 and final.job_id is None


def _owner(token: str) -> str:
    from playground.sandbox.engine import owner_key
    return owner_key(token)
