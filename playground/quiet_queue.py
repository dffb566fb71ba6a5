"""An idle Gradio queue that sleeps until there is work, instead of polling 1000 times a second.

Why: Gradio 6.31's ``Queue.start_processing`` (gradio/queueing.py:504-549) loops forever on
``await asyncio.sleep(self.sleep_when_free)`` with ``sleep_when_free = 0.001`` (queueing.py:149, 0.05 on Windows)
whenever nothing is queued or every slot is busy, and ``Queue.start_progress_updates`` (queueing.py:551-569) does
the same every 10 ms (``progress_update_sleep_when_free``, queueing.py:150). Neither is a ``launch()``/``queue()``
parameter or an environment variable. An app nobody uses spent ~40 ms of CPU per second on those wake-ups.

What: :func:`quiet_queue` (call it once on the ``gr.Blocks``, before ``launch()``) swaps, on that Blocks' queue
object only, those two loops for copies that wait on an :class:`asyncio.Event` when idle:

- the dispatch loop's event is set by ``push()`` (a job entered the queue), by a freed slot (``process_events``
  writes ``None`` back into ``active_jobs``, just after it lowered the concurrency count) and by ``close()``;
- the progress loop's event is set when a slot is taken (a job started) and by ``close()``;
- both waits end after :data:`IDLE_TIMEOUT_S` anyway, so a wake-up this code does not know of costs at most that
  delay, never a hang.

While jobs are queued or running the loops do exactly what Gradio's do (the dispatch code is a copy of the pinned
one). A job entering an idle queue is picked up on the event loop's next turn (Gradio's own loop took up to 1 ms).

Safety: it only acts on the Gradio version it was checked against (:data:`PINNED_GRADIO`) and only if the code it
copies or relies on is byte-for-byte the checked one (source fingerprints); otherwise, or with
``PLAYGROUND_QUIET_QUEUE=0``, it changes nothing and says why once in the log (info), so an upgrade falls back to
Gradio's own behaviour instead of breaking the app.
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import logging
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from types import MethodType
from typing import Any

log = logging.getLogger(__name__)

PINNED_GRADIO = "6.31.0"  # requirements.txt; re-check this module against gradio/queueing.py before changing it
ENV_SWITCH = "PLAYGROUND_QUIET_QUEUE"  # "0", "false", "no" or "off": leave Gradio's polling loops alone
IDLE_TIMEOUT_S = 0.5  # an idle loop looks again at least this often, whatever it was told

# sha256 (first 16 hex digits) of inspect.getsource() of the Queue methods this module copies, on PINNED_GRADIO.
FINGERPRINTS = {
    "start": "d7da05cdd477be81",  # sets active_jobs = [None] * n, then starts the two loops below
    "start_processing": "d65be5a5cbed97d7",  # copied into _start_processing
    "start_progress_updates": "7cbbec1cf932324c",  # copied into _start_progress_updates
}
# What the freed-slot wake-up relies on in Queue.process_events (its `finally`): the slot is written back to None.
SLOT_RELEASE = "self.active_jobs[self.active_jobs.index(events)] = None"
QUEUE_ATTRIBUTES = ("active_jobs", "stopped", "delete_lock", "event_queue_per_concurrency_id", "live_updates",
                    "event_analytics", "_asyncio_tasks", "progress_update_sleep_when_free")
QUEUE_METHODS = ("push", "close", "start", "get_events", "process_events", "broadcast_estimations",
                 "send_message", "_cancel_asyncio_tasks")

_MARK = "_playground_quiet_queue"  # on the Blocks: its QuietQueue status; on a Queue: its _Waker
_logged: set[str] = set()


@dataclass(frozen=True)
class QuietQueue:
    """What :func:`quiet_queue` did: truthy when the override is in force."""

    active: bool
    reason: str

    def __bool__(self) -> bool:
        return self.active


def quiet_queue(demo: Any, *, expected_version: str = PINNED_GRADIO,
                env: Mapping[str, str] | None = None) -> QuietQueue:
    """Make ``demo``'s queue sleep while idle. Call once, before ``demo.launch()``; a second call is a no-op.

    The queue object is patched when the app starts (Gradio's ``run_startup_events``), so a ``demo.queue(...)``
    called after this still gets it. Returns the status; when it is inactive nothing was changed.
    """
    previous = getattr(demo, _MARK, None)
    if isinstance(previous, QuietQueue) and previous.active:
        return previous
    status = _install(demo, expected_version, os.environ if env is None else env)
    if status.active:
        log.debug("quiet queue: %s", status.reason)
    elif status.reason not in _logged:
        _logged.add(status.reason)
        log.info("quiet queue not applied (Gradio's own idle polling stays): %s", status.reason)
    return status


def _install(demo: Any, expected_version: str, env: Mapping[str, str]) -> QuietQueue:
    if env.get(ENV_SWITCH, "1").strip().lower() in ("0", "false", "no", "off"):
        return QuietQueue(False, f"{ENV_SWITCH}={env.get(ENV_SWITCH)}")
    problem = check_gradio(expected_version)
    if problem:
        return QuietQueue(False, problem)
    if not callable(getattr(demo, "run_startup_events", None)) or getattr(demo, "_queue", None) is None:
        return QuietQueue(False, "not a gr.Blocks with a queue")
    app = getattr(demo, "app", None)
    if getattr(app, "startup_events_triggered", False):
        return QuietQueue(False, "the app was already launched: call quiet_queue(demo) before demo.launch()")
    original = demo.run_startup_events

    def run_startup_events(*args, **kwargs):
        _quieten(demo._queue)  # the queue in use now (demo.queue() makes a new one)
        return original(*args, **kwargs)

    demo.run_startup_events = run_startup_events
    status = QuietQueue(True, f"idle queue loops wait for work (Gradio {expected_version})")
    setattr(demo, _MARK, status)
    return status


def check_gradio(expected_version: str = PINNED_GRADIO) -> str | None:
    """None if the installed Gradio is the one this override was written against, else what differs."""
    try:
        import gradio
        from gradio import queueing
    except Exception as exc:  # noqa: BLE001 - any import trouble means: do nothing
        return f"gradio not importable ({exc!r})"
    version = getattr(gradio, "__version__", None)
    if version != expected_version:
        return f"gradio {version} is not the version this override was checked against ({expected_version})"
    queue_class = getattr(queueing, "Queue", None)
    if queue_class is None:
        return "gradio.queueing.Queue is missing"
    for name in (*QUEUE_METHODS, *FINGERPRINTS):
        if not callable(getattr(queue_class, name, None)):
            return f"gradio.queueing.Queue.{name} is missing"
    try:
        for name, expected in FINGERPRINTS.items():
            got = _fingerprint(getattr(queue_class, name))
            if got != expected:
                return f"gradio.queueing.Queue.{name} differs from the checked code ({got} != {expected})"
        if SLOT_RELEASE not in inspect.getsource(queue_class.process_events):
            return "Queue.process_events no longer frees its slot the way this override expects"
        parameters = list(inspect.signature(queue_class.push).parameters)
    except (OSError, TypeError) as exc:
        return f"cannot read gradio's source ({exc!r})"
    if parameters != ["self", "body", "request", "username"]:
        return f"Queue.push takes {parameters}"
    return None


def _fingerprint(function) -> str:
    return hashlib.sha256(inspect.getsource(function).encode()).hexdigest()[:16]


# --- the patch, on one Queue object ----------------------------------------------------------------------------

class _Waker:
    """Two asyncio events on the queue's event loop, settable from any thread."""

    def __init__(self) -> None:
        self.loop: asyncio.AbstractEventLoop | None = None
        self.work: asyncio.Event | None = None  # something may be dispatchable: pushed, slot freed, closed
        self.busy: asyncio.Event | None = None  # a job started (progress to forward), or closed

    def bind(self) -> None:
        """Events for the running loop (a relaunch runs the queue on a new loop)."""
        loop = asyncio.get_running_loop()
        if self.loop is not loop:
            self.loop, self.work, self.busy = loop, asyncio.Event(), asyncio.Event()

    def set(self, which: str) -> None:
        loop, event = self.loop, getattr(self, which)
        if loop is None or event is None:
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            event.set()
            return
        try:
            loop.call_soon_threadsafe(event.set)
        except RuntimeError:  # that loop is closed: nobody waits on it any more
            pass

    async def wait(self, which: str, timeout: float = IDLE_TIMEOUT_S) -> None:
        """Until the event is set or ``timeout`` passes. The caller cleared it before looking for work."""
        event = getattr(self, which)
        if event.is_set():
            return
        timer = asyncio.get_running_loop().call_later(timeout, event.set)
        try:
            await event.wait()
        finally:
            timer.cancel()


class _Slots(list):
    """Queue.active_jobs: a list that tells the waker when a slot is taken or freed."""

    __slots__ = ("_waker",)

    def __init__(self, items, waker: _Waker) -> None:
        super().__init__(items)
        self._waker = waker

    def __setitem__(self, index, value) -> None:
        super().__setitem__(index, value)
        self._waker.set("work" if value is None else "busy")


def _quieten(queue: Any) -> None:
    if isinstance(getattr(queue, _MARK, None), _Waker):
        return
    missing = [name for name in (*QUEUE_ATTRIBUTES, *QUEUE_METHODS) if not hasattr(queue, name)]
    if missing:
        reason = f"the queue object lacks {missing}"
        if reason not in _logged:
            _logged.add(reason)
            log.info("quiet queue not applied (Gradio's own idle polling stays): %s", reason)
        return
    waker = _Waker()
    setattr(queue, _MARK, waker)
    push, close = queue.push, queue.close

    async def quiet_push(body, request, username):
        try:
            return await push(body, request, username)
        finally:
            waker.set("work")

    def quiet_close():
        close()
        waker.set("work")
        waker.set("busy")

    queue.push = quiet_push
    queue.close = quiet_close
    queue.start_processing = MethodType(_start_processing, queue)
    queue.start_progress_updates = MethodType(_start_progress_updates, queue)


async def _start_processing(self) -> None:
    """Queue.start_processing of Gradio 6.31.0 (queueing.py:504), waiting on an event instead of sleeping 1 ms."""
    from gradio.utils import run_coro_in_background, set_task_name

    waker: _Waker = getattr(self, _MARK)
    waker.bind()
    if not isinstance(self.active_jobs, _Slots):
        self.active_jobs = _Slots(self.active_jobs, waker)
    me = object()
    self._playground_quiet_owner = me  # a later start() takes over; this loop then ends quietly
    try:
        while not self.stopped and self._playground_quiet_owner is me:
            waker.work.clear()  # before looking, so a wake-up that comes after the look is not lost
            if len(self) == 0 or None not in self.active_jobs:
                await waker.wait("work")
                continue

            # Using mutex to avoid editing a list in use
            async with self.delete_lock:
                event_batch = self.get_events()

            if event_batch:
                events, batch, concurrency_id = event_batch
                self.active_jobs[self.active_jobs.index(None)] = events
                event_queue = self.event_queue_per_concurrency_id[concurrency_id]
                event_queue.current_concurrency += 1
                start_time = time.time()
                fn = events[0].fn
                event_queue.start_times_per_fn[fn].add(start_time)
                for event in events:
                    if (a := self.event_analytics.get(event._id)) is not None:
                        a["status"] = "processing"
                process_event_task = run_coro_in_background(self.process_events, events, batch, start_time, fn)
                set_task_name(process_event_task, events[0].session_hash, fn._id, events[0]._id, batch)

                self._asyncio_tasks.add(process_event_task)
                process_event_task.add_done_callback(self._asyncio_tasks.discard)
                if self.live_updates:
                    self.broadcast_estimations(concurrency_id)
            else:  # queued events, but each one's concurrency id is at its limit: wait for a slot to free
                await waker.wait("work")
    finally:
        if self._playground_quiet_owner is me:
            self.stopped = True
            self._cancel_asyncio_tasks()


async def _start_progress_updates(self) -> None:
    """Queue.start_progress_updates of Gradio 6.31.0 (queueing.py:551): idle, it waits for a job to start."""
    waker: _Waker = getattr(self, _MARK)
    waker.bind()
    while not self.stopped:
        waker.busy.clear()
        events = [evt for job in self.active_jobs if job is not None for evt in job]

        if len(events) == 0:
            await waker.wait("busy")
            continue

        for event in events:
            if event.progress_pending and event.progress:
                event.progress_pending = False
                self.send_message(event, event.progress)

        await asyncio.sleep(self.progress_update_sleep_when_free)
