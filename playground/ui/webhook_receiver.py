"""The route Krea (or the sandbox) calls when a job ends, beside Gradio's own routes.

An ASGI middleware rather than a Gradio event: it must answer a plain JSON POST from Krea's servers, with no
Gradio session or queue in between, and in microseconds. It reads at most ``MAX_BODY`` bytes, takes the
``job_id`` and nudges that job's follower (:data:`playground.krea.webhooks.INBOX`); the follower then asks
``GET /jobs/{id}`` itself, so nothing in the call is trusted. Duplicates are harmless; unknown ids get 404.
The path carries a random secret (``Backend.webhook_path``), so strangers cannot even reach it.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from playground.krea.webhooks import INBOX, WebhookInbox

log = logging.getLogger(__name__)

MAX_BODY = 256 * 1024  # a job is a few hundred bytes


class WebhookReceiver:
    """ASGI middleware answering ``POST <path>``; everything else goes on to Gradio."""

    def __init__(self, app: Any, path: str, inbox: WebhookInbox = INBOX) -> None:
        self.app = app
        self.path = path
        self.inbox = inbox

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope.get("type") != "http" or scope.get("path") != self.path:
            await self.app(scope, receive, send)
            return
        if scope.get("method") != "POST":
            await _answer(send, 405, {"error": "POST a job here"})
            return
        body = await _read(receive)
        if body is None:
            await _answer(send, 413, {"error": f"at most {MAX_BODY} bytes"})
            return
        try:
            job_id = json.loads(body).get("job_id")
        except (ValueError, AttributeError):
            job_id = None
        if not isinstance(job_id, str) or not job_id:
            await _answer(send, 400, {"error": "expected a job with a job_id"})
            return
        waited_for = self.inbox.nudge(job_id)
        log.debug("webhook for job %s (%s)", job_id, "followed" if waited_for else "not followed here")
        await _answer(send, 200 if waited_for else 404, {"received": waited_for})


async def _read(receive: Any) -> bytes | None:
    """The request body, or None past MAX_BODY (the rest is not read)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message.get("type") != "http.request":
            return b"".join(chunks)
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


async def _answer(send: Any, status: int, payload: dict) -> None:
    body = json.dumps(payload).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
