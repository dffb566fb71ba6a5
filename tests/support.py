"""Settings for the real app (sandbox backend, real Gradio server on loopback) in UI and browser tests."""

from __future__ import annotations

from pathlib import Path

import contextlib
from collections.abc import Iterator

from playground.backend import start_backend, stop_backend
from playground.catalog import load_catalog
from playground.launcher import RunningApp, free_port, running_app
from playground.service import RunService
from playground.sessions import SessionRegistry
from playground.settings import AppSettings, PollPolicy, SandboxSettings, Settings, replace
from playground.store import RunStore

__all__ = ["RunningApp", "fast_settings", "free_port", "running_app", "sandbox_service"]


def fast_settings(output_dir: Path, **sandbox_changes) -> Settings:
    """Sandbox jobs of about a second, polled every 50-200 ms: fast tests that still see every status."""
    sandbox = replace(SandboxSettings(speed=0.01, min_job_seconds=0.8, concurrency_limit=16, backlog_limit=64),
                      **sandbox_changes)
    app = AppSettings(output_dir=output_dir, data_dir=output_dir.with_name(output_dir.name + "-data"),
                      port=free_port(), concurrency_limit=16,
                      sandbox_poll=PollPolicy(initial_interval=0.05, backoff=1.3, max_interval=0.2, deadline=60))
    return Settings(token=None, use_sandbox=True, sandbox=sandbox, app=app)


@contextlib.contextmanager
def sandbox_service(tmp_path_factory) -> Iterator[RunService]:
    """A RunService on a real sandbox (jobs of ~0.3 s, fast polls) and its own store, without Gradio."""
    catalog = load_catalog()
    settings = Settings(use_sandbox=True, sandbox=SandboxSettings(speed=0.01, min_job_seconds=0.3),
                        app=AppSettings(output_dir=tmp_path_factory.mktemp("out"),
                                        sandbox_poll=PollPolicy(initial_interval=0.03, max_interval=0.1)))
    backend = start_backend(settings, catalog)
    try:
        yield RunService(catalog, backend, SessionRegistry(backend), settings.app.output_dir,
                         RunStore(tmp_path_factory.mktemp("data")))
    finally:
        stop_backend(backend)


def wait_for(probe, seconds: float = 45.0, what: str = "condition"):
    """The first truthy value of probe(), polled every 50 ms until a deadline (AssertionError naming `what`)."""
    import time

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {seconds} s waiting for {what}")
