"""Starting the whole app in-process: backend (sandbox or Krea), page and API, on a real loopback server.

`app.py` runs it in the foreground; tests and `scripts/benchmark.py` use :func:`running_app`, so all three
start the app the same way.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from dataclasses import dataclass

from playground.backend import start_backend, stop_backend
from playground.catalog import Catalog, load_catalog
from playground.cleanup import start_sweeper
from playground.service import RunService
from playground.sessions import Backend, SessionRegistry
from playground.settings import Settings


def free_port() -> int:
    """A port free on loopback right now (for apps started on port 0's behalf in tests and benchmarks)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class RunningApp:
    url: str
    settings: Settings
    backend: Backend
    service: RunService
    demo: object

    @property
    def sessions(self) -> SessionRegistry:
        return self.service.sessions

    @property
    def engine(self):
        """The sandbox's job engine (sandbox mode only)."""
        return self.backend.sandbox.engine


@contextlib.contextmanager
def running_app(settings: Settings, catalog: Catalog | None = None) -> Iterator[RunningApp]:
    """The app serving on settings.app.host:port until the block ends; the backend is stopped after."""
    from playground.ui.app import build_demo, launch_options  # gradio is imported only when an app is built

    catalog = catalog or load_catalog()
    backend = start_backend(settings, catalog)
    sweeper = start_sweeper(settings.app.temp_sweep_interval_s, settings.app.temp_max_age_s,
                            protect=(settings.app.output_dir, settings.app.data_dir))
    demo = None
    try:
        demo, service = build_demo(settings, backend, catalog)
        options = launch_options(settings, backend)
        options.update(prevent_thread_lock=True, quiet=True, share=False)
        demo.launch(**options)
        host = "127.0.0.1" if settings.app.host in ("0.0.0.0", "::") else settings.app.host
        yield RunningApp(f"http://{host}:{settings.app.port}/", settings, backend, service, demo)
    finally:
        if demo is not None:
            demo.close()
        sweeper.stop()
        stop_backend(backend)
