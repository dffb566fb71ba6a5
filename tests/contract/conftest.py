"""Contract tests: one suite, two servers.

Every test runs against the sandbox (in-thread, port 0, fast clock). The same tests run against Krea's real API
when ``KREA_API_TOKEN`` (or ``KREA_API_KEY``) and ``KREA_LIVE_TESTS=1`` are set; otherwise the live variant is
skipped with the reason. Tests that need the sandbox's fault switches are marked ``sandbox_only``.

Live runs create real jobs and are billed (a few cents per model): opt in knowingly. The ``/assets`` tests
upload small pictures and delete them again; two of them need more on the live API: ``KREA_LIVE_BIG_UPLOADS=1``
lets one send a 75 MB file (the oversize refusal), ``KREA_LIVE_OTHER_TOKEN`` (a token of another workspace) lets
one check that another token's asset is 404. Without them those two are skipped on live.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import pytest

from playground.krea import KreaClient
from playground.sandbox import SandboxServer
from playground.settings import (
    KREA_API_BASE,
    ClientSettings,
    PollPolicy,
    RetryPolicy,
    SandboxSettings,
    token_from_env,
)

SANDBOX_TOKEN = "contract-test-token"
FAST_SANDBOX = SandboxSettings(speed=0.002, min_job_seconds=0.05, concurrency_limit=1000, backlog_limit=1000)
FAST_POLL = PollPolicy(initial_interval=0.02, backoff=1.5, max_interval=0.1, deadline=30.0)
# Short backoff so retried calls stay quick; the cap is low so a long Retry-After comes straight back.
FAST_RETRY = RetryPolicy(total=3, backoff_factor=0.02, backoff_max=0.2, backoff_jitter=0.02, retry_after_cap=5.0)
LIVE_POLL = PollPolicy(initial_interval=1.0, backoff=1.25, max_interval=4.0, deadline=600.0)


def live_enabled() -> bool:
    return os.environ.get("KREA_LIVE_TESTS") == "1" and token_from_env() is not None


def sandbox_client_settings(base_url: str) -> ClientSettings:
    return ClientSettings(base_url=base_url, connect_timeout=2.0, read_timeout=10.0, retry=FAST_RETRY,
                          poll=FAST_POLL, download_host_suffixes=())


def live_client_settings() -> ClientSettings:
    base = (os.environ.get("KREA_API_BASE") or KREA_API_BASE).rstrip("/")
    return ClientSettings(base_url=base, poll=LIVE_POLL)


@dataclass
class Backend:
    """What a contract test runs against: a client, and the sandbox behind it when there is one."""

    name: str
    client: KreaClient
    sandbox: SandboxServer | None = None

    @property
    def is_sandbox(self) -> bool:
        return self.sandbox is not None

    def new_client(self, token: str | None = None) -> KreaClient:
        """Another client on the same server (own token = own job list); the caller closes it."""
        if self.sandbox is not None:
            return KreaClient(token or SANDBOX_TOKEN, sandbox_client_settings(self.sandbox.base_url))
        return KreaClient(token or token_from_env(), live_client_settings())


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "sandbox_only: needs the sandbox's fault switches; skipped on the live API")


@pytest.fixture(scope="session")
def sandbox_server():
    with SandboxServer(FAST_SANDBOX) as server:
        yield server


@pytest.fixture(scope="session", params=["sandbox", pytest.param("live", marks=pytest.mark.live)])
def backend(request: pytest.FixtureRequest):
    if request.param == "live":
        if not live_enabled():
            pytest.skip("live contract tests need KREA_API_TOKEN (or KREA_API_KEY) and KREA_LIVE_TESTS=1")
        with KreaClient(token_from_env(), live_client_settings()) as client:
            yield Backend("live", client)
        return
    server = request.getfixturevalue("sandbox_server")
    with KreaClient(SANDBOX_TOKEN, sandbox_client_settings(server.base_url)) as client:
        yield Backend("sandbox", client, server)


@pytest.fixture(autouse=True)
def _per_test(request: pytest.FixtureRequest):
    """Skip sandbox-only tests on live; leave no fault or balance change behind for the next test."""
    if "backend" not in request.fixturenames:
        yield
        return
    backend: Backend = request.getfixturevalue("backend")
    if request.node.get_closest_marker("sandbox_only") and not backend.is_sandbox:
        pytest.skip("sandbox-only: needs fault injection")
    yield
    if backend.sandbox is not None:
        backend.sandbox.clear_faults()
        backend.sandbox.engine.balance_usd = backend.sandbox.settings.balance_usd


@pytest.fixture
def client(backend: Backend) -> KreaClient:
    return backend.client


@pytest.fixture
def sandbox(backend: Backend) -> SandboxServer:
    assert backend.sandbox is not None, "mark the test sandbox_only"
    return backend.sandbox
