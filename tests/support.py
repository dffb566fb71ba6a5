"""Launching the real app (sandbox backend, real Gradio server on loopback) for UI and browser tests."""

from __future__ import annotations

import contextlib
import socket
from dataclasses import dataclass
from pathlib import Path

from playground.settings import AppSettings, PollPolicy, SandboxSettings, Settings, replace


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fast_settings(output_dir: Path, **sandbox_changes) -> Settings:
    """Sandbox jobs of about a second, polled every 50-200 ms: fast tests that still see every status."""
    sandbox = replace(SandboxSettings(speed=0.01, min_job_seconds=0.8, concurrency_limit=16, backlog_limit=64),
                      **sandbox_changes)
    app = AppSettings(output_dir=output_dir, port=free_port(), concurrency_limit=16,
                      sandbox_poll=PollPolicy(initial_interval=0.05, backoff=1.3, max_interval=0.2, deadline=60))
    return Settings(token=None, use_sandbox=True, sandbox=sandbox, app=app)


@dataclass
class RunningApp:
    url: str
    settings: Settings
    backend: object
    sessions: object
    demo: object

    @property
    def engine(self):
        return self.backend.sandbox.engine


@contextlib.contextmanager
def running_app(settings: Settings):
    from playground.backend import start_backend, stop_backend
    from playground.catalog import load_catalog
    from playground.ui.app import build_demo, launch_options

    backend = start_backend(settings)
    demo = None
    try:
        demo, sessions = build_demo(settings, backend, load_catalog())
        options = launch_options(settings)
        options.update(prevent_thread_lock=True, quiet=True, share=False)
        demo.launch(**options)
        yield RunningApp(f"http://127.0.0.1:{settings.app.port}/", settings, backend, sessions, demo)
    finally:
        if demo is not None:
            demo.close()
        stop_backend(backend)
