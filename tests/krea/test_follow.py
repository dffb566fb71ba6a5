"""Following a job: one update per change, a growing interval, transient errors waited out, a firm deadline."""

from __future__ import annotations

import threading
import time as wall_time

import pytest

from playground.krea.errors import (
    BadAnswer,
    BadRequest,
    JobCancelled,
    JobFailed,
    JobTimeout,
    NotFound,
    RateLimited,
    ServerError,
    Timeout,
    TransportError,
    Unauthorized,
)
from playground.krea.follow import PollingFollower, poll_intervals, wait_for_job
from playground.krea.jobs import Job
from playground.settings import PollPolicy
from tests.krea.conftest import Reply, job_json

POLICY = PollPolicy(initial_interval=1.0, backoff=2.0, max_interval=4.0, deadline=60.0)


class FakeTime:
    """A clock and a stop event in one: ``wait`` advances the clock instead of sleeping."""

    def __init__(self) -> None:
        self.now = 0.0
        self.waits: list[float] = []

    def clock(self) -> float:
        return self.now


class RecordingStop(threading.Event):
    def __init__(self, time: FakeTime, stop_after: int | None = None) -> None:
        super().__init__()
        self.time = time
        self.stop_after = stop_after

    def wait(self, timeout: float | None = None) -> bool:
        self.time.waits.append(timeout)
        self.time.now += timeout or 0.0
        if self.stop_after is not None and len(self.time.waits) >= self.stop_after:
            self.set()
        return self.is_set()


def scripted(*steps):
    """fetch() answering each step in turn (a Job, a status string, or an exception); the last repeats."""
    calls: list[str] = []
    steps = list(steps)

    def fetch(job_id: str, stop=None) -> Job:
        calls.append(job_id)
        step = steps.pop(0) if len(steps) > 1 else steps[0]
        if isinstance(step, Exception):
            raise step
        return step if isinstance(step, Job) else Job.from_dict(job_json(job_id, step))

    fetch.calls = calls  # type: ignore[attr-defined]
    return fetch


def follow(fetch, policy: PollPolicy = POLICY, stop_after: int | None = None):
    time = FakeTime()
    stop = RecordingStop(time, stop_after)
    follower = PollingFollower(fetch, policy, clock=time.clock)
    return follower, stop, time


def test_intervals_grow_to_the_ceiling():
    gen = poll_intervals(POLICY)
    assert [next(gen) for _ in range(5)] == [1.0, 2.0, 4.0, 4.0, 4.0]


def test_yields_first_job_then_only_changes_and_ends_terminal():
    done = Job.from_dict(job_json("j", "completed", result={"urls": ["https://x/a.png"]}))
    fetch = scripted("queued", "queued", "processing", "processing", "processing", done)
    follower, stop, time = follow(fetch)
    seen = [j.status for j in follower.follow("j", stop)]
    assert seen == ["queued", "processing", "completed"]
    assert len(fetch.calls) == 6
    assert time.waits == [1.0, 2.0, 4.0, 4.0, 4.0]


def test_a_new_preview_is_a_change():
    a = Job.from_dict(job_json("j", "intermediate-complete", result={"urls": ["https://x/p1.jpg"]}))
    b = Job.from_dict(job_json("j", "intermediate-complete", result={"urls": ["https://x/p2.jpg"]}))
    follower, stop, _ = follow(scripted(a, a, b, "completed"))
    assert [j.preview_urls for j in follower.follow("j", stop)][:2] == [("https://x/p1.jpg",), ("https://x/p2.jpg",)]


@pytest.mark.parametrize("status", ["failed", "cancelled"])
def test_failed_and_cancelled_end_quietly(status):
    follower, stop, _ = follow(scripted("processing", status))
    assert [j.status for j in follower.follow("j", stop)] == ["processing", status]


def test_unknown_status_keeps_polling():
    follower, stop, _ = follow(scripted("upscaling", "completed"))
    assert [j.status for j in follower.follow("j", stop)] == ["upscaling", "completed"]


@pytest.mark.parametrize("error", [TransportError("down"), Timeout("slow"), ServerError("500", 500)])
def test_transient_errors_are_waited_out(error):
    fetch = scripted("queued", error, error, "completed")
    follower, stop, _ = follow(fetch)
    assert [j.status for j in follower.follow("j", stop)] == ["queued", "completed"]
    assert len(fetch.calls) == 4


def test_rate_limit_hint_is_respected():
    fetch = scripted("queued", RateLimited("busy", retry_after=30.0), "completed")
    follower, stop, time = follow(fetch)
    list(follower.follow("j", stop))
    assert time.waits == [1.0, 30.0]


@pytest.mark.parametrize("error", [Unauthorized("no", 401), BadRequest("bad")])
def test_permanent_errors_raise_at_once(error):
    fetch = scripted("queued", error, "completed")
    follower, stop, _ = follow(fetch)
    with pytest.raises(type(error)):
        list(follower.follow("j", stop))
    assert len(fetch.calls) == 2


@pytest.mark.parametrize("error", [NotFound("gone", 404), BadAnswer("not JSON", 200)])
def test_a_bad_answer_or_two_is_polled_again(error):
    # A job Krea just created can briefly be unknown; one garbled answer says nothing about the job.
    fetch = scripted("queued", error, error, error, "completed")
    follower, stop, _ = follow(fetch)
    assert [j.status for j in follower.follow("j", stop)] == ["queued", "completed"]
    assert len(fetch.calls) == 5


@pytest.mark.parametrize("error", [NotFound("gone", 404), BadAnswer("not JSON", 200)])
def test_bad_answers_in_a_row_end_the_follow_with_the_error(error):
    fetch = scripted("queued", error)
    follower, stop, _ = follow(fetch)
    with pytest.raises(type(error)):
        list(follower.follow("j", stop))
    assert len(fetch.calls) == 1 + 1 + POLICY.bad_answer_retries


def test_the_bad_answer_count_restarts_after_a_good_answer():
    gone = NotFound("gone", 404)
    fetch = scripted("queued", gone, gone, gone, "processing", gone, gone, gone, "completed")
    follower, stop, _ = follow(fetch)
    assert [j.status for j in follower.follow("j", stop)] == ["queued", "processing", "completed"]


def test_deadline_raises_job_timeout_with_id_and_last_status():
    follower, stop, time = follow(scripted("processing"), PollPolicy(1.0, 2.0, 4.0, deadline=10.0))
    seen = []
    with pytest.raises(JobTimeout) as info:
        for job in follower.follow("job-7", stop):
            seen.append(job.status)
    assert seen == ["processing"]
    assert info.value.job_id == "job-7" and info.value.last_status == "processing"
    assert "not lost" in info.value.user_message
    assert sum(time.waits) == pytest.approx(10.0)  # the last wait is trimmed to land on the deadline


def test_deadline_while_the_network_is_down():
    follower, stop, _ = follow(scripted(TransportError("down")), PollPolicy(1.0, 2.0, 4.0, deadline=5.0))
    with pytest.raises(JobTimeout) as info:
        list(follower.follow("j", stop))
    assert info.value.last_status is None and isinstance(info.value.last_error, TransportError)


def test_stop_ends_quietly():
    follower, stop, _ = follow(scripted("processing"), stop_after=2)
    assert [j.status for j in follower.follow("j", stop)] == ["processing"]


def test_stop_already_set_makes_no_request():
    fetch = scripted("processing")
    follower, stop, _ = follow(fetch)
    stop.set()
    assert list(follower.follow("j", stop)) == []
    assert fetch.calls == []


class TestWaitForJob:
    def test_completed(self):
        done = Job.from_dict(job_json("j", "completed", result={"urls": ["https://x/a.png"]}))
        follower, stop, _ = follow(scripted("queued", done))
        assert wait_for_job(follower, "j", stop).urls == ("https://x/a.png",)

    def test_failed_raises_with_the_reason(self):
        failed = Job.from_dict(job_json("j", "failed", result={"error": "NSFW content detected"}))
        follower, stop, _ = follow(scripted(failed))
        with pytest.raises(JobFailed) as info:
            wait_for_job(follower, "j", stop)
        assert info.value.reason == "NSFW content detected"

    def test_shadow_fail_raises(self):
        follower, stop, _ = follow(scripted(Job.from_dict(job_json("j", "completed", result={}))))
        with pytest.raises(JobFailed) as info:
            wait_for_job(follower, "j", stop)
        assert "possibly filtered" in info.value.user_message

    def test_cancelled_raises(self):
        follower, stop, _ = follow(scripted("cancelled"))
        with pytest.raises(JobCancelled):
            wait_for_job(follower, "j", stop)

    def test_timeout_raises(self):
        follower, stop, _ = follow(scripted("queued"), PollPolicy(1.0, 1.0, 1.0, deadline=3.0))
        with pytest.raises(JobTimeout):
            wait_for_job(follower, "j", stop)


class TestOverHttp:
    FAST = PollPolicy(initial_interval=0.01, backoff=1.5, max_interval=0.03, deadline=5.0)

    def test_poll_job_through_the_client(self, fake, client):
        fake.on("GET", "/jobs/j1",
                Reply(200, job_json("j1", "queued")), Reply(503, "<html>oops</html>"),
                Reply(200, job_json("j1", "processing")),
                Reply(200, job_json("j1", "completed", result={"urls": ["https://x/a.png"]})))
        statuses = [j.status for j in client.poll_job("j1", poll=self.FAST)]
        assert statuses == ["queued", "processing", "completed"]

    def test_wait_for_job_through_the_client(self, fake, client):
        fake.on("GET", "/jobs/j1", Reply(200, job_json("j1", "failed", error={"code": "x", "message": "boom"})))
        with pytest.raises(JobFailed) as info:
            client.wait_for_job("j1", poll=self.FAST)
        assert "boom" in info.value.user_message

    def test_uses_the_client_settings_by_default(self, fake, client):
        fake.on("GET", "/jobs/j1", Reply(200, job_json("j1", "completed", result={"urls": ["https://x/a"]})))
        assert client.wait_for_job("j1").status == "completed"

    def test_a_persistent_not_found_ends_after_a_few_polls(self, fake, client):
        fake.on("GET", "/jobs/j1", Reply(404, {"error": "Job not found"}))
        with pytest.raises(NotFound) as info:
            list(client.poll_job("j1", poll=self.FAST))
        assert len(fake.calls("GET", "/jobs/j1")) == 1 + self.FAST.bad_answer_retries
        assert "does not know this job" in info.value.user_message

    def test_stop_from_another_thread_is_prompt(self, fake, client):
        fake.on("GET", "/jobs/j1", Reply(200, job_json("j1", "processing")))
        stop = threading.Event()
        slow = PollPolicy(initial_interval=30.0, backoff=1.0, max_interval=30.0, deadline=60.0)
        threading.Timer(0.1, stop.set).start()
        started = wall_time.monotonic()
        assert [j.status for j in client.poll_job("j1", poll=slow, stop=stop)] == ["processing"]
        assert wall_time.monotonic() - started < 2.0

    def test_a_429_is_waited_out_by_the_follower_not_inside_the_call(self, fake, client):
        fake.on("GET", "/jobs/j1", Reply(200, job_json("j1", "queued")),
                Reply(429, {"error": "slow down"}, {"Retry-After": "0.3"}),
                Reply(200, job_json("j1", "completed", result={"urls": ["https://x/a"]})))
        assert [j.status for j in client.poll_job("j1", poll=self.FAST)] == ["queued", "completed"]
        times = [s.at for s in fake.calls("GET", "/jobs/j1")]
        assert len(times) == 3 and times[2] - times[1] >= 0.3  # one GET per answer; the hint was honoured

    def test_stop_ends_a_rate_limit_wait_at_once(self, fake, client):
        # Under the retry cap (1 s): urllib3 would have slept it out three times, deaf to the stop.
        fake.on("GET", "/jobs/j1", Reply(200, job_json("j1", "processing")),
                Reply(429, {"error": "slow down"}, {"Retry-After": "0.9"}))
        stop = threading.Event()
        threading.Timer(0.15, stop.set).start()
        started = wall_time.monotonic()
        assert [j.status for j in client.poll_job("j1", poll=self.FAST, stop=stop)] == ["processing"]
        assert wall_time.monotonic() - started < 0.6
