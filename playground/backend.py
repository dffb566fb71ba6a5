"""Choosing the backend at start-up: Krea's API with a token, or the sandbox started on loopback without one."""

from __future__ import annotations

import logging

from playground.sandbox import SandboxServer
from playground.sessions import Backend
from playground.settings import Settings, is_hosted, replace

log = logging.getLogger(__name__)


def start_backend(settings: Settings, catalog=None) -> Backend:
    """Start the sandbox when asked to (or when there is no token); otherwise point at Krea's API.

    `catalog` (default: the bundled one) is what the sandbox serves and validates against."""
    if not settings.use_sandbox:
        shared = settings.token
        if shared and is_hosted(settings.app) and not settings.app.share_owner_token:
            # Strangers must not spend the owner's account by default: each pastes their own token.
            log.warning("hosted: KREA_API_TOKEN is not used for visitors (set PLAYGROUND_SHARE_OWNER_TOKEN=1 to "
                        "let them run on it, ideally with PLAYGROUND_SPEND_CAP_USD)")
            shared = None
        return Backend(name="krea", client_settings=settings.client, shared_token=shared,
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
