"""One run as a stream of RunUpdate objects: submit, follow, preview, download, save.

Nothing here knows Gradio, and nothing here decides whether a run may start: the run service has already
checked the body against the catalog (validation happens once, there). The stream never raises for an expected
failure: it ends with a terminal update carrying a RunError, so every tab renders failures the same way.
"""

from __future__ import annotations

import logging
import math
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from playground.catalog import Model
from playground.krea.client import KreaClient
from playground.krea.errors import (
    DownloadStopped,
    ErrorKind,
    JobCancelled,
    JobFailed,
    KreaError,
    NotFound,
    RateLimited,
    TransportError,
)
from playground.krea.follow import DURATIONS, Expectation
from playground.krea.jobs import TERMINAL_STATUSES, Job, JobStatus, parse_timestamp, status_label
from playground.outputs import png_metadata, save_final_png, save_preview
from playground.runs import RUNNING_STATUSES, Phase, RunError, RunTimings, RunUpdate, run_error_from
from playground.settings import PollPolicy

log = logging.getLogger(__name__)

# A refused submit (429) is retried this many times in all, waiting what Krea asks, up to SUBMIT_WAIT_CAP each.
SUBMIT_ATTEMPTS = 4
SUBMIT_WAIT_CAP = 120.0
SUBMIT_FALLBACK_WAIT = 5.0  # when a 429 carries no Retry-After
# A submit whose answer was lost is looked up among the account's jobs created this close to when it was sent
# (our clock against Krea's), never sent again.
LOOKUP_SKEW = timedelta(seconds=15)
LOOKUP_MAX_JOBS = 200


@dataclass
class _Clock:
    """Turns observed statuses into queue and run seconds (resolution: one poll interval)."""

    started: float
    now: Callable[[], float]
    accepted: float | None = None
    running_since: float | None = None
    ended: float | None = None

    def observe(self, status: str | None) -> None:
        t = self.now()
        if status in RUNNING_STATUSES and self.running_since is None:
            self.running_since = t
        if status in TERMINAL_STATUSES and self.ended is None:
            self.ended = t

    def timings(self) -> RunTimings:
        t = self.now()
        queue = run = None
        if self.accepted is not None:
            queue = (self.running_since or self.ended or t) - self.accepted
        if self.running_since is not None:
            run = (self.ended or t) - self.running_since
        submit = None if self.accepted is None else self.accepted - self.started
        return RunTimings(elapsed=(self.ended or t) - self.started, queue=queue, run=run, submit=submit)


def _cancel_quietly(client: KreaClient, job_id: str) -> Job | None:
    try:
        return client.cancel_job(job_id)
    except KreaError as exc:  # the run is over for the user either way; say so in the log only
        log.warning("could not cancel job %s: %s", job_id, exc.user_message)
        return None


STOPPED_BEFORE_SEND = RunError(ErrorKind.CANCELLED, "You stopped this run before it was sent: no job was created.")
STOPPED = RunError(ErrorKind.CANCELLED, "You stopped this run; the job was cancelled on the server and will not "
                                        "be billed.")


def run_generation(
    client: KreaClient,
    model: Model,
    body: dict,
    *,
    output_dir: Path,
    backend: str,
    poll: PollPolicy | None = None,
    stop: threading.Event | None = None,
    now: Callable[[], float] = time.monotonic,
    submit_attempts: int = SUBMIT_ATTEMPTS,
    run_id: str | None = None,
    is_known: Callable[[str], bool] = lambda job_id: False,
) -> Iterator[RunUpdate]:
    """Yield every change of one generation until a terminal update (done, failed or cancelled).

    `body` must already be valid for `model` (the run service checks it). Setting `stop` ends any wait at once:
    before the job exists nothing is sent; after, the remote job is cancelled (DELETE /jobs/{id}). If the
    consumer abandons the stream (a closed tab), the remote job is cancelled too, so nobody pays for a lost image.
    A submit whose answer was lost is looked up in the job list (`is_known` says which job ids other runs own),
    never sent twice.
    """
    stop = stop or threading.Event()
    clock = _Clock(started=now(), now=now)
    base = RunUpdate(model_id=model.id, phase=Phase.SUBMITTING, label="Sending to the API…",
                     run_id=run_id or uuid.uuid4().hex, started_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
                     backend=backend, seed=body.get("seed"), params=dict(body))

    def failed(error: RunError, **changes) -> RunUpdate:
        return base.evolve(phase=Phase.FAILED, label="Failed", error=error, timings=clock.timings(), **changes)

    job: Job | None = None
    for attempt in range(1, submit_attempts + 1):
        if stop.is_set():
            yield base.evolve(phase=Phase.CANCELLED, label="Cancelled before it was sent", timings=clock.timings(),
                              error=STOPPED_BEFORE_SEND)
            return
        yield base.evolve(label="Sending to the API…", timings=clock.timings())
        sent_at = datetime.now(timezone.utc)
        try:
            job = client.submit_job(model.path, body, known_fields=model.accepts)
            break
        except RateLimited as exc:
            wait = exc.retry_after if exc.retry_after is not None else SUBMIT_FALLBACK_WAIT
            if attempt == submit_attempts or wait > SUBMIT_WAIT_CAP:
                yield failed(run_error_from(exc))
                return
            # Wait what Krea asks, one visible second at a time, and give way to Stop at once.
            resume_at = now() + wait
            while (left := resume_at - now()) > 0:
                yield base.evolve(label=f"Krea is busy: retrying in {math.ceil(left)} s, attempt {attempt + 1} of "
                                        f"{submit_attempts}", timings=clock.timings())
                if stop.wait(min(1.0, left)):
                    break
        except TransportError as exc:
            if not exc.request_sent:
                yield failed(run_error_from(exc))
                return
            # The POST left but its answer was lost: the job may exist (and be billed). Look, never resend.
            yield base.evolve(label="Krea did not answer: looking for the job in your job list…",
                              timings=clock.timings())
            job, error = look_up_submitted(client, sent_at=sent_at, latest=datetime.now(timezone.utc),
                                           is_known=is_known)
            if job is None:
                yield failed(error)
                return
            break
        except KreaError as exc:
            yield failed(run_error_from(exc))
            return
    if job is None:  # stopped during a wait: the loop's next turn would have said so
        yield base.evolve(phase=Phase.CANCELLED, label="Cancelled before it was sent", timings=clock.timings(),
                          error=STOPPED_BEFORE_SEND)
        return

    clock.accepted = now()
    yield from _follow_to_end(client, base.evolve(job_id=job.job_id, phase=Phase.FOLLOWING), job, clock, poll,
                              stop, output_dir, backend, _Timing.of(client, model, poll))


def resume_generation(
    client: KreaClient,
    model: Model,
    last: RunUpdate,
    *,
    output_dir: Path,
    backend: str,
    poll: PollPolicy | None = None,
    stop: threading.Event | None = None,
    now: Callable[[], float] = time.monotonic,
) -> Iterator[RunUpdate]:
    """Follow again a job this app submitted before (after a restart, or for a page that went away), from its
    last known update, to the same terminal updates as :func:`run_generation`. The job id must be known."""
    stop = stop or threading.Event()
    started = parse_timestamp(last.started_at)
    before = (datetime.now(timezone.utc) - started).total_seconds() if started else 0.0
    clock = _Clock(started=now() - max(before, 0.0), now=now)
    clock.accepted = clock.started + (last.timings.submit or 0.0)
    base = last.evolve(phase=Phase.FOLLOWING, label="Following the job again…", preview=None, error=None)
    yield base.evolve(timings=clock.timings())
    try:
        job = client.get_job(last.job_id)
    except NotFound:
        yield base.evolve(phase=Phase.FAILED, label="Job not found", timings=clock.timings(), error=RunError(
            ErrorKind.NOT_FOUND, f"Job {last.job_id} no longer exists on {backend} (the sandbox keeps jobs only "
                                 "while it runs; Krea forgets very old jobs). Run it again to get the image."))
        return
    except KreaError as exc:
        yield base.evolve(phase=Phase.FAILED, label="Failed", timings=clock.timings(), error=run_error_from(exc))
        return
    # Its start is long gone, so the schedule has no window to aim at: the classic one, learning all the same.
    timing = _Timing.of(client, model, poll, aim=False)
    yield from _follow_to_end(client, base, job, clock, poll, stop, output_dir, backend, timing)


@dataclass(frozen=True)
class _Timing:
    """When this run's job is likely to end (aims the poll schedule), and where its length is learned."""

    backend: str  # the API base: the sandbox and Krea never teach each other
    model_id: str
    guess: float | None  # the catalog's typical seconds, scaled for the backend
    expect: Expectation | None

    @classmethod
    def of(cls, client: KreaClient, model: Model, poll: PollPolicy | None, *, aim: bool = True) -> _Timing:
        policy = poll or client.settings.poll
        guess = (max(policy.expected_floor, model.expected_seconds * policy.expected_scale)
                 if model.expected_seconds else None)
        expect = DURATIONS.expect(client.base_url, model.id, guess) if aim else None
        return cls(client.base_url, model.id, guess, expect)

    def learn(self, job: Job) -> None:
        DURATIONS.learn(self.backend, self.model_id, job, self.guess)


def look_up_submitted(client: KreaClient, *, sent_at: datetime, latest: datetime,
                      is_known: Callable[[str], bool]) -> tuple[Job | None, RunError | None]:
    """The job a lost submit answer would have returned: the one job of this account created between sending and
    `latest` that no other run owns. Returns (job, None), or (None, why) when there is none or more than one."""
    found: list[Job] = []
    try:
        for seen, job in enumerate(client.iter_jobs(limit=50), start=1):
            if seen > LOOKUP_MAX_JOBS:
                break  # also when jobs carry no created_at: never page through a whole account
            if job.created_at is None:
                continue
            if job.created_at < sent_at - LOOKUP_SKEW:
                break  # newest first: everything further down is older
            if job.created_at <= latest + LOOKUP_SKEW and not is_known(job.job_id):
                found.append(job)
    except KreaError as exc:
        return None, RunError(ErrorKind.TIMEOUT, "Krea did not answer the submit, and the job list could not be "
                                                 f"read to check whether the job exists ({exc.user_message}). Look "
                                                 "in your Krea job list before running it again.")
    if len(found) == 1:
        return found[0], None
    if not found:
        return None, RunError(ErrorKind.TIMEOUT, "Krea did not answer the submit, and no new job is in your job "
                                                 "list: nothing was created or billed. Run it again.")
    return None, RunError(ErrorKind.TIMEOUT, f"Krea did not answer the submit, and {len(found)} new jobs in your "
                                             "job list could be this one (" + ", ".join(j.job_id for j in found[:4])
                          + "). Check them in your Krea job list before running it again.")


def _follow_to_end(client, base, job, clock, poll, stop, output_dir, backend, timing: _Timing):
    """From an accepted job to a terminal update: follow, honour Stop, download, save."""
    finished = False

    def failed(error: RunError, **changes) -> RunUpdate:
        return base.evolve(phase=Phase.FAILED, label="Failed", error=error, timings=clock.timings(), **changes)

    try:
        clock.observe(job.status)
        yield base.evolve(status=job.status, label=status_label(job.status), timings=clock.timings())
        job, last_preview = yield from _follow(client, base, job, clock, poll, stop, timing)
        if stop.is_set() and not job.is_terminal:
            cancelled = _cancel_quietly(client, job.job_id)
            finished = True
            if cancelled is not None and cancelled.status == JobStatus.COMPLETED:
                job = cancelled  # it finished before the cancel arrived: it is billed, so keep the image
            elif cancelled is None:
                # Refused (Krea cancels only queued or processing jobs) or unconfirmed: the job runs on and will be
                # billed, so it is followed to its end and its image kept rather than lost.
                yield base.evolve(status=job.status, label="Too late to cancel: finishing it (it will be billed)…",
                                  preview=last_preview, timings=clock.timings())
                job, last_preview = yield from _follow(client, base, job, clock, poll, threading.Event(), timing)
            else:
                clock.observe(cancelled.status)
                yield _stopped(base, cancelled, job, clock, last_preview)
                return
        finished = True
        yield from _finish(client, base, job, clock, last_preview, output_dir, backend, stop)
    except KreaError as exc:
        finished = True  # a timeout keeps the job alive on purpose: it may still finish and can be fetched later
        if stop.is_set() and not job.is_terminal:  # the user asked to stop: honour it even though polling broke
            cancelled = _cancel_quietly(client, job.job_id)
            yield _stopped(base, cancelled, job, clock, None)
            return
        yield failed(run_error_from(exc), status=job.status)
    except Exception as exc:  # a bug after the job exists: say so, and don't leave a billed job running
        log.exception("run of job %s broke", job.job_id)
        yield failed(run_error_from(exc), status=job.status)
    finally:
        if not finished:
            # GeneratorExit (tab closed, Gradio cancel) or a bug: don't leave a billed job running for nobody.
            threading.Thread(target=_cancel_quietly, args=(client, job.job_id), daemon=True).start()


def _stopped(base: RunUpdate, cancelled: Job | None, job: Job, clock: _Clock, preview: str | None) -> RunUpdate:
    """The update for a run the user stopped: cancelled, or honestly unconfirmed when the DELETE failed."""
    if cancelled is None:
        error = RunError(ErrorKind.CANCELLED, f"You stopped this run, but Krea did not confirm the cancellation of "
                                              f"job {job.job_id}: it may still finish and be billed.")
        return base.evolve(phase=Phase.CANCELLED, status=job.status, label="Stopped (cancel not confirmed)",
                           preview=preview, timings=clock.timings(), error=error)
    return base.evolve(phase=Phase.CANCELLED, status=cancelled.status, label="Cancelled", preview=preview,
                       timings=clock.timings(), error=STOPPED)


def _follow(client, base, job, clock, poll, stop, timing: _Timing):
    """Yield an update per observed change; return the last job and the last preview shown."""
    last_preview = None
    last_preview_url = None
    for job in client.poll_job(job.job_id, poll=poll, stop=stop, expect=timing.expect):
        if job.is_terminal:
            timing.learn(job)
        clock.observe(job.status)
        preview_urls = job.preview_urls
        if preview_urls and preview_urls[-1] != last_preview_url:
            last_preview_url = preview_urls[-1]
            try:
                last_preview = save_preview(client.download_image(last_preview_url, stop=stop), job.job_id,
                                            len(preview_urls))
            except (KreaError, OSError) as exc:  # a preview is a nicety; the final image is what matters
                log.info("preview unavailable for %s: %s", job.job_id, exc)
        yield base.evolve(status=job.status, label=status_label(job.status), preview=last_preview,
                          timings=clock.timings())
        if job.is_terminal:
            break
    return job, last_preview


def _finish(client, base, job, clock, last_preview, output_dir, backend, stop=None):
    """Turn a terminal job into the final update: a saved PNG, or the reason there is none."""
    if job.status == JobStatus.CANCELLED:
        yield base.evolve(phase=Phase.CANCELLED, status=job.status, label="Cancelled", timings=clock.timings(),
                          error=run_error_from(JobCancelled(job)))
        return
    if job.status != JobStatus.COMPLETED or not job.urls:
        yield base.evolve(phase=Phase.FAILED, status=job.status, label="Failed", timings=clock.timings(),
                          preview=last_preview, error=run_error_from(JobFailed(job)))
        return
    yield base.evolve(phase=Phase.DOWNLOADING, status=job.status, label="Downloading the image…",
                      preview=last_preview, timings=clock.timings())
    params = base.params or {}
    metadata = png_metadata(prompt=str(params.get("prompt", "")), model_id=base.model_id, params=params,
                            seed=base.seed, job_id=job.job_id, backend=backend)
    # A Stop already set here found the job completed (billed) when it cancelled: its image is still fetched (the
    # download has its own deadline). A Stop pressed during the download ends it.
    download_stop = stop if stop is not None and not stop.is_set() else None
    try:
        path, size = save_final_png(client.download_image(job.urls[0], stop=download_stop), output_dir, metadata)
    except DownloadStopped:
        # Completed, so billed (RunRecord keeps the price for completed + bad_image): say so, and where it is.
        yield base.evolve(phase=Phase.FAILED, status=job.status, label="Stopped while downloading",
                          timings=clock.timings(), preview=last_preview,
                          error=RunError(ErrorKind.BAD_IMAGE, f"You stopped the download, but job {job.job_id} had "
                                                              "already finished and is billed. The image is still "
                                                              f"at {job.urls[0]}"))
        return
    except Exception as exc:  # noqa: BLE001  (a bug of ours too: the billed image must not vanish with it)
        # The job succeeded and may be billed: never drop it silently. Say where the image still is.
        if not isinstance(exc, (KreaError, OSError, ValueError)):
            log.exception("saving the image of job %s broke", job.job_id)
        reason = exc.user_message if isinstance(exc, KreaError) else f"{exc.__class__.__name__}: {exc}."
        yield base.evolve(phase=Phase.FAILED, status=job.status, label="Download failed", timings=clock.timings(),
                          preview=last_preview,
                          error=RunError(ErrorKind.BAD_IMAGE, f"The image was made (job {job.job_id}) but could "
                                                              f"not be saved: {reason} It is still at {job.urls[0]}"))
        return
    yield base.evolve(phase=Phase.DONE, status=job.status, label="Completed", image_path=str(path),
                      image_size=size, timings=clock.timings())
