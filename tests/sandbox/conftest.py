"""Fixtures for the sandbox tests: a threaded sandbox on loopback with fast jobs, and a small HTTP helper."""

from __future__ import annotations

import contextlib
import os
import re
import select
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from playground.settings import SandboxSettings, replace

REPO = Path(__file__).resolve().parents[2]

# Jobs of ~0.05-0.15 s: every status is still visited, tests stay fast.
FAST = SandboxSettings(speed=0.002, min_job_seconds=0.05)
TERMINAL = ("completed", "failed", "cancelled")
FLUX = "bfl/flux-1-dev"
FLUX_BODY = {"prompt": "a serene mountain landscape at sunset", "width": 1024, "height": 576, "steps": 28}
SMALL_BODY = {"prompt": "a small harbour at noon", "width": 512, "height": 512}  # cheap to render


class Api:
    """requests against one sandbox with one token (``token=None``: no Authorization header)."""

    def __init__(self, base_url: str, token: str | None = "test-token"):
        self.base = base_url
        self.token = token
        self.session = requests.Session()
        self.session.trust_env = False  # loopback only: never through a proxy from the environment

    def headers(self, extra: dict | None = None) -> dict:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token is not None else {}
        return {**headers, **(extra or {})}

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        kwargs["headers"] = self.headers(kwargs.get("headers"))
        kwargs.setdefault("timeout", 10)
        return self.session.request(method, self.base + path, **kwargs)

    def get(self, path: str, **kwargs) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def delete(self, path: str, **kwargs) -> requests.Response:
        return self.request("DELETE", path, **kwargs)

    def submit(self, model: str = FLUX, body: Any = None, **kwargs) -> requests.Response:
        return self.request("POST", f"/generate/image/{model}", json=SMALL_BODY if body is None else body, **kwargs)

    def job(self, model: str = FLUX, body: Any = None, **kwargs) -> dict:
        response = self.submit(model, body, **kwargs)
        assert response.status_code == 200, response.text
        return response.json()

    def follow(
        self, job_id: str, until: Callable[[dict], bool] | None = None, timeout: float = 10.0
    ) -> tuple[dict, list[dict]]:
        """Poll every ~5 ms until ``until(job)`` (default: terminal); returns the last job and every change seen."""
        until = until or (lambda job: job["status"] in TERMINAL)
        seen: list[dict] = []
        deadline = time.monotonic() + timeout
        while True:
            job = self.get(f"/jobs/{job_id}").json()
            if not seen or (seen[-1]["status"], seen[-1]["result"]) != (job["status"], job["result"]):
                seen.append(job)
            if until(job):
                return job, seen
            assert time.monotonic() < deadline, f"job {job_id} stuck: {seen[-1]}"
            time.sleep(0.005)


@pytest.fixture
def make_sandbox():
    """Start sandboxes with FAST settings plus changes; all are stopped at the end of the test."""
    from playground.sandbox import SandboxServer

    started = []

    def make(**changes):
        server = SandboxServer(replace(FAST, **changes)).start()
        started.append(server)
        return server

    yield make
    for server in started:
        server.stop()


@pytest.fixture(scope="session")
def shared_sandbox():
    """One FAST sandbox for the tests that need no special settings (each gets its own token)."""
    from playground.sandbox import SandboxServer

    server = SandboxServer(FAST).start()
    yield server
    server.stop()


@pytest.fixture
def sandbox(shared_sandbox):
    shared_sandbox.clear_faults()
    yield shared_sandbox
    shared_sandbox.clear_faults()


@pytest.fixture
def api(sandbox) -> Api:
    """A fresh token per test: its own jobs, its own concurrency slots."""
    return Api(sandbox.base_url, token=f"test-{uuid.uuid4().hex[:12]}")


def loopback_env() -> dict[str, str]:
    env = dict(os.environ)
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, (str(REPO), env.get("PYTHONPATH"))))
    return env


@contextlib.contextmanager
def standalone_sandbox(*args: str, env: dict[str, str] | None = None) -> Iterator[str]:
    """`python -m playground.sandbox --port 0 ARGS` as its own process (``env``: variables to set on top of
    ours); yields the base URL it prints."""
    process = subprocess.Popen(
        [sys.executable, "-m", "playground.sandbox", "--port", "0", *args],
        cwd=REPO,
        env={**loopback_env(), **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        printed = []
        base = None
        while base is None:
            assert process.poll() is None, f"the sandbox exited: {process.stderr.read()}"
            assert time.monotonic() < deadline, f"no base URL printed: {printed}"
            ready, _, _ = select.select([process.stdout], [], [], 0.5)
            if ready:
                line = process.stdout.readline()
                printed.append(line)
                found = re.search(r"running at (http://127\.0\.0\.1:\d+)", line)
                base = found.group(1) if found else None
        example = process.stdout.readline()
        assert example.startswith("Try: curl -X POST " + base + "/generate/image/"), example
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    assert process.returncode == 0, process.stderr.read()
