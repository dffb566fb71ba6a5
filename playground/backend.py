"""Choosing the backend at start-up: Krea's API with a token, or the sandbox started on loopback without one."""

from __future__ import annotations

import logging
import secrets

from playground.catalog import Catalog, CatalogRefresh, refresh_catalog
from playground.krea.client import KreaClient
from playground.sandbox import SandboxServer
from playground.sessions import Backend
from playground.settings import Settings, is_hosted, replace

log = logging.getLogger(__name__)


def start_backend(settings: Settings, catalog=None) -> Backend:
    """Start the sandbox when asked to (or when there is no token); otherwise point at Krea's API.

    `catalog` (default: the bundled one) is what the sandbox serves and validates against."""
    hook_path = f"{WEBHOOK_PREFIX}{secrets.token_urlsafe(18)}"  # the secret keeps strangers' calls out
    if not settings.use_sandbox:
        hook = webhook_url(settings, hook_path, sandbox=False)
        client = replace(settings.client, webhook_url=hook)
        shared = settings.token
        if shared and is_hosted(settings.app) and not settings.app.share_owner_token:
            # Strangers must not spend the owner's account by default: each pastes their own token.
            log.warning("hosted: KREA_API_TOKEN is not used for visitors (set PLAYGROUND_SHARE_OWNER_TOKEN=1 to "
                        "let them run on it, ideally with PLAYGROUND_SPEND_CAP_USD)")
            shared = None
        return Backend(name="krea", client_settings=client, shared_token=shared, krea_settings=client,
                       webhook_path=hook_path if hook else None)
    sandbox = SandboxServer(settings.sandbox, catalog=catalog)
    sandbox.start()
    # The sandbox serves its images from its own host, so that is the only download host allowed.
    # Its jobs last the catalog's times scaled by its speed: the poll schedule's first guess must know that.
    poll = replace(settings.app.sandbox_poll, expected_scale=settings.sandbox.speed,
                   expected_floor=settings.sandbox.min_job_seconds)
    hook = webhook_url(settings, hook_path, sandbox=True)
    client_settings = replace(settings.client, base_url=sandbox.base_url, download_host_suffixes=(), poll=poll,
                              webhook_url=hook)
    # A visitor's own token goes to Krea, which can call back only at a public address.
    krea_hook = webhook_url(settings, hook_path, sandbox=False) if settings.app.public_url else None
    log.info("sandbox listening on %s", sandbox.base_url)
    return Backend(name="sandbox", client_settings=client_settings, sandbox=sandbox,
                   krea_settings=replace(settings.client, webhook_url=krea_hook),
                   webhook_path=hook_path if (hook or krea_hook) else None)


WEBHOOK_PREFIX = "/krea-webhook/"


def webhook_url(settings: Settings, path: str, *, sandbox: bool) -> str | None:
    """Where Krea (or the sandbox) should call when a job ends, or None to poll.

    Krea needs the app's public address; the sandbox calls it on loopback, so there it is on only when asked
    for (PLAYGROUND_WEBHOOKS=on): a polled sandbox job shows its preview frames, a called-back one does not."""
    app = settings.app
    if app.webhooks == "off":
        return None
    if sandbox:
        if app.webhooks != "on":
            return None
        host = "127.0.0.1" if app.host in ("0.0.0.0", "::", "") else app.host
        return f"http://{host}:{app.port}{path}"
    if app.public_url:
        return app.public_url.rstrip("/") + path
    if app.webhooks == "on":
        log.warning("PLAYGROUND_WEBHOOKS=on but the app's public address is unknown (set PLAYGROUND_PUBLIC_URL): "
                    "Krea cannot call back, so jobs are polled")
    return None


def stop_backend(backend: Backend) -> None:
    if backend.sandbox is not None:
        backend.sandbox.stop()


def live_catalog(backend: Backend, bundled: Catalog, last: CatalogRefresh | None = None) -> CatalogRefresh:
    """The models to offer. Against Krea: its live ``GET /openapi.json`` merged with our overrides, so models
    added since the bundled snapshot appear (on any error: the bundled list, and a note saying why). The
    sandbox serves the bundled catalog itself, so there is nothing newer to read. `last`: the list in use (a
    "Refresh models" click), kept when the new read fails."""
    if backend.is_sandbox:
        return CatalogRefresh(bundled, "bundled")
    with KreaClient(backend.shared_token, backend.client_settings) as client:
        refresh = refresh_catalog(client, bundled, last=last)
    log.info("model list: %s", refresh.note)
    return refresh

