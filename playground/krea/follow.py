"""Following a job until it ends: how the client learns of job updates.

"How we learn of an update" sits behind :class:`JobFollower`, so a webhook-driven follower can replace
polling later without touching the run stream that consumes the updates. :class:`PollingFollower` is the
one we have: ``GET /jobs/{id}`` on a growing interval, yielding a :class:`Job` only when something changed.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
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
    flight when ``stop`` is set)."""

    def __init__(self, fetch: Callable[[str, threading.Event], Job], poll: PollPolicy,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._fetch = fetch
        self._poll = poll
        self._clock = clock

    def _fetch_unless_stopped(self, job_id: str, stop: threading.Event) -> Job:
        try:
            return self._fetch(job_id, stop)
        except KreaError:
            if stop.is_set():
                raise _Stopped() from None
            raise

    def follow(self, job_id: str, stop: threading.Event | None = None) -> Iterator[Job]:
        stop = stop or threading.Event()  # a private event keeps one code path (stop.wait is our sleep)
        started = self._clock()
        deadline = started + self._poll.deadline
        intervals = poll_intervals(self._poll)
        last_key: tuple | None = None
        last_status: str | None = None
        last_error: KreaError | None = None
        bad_answers = 0
        while not stop.is_set():
            wait = next(intervals)
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
                    wait = max(wait, exc.retry_after)
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
            # One last poll lands on the deadline rather than past it.
            if stop.wait(min(wait, deadline - now)):
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
