"""Settings for the real app (sandbox backend, real Gradio server on loopback) in UI and browser tests."""

from __future__ import annotations

from pathlib import Path

from playground.launcher import RunningApp, free_port, running_app
from playground.settings import AppSettings, PollPolicy, SandboxSettings, Settings, replace

__all__ = ["RunningApp", "fast_settings", "free_port", "running_app"]


def fast_settings(output_dir: Path, **sandbox_changes) -> Settings:
    """Sandbox jobs of about a second, polled every 50-200 ms: fast tests that still see every status."""
    sandbox = replace(SandboxSettings(speed=0.01, min_job_seconds=0.8, concurrency_limit=16, backlog_limit=64),
                      **sandbox_changes)
    app = AppSettings(output_dir=output_dir, data_dir=output_dir.with_name(output_dir.name + "-data"),
                      port=free_port(), concurrency_limit=16,
                      sandbox_poll=PollPolicy(initial_interval=0.05, backoff=1.3, max_interval=0.2, deadline=60))
    return Settings(token=None, use_sandbox=True, sandbox=sandbox, app=app)
