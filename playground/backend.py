"""Choosing the backend at start-up: Krea's API with a token, or the sandbox started on loopback without one."""

from __future__ import annotations

import logging

from playground.sandbox import SandboxServer
from playground.sessions import Backend
from playground.settings import Settings, replace

log = logging.getLogger(__name__)


def start_backend(settings: Settings, catalog=None) -> Backend:
    """Start the sandbox when asked to (or when there is no token); otherwise point at Krea's API.

    `catalog` (default: the bundled one) is what the sandbox serves and validates against."""
    if not settings.use_sandbox:
        return Backend(name="krea", client_settings=settings.client, shared_token=settings.token,
                       krea_settings=settings.client)
    sandbox = SandboxServer(settings.sandbox, catalog=catalog)
    sandbox.start()
    # The sandbox serves its images from its own host, so that is the only download host allowed.
    client_settings = replace(settings.client, base_url=sandbox.base_url, download_host_suffixes=(),
                              poll=settings.app.sandbox_poll)
    log.info("sandbox listening on %s", sandbox.base_url)
    return Backend(name="sandbox", client_settings=client_settings, sandbox=sandbox, krea_settings=settings.client)


def stop_backend(backend: Backend) -> None:
    if backend.sandbox is not None:
        backend.sandbox.stop()
