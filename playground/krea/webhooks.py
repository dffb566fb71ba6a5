"""Webhook mode: Krea calls us when a job ends, so the follower need not poll for it.

Submitting with ``X-Webhook-URL`` makes Krea POST the finished job to that URL. The receiver (an ASGI route
beside Gradio, :mod:`playground.ui.webhook_receiver`) only *nudges* the follower of that job id through
:data:`INBOX`; the follower then fetches the job with ``GET /jobs/{id}`` as always. The payload itself is never
trusted, so a forged, repeated or garbled call costs one GET at most, and a lost one is caught by the slow
safety-net polls (see ``follow.next_poll_in``).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict

EARLY_KEEP_S = 120.0  # a call that beats the submit's answer (a job that ends very fast) waits this long for it
EARLY_MAX = 1000  # … and at most this many such calls are kept (anyone can post garbage ids)


class WebhookInbox:
    """Job id → the event its follower sleeps on. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiting: dict[str, threading.Event] = {}
        self._early: OrderedDict[str, float] = OrderedDict()  # job id → when the call came

    def expect(self, job_id: str) -> threading.Event:
        """The event a follower of ``job_id`` sleeps on; already set if the call came first."""
        with self._lock:
            event = self._waiting.setdefault(job_id, threading.Event())
            came = self._early.pop(job_id, None)
            if came is not None and time.monotonic() - came < EARLY_KEEP_S:
                event.set()
            return event

    def forget(self, job_id: str) -> None:
        with self._lock:
            self._waiting.pop(job_id, None)

    def nudge(self, job_id: str) -> bool:
        """A call for ``job_id`` arrived: wake its follower. False when no follower waits for it (yet)."""
        with self._lock:
            event = self._waiting.get(job_id)
            if event is not None:
                event.set()
                return True
            self._early[job_id] = time.monotonic()
            self._early.move_to_end(job_id)
            while len(self._early) > EARLY_MAX:
                self._early.popitem(last=False)
            return False

    def waiting(self) -> int:
        with self._lock:
            return len(self._waiting)


INBOX = WebhookInbox()  # one per process: the receiver route and every follower share it
