"""The sandbox's job engine: job store, state machine on a clock, concurrency and backlog, images, webhooks.

Time comes from an injectable ``clock`` (seconds since the epoch), so tests step it by hand and call
:meth:`JobEngine.tick`; in real use a ticker thread calls ``tick`` every ~20 ms, and every public method ticks
first, so what a caller reads is always current.

A job's life, as fractions of its duration D (see :data:`PHASES`)::

    backlogged --(slot frees)--> queued 0 .. scheduled .15 .. processing .22 .. sampling .35
        .. [intermediate-complete .5, one preview frame after another] .. completed 1.0

D = max(min_job_seconds, expected_seconds * speed) * uniform(0.75, 1.25) * slow-fault factor, drawn from the
engine's own RNG (never from the request). The final PNG and the preview JPEGs are rendered in a small worker
pool when processing starts; a status that publishes a file is held back until that file exists, so a URL in a
job never answers 404.

Concurrency is per token (Krea's limits are per account): at most ``concurrency_limit`` jobs are past
``backlogged``; further jobs wait as ``backlogged`` (FIFO) and move to ``queued`` when a slot frees; a submit
that would make running + backlogged exceed ``concurrency_limit + backlog_limit`` is refused
(:class:`CapacityExceeded`, HTTP 429).
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import logging
import math
import random
import shutil
import tempfile
import threading
import time
import urllib.request
import uuid
from collections import deque
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from playground.catalog import Catalog, output_size
from playground.settings import SandboxSettings

from .assets import KEEP_ASSETS_PER_OWNER, MAX_ASSET_BYTES, AssetStore
from .faults import FaultRegistry, JobFaults
from .job_files import FINAL_NAME, Renderer, render_files
from .job_types import job_type
from .references import ReferenceResolver

STATUSES = (
    "backlogged",
    "queued",
    "scheduled",
    "processing",
    "sampling",
    "intermediate-complete",
    "completed",
    "failed",
    "cancelled",
)
TERMINAL = frozenset({"completed", "failed", "cancelled"})
# "Jobs can only be canceled while they have a status of queued or processing" [C LIFE]. A JobEngine argument, so
# a test (or `--cancellable`) can widen it; a DELETE on a job in any other status is refused (see NotCancellable).
CANCELLABLE = frozenset({"queued", "processing"})
# The status of that refusal: Krea documents only 200 and 404 for DELETE /jobs/{id} [C SPEC] ("not found or the
# client is not authorized to delete it"), so 404 with {"error"} is the documented answer; 400 or 409 on request.
CANCEL_REFUSED_STATUS = 404
CANCEL_REFUSED_STATUSES = (400, 404, 409)
_RANK = {s: i for i, s in enumerate(STATUSES)}

# Where each status starts, as a fraction of the job's duration (queued starts at 0).
PHASES = (("scheduled", 0.15), ("processing", 0.22), ("sampling", 0.35))
RENDER_AT = 0.22  # rendering starts with processing
PREVIEWS_FROM = 0.5  # previews models turn intermediate-complete here
DURATION_JITTER = (0.75, 1.25)
PREVIEW_FRAMES = (2, 4)
WEBHOOK_TIMEOUT = 5.0
TICK_SECONDS = 0.02
IDLE_TICK_SECONDS = 1.0  # with no live job the ticker waits for a submit, looking anyway this often

log = logging.getLogger(__name__)


class EngineError(Exception):
    """A submit the engine refuses; the server turns it into an HTTP answer."""


class CapacityExceeded(EngineError):
    def __init__(self, retry_after: int):
        super().__init__("You have reached the maximum number of concurrent jobs")
        self.retry_after = retry_after


class OutOfCredits(EngineError):
    def __init__(self) -> None:
        super().__init__("You have run out of credits. Top up your API balance to submit new jobs.")


class NotCancellable(EngineError):
    """A DELETE /jobs/{id} on a job whose status Krea's lifecycle does not let it cancel; it is left unchanged."""

    def __init__(self, job_id: str, status: str, cancellable: frozenset[str]):
        allowed = " or ".join(s for s in STATUSES if s in cancellable)
        super().__init__(f"Job '{job_id}' cannot be cancelled: it is {status}. Only {allowed} jobs can be cancelled.")
        self.status = status


def owner_key(token: str) -> str:
    """Jobs are keyed by a hash of the token; the raw token is never stored."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def iso_ms(ms: int) -> str:
    """``2025-01-15T10:30:00.000Z`` from milliseconds since the epoch."""
    dt = datetime.fromtimestamp(ms // 1000, tz=timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def parse_cursor(text: str) -> float:
    """An ISO 8601 date-time as (fractional) milliseconds since the epoch; naive means UTC. ValueError if bad."""
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    dt = datetime.fromisoformat(value)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.timestamp() * 1000.0


def is_loopback_host(host: str) -> bool:
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def webhook_url_error(url: str, allow_remote: bool) -> str | None:
    """Why this X-Webhook-URL is refused, or None if it is fine."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"X-Webhook-URL must be an absolute http(s) URL; got {url!r}."
    if not allow_remote and not is_loopback_host(parts.hostname):
        return (
            "X-Webhook-URL must point to a loopback address (127.0.0.0/8, ::1 or localhost): the sandbox does not "
            f"call other hosts unless started with webhook_allow_remote; got host {parts.hostname!r}."
        )
    return None


def post_webhook(url: str, payload: dict) -> int:
    """POST the job JSON once (no proxies, no token); returns the HTTP status."""
    request = urllib.request.Request(
        url,
        data=json.dumps(payload).encode("utf-8"),
        headers={"Content-Type": "application/json", "User-Agent": "krea-sandbox-webhook/1"},
        method="POST",
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(request, timeout=WEBHOOK_TIMEOUT) as response:
        return response.status


@dataclass(eq=False)
class Job:
    """One job as the engine keeps it. Read it under the engine's lock, or use :meth:`JobEngine.view`."""

    job_id: str
    owner: str
    model_id: str
    job_type: str  # Krea's `type` (flux, k2, externalImage; see job_types)
    prompt: str
    seed: int
    width: int
    height: int
    price_usd: float
    preview_frames: int  # 0 for models without previews
    faults: JobFaults
    webhook_url: str | None
    base_url: str  # what the submitting client used; for the webhook's URLs
    created_ms: int
    duration: float
    status: str
    started: float | None = None  # clock time it entered `queued`
    ended_ms: int | None = None
    frame: int = 0  # preview frames published so far
    rendering: bool = False
    assets_ready_at: float | None = None
    render_error: str | None = None
    webhook_result: str | None = None  # "200", or the error text, once delivered
    references: tuple = ()  # decoded image inputs (restyle.Reference), released once rendered
    polls: int = 0  # GET /jobs/{id} answered for it: how hard its client polls (tests, benchmark)

    @property
    def created_at(self) -> str:
        return iso_ms(self.created_ms)

    @property
    def completed_at(self) -> str | None:
        return iso_ms(self.ended_ms) if self.ended_ms is not None else None

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL

    @property
    def end_time(self) -> float | None:
        return None if self.started is None else self.started + self.duration


@dataclass
class _Pending:
    """Side effects collected under the lock and run after it is released."""

    webhooks: list[tuple[str, dict, Job]] = field(default_factory=list)
    renders: list[Job] = field(default_factory=list)
    drop_dirs: list[Path] = field(default_factory=list)


class JobEngine:
    """Jobs per token, advanced by a clock. See the module docstring for the rules."""

    def __init__(
        self,
        settings: SandboxSettings | None,
        catalog: Catalog,
        *,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
        executor: Executor | None = None,
        renderer: Renderer | None = None,  # (render_image, render_previews); default: the real renderer
        webhook_sender: Callable[[str, dict], Any] | None = None,
        max_asset_bytes: int = MAX_ASSET_BYTES,  # POST /assets limit (Krea's 75 MB); tests pass a small one
        keep_assets: int = KEEP_ASSETS_PER_OWNER,
        cancellable: frozenset[str] | tuple[str, ...] = CANCELLABLE,  # statuses DELETE /jobs/{id} may cancel
        cancel_refused_status: int = CANCEL_REFUSED_STATUS,  # the HTTP status of a refused cancel
    ):
        if catalog is None:
            raise TypeError("JobEngine needs its catalog: JobEngine(settings, catalog)")
        cancellable = frozenset(cancellable)
        if not cancellable or cancellable & TERMINAL or not cancellable <= set(STATUSES):
            raise ValueError(f"cancellable must be non-terminal statuses (of {', '.join(STATUSES[:6])}); "
                             f"got {sorted(cancellable)}")
        if cancel_refused_status not in CANCEL_REFUSED_STATUSES:
            raise ValueError(f"cancel_refused_status must be one of {CANCEL_REFUSED_STATUSES}")
        self.cancellable = cancellable
        self.cancel_refused_status = cancel_refused_status
        self.settings = settings or SandboxSettings()
        self.catalog = catalog  # what the server answers for; the caller's (e.g. from a newer --openapi spec)
        self.clock = clock
        self.rng = rng or random.Random()
        self.faults = FaultRegistry()
        self.balance_usd: float | None = self.settings.balance_usd
        self._renderer = renderer
        self._executor = executor or ThreadPoolExecutor(max_workers=2, thread_name_prefix="sandbox-render")
        self._own_executor = executor is None
        self._webhook_sender = webhook_sender or post_webhook
        self._webhook_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="sandbox-webhook")
        self._lock = threading.RLock()
        self._jobs: dict[str, Job] = {}  # every kept job, in submit order
        self._by_owner: dict[str, list[Job]] = {}  # per token, ascending created_ms
        self._live: dict[str, Job] = {}  # not terminal (backlogged included)
        self._last_ms: dict[str, int] = {}
        self._dir = Path(tempfile.mkdtemp(prefix="krea-sandbox-"))
        # Uploaded assets live in the same folder (deleted with it on stop); image inputs are read from them.
        self.assets = AssetStore(self._dir / "assets", max_bytes=max_asset_bytes, keep_per_owner=keep_assets,
                                 clock=clock)
        self.references = ReferenceResolver(self.assets, self.file, max_bytes=max_asset_bytes)
        self.assets.on_drop = self.references.forget
        self.webhook_log: deque[tuple[str, str, str]] = deque(maxlen=200)  # (job_id, url, outcome)
        self._ticker: threading.Thread | None = None
        self._stop = threading.Event()
        self._wake = threading.Event()  # a submit wakes an idle ticker

    # ----------------------------------------------------------------------------------------------- lifecycle

    def start(self) -> JobEngine:
        """Run the ticker thread (real time). Not needed with a fake clock: call :meth:`tick`."""
        if self._ticker is None:
            self._stop.clear()
            self._ticker = threading.Thread(target=self._tick_loop, name="sandbox-ticker", daemon=True)
            self._ticker.start()
        return self

    def _tick_loop(self) -> None:
        while not self._stop.is_set():
            if self._live:
                if self._stop.wait(TICK_SECONDS):
                    break
            else:  # nothing to advance: sleep until a submit (50 wake-ups a second cost ~5 ms CPU/s idle)
                self._wake.wait(IDLE_TICK_SECONDS)
                self._wake.clear()
            try:
                self.tick()
            except Exception:  # pragma: no cover - a bug here must not kill the ticker
                log.exception("sandbox tick failed")

    def stop(self) -> None:
        """Stop the ticker and the pools, and delete the images."""
        self._stop.set()
        self._wake.set()
        if self._ticker is not None:
            self._ticker.join(timeout=2)
            self._ticker = None
        if self._own_executor:  # wait for renders in flight, so none writes after the folder is gone
            self._executor.shutdown(wait=True, cancel_futures=True)
        self._webhook_pool.shutdown(wait=False, cancel_futures=True)
        shutil.rmtree(self._dir, ignore_errors=True)

    # ------------------------------------------------------------------------------------------------- submit

    def submit(self, token: str, model, params: dict, *, webhook_url: str | None = None, base_url: str = "",
               references: tuple = ()) -> Job:
        """Create a job for validated ``params`` (``references``: its resolved image inputs, see
        :meth:`ReferenceResolver.resolve`). Raises OutOfCredits or CapacityExceeded."""
        owner = owner_key(token)
        pending = _Pending()
        try:
            return self._submit(owner, model, params, webhook_url, base_url, tuple(references), pending)
        finally:
            self._run(pending)  # also when refused: the advance above may have started renders or webhooks

    def _submit(self, owner: str, model, params: dict, webhook_url: str | None, base_url: str, references: tuple,
                pending) -> Job:
        with self._lock:
            self._advance_all(pending)
            if self.balance_usd is not None and self.balance_usd <= 0:
                raise OutOfCredits()
            mine = [j for j in self._live.values() if j.owner == owner]
            s = self.settings
            if len(mine) >= s.concurrency_limit + s.backlog_limit:
                raise CapacityExceeded(self._retry_after(mine))
            running = sum(1 for j in mine if j.status != "backlogged")
            waiting = len(mine) - running
            width, height = output_size(model, params)
            job_faults = self.faults.for_job(model.id)
            now = self.clock()
            job = Job(
                job_id=str(uuid.uuid4()),
                owner=owner,
                model_id=model.id,
                job_type=job_type(model.id),
                prompt=str(params.get("prompt") or ""),
                seed=self._seed(model, params),
                width=int(width),
                height=int(height),
                price_usd=float(model.price.usd or 0.0),
                preview_frames=self.rng.randint(*PREVIEW_FRAMES) if model.previews else 0,
                faults=job_faults,
                webhook_url=webhook_url,
                base_url=base_url.rstrip("/"),
                created_ms=self._next_ms(owner, now),
                duration=self._duration(model, job_faults.slow_factor),
                status="backlogged",
                references=references,
            )
            if running < s.concurrency_limit and waiting == 0:
                job.status, job.started = "queued", now
            self._jobs[job.job_id] = job
            self._by_owner.setdefault(owner, []).append(job)
            self._live[job.job_id] = job
            self._wake.set()
            self._prune(pending)
        return job

    def _seed(self, model, params: dict) -> int:
        value = params.get("seed")
        if model.param("seed") is not None and isinstance(value, (int, float)) and not isinstance(value, bool):
            return int(value)
        return self.rng.randrange(2**32)

    def _duration(self, model, slow_factor: float) -> float:
        s = self.settings
        expected = float(model.expected_seconds or 10.0)
        return max(s.min_job_seconds, expected * s.speed) * self.rng.uniform(*DURATION_JITTER) * slow_factor

    def _next_ms(self, owner: str, now: float) -> int:
        """created_at in ms, unique per token (bumped 1 ms on a tie) so cursor pages never skip or repeat."""
        ms = max(int(now * 1000), self._last_ms.get(owner, -1) + 1)
        self._last_ms[owner] = ms
        return ms

    def _retry_after(self, mine: list[Job]) -> int:
        """Seconds until the first running job should end (at least 1; 5 if none will)."""
        now = self.clock()
        ends = [j.end_time - now for j in mine if j.end_time is not None and j.faults.outcome != "hang"]
        return max(1, math.ceil(min(ends))) if ends else 5

    # ------------------------------------------------------------------------------------------------ reading

    def get(self, token: str, job_id: str) -> Job | None:
        """The job if it exists and belongs to this token."""
        self.tick()
        with self._lock:
            job = self._jobs.get(job_id)
            return job if job is not None and job.owner == owner_key(token) else None

    def list_jobs(
        self, token: str, *, cursor_ms: float | None = None, limit: int = 100, status: str | None = None,
        types: frozenset[str] | None = None,
    ) -> tuple[list[Job], str | None]:
        """Newest first, created strictly before the cursor, of one ``status`` and of ``types`` when given;
        next_cursor is the last item's created_at."""
        self.tick()
        with self._lock:
            items: list[Job] = []
            more = False
            for job in reversed(self._by_owner.get(owner_key(token), [])):
                if cursor_ms is not None and job.created_ms >= cursor_ms:
                    continue
                if status is not None and job.status != status:
                    continue
                if types is not None and job.job_type not in types:
                    continue
                if len(items) == limit:
                    more = True
                    break
                items.append(job)
            return items, (items[-1].created_at if more and items else None)

    def cancel(self, token: str, job_id: str) -> Job | None:
        """Cancel a job whose status is one of ``cancellable`` (Krea: queued or processing) and return it; None if
        this token has no such job. Any other status, terminal ones included, raises :class:`NotCancellable` and
        leaves the job as it is."""
        pending = _Pending()
        try:
            with self._lock:
                self._advance_all(pending)
                job = self._jobs.get(job_id)
                if job is None or job.owner != owner_key(token):
                    return None
                if job.status not in self.cancellable:
                    raise NotCancellable(job.job_id, job.status, self.cancellable)
                self._finish(job, "cancelled", int(self.clock() * 1000), pending)
                self._promote(job.owner, self.clock())
                self._advance_all(pending)
                return job
        finally:
            self._run(pending)

    def view(self, job: Job, base_url: str | None = None) -> dict:
        """The job as Krea shows it (GET /jobs/{id}); URLs are built on ``base_url`` (the client's)."""
        base = (job.base_url if base_url is None else base_url).rstrip("/")
        with self._lock:
            data: dict[str, Any] = {
                "job_id": job.job_id,
                "status": job.status,
                "type": job.job_type,
                "created_at": job.created_at,
                "completed_at": job.completed_at,
                "result": None,
            }
            outcome = job.faults.outcome
            if job.status == "intermediate-complete" and job.frame:
                data["result"] = {"urls": [f"{base}/files/{job.job_id}/preview-{job.frame}.jpg"]}
            elif job.status == "completed":
                ok = outcome != "shadow_fail"
                data["result"] = {"urls": [f"{base}/files/{job.job_id}/{FINAL_NAME}"]} if ok else {}
            elif job.status == "failed":
                if outcome == "silent_fail":
                    data["result"] = {}
                else:
                    reason = job.render_error or job.faults.reason or "The job failed."
                    code = "internal_error" if job.render_error else (job.faults.code or "generation_failed")
                    data["result"] = {"error": reason}
                    data["error"] = {"code": code, "message": reason}
            return data

    def file(self, job_id: str, name: str) -> tuple[bytes, str] | None:
        """A published image of a job (final PNG once completed, previews once shown): (bytes, media type)."""
        self.tick()
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                return None
            if name == FINAL_NAME:
                published = job.status == "completed" and job.faults.outcome != "shadow_fail"
                media = "image/png"
            else:
                stem = name.removeprefix("preview-").removesuffix(".jpg")
                published = name.startswith("preview-") and name.endswith(".jpg") and stem.isdigit()
                published = published and 1 <= int(stem) <= job.frame
                media = "image/jpeg"
            path = self._dir / job.job_id / name
        if not published:
            return None
        try:
            return path.read_bytes(), media
        except OSError:  # dropped past keep_jobs meanwhile
            return None

    @property
    def jobs(self) -> list[Job]:
        with self._lock:
            return list(self._jobs.values())

    def stats(self) -> dict:
        with self._lock:
            return {
                "jobs": len(self._jobs),
                "live": len(self._live),
                "faults": len(self.faults),
                "assets": len(self.assets),
                "balance_usd": self.balance_usd,
            }

    # ---------------------------------------------------------------------------------------------- the clock

    def tick(self) -> None:
        """Advance every live job to what the clock says; run renders and webhooks that became due."""
        for _ in range(2):  # a second pass publishes what an inline (test) renderer just wrote
            pending = _Pending()
            with self._lock:
                self._advance_all(pending)
            self._run(pending)
            if not pending.renders:
                break

    def _advance_all(self, pending: _Pending) -> None:
        now = self.clock()
        for _ in range(1000):  # a promotion can let a backlogged job run (and end) within the same tick
            changed = False
            for job in sorted(self._live.values(), key=lambda j: j.created_ms):
                if job.status != "backlogged" and self._advance(job, now, pending):
                    self._promote(job.owner, job.ended_ms / 1000.0)
                    changed = True
            if not changed:
                break
        self._prune(pending)

    def _advance(self, job: Job, now: float, pending: _Pending) -> bool:
        """Move one running job along; True if it reached a terminal state."""
        fraction = (now - job.started) / job.duration if job.duration > 0 else 1.0
        outcome = job.faults.outcome
        if outcome is None and fraction >= RENDER_AT and not job.rendering:
            job.rendering = True
            pending.renders.append(job)
        if job.render_error is not None:
            self._finish(job, "failed", int(now * 1000), pending)
            return True
        status = "queued"
        for name, start in PHASES:
            if fraction >= start:
                status = name
        if outcome == "hang":  # queued, then processing for good: cancellable all along (scheduled is skipped)
            status = "queued" if status == "queued" else "processing"
        elif fraction >= 1.0:
            end_ms = int(job.end_time * 1000)
            if outcome in ("job_fails", "silent_fail"):
                self._finish(job, "failed", end_ms, pending)
                return True
            if outcome == "shadow_fail":
                self._finish(job, "completed", end_ms, pending)
                return True
            if job.assets_ready_at is not None:
                self._finish(job, "completed", max(end_ms, int(job.assets_ready_at * 1000)), pending)
                return True
            status = "sampling"  # images not written yet: hold back until they are
        if job.preview_frames and job.assets_ready_at is not None and fraction >= PREVIEWS_FROM:
            step = (1.0 - PREVIEWS_FROM) / job.preview_frames
            frame = min(job.preview_frames, 1 + int((fraction - PREVIEWS_FROM) / step))
            job.frame = max(job.frame, frame)
            status = "intermediate-complete"
        if _RANK[status] > _RANK[job.status]:
            job.status = status
        return False

    def _promote(self, owner: str, at: float) -> None:
        """Move backlogged jobs of this token to queued (FIFO) while slots are free."""
        mine = sorted((j for j in self._live.values() if j.owner == owner), key=lambda j: j.created_ms)
        running = sum(1 for j in mine if j.status != "backlogged")
        for job in mine:
            if running >= self.settings.concurrency_limit:
                break
            if job.status == "backlogged":
                job.status = "queued"
                job.started = max(at, job.created_ms / 1000.0)
                running += 1

    def _finish(self, job: Job, status: str, ended_ms: int, pending: _Pending) -> None:
        job.status = status
        job.ended_ms = max(ended_ms, job.created_ms)
        if not job.rendering:  # cancelled or failed before its render: its inputs are not needed any more
            job.references = ()
        self._live.pop(job.job_id, None)
        if status == "completed" and self.balance_usd is not None:
            self.balance_usd -= job.price_usd  # failed and cancelled jobs are free
        if job.webhook_url:
            pending.webhooks.append((job.webhook_url, self.view(job), job))

    def _prune(self, pending: _Pending) -> None:
        """Drop the oldest finished jobs (and their images) past keep_jobs."""
        excess = len(self._jobs) - self.settings.keep_jobs
        if excess <= 0:
            return
        for job in list(self._jobs.values()):
            if excess <= 0:
                break
            if job.is_terminal:
                del self._jobs[job.job_id]
                self._by_owner[job.owner].remove(job)
                pending.drop_dirs.append(self._dir / job.job_id)
                excess -= 1

    # ---------------------------------------------------------------------------------------- side effects

    def _run(self, pending: _Pending) -> None:
        for job in pending.renders:
            try:
                self._executor.submit(self._render, job)
            except RuntimeError:  # shutting down
                pass
        for url, payload, job in pending.webhooks:
            try:
                self._webhook_pool.submit(self._deliver, url, payload, job)
            except RuntimeError:
                pass
        for path in pending.drop_dirs:
            shutil.rmtree(path, ignore_errors=True)

    def _render(self, job: Job) -> None:
        try:
            files = render_files(job.model_id, job.prompt, job.seed, job.width, job.height, job.preview_frames,
                                 self._renderer, job.references)
            folder = self._dir / job.job_id
            folder.mkdir(parents=True, exist_ok=True)
            for name, data in files.items():
                (folder / name).write_bytes(data)
        except Exception as exc:  # noqa: BLE001 - any renderer bug ends the job as failed, visibly
            with self._lock:
                job.render_error = f"Sandbox renderer error: {type(exc).__name__}: {exc}"
                job.references = ()
            return
        with self._lock:
            job.assets_ready_at = self.clock()
            job.references = ()  # decoded inputs can be large: a finished job no longer needs them
            dropped = job.job_id not in self._jobs
        if dropped:  # pruned while rendering: do not leave its files behind
            shutil.rmtree(self._dir / job.job_id, ignore_errors=True)

    def _deliver(self, url: str, payload: dict, job: Job) -> None:
        """One attempt, 5 s timeout, never retried (Krea documents a single POST)."""
        try:
            outcome = str(self._webhook_sender(url, payload))
        except Exception as exc:  # noqa: BLE001 - a receiver's failure is recorded, not raised
            outcome = f"{type(exc).__name__}: {exc}"
        job.webhook_result = outcome
        self.webhook_log.append((job.job_id, url, outcome))
