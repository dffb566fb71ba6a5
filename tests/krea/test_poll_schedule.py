"""The poll schedule that knows the model: sparse before a job's expected end, dense around it, backing off after;
learned from the server's own timestamps; and webhook mode, where Krea's call wakes the follower."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone

from playground.krea.follow import (
    SAFETY_EVERY_S,
    DurationBook,
    Expectation,
    PollingFollower,
    next_poll_in,
    safety_poll_in,
)
from playground.krea.jobs import Job
from playground.krea.webhooks import WebhookInbox
from playground.settings import PollPolicy
from tests.krea.conftest import job_json
from tests.krea.test_follow import FakeTime, RecordingStop

POLICY = PollPolicy(initial_interval=1.0, backoff=1.25, max_interval=4.0, dense_interval=0.25, deadline=600.0)


def timed_job(seconds: float, status: str = "completed") -> Job:
    created = datetime(2026, 5, 1, 10, 0, tzinfo=timezone.utc)
    return Job(job_id="j", status=status, created_at=created, completed_at=created + timedelta(seconds=seconds))


def poll_times(expect: Expectation | None, until: float, policy: PollPolicy = POLICY) -> list[float]:
    """When the schedule polls a job that has not ended by `until`."""
    times, now, wait = [], 0.0, None
    if expect is not None:
        wait = next_poll_in(policy, expect, 0.0, None)
        now = wait
    while now <= until:
        times.append(round(now, 3))
        wait = next_poll_in(policy, expect, now, wait)
        now += wait
    return times


class TestSchedule:
    def test_sparse_before_the_window_landing_on_its_start_then_dense_then_backing_off(self):
        times = poll_times(Expectation(early=3.0, late=5.0), until=9.0)
        before = [t for t in times if t < 3.0]
        inside = [t for t in times if 3.0 <= t <= 5.0]
        assert before == []  # a short job: first looked at when it may be ending
        assert inside[0] == 3.0 and len(inside) == 9  # every 0.25 s from 3.0 to 5.0
        assert [t for t in poll_times(Expectation(early=6.0, late=9.0), until=6.0)] == [3.0, 6.0]
        after = [t for t in times if t > 5.0]
        gaps = [b - a for a, b in zip(after, after[1:])]
        assert gaps == sorted(gaps) and gaps[-1] > 0.25  # late: gentler and gentler

    def test_a_long_job_is_polled_at_most_every_max_interval_before_its_window(self):
        times = poll_times(Expectation(early=67.0, late=113.0), until=67.0)
        gaps = [b - a for a, b in zip([0.0, *times], times)]
        assert max(gaps) <= POLICY.max_interval + 1e-9 and times[-1] == 67.0
        assert len(times) == 17

    def test_polls_per_job_stay_under_one_and_a_half_a_second_when_the_window_is_right(self):
        # Jobs end uniformly inside the window; polling stops at the first poll after the end.
        for early, late in ((3.0, 5.0), (67.5, 112.5)):
            counts, lags, lengths = [], [], []
            steps = 200
            for i in range(steps):
                end = early + (late - early) * (i + 0.5) / steps
                times = poll_times(Expectation(early, late), until=late + 10)
                seen = next(t for t in times if t >= end)
                counts.append(sum(1 for t in times if t <= seen))
                lags.append(seen - end)
                lengths.append(end)
            rate = sum(counts) / sum(lengths)
            lags.sort()
            assert rate <= 1.5, (early, rate)
            assert lags[len(lags) // 2] <= 0.15 and lags[int(len(lags) * 0.95)] <= 0.25

    def test_without_an_expectation_the_classic_schedule(self):
        assert poll_times(None, until=6.0)[:4] == [0.0, 1.0, 2.25, 3.812]

    def test_webhook_mode_polls_only_well_after_the_expected_end(self):
        assert safety_poll_in(Expectation(3.0, 5.0), 0.0) == 10.0  # late + 5 s
        assert safety_poll_in(Expectation(60.0, 100.0), 0.0) == 150.0  # late x 1.5
        assert safety_poll_in(Expectation(3.0, 5.0), 12.0) == SAFETY_EVERY_S
        assert safety_poll_in(None, 0.0) == 30.0


class TestDurationBook:
    def test_a_guess_until_three_jobs_are_timed_then_their_spread_widened(self):
        book = DurationBook(min_timed=3)
        assert book.expect("krea", "m", 10.0) == Expectation(6.0, 15.0, 0)
        assert book.expect("krea", "m", None) is None
        for seconds in (4.0, 5.0, 6.0):
            book.learn("krea", "m", timed_job(seconds))
        expect = book.expect("krea", "m", 10.0)
        assert expect.timed == 3
        assert expect.early == 4.0 - 1.0 - 0.05 and expect.late == 6.0 + 1.0 + 0.05

    def test_only_completed_jobs_with_both_timestamps_teach_it_and_backends_stay_apart(self):
        book = DurationBook(min_timed=1)
        book.learn("krea", "m", timed_job(5.0, status="failed"))
        book.learn("krea", "m", Job(job_id="j", status="completed"))
        assert book.expect("krea", "m", None) is None
        book.learn("sandbox", "m", timed_job(2.0))
        assert book.expect("krea", "m", None) is None and book.expect("sandbox", "m", None).timed == 1

    def test_it_keeps_only_recent_jobs(self):
        book = DurationBook(keep=3, min_timed=3)
        for seconds in (50.0, 50.0, 50.0, 5.0, 5.0, 5.0):
            book.learn("krea", "m", timed_job(seconds))
        assert book.expect("krea", "m", None).late < 6.0  # the model got faster: the old times are gone

    def test_a_model_never_timed_borrows_how_the_backend_compares_with_the_catalog(self):
        # A sandbox at speed 0.06 (or a slow hour at Krea) shifts every model alike: three jobs of other models
        # say by how much, and a new model's window is its guess times that, not the guess ±50%.
        book = DurationBook(min_timed=3)
        for model, guess, seconds in (("a", 10.0, 0.8), ("b", 20.0, 2.2), ("c", 40.0, 4.0)):
            book.learn("sandbox", model, timed_job(seconds), guess)
        expect = book.expect("sandbox", "new", 30.0)  # ratios 0.08 .. 0.11 -> 2.4 .. 3.3 s, widened
        assert expect.timed == 0 and 1.85 < expect.early < 2.4 and 3.3 < expect.late < 3.9
        assert book.expect("krea", "new", 30.0) == Expectation(18.0, 45.0, 0)


class TestFollowerWithExpectation:
    def test_the_first_poll_waits_for_the_schedule(self):
        time_ = FakeTime()
        stop = RecordingStop(time_)
        calls = []

        def fetch(job_id, stop=None):
            calls.append(time_.now)
            status = "completed" if time_.now >= 3.4 else "processing"
            return Job.from_dict(job_json(job_id, status, result={"urls": ["https://x/a.png"]}
                                          if status == "completed" else None))

        follower = PollingFollower(fetch, POLICY, clock=time_.clock)
        seen = [j.status for j in follower.follow("j", stop, Expectation(3.0, 5.0))]
        assert seen == ["processing", "completed"]
        assert [round(c, 2) for c in calls] == [3.0, 3.25, 3.5]


class TestWebhookWake:
    def test_a_call_wakes_the_follower_at_once_and_it_fetches_the_job_itself(self):
        inbox = WebhookInbox()
        fetched = []

        def fetch(job_id, stop=None):
            fetched.append(time.monotonic())
            return Job.from_dict(job_json(job_id, "completed", result={"urls": ["https://x/a.png"]}))

        follower = PollingFollower(fetch, POLICY, inbox=inbox)
        started = time.monotonic()
        threading.Timer(0.3, inbox.nudge, args=("j",)).start()
        seen = [j.status for j in follower.follow("j", threading.Event(), Expectation(30.0, 60.0))]
        assert seen == ["completed"] and len(fetched) == 1
        assert 0.3 <= fetched[0] - started < 1.0  # not at 90 s, the first safety-net poll
        assert inbox.waiting() == 0  # forgotten once followed

    def test_a_call_that_beats_the_submit_answer_is_kept_for_its_follower(self):
        inbox = WebhookInbox()
        assert inbox.nudge("fast") is False
        assert inbox.expect("fast").is_set()
        assert not inbox.expect("other").is_set()

    def test_stop_ends_the_wait_for_a_call(self):
        inbox = WebhookInbox()
        stop = threading.Event()
        follower = PollingFollower(lambda job_id, stop=None: None, POLICY, inbox=inbox)
        threading.Timer(0.2, stop.set).start()
        started = time.monotonic()
        assert list(follower.follow("j", stop, Expectation(30.0, 60.0))) == []
        assert time.monotonic() - started < 0.8
