"""Following a job until it ends: how the client learns of job updates.

"How we learn of an update" sits behind :class:`JobFollower`, so a webhook-driven follower can replace
polling later without touching the run stream that consumes the updates. :class:`PollingFollower` is the
one we have: ``GET /jobs/{id}`` on a growing interval, yielding a :class:`Job` only when something changed.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass
from typing import Protocol

from playground.krea.errors import (
    BadAnswer,
    JobCancelled,
    JobFailed,
    JobTimeout,
    KreaError,
    NotFound,
    RateLimited,
    ServerError,
    TransportError,
)
from playground.krea.jobs import Job
from playground.krea.webhooks import WebhookInbox
from playground.settings import PollPolicy

log = logging.getLogger(__name__)

# Worth waiting out while following: the job lives on at Krea whatever our connection does. (Timeout is a
# TransportError.) Unauthorized, BadRequest and the rest are raised at once: waiting cannot fix them.
TRANSIENT_ERRORS: tuple[type[KreaError], ...] = (TransportError, ServerError, RateLimited)
# Worth a few more polls, not more: a job Krea just created can briefly be unknown (404), and one garbled answer
# (not JSON, not a job) says nothing about the job. `PollPolicy.bad_answer_retries` in a row, then raised.
BAD_ANSWER_ERRORS: tuple[type[KreaError], ...] = (NotFound, BadAnswer)


class JobFollower(Protocol):
    """Anything that turns a job id into a stream of job updates ending with the terminal one."""

    def follow(self, job_id: str, stop: threading.Event | None = None) -> Iterator[Job]:
        """Yield the job when first seen and on every change; return after yielding a terminal job.

        Ends quietly when ``stop`` is set; raises :class:`JobTimeout` past the deadline.
        """
        ...


@dataclass(frozen=True)
class Expectation:
    """When a job is likely to end, in seconds after it was submitted: between ``early`` and ``late``.
    ``timed`` says how many finished jobs it was learned from (0: the catalog's typical time, scaled)."""

    early: float
    late: float
    timed: int = 0


class DurationBook:
    """How long recent jobs took (``completed_at - created_at``: the server's own clock, so our polling does not
    blur it), and from that the window in which the next job of a model is likely to end.

    Per (backend, model) once ``min_timed`` of its jobs were timed. Before that, per backend: how recent jobs of
    *any* model compared with their catalog guess (a sandbox at speed 0.06, or a busy hour at Krea, shifts them
    all alike), applied to this model's guess. Before that, the guess ±50%. In memory: a restart relearns
    within a few runs. Backends (API bases) never mix.
    """

    def __init__(self, keep: int = 32, min_timed: int = 3) -> None:
        self.keep = keep
        self.min_timed = min_timed
        self._lock = threading.Lock()
        self._seconds: dict[tuple[Hashable, Hashable], deque[float]] = {}
        self._ratios: dict[Hashable, deque[float]] = {}  # per backend: seconds / guess

    def learn(self, backend: Hashable, model: Hashable, job: Job, guess: float | None = None) -> None:
        if job.status != "completed" or job.created_at is None or job.completed_at is None:
            return
        seconds = (job.completed_at - job.created_at).total_seconds()
        if not 0 < seconds < 24 * 3600:
            return
        with self._lock:
            self._seconds.setdefault((backend, model), deque(maxlen=self.keep)).append(seconds)
            if guess:
                self._ratios.setdefault(backend, deque(maxlen=self.keep)).append(seconds / guess)

    def expect(self, backend: Hashable, model: Hashable, guess: float | None) -> Expectation | None:
        """The window for the next job of ``model`` on ``backend``; ``guess``: the catalog's seconds."""
        with self._lock:
            seen = list(self._seconds.get((backend, model), ()))
            ratios = list(self._ratios.get(backend, ()))
        if len(seen) >= self.min_timed:
            return _window(seen, len(seen))
        if guess and len(ratios) >= self.min_timed:
            return _window([guess * r for r in ratios], 0)
        if not guess or guess <= 0:
            return None
        return Expectation(0.6 * guess, 1.5 * guess)


def _window(seconds: list[float], timed: int) -> Expectation:
    low, high = min(seconds), max(seconds)
    # n draws fall inside the true range, short of each end by about (high - low) / (n - 1): widen by that,
    # plus a little for timestamps in whole milliseconds and the trip to us.
    widen = (high - low) / max(1, len(seconds) - 1) + 0.05
    return Expectation(max(0.0, low - widen), high + widen, timed)


DURATIONS = DurationBook()  # one per process: every session's runs teach the schedule for everybody's next one


def next_poll_in(policy: PollPolicy, expect: Expectation | None, elapsed: float, last_wait: float | None) -> float:
    """Seconds until the next poll of a job ``elapsed`` seconds old.

    With an expectation: sparse before its window (every ``max_interval`` at most, landing exactly on its
    start), every ``dense_interval`` inside it, and backing off from there once the job is late. A job ends at
    an unpredictable moment inside the window, so it is seen on average ``dense_interval / 2`` after it ends;
    and as polling stops when it ends, it pays for only the part of the window it used. Without one: the
    classic ``initial_interval`` growing by ``backoff`` up to ``max_interval``.
    """
    dense = max(0.05, policy.dense_interval)
    if expect is None:
        if last_wait is None:
            return max(0.0, policy.initial_interval)
        return min(policy.max_interval, last_wait * max(1.0, policy.backoff))
    if elapsed < expect.early - 0.01:
        # Equal steps of at most max_interval that land on the window's start: a job expected in under
        # max_interval is first looked at when it may be ending (a short job's budget is a few GETs in all).
        gap = expect.early - elapsed
        return gap / math.ceil(gap / max(dense, policy.max_interval))
    if elapsed <= expect.late:
        return dense
    return min(max(policy.max_interval, dense), max(dense, (last_wait or dense) * max(1.0, policy.backoff)))


SAFETY_EVERY_S = 10.0  # webhook mode: the slow polls that catch a call that never came
WAKE_SLICE_S = 0.25  # webhook mode: how soon a Stop is noticed while waiting for the call


def safety_poll_in(expect: Expectation | None, elapsed: float) -> float:
    """Webhook mode: Krea calls when the job ends, so nothing is polled until well past its expected end,
    then every ``SAFETY_EVERY_S`` in case the call was lost."""
    first = max(expect.late * 1.5, expect.late + 5.0) if expect is not None else 30.0
    return first - elapsed if elapsed < first else SAFETY_EVERY_S


def poll_intervals(policy: PollPolicy) -> Iterator[float]:
    """initial × backoff^n, capped at max_interval: fast at first (short jobs are seen soon), then gentler."""
    interval = max(0.0, policy.initial_interval)
    while True:
        yield min(interval, policy.max_interval)
        interval *= max(1.0, policy.backoff)


def _change_key(job: Job) -> tuple:
    return (job.status, job.urls, job.preview_urls)


class PollingFollower:
    """Follows a job by polling ``fetch(job_id, stop)`` (normally ``KreaClient.get_job``, which ends a poll in
    flight when ``stop`` is set). With an ``inbox`` (webhook mode: the job was submitted with ``X-Webhook-URL``)
    a call from Krea wakes it at once and only slow safety-net polls remain."""

    def __init__(self, fetch: Callable[[str, threading.Event], Job], poll: PollPolicy,
                 clock: Callable[[], float] = time.monotonic, inbox: WebhookInbox | None = None) -> None:
        self._fetch = fetch
        self._poll = poll
        self._clock = clock
        self._inbox = inbox

    def _fetch_unless_stopped(self, job_id: str, stop: threading.Event) -> Job:
        try:
            return self._fetch(job_id, stop)
        except KreaError:
            if stop.is_set():
                raise _Stopped() from None
            raise

    def _next_wait(self, expect: Expectation | None, elapsed: float, last_wait: float | None) -> float:
        if self._inbox is not None:
            return safety_poll_in(expect, elapsed)
        return next_poll_in(self._poll, expect, elapsed, last_wait)

    def _sleep(self, seconds: float, stop: threading.Event, call: threading.Event | None) -> bool:
        """Wait ``seconds``, less if Krea's call comes; True when stopped."""
        if call is None:
            return stop.wait(seconds)
        end = self._clock() + seconds
        while not stop.is_set():
            left = end - self._clock()
            if left <= 0:
                return False
            # A Stop cannot wake a wait on the call's event, so that wait is cut in slices (µs of CPU each).
            if call.wait(min(left, WAKE_SLICE_S)):
                call.clear()
                return stop.is_set()
        return True

    def follow(self, job_id: str, stop: threading.Event | None = None,
               expect: Expectation | None = None) -> Iterator[Job]:
        """``expect``: when the job is likely to end (see :func:`next_poll_in`). With one (or in webhook mode)
        the first poll waits for the schedule (the submit's answer already said "queued"); else it is at once."""
        stop = stop or threading.Event()  # a private event keeps one code path (stop.wait is our sleep)
        call = self._inbox.expect(job_id) if self._inbox is not None else None
        try:
            yield from self._follow(job_id, stop, expect, call)
        finally:
            if self._inbox is not None:
                self._inbox.forget(job_id)

    def _follow(self, job_id: str, stop: threading.Event, expect: Expectation | None,
                call: threading.Event | None) -> Iterator[Job]:
        started = self._clock()
        deadline = started + self._poll.deadline
        last_key: tuple | None = None
        last_status: str | None = None
        last_error: KreaError | None = None
        bad_answers = 0
        wait: float | None = None
        if expect is not None or call is not None:
            wait = self._next_wait(expect, 0.0, None)
            if self._sleep(min(wait, self._poll.deadline), stop, call):
                return
        while not stop.is_set():
            told_to_wait = 0.0  # a 429's Retry-After
            try:
                job = self._fetch_unless_stopped(job_id, stop)
            except _Stopped:
                return
            except BAD_ANSWER_ERRORS as exc:
                bad_answers += 1
                if bad_answers > self._poll.bad_answer_retries:
                    raise
                log.info("polling job %s: %s (bad answer %d in a row, will retry)", job_id, exc, bad_answers)
                last_error = exc
            except TRANSIENT_ERRORS as exc:
                # urllib3 already retried this call; the job is still running at Krea, so keep following.
                log.info("polling job %s: %s (will retry)", job_id, exc)
                last_error = exc
                if isinstance(exc, RateLimited) and exc.retry_after:
                    told_to_wait = exc.retry_after
            else:
                last_error = None
                bad_answers = 0
                last_status = job.status
                key = _change_key(job)
                if key != last_key:
                    last_key = key
                    yield job
                if job.is_terminal:
                    return
            now = self._clock()
            if now >= deadline:
                raise JobTimeout(job_id, last_status, now - started, last_error)
            wait = self._next_wait(expect, now - started, wait)
            # One last poll lands on the deadline rather than past it.
            if self._sleep(min(max(wait, told_to_wait), deadline - now), stop, call):
                return


class _Stopped(Exception):
    """A Stop cut a poll short: no error of the job's."""


def wait_for_job(follower: JobFollower, job_id: str, stop: threading.Event | None = None) -> Job:
    """The completed job, or :class:`JobFailed` / :class:`JobCancelled` / :class:`JobTimeout`.

    A ``completed`` job without an image counts as failed (a silent refusal by the provider). If ``stop``
    is set first, the last job seen is returned as is (not terminal: check ``job.is_terminal``).
    """
    last: Job | None = None
    for job in follower.follow(job_id, stop):
        last = job
    if last is None:  # stopped before the first answer
        return Job(job_id=job_id, status="")
    if last.status == "cancelled":
        raise JobCancelled(last)
    if last.is_terminal and last.failed:
        raise JobFailed(last)
    return last
