"""The client and the run stream against a hostile Krea-like server on loopback (issue #9): image URLs that hang
or trickle, answers of hundreds of megabytes, polls that blip, and a server that echoes the token back.

Each route is a small function that writes to the socket as it pleases; real sockets, no mocked ``requests``.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote, quote_plus

import pytest

from playground.catalog import load_catalog
from playground.generate import run_generation
from playground.krea import KreaClient
from playground.krea.errors import (
    AnswerTooLarge,
    BadAnswer,
    BadImage,
    DownloadStopped,
    JobFailed,
    ServerError,
    Timeout,
    TransportError,
)
from playground.runs import Phase, RunRecord
from playground.settings import ClientSettings, PollPolicy, RetryPolicy, replace
from tests.krea.conftest import png_bytes

TOKEN = "sk-live/Canary+Token=0123456789abcdef"  # URL-encoding changes it, so both forms are checked
FLUX = load_catalog().get("bfl/flux-1-dev")
BODY = {"prompt": "a lighthouse at dusk", "width": 512, "height": 512, "seed": 7}
FAST_POLL = PollPolicy(initial_interval=0.02, backoff=1.2, max_interval=0.05, deadline=10.0)
FAST_RETRY = RetryPolicy(total=2, backoff_factor=0.01, backoff_max=0.05, backoff_jitter=0.0, retry_after_cap=1.0)
MB = 1024 * 1024

Route = Callable[[BaseHTTPRequestHandler, "Hostile"], None]


class Hostile:
    """Routes ``(METHOD, path)`` to a script of behaviours (the last repeats); counts hits and bytes streamed."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], list[Route]] = {}
        self.hits: Counter[str] = Counter()
        self.arrived: dict[str, threading.Event] = {}
        self.closing = threading.Event()  # ends hanging handlers at teardown
        self.streamed = 0
        self._lock = threading.Lock()
        hostile = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as a CDN would

            def log_message(self, *args) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                path = self.path.split("?")[0]
                with hostile._lock:
                    hostile.hits[f"{self.command} {path}"] += 1
                    script = hostile.routes.get((self.command, path))
                    route = (script.pop(0) if len(script) > 1 else script[0]) if script else reply(404, {})
                    hostile.arrived.setdefault(path, threading.Event()).set()
                try:
                    route(self, hostile)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True  # the client left: what a cut download looks like

            do_GET = do_POST = do_DELETE = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.block_on_close = False
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def on(self, method: str, path: str, *routes: Route) -> None:
        self.routes[(method, path)] = list(routes)

    def arrival(self, path: str) -> threading.Event:
        with self._lock:
            return self.arrived.setdefault(path, threading.Event())

    def add_streamed(self, n: int) -> None:
        with self._lock:
            self.streamed += n


# --- behaviours ---------------------------------------------------------------------------------------------


def reply(status: int, body: dict | bytes | str, content_type: str = "application/json",
          headers: dict[str, str] | None = None) -> Route:
    data = json.dumps(body).encode() if isinstance(body, dict) else body.encode() if isinstance(body, str) else body

    def route(handler, hostile):
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)
    return route


def hang(handler, hostile) -> None:
    """Accept the request and never answer (until the test ends)."""
    hostile.closing.wait(60)
    handler.close_connection = True


def trickle(declare_length: bool = True, every: float = 0.2) -> Route:
    """Headers at once, then one byte every `every` seconds, forever."""
    def route(handler, hostile):
        handler.send_response(200)
        handler.send_header("Content-Type", "image/png")
        if declare_length:
            handler.send_header("Content-Length", "100000")
        else:
            handler.send_header("Connection", "close")
        handler.end_headers()
        handler.close_connection = True
        while not hostile.closing.wait(every):
            handler.wfile.write(b"\0")
            handler.wfile.flush()
    return route


def flood(status: int, total: int = 300 * MB, declare_length: bool = True,
          content_type: str = "text/html") -> Route:
    """A `total`-byte body (300 MB by default) sent as fast as the client takes it, generated on the fly."""
    chunk = b"<p>" + b"x" * (64 * 1024 - 7) + b"</p>"

    def route(handler, hostile):
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        if declare_length:
            handler.send_header("Content-Length", str(total))
        else:
            handler.send_header("Connection", "close")
        handler.end_headers()
        handler.close_connection = True
        sent = 0
        while sent < total and not hostile.closing.is_set():
            handler.wfile.write(chunk)
            sent += len(chunk)
            hostile.add_streamed(len(chunk))
    return route


def in_pieces(data: bytes, pieces: int, every: float) -> Route:
    """A whole image, sent slowly but steadily."""
    def route(handler, hostile):
        handler.send_response(200)
        handler.send_header("Content-Type", "image/png")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        step = -(-len(data) // pieces)
        for start in range(0, len(data), step):
            handler.wfile.write(data[start:start + step])
            handler.wfile.flush()
            time.sleep(every)
    return route


def job(status: str, **extra) -> dict:
    return {"job_id": "job-1", "status": status, "created_at": "2026-05-01T10:00:00Z", **extra}


# --- fixtures -----------------------------------------------------------------------------------------------


@pytest.fixture
def hostile():
    server = Hostile()
    threading.Thread(target=server.server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True).start()
    yield server
    server.closing.set()
    server.server.shutdown()
    server.server.server_close()


def settings_for(hostile: Hostile, **changes) -> ClientSettings:
    base = ClientSettings(base_url=hostile.url, connect_timeout=1.0, read_timeout=5.0, retry=FAST_RETRY,
                          poll=FAST_POLL, download_timeout=1.0, download_host_suffixes=(),
                          max_answer_bytes=1 * MB)
    return replace(base, **changes)


@pytest.fixture
def client(hostile):
    with KreaClient(TOKEN, settings_for(hostile)) as c:
        yield c


def run(client, tmp_path, stop=None):
    return run_generation(client, FLUX, dict(BODY), output_dir=tmp_path, backend="krea", poll=FAST_POLL, stop=stop)


def serve_a_completed_job(hostile: Hostile, *image: Route) -> str:
    """POST creates job-1, GET says completed with an image at /img.png served by `image`; returns its URL."""
    url = f"{hostile.url}/img.png"
    hostile.on("POST", FLUX.path, reply(200, job("queued")))
    hostile.on("GET", "/jobs/job-1", reply(200, job("completed", result={"urls": [url]})))
    hostile.on("GET", "/img.png", *image)
    return url


class Stop(threading.Event):
    """A Stop button that remembers when it was pressed."""

    pressed_at: float | None = None

    def set(self) -> None:
        self.pressed_at = time.monotonic()
        super().set()

    def since(self) -> float:
        assert self.pressed_at is not None, "never pressed"
        return time.monotonic() - self.pressed_at


def press_when(event: threading.Event, after: float = 0.2) -> Stop:
    """A Stop pressed `after` seconds once `event` is set (the request is on the server: mid-download)."""
    stop = Stop()

    def wait_then_stop():
        if event.wait(10):
            time.sleep(after)
            stop.set()
    threading.Thread(target=wait_then_stop, daemon=True).start()
    return stop


# --- 1. downloads: one total deadline, and Stop ends them ---------------------------------------------------


class TestDownloadDeadline:
    def test_a_url_that_never_answers_fails_at_the_total_deadline(self, hostile, client):
        # Was 4 tries x 60 s (245 s in the field) and not configurable.
        hostile.on("GET", "/img.png", hang)
        started = time.monotonic()
        with pytest.raises(BadImage) as info:
            client.download_image(f"{hostile.url}/img.png")
        took = time.monotonic() - started
        assert 0.9 <= took < 1.8, took
        assert "within 1 s" in info.value.user_message and "KREA_DOWNLOAD_TIMEOUT" in info.value.user_message

    @pytest.mark.parametrize("download_timeout, error", [(0.7, BadImage), (5.0, Timeout)],
                             ids=["deadline-first", "tries-used-up-first"])
    def test_tries_after_short_read_timeouts_share_the_one_deadline(self, hostile, download_timeout, error):
        hostile.on("GET", "/img.png", hang)
        with KreaClient(TOKEN, settings_for(hostile, read_timeout=0.3, download_timeout=download_timeout)) as client:
            started = time.monotonic()
            with pytest.raises(error):
                client.download_image(f"{hostile.url}/img.png")
        assert time.monotonic() - started < min(download_timeout, 3 * 0.3) + 0.5
        assert hostile.hits["GET /img.png"] >= 2  # it did try again, within the same budget

    @pytest.mark.parametrize("declare_length", [True, False], ids=["with-length", "until-close"])
    def test_a_trickling_image_hits_the_total_deadline(self, hostile, client, declare_length):
        # A byte every 0.2 s never trips a per-read timeout: only a total deadline ends it.
        hostile.on("GET", "/img.png", trickle(declare_length))
        started = time.monotonic()
        with pytest.raises(BadImage) as info:
            client.download_image(f"{hostile.url}/img.png")
        assert 0.9 <= time.monotonic() - started < 1.8
        assert "within 1 s" in info.value.user_message  # not "truncated": the cut is not taken for an end

    def test_a_slow_but_steady_image_arrives_whole(self, hostile, client):
        data = png_bytes((64, 64))
        hostile.on("GET", "/img.png", in_pieces(data, pieces=4, every=0.1))
        assert client.download_image(f"{hostile.url}/img.png", stop=threading.Event()) == data

    def test_a_finished_download_leaves_its_connection_alone(self, hostile, client):
        # The kept-alive connection goes back to the pool: a later Stop of the first download must not cut it.
        data = png_bytes()
        hostile.on("GET", "/img.png", reply(200, data, "image/png"))
        first_stop = threading.Event()
        assert client.download_image(f"{hostile.url}/img.png", stop=first_stop) == data
        first_stop.set()
        time.sleep(0.3)
        assert client.download_image(f"{hostile.url}/img.png", stop=threading.Event()) == data


class TestDownloadStop:
    @pytest.mark.parametrize("behaviour", [hang, trickle()], ids=["no-headers", "trickling-body"])
    def test_stop_ends_a_download_within_a_second(self, hostile, behaviour):
        hostile.on("GET", "/img.png", behaviour)
        stop = press_when(hostile.arrival("/img.png"))
        with KreaClient(TOKEN, settings_for(hostile, download_timeout=30.0, read_timeout=30.0)) as client:
            with pytest.raises(DownloadStopped) as info:
                client.download_image(f"{hostile.url}/img.png", stop=stop)
            assert stop.since() < 1.0  # was: until the 30 s read timeout, times four tries
        assert info.value.user_message == "You stopped the download."

    def test_stop_ends_the_wait_between_tries(self, hostile):
        hostile.on("GET", "/img.png", reply(503, "busy", "text/plain"))
        slow_backoff = replace(FAST_RETRY, backoff_factor=20.0, backoff_max=20.0)
        stop = press_when(hostile.arrival("/img.png"))
        with KreaClient(TOKEN, settings_for(hostile, retry=slow_backoff, download_timeout=60.0)) as client:
            started = time.monotonic()
            with pytest.raises(DownloadStopped):
                client.download_image(f"{hostile.url}/img.png", stop=stop)
        assert time.monotonic() - started < 1.5 and hostile.hits["GET /img.png"] == 1

    def test_a_run_stopped_while_downloading_ends_at_once_honestly(self, hostile, client, tmp_path):
        url = serve_a_completed_job(hostile, hang)
        stop = press_when(hostile.arrival("/img.png"))
        updates = list(run(client, tmp_path, stop=stop))
        assert stop.since() < 1.0  # was: "Downloading…" still 20 s after Stop
        final = updates[-1]
        assert any(u.phase == Phase.DOWNLOADING for u in updates)
        assert final.phase == Phase.FAILED and final.label == "Stopped while downloading"
        assert final.error.kind == "bad_image" and url in final.error.message and "job-1" in final.error.message
        assert "billed" in final.error.message
        record = RunRecord.from_update(final, FLUX)
        assert record.cost_usd == FLUX.price.usd  # Krea completed it: billed, though we have no file
        assert hostile.hits["DELETE /jobs/job-1"] == 0  # nothing left to cancel

    def test_a_run_whose_image_hangs_fails_at_the_download_deadline(self, hostile, client, tmp_path):
        url = serve_a_completed_job(hostile, hang)
        started = time.monotonic()
        final = list(run(client, tmp_path))[-1]
        assert time.monotonic() - started < 2.5
        assert final.phase == Phase.FAILED and final.label == "Download failed"
        assert "within 1 s" in final.error.message and url in final.error.message

    def test_stop_ends_a_hanging_preview_and_cancels_the_job(self, hostile, client, tmp_path):
        preview = f"{hostile.url}/preview.jpg"
        hostile.on("POST", FLUX.path, reply(200, job("queued")))
        hostile.on("GET", "/jobs/job-1", reply(200, job("intermediate-complete", result={"urls": [preview]})))
        hostile.on("GET", "/preview.jpg", hang)
        hostile.on("DELETE", "/jobs/job-1", reply(200, job("cancelled")))
        stop = press_when(hostile.arrival("/preview.jpg"))
        final = list(run(client, tmp_path, stop=stop))[-1]
        assert stop.since() < 1.0
        assert final.phase == Phase.CANCELLED and hostile.hits["DELETE /jobs/job-1"] == 1


    def test_stop_cuts_a_hanging_poll_and_cancels_the_job(self, hostile, tmp_path):
        # A poll in flight used to hold Stop until the read timeout (30 s by default).
        hostile.on("POST", FLUX.path, reply(200, job("queued")))
        hostile.on("GET", "/jobs/job-1", reply(200, job("processing")), hang)
        hostile.on("DELETE", "/jobs/job-1", reply(200, job("cancelled")))
        stop = press_when(hostile.arrival("/jobs/job-1"), after=0.5)  # the second poll is hanging by then
        with KreaClient(TOKEN, settings_for(hostile, read_timeout=30.0)) as client:
            final = list(run(client, tmp_path, stop=stop))[-1]
        assert stop.since() < 1.0
        assert hostile.hits["GET /jobs/job-1"] == 2
        assert final.phase == Phase.CANCELLED and hostile.hits["DELETE /jobs/job-1"] == 1

    def test_a_cut_poll_leaves_the_pool_usable(self, hostile, tmp_path):
        hostile.on("GET", "/jobs/job-1", hang)
        stop = press_when(hostile.arrival("/jobs/job-1"), after=0.2)
        with KreaClient(TOKEN, settings_for(hostile, read_timeout=30.0)) as client:
            with pytest.raises(TransportError):  # the caller looks at its Stop to know why
                client.get_job("job-1", stop=stop)
            assert stop.since() < 1.0
            hostile.on("GET", "/jobs/job-1", reply(200, job("processing")))
            assert client.get_job("job-1", stop=threading.Event()).status == "processing"
            assert client.get_job("job-1").status == "processing"


    def test_a_stop_krea_refuses_to_honour_still_ends_with_the_billed_image(self, hostile, client, tmp_path):
        # Krea cancels only queued or processing jobs: a Stop during sampling gets 404, the job completes and is
        # billed. Its image must be kept, not dropped with a "not confirmed".
        url = f"{hostile.url}/img.png"

        def status(handler, h):
            done = h.hits["DELETE /jobs/job-1"] > 0
            reply(200, job("completed", result={"urls": [url]}) if done else job("sampling"))(handler, h)

        hostile.on("POST", FLUX.path, reply(200, job("queued")))
        hostile.on("GET", "/jobs/job-1", status)
        hostile.on("DELETE", "/jobs/job-1", reply(404, {"error": "Job 'job-1' cannot be cancelled: it is sampling."}))
        hostile.on("GET", "/img.png", reply(200, png_bytes(), "image/png"))
        stop = press_when(hostile.arrival("/jobs/job-1"), after=0.1)
        updates = list(run(client, tmp_path, stop=stop))
        final = updates[-1]
        assert hostile.hits["DELETE /jobs/job-1"] == 1
        assert any(u.label.startswith("Too late to cancel") for u in updates)
        assert final.phase == Phase.DONE and final.image_path and (tmp_path / final.image_path).exists()
        assert RunRecord.from_update(final, FLUX).cost_usd == FLUX.price.usd


class TestDownloadRetryAfter:
    def test_a_busy_image_host_is_asked_again_no_sooner_than_it_said(self, hostile):
        data = png_bytes()
        hostile.on("GET", "/img.png", reply(503, "busy", "text/plain", {"Retry-After": "0.6"}),
                   reply(200, data, "image/png"))
        with KreaClient(TOKEN, settings_for(hostile, download_timeout=5.0)) as client:
            started = time.monotonic()
            assert client.download_image(f"{hostile.url}/img.png") == data
        assert time.monotonic() - started >= 0.6  # FAST_RETRY alone would have tried again after 0.01 s
        assert hostile.hits["GET /img.png"] == 2

    def test_a_retry_after_past_the_deadline_ends_the_download_at_once(self, hostile):
        hostile.on("GET", "/img.png", reply(429, "slow down", "text/plain", {"Retry-After": "30"}))
        with KreaClient(TOKEN, settings_for(hostile, download_timeout=2.0)) as client:
            started = time.monotonic()
            with pytest.raises(BadImage) as info:
                client.download_image(f"{hostile.url}/img.png")
        assert time.monotonic() - started < 0.5  # not a 2 s sleep into the deadline
        assert hostile.hits["GET /img.png"] == 1
        assert "KREA_DOWNLOAD_TIMEOUT" in info.value.user_message


# --- 2. answers are read under a cap -----------------------------------------------------------------------


def peak_while(call: Callable[[], object]) -> tuple[float, BaseException | None]:
    """Peak Python memory (MB) allocated while `call` runs, and what it raised."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    before = tracemalloc.get_traced_memory()[0]
    raised = None
    try:
        call()
    except BaseException as exc:  # noqa: BLE001 - returned for the test to check
        raised = exc
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return (peak - before) / MB, raised


class TestAnswerCap:
    @pytest.mark.parametrize("declare_length", [True, False], ids=["declared-300MB", "endless-unannounced"])
    def test_a_300_mb_error_page_is_not_read_into_memory(self, hostile, client, declare_length):
        # Raised the app from 151 to 813 MiB. 503 is retried by urllib3 too, which drains a body unbounded.
        hostile.on("GET", "/jobs/j1", flood(503, declare_length=declare_length))
        started = time.monotonic()
        peak, raised = peak_while(lambda: client.get_job("j1"))
        assert isinstance(raised, ServerError), raised
        assert peak < 20, f"{peak:.0f} MB"
        assert time.monotonic() - started < 5
        assert hostile.hits["GET /jobs/j1"] == 1 + FAST_RETRY.total
        assert hostile.streamed < 60 * MB  # the connection was closed, not drained (socket buffers aside)

    @pytest.mark.parametrize("declare_length", [True, False], ids=["declared-300MB", "endless-unannounced"])
    def test_a_huge_success_answer_is_refused_clearly(self, hostile, client, declare_length):
        hostile.on("GET", "/jobs/j1", flood(200, declare_length=declare_length, content_type="application/json"))
        peak, raised = peak_while(lambda: client.get_job("j1"))
        assert isinstance(raised, AnswerTooLarge), raised
        assert "larger than 1 MB" in raised.user_message and "KREA_API_BASE" in raised.user_message
        assert peak < 20, f"{peak:.0f} MB"

    def test_an_answer_that_trickles_is_bounded_by_the_read_timeout(self, hostile):
        hostile.on("GET", "/jobs/j1", trickle(declare_length=False, every=0.1))
        with KreaClient(TOKEN, settings_for(hostile, read_timeout=0.8)) as client:
            started = time.monotonic()
            with pytest.raises(Timeout):
                client.get_job("j1")
        assert time.monotonic() - started < 2.0

    def test_a_normal_answer_still_reads_whole(self, hostile, client):
        hostile.on("GET", "/jobs/j1", reply(200, job("processing", notes="é" * 50_000)))
        assert client.get_job("j1").raw["notes"] == "é" * 50_000


# --- 3. one blip while polling does not abandon a job ------------------------------------------------------


class TestPollBlips:
    @pytest.mark.parametrize("blip", [reply(404, "<html>Not Found</html>", "text/html"),
                                      reply(200, '{"job_id": "job-1", "sta', "application/json"),
                                      reply(200, "<html>gateway</html>", "text/html")],
                             ids=["404", "cut-json", "html"])
    def test_a_single_blip_is_waited_out_and_the_run_completes(self, hostile, client, tmp_path, blip):
        url = f"{hostile.url}/img.png"
        hostile.on("POST", FLUX.path, reply(200, job("queued")))
        hostile.on("GET", "/jobs/job-1", reply(200, job("processing")), blip,
                   reply(200, job("completed", result={"urls": [url]})))
        hostile.on("GET", "/img.png", reply(200, png_bytes(), "image/png"))
        final = list(run(client, tmp_path))[-1]
        assert final.phase == Phase.DONE and final.image_path

    def test_a_job_that_stays_unknown_fails_clearly(self, hostile, client, tmp_path):
        hostile.on("POST", FLUX.path, reply(200, job("queued")))
        hostile.on("GET", "/jobs/job-1", reply(404, {"error": "Job not found"}))
        final = list(run(client, tmp_path))[-1]
        assert final.phase == Phase.FAILED and final.error.kind == "not_found"
        assert "does not know this job" in final.error.message
        assert hostile.hits["GET /jobs/job-1"] == 1 + FAST_POLL.bad_answer_retries

    def test_answers_that_stay_garbled_fail_clearly(self, hostile, client):
        hostile.on("GET", "/jobs/j1", reply(200, "<html>gateway</html>", "text/html"))
        with pytest.raises(BadAnswer) as info:
            list(client.poll_job("j1"))
        assert "not Krea's JSON" in info.value.user_message
        assert hostile.hits["GET /jobs/j1"] == 1 + FAST_POLL.bad_answer_retries


# --- 4. a token echoed by the API is never shown -----------------------------------------------------------


def echoing_failed_job() -> dict:
    return job("failed", error={"code": "auth", "message": f"provider refused Authorization: Bearer {TOKEN}"},
               message=f"token {TOKEN} rejected",
               result={"error": f"?key={quote(TOKEN, safe='')}&k={quote_plus(TOKEN)}"},
               urls=[f"https://gen.krea.ai/{TOKEN}.png"])


class TestTokenEcho:
    def test_a_failed_jobs_reason_never_carries_the_token(self, hostile, client, caplog):
        caplog.set_level(logging.DEBUG)
        hostile.on("GET", "/jobs/job-1", reply(200, echoing_failed_job()))
        with pytest.raises(JobFailed) as info:
            client.wait_for_job("job-1")
        failed = info.value
        texts = [str(failed), repr(failed), failed.user_message, failed.reason, failed.job.error_message,
                 json.dumps(failed.job.raw), caplog.text]
        assert "provider refused Authorization: Bearer ***" in failed.user_message
        for text in texts:
            assert TOKEN not in text and "Canary" not in text, text

    def test_a_run_whose_job_echoes_the_token_shows_none_of_it(self, hostile, client, tmp_path, caplog):
        caplog.set_level(logging.DEBUG)
        hostile.on("POST", FLUX.path, reply(200, job("queued")))
        hostile.on("GET", "/jobs/job-1", reply(200, job("processing")), reply(200, echoing_failed_job()))
        updates = list(run(client, tmp_path))
        final = updates[-1]
        assert final.phase == Phase.FAILED and final.error.kind == "job_failed"
        shown = [json.dumps(RunRecord.from_update(final, FLUX).to_dict()), caplog.text,
                 *(repr(u) for u in updates)]
        for text in shown:
            assert "Canary" not in text, text

    @pytest.mark.parametrize("answer", [
        reply(200, f"<html>proxy says: Bearer {TOKEN}</html>", "text/html"),  # not JSON
        reply(403, f"forbidden for {TOKEN}", "text/plain"),
        reply(200, {"items": [job("failed", job_id=f"id-{TOKEN}", error=TOKEN)], "next_cursor": None}),
    ], ids=["not-json", "error-status", "job-list"])
    def test_every_other_answer_is_scrubbed_too(self, hostile, client, caplog, answer):
        caplog.set_level(logging.DEBUG)
        hostile.on("GET", "/jobs", answer)
        try:
            page = client.list_jobs()
            seen = json.dumps([j.raw for j in page.items]) + repr(page.items)
        except BadAnswer as exc:
            seen = f"{exc} {exc!r} {exc.body} {exc.user_message}"
        except Exception as exc:  # noqa: BLE001
            seen = f"{exc} {exc!r} {getattr(exc, 'body', '')} {getattr(exc, 'user_message', '')}"
        assert "***" in seen and "Canary" not in seen + caplog.text

    def test_a_short_test_token_does_not_blank_ordinary_words(self, hostile):
        hostile.on("GET", "/jobs/j1", reply(200, job("processing", job_id="j1")))
        with KreaClient("t", settings_for(hostile)) as client:
            assert client.get_job("j1").status == "processing"
