"""The models Krea serves now: its live ``GET /openapi.json``, derived as the build derives the bundled catalog.

:func:`refresh_catalog` reads the spec through any client with ``get_openapi`` (the app's ``KreaClient``; this
layer imports nothing of ``playground.krea``), derives it with :func:`derive_catalog` (so the overrides' prices,
image inputs, sizes and sunset list apply to the models we know, and a model we do not know gets honest defaults:
no USD price, the spec's own bounds) and compares it with the bundled catalog. It never raises: whatever goes
wrong, the bundled catalog comes back with a one-sentence note saying why, in our own words (no server text, no
token).

Models the live spec no longer lists are moved from ``models`` to ``retired`` (a :class:`RetiredModel` with
``reason="unlisted"``). Krea answers 410 for a sunset model, so none is offered for a new run; the code that
already handles retired models handles these too (the service refuses a re-run naming it, the sandbox answers
410, History shows a stored run by its id and disables "run again"). ``Catalog`` has no way to keep a model
findable but not offered, and ``find`` feeding validation means a findable model would be runnable.
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Any, Literal, Protocol
from urllib.parse import urlsplit

from .from_openapi import derive_catalog, image_operations
from .model import Catalog, RetiredModel

log = logging.getLogger(__name__)

DEFAULT_DEADLINE_S = 8.0  # the whole read of the live spec, retries included
GRACE_S = 1.0  # how long past the deadline the fetch may take to notice it was cut before we stop waiting
UNLISTED = "unlisted"  # RetiredModel.reason of a model absent from the live spec
# A live spec that lacks more than this share of the bundled models is distrusted (a truncated answer, a proxy's
# placeholder, another API under the same path), not taken as a mass sunset: the bundled list is shown instead.
MAX_REMOVED_SHARE = 0.5
MAX_NAMED = 4  # models named in a note before "and N more"

Source = Literal["live", "bundled"]


class SpecSource(Protocol):
    """What :func:`refresh_catalog` needs of a client (``playground.krea.KreaClient`` is one)."""

    base_url: str

    def get_openapi(self, *, timeout: float | None = None, stop: threading.Event | None = None) -> dict: ...


@dataclass(frozen=True)
class CatalogRefresh:
    """The catalog to use from now on, where it came from, and what changed against the bundled one."""

    catalog: Catalog
    source: Source  # "live": derived from the API's spec; "bundled": the snapshot (the live one was unusable)
    added: tuple[str, ...] = ()  # ids served live, not bundled (in display order): the new models
    removed: tuple[str, ...] = ()  # bundled ids the live spec lacks: now in catalog.retired, reason "unlisted"
    note: str = ""  # one sentence for the page
    fetched_at: str = ""  # ISO 8601 UTC time of the attempt
    reason: str | None = None  # why the live list could not be read (None when it was); token-free, our words

    @property
    def is_live(self) -> bool:
        return self.source == "live"


class UnusableSpec(ValueError):
    """A spec that was read but cannot be trusted as the model list; ``str()`` is the reason for the note."""


def refresh_catalog(client: SpecSource, bundled: Catalog, *, deadline: float = DEFAULT_DEADLINE_S,
                    last: CatalogRefresh | None = None) -> CatalogRefresh:
    """The live catalog from ``client``'s ``GET /openapi.json`` merged with the overrides (``added``/``removed``
    against ``bundled``, which should always be the bundled catalog), or ``bundled`` with the reason in ``note``.

    ``last``: the refresh in use (a "refresh models" click); when it is live and this read fails, it is kept
    (same catalog and lists, the new reason and note) rather than taking back models people may be using.
    Never raises; returns within about ``deadline`` + ``GRACE_S`` seconds.
    """
    fetched_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
    host = _host(client)
    try:
        spec = _fetch(client, deadline)
        return catalog_from_spec(spec, bundled, fetched_at=fetched_at, source=f"{host}/openapi.json")
    except Exception as exc:  # noqa: BLE001 - by contract: any failure falls back to the bundled list
        reason = _reason(exc, host, deadline)
        if last is not None and last.is_live:
            log.warning("model list: keeping the one read at %s (%s; %s)", last.fetched_at, reason,
                        type(exc).__name__)
            return replace(last, reason=reason, note=f"Krea's model list could not be read again ({reason}); still "
                                                     f"showing the one read at {_clock(last.fetched_at)}.")
        log.warning("model list: showing the bundled one (%s; %s)", reason, type(exc).__name__)
        return CatalogRefresh(
            catalog=bundled, source="bundled", note=f"Krea's model list could not be read ({reason}); showing the "
                                                    f"bundled list of {snapshot_label(bundled)}.",
            fetched_at=fetched_at, reason=reason)


def catalog_from_spec(spec: dict[str, Any], bundled: Catalog, *, fetched_at: str = "",
                      source: str = "openapi.json") -> CatalogRefresh:
    """A live :class:`CatalogRefresh` from a spec already read; :class:`UnusableSpec` (or the derivation's own
    exception) when it cannot serve as the model list."""
    fetched_at = fetched_at or datetime.now(timezone.utc).isoformat(timespec="seconds")
    day = fetched_at[:10]
    derived = derive_catalog(spec, source=f"{source} ({day})")
    sunset = {*bundled.retired, *derived.retired}
    # Counted on the spec itself: the derivation always adds the models the overrides describe (Krea 2).
    if not any(model_id not in sunset for model_id, _ in image_operations(spec)):
        raise UnusableSpec("it lists no image models")
    live_ids = set(derived.ids)
    known = set(bundled.ids)
    added = tuple(m.id for m in derived.models if m.id not in known)
    gone = [m for m in bundled.models if m.id not in live_ids]
    if bundled.models and len(gone) > MAX_REMOVED_SHARE * len(bundled.models):
        raise UnusableSpec(f"it lacks {len(gone)} of the {len(bundled.models)} known models")
    retired = {**bundled.retired, **derived.retired}
    for model in gone:
        retired.setdefault(model.id, RetiredModel(
            id=model.id, name=model.name, sunset_date=day, replacement=None, migration_url=None, reason=UNLISTED,
            message=f"The model '{model.id}' is not in Krea's live model list of {day}; it no longer runs."))
    catalog = Catalog(models=derived.models, retired=retired, source=derived.source)
    return CatalogRefresh(catalog=catalog, source="live", added=added, removed=tuple(m.id for m in gone),
                          note=_live_note(catalog, bundled, added, gone), fetched_at=fetched_at)


def snapshot_label(catalog: Catalog) -> str:
    """"2026-05" from a catalog derived from ``openapi-2026-05.json``; else "our snapshot"."""
    found = re.search(r"\d{4}-\d{2}(?:-\d{2})?", catalog.source or "")
    return found.group() if found else "our snapshot"


# --- helpers ---------------------------------------------------------------------------------------------------

def _fetch(client: SpecSource, deadline: float) -> dict[str, Any]:
    """The spec, read in a thread abandoned (and told to stop) at ``deadline`` + ``GRACE_S``: the client bounds
    its sockets, but a backoff or ``Retry-After`` sleep between its retries cannot be cut from outside."""
    if not deadline > 0:
        raise ValueError("deadline must be above 0 seconds")
    stop = threading.Event()
    outcome: dict[str, Any] = {}

    def read() -> None:
        try:
            outcome["spec"] = client.get_openapi(timeout=deadline, stop=stop)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
            outcome["error"] = exc

    worker = threading.Thread(target=read, name="krea-openapi", daemon=True)
    worker.start()
    worker.join(deadline + GRACE_S)
    if worker.is_alive():
        stop.set()
        raise TimeoutError(f"no answer within {deadline:g} s")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["spec"]


def _clock(iso: str) -> str:
    """"14:04 UTC" from an ISO 8601 UTC time ("2026-06-12 14:04 UTC" when it is not today's)."""
    today = datetime.now(timezone.utc).date().isoformat()
    return f"{iso[11:16]} UTC" if iso[:10] == today else f"{iso[:10]} {iso[11:16]} UTC"


def _host(client: Any) -> str:
    try:
        return urlsplit(str(getattr(client, "base_url", ""))).hostname or "the API"
    except ValueError:
        return "the API"


def _reason(exc: BaseException, host: str, deadline: float) -> str:
    """Why the live list is not used, from the error's kind and status only (never its text: no server words,
    no token)."""
    if isinstance(exc, UnusableSpec):
        return str(exc)
    if isinstance(exc, TimeoutError):
        return f"{host} gave no answer within {deadline:g} s"
    kind = str(getattr(exc, "kind", "") or "")
    status = getattr(exc, "status", None)
    if kind == "unauthorized":
        return f"{host} refused the API token (HTTP {status or 401})"
    if kind == "timeout":
        return f"{host} gave no answer within {deadline:g} s"
    if kind == "network":
        return f"{host} could not be reached"
    if hasattr(exc, "cap"):
        return "the answer was too large to read"
    if kind == "server" and isinstance(status, int) and status < 300:
        return "the answer was not an OpenAPI document in JSON"
    if isinstance(status, int):
        return f"{host} answered HTTP {status}"
    if kind:
        return f"the request failed ({kind})"
    return f"its spec could not be turned into a model list ({type(exc).__name__})"


def _names(ids: list[str], catalog: Catalog) -> str:
    names = []
    for model_id in ids[:MAX_NAMED]:
        model = catalog.find(model_id)
        names.append(model.name if model else model_id)
    more = f" and {len(ids) - MAX_NAMED} more" if len(ids) > MAX_NAMED else ""
    return ", ".join(names) + more


def _live_note(catalog: Catalog, bundled: Catalog, added: tuple[str, ...], gone: list[Any]) -> str:
    since = snapshot_label(bundled)
    parts = []
    if added:
        parts.append(f"{len(added)} new since {since}: {_names(list(added), catalog)}")
    if gone:
        parts.append(f"{len(gone)} no longer listed, so no longer offered: {_names([m.id for m in gone], bundled)}")
    if not parts:
        parts.append(f"the same models as our list of {since}")
    return f"Models from Krea's live API ({'; '.join(parts)})."
