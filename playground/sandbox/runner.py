"""Run the sandbox in a daemon thread on loopback: what the app and the tests use.

    with SandboxServer(settings.sandbox) as sandbox:
        requests.get(f"{sandbox.base_url}/jobs", headers={"Authorization": "Bearer t"})

The listening socket is bound before uvicorn starts (port 0 = a free port), so there is no window in which
another process could take the port; :meth:`SandboxServer.start` returns once ``/_sandbox/health`` answers.
"""

from __future__ import annotations

import socket
import threading
import time
import urllib.request
from collections.abc import Mapping
from typing import Any

import uvicorn

from playground.catalog import Catalog, load_catalog
from playground.settings import SandboxSettings

from .engine import JobEngine
from .faults import Fault
from .server import create_app


class SandboxServer:
    """uvicorn serving :func:`create_app` in a thread. ``engine`` is exposed for tests (faults, balance, jobs).

    ``catalog`` is the one the app loaded (e.g. from a newer ``--openapi`` spec); without one, the bundled
    catalog. An ``engine`` passed in brings its own catalog.
    """

    def __init__(self, settings: SandboxSettings | None = None, catalog: Catalog | None = None, *,
                 engine: JobEngine | None = None):
        self.settings = settings or SandboxSettings()
        if engine is not None and catalog is not None and engine.catalog is not catalog:
            raise ValueError("pass a catalog or an engine (which has its own), not both")
        if engine is None:
            engine = JobEngine(self.settings, catalog if catalog is not None else load_catalog())
        self.engine = engine
        self.app = create_app(engine=self.engine)
        self.port: int | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None
        self._stopped = False

    @property
    def host(self) -> str:
        return self.settings.host

    @property
    def base_url(self) -> str:
        if self.port is None:
            raise RuntimeError("the sandbox is not started")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self, timeout: float = 15.0) -> SandboxServer:
        """Bind, serve in a daemon thread, and return once the health route answers."""
        if self._thread is not None:
            return self
        if self._stopped:
            raise RuntimeError("a stopped SandboxServer cannot be restarted: create a new one")
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        # proto=IPPROTO_TCP, not the default 0: asyncio turns Nagle off (TCP_NODELAY) only on accepted sockets whose
        # proto says TCP, and with Nagle on, every answer on a kept-alive connection (h11 writes the headers and
        # the body separately) waited ~40 ms for the client's delayed ACK: 44 ms per poll instead of 1.
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self.settings.port))
        except OSError:
            sock.close()
            raise
        self._socket = sock
        self.port = sock.getsockname()[1]
        # log_config=None: leave the host application's logging alone; warnings still reach stderr.
        config = uvicorn.Config(self.app, log_level="warning", access_log=False, log_config=None, lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name=f"krea-sandbox-{self.port}", daemon=True
        )
        self._thread.start()
        self.engine.start()
        self._wait_healthy(timeout)
        return self

    def _wait_healthy(self, timeout: float) -> None:
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        deadline = time.monotonic() + timeout
        while True:
            if self._thread is None or not self._thread.is_alive():
                self.stop()
                raise RuntimeError("the sandbox server thread exited during start-up")
            try:
                with opener.open(f"{self.base_url}/_sandbox/health", timeout=1) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the sandbox did not answer on {self.base_url} within {timeout:g} s")
            time.sleep(0.02)

    def stop(self, timeout: float = 5.0) -> None:
        """Shut uvicorn down, stop the engine (ticker, pools, images). Safe to call twice."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
        if self._socket is not None:
            self._socket.close()
        self.engine.stop()
        self._stopped = True
        self._server = self._thread = self._socket = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def set_fault(self, fault: Fault | Mapping[str, Any]) -> Fault:
        """Add a fault (a :class:`Fault` or its JSON fields); it applies to what comes after."""
        return self.engine.faults.add(fault if isinstance(fault, Fault) else Fault.from_dict(fault))

    def clear_faults(self) -> None:
        self.engine.faults.clear()

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()
