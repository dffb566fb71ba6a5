"""A tiny scripted HTTP server on loopback, so the client's real HTTP stack (requests + urllib3 retries) is
exercised without any outside network."""

from __future__ import annotations

import io
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from PIL import Image

from playground.krea import KreaClient
from playground.settings import ClientSettings, PollPolicy, RetryPolicy

TOKEN = "sk-test-SECRET-token-1234"

FAST_RETRY = RetryPolicy(total=2, backoff_factor=0.01, backoff_max=0.05, backoff_jitter=0.0, retry_after_cap=1.0)
FAST_POLL = PollPolicy(initial_interval=0.01, backoff=1.5, max_interval=0.05, deadline=5.0)


def png_bytes(size: tuple[int, int] = (8, 8), color: str = "red") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format="PNG")
    return buffer.getvalue()


def job_json(job_id: str = "job-1", status: str = "queued", **extra) -> dict:
    data = {"job_id": job_id, "status": status, "created_at": "2026-02-13T02:20:58.265Z",
            "completed_at": None, "result": None}
    data.update(extra)
    return data


@dataclass
class Reply:
    status: int = 200
    body: bytes | str | dict | list | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # sleep before answering (read timeouts)
    declare_length: bool = True  # False: no Content-Length, the body ends when the connection closes


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    at: float = field(default_factory=time.monotonic)  # when it arrived


class FakeKrea:
    """Routes ``(METHOD, path)`` to a script of replies; the last reply repeats. Records every request."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], list[Reply]] = {}
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # keep test output clean
                pass

            def _handle(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                with fake._lock:
                    fake.seen.append(Seen(self.command, parts.path, parse_qs(parts.query),
                                          {k: v for k, v in self.headers.items()}, body))
                    script = fake.routes.get((self.command, parts.path))
                    reply = (script.pop(0) if len(script) > 1 else script[0]) if script else Reply(
                        404, "<html><body>Not Found</body></html>", {"Content-Type": "text/html"})
                if reply.delay:
                    time.sleep(reply.delay)
                payload = reply.body
                headers = dict(reply.headers)
                if isinstance(payload, (dict, list)):
                    payload = json.dumps(payload).encode()
                    headers.setdefault("Content-Type", "application/json")
                elif isinstance(payload, str):
                    payload = payload.encode()
                payload = payload or b""
                try:
                    self.send_response(reply.status)
                    for key, value in headers.items():
                        self.send_header(key, value)
                    if reply.declare_length and "Content-Length" not in headers:
                        self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout test)
                    pass

            do_GET = do_POST = do_DELETE = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.01},
                                       daemon=True)

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def on(self, method: str, path: str, *replies: Reply) -> None:
        self.routes[(method, path)] = list(replies)

    def calls(self, method: str, path: str) -> list[Seen]:
        return [s for s in self.seen if s.method == method and s.path == path]


@pytest.fixture
def fake():
    server = FakeKrea()
    server.thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()


@pytest.fixture
def settings(fake) -> ClientSettings:
    return ClientSettings(base_url=fake.url, connect_timeout=1.0, read_timeout=2.0, retry=FAST_RETRY,
                          poll=FAST_POLL, download_timeout=2.0, download_max_bytes=100_000,
                          download_host_suffixes=())


@pytest.fixture
def client(settings):
    with KreaClient(TOKEN, settings) as c:
        yield c
