"""LoRA styles: ``GET /styles`` listed once per backend and token every few minutes, and which fit a model."""

from __future__ import annotations

import threading
import time
import weakref
from collections import OrderedDict
from dataclasses import dataclass

from playground.catalog import Model
from playground.catalog.overrides import STYLE_MODEL_NAMES
from playground.krea.assets import Style
from playground.krea.client import KreaClient

STYLE_CACHE_SECONDS = 300.0  # GET /styles is asked again after this; a trained style shows up within it
STYLE_PAGE_SIZE = 100
MAX_STYLE_PAGES = 5  # at most 500 styles in a list: enough to choose from, a bounded wait
KEEP_STYLE_LISTS = 256


def _style_model_name(name: str) -> str:
    return name.strip().lower().replace("-", "_")


def style_model_names(model: Model) -> frozenset[str] | None:
    """The names a style lists when it works with ``model``; None when we do not know them."""
    for key, names in STYLE_MODEL_NAMES.items():
        if model.id == key or (key.endswith("/") and model.id.startswith(key)):
            return frozenset(_style_model_name(n) for n in names)
    return None


def style_fits(style: Style, model: Model) -> bool:
    """Whether ``style`` can go into ``model``'s ``styles``: the model takes LoRA styles, and the style lists it
    (a style that lists no models, or a model whose names we do not know, is kept)."""
    if not any(i.kind == "lora_style" for i in model.image_inputs):
        return False
    names = style_model_names(model)
    if names is None or not style.models:
        return True
    return bool(names & {_style_model_name(m) for m in style.models})


def fetch_styles(client: KreaClient, filter: str | None = None, pages: int = MAX_STYLE_PAGES) -> tuple[Style, ...]:
    """``GET /styles`` page after page (at most ``pages``), each id once, in the backend's order (newest first).
    Raises the client's errors (``KreaError``)."""
    found: dict[str, Style] = {}
    cursor: str | None = None
    cursors: set[str] = set()
    for _ in range(max(pages, 1)):
        page = client.list_styles(limit=STYLE_PAGE_SIZE, cursor=cursor, filter=filter)
        for style in page.items:
            if style.id and style.id not in found:
                found[style.id] = style
        if not page.items or not page.next_cursor or page.next_cursor in cursors:
            break
        cursors.add(page.next_cursor)
        cursor = page.next_cursor
    return tuple(found.values())


@dataclass(frozen=True)
class _StyleList:
    expires: float
    client: weakref.ref | None  # a private list (a pasted token): only the client that fetched it may read it
    styles: tuple[Style, ...]


class StyleCache:
    """``GET /styles`` kept for ``ttl`` seconds per (API base, ``filter``, whose styles). A list that is the same
    for everyone on that base (the sandbox's fixed styles, the app's own token) is shared between sessions; a
    pasted token's list (it holds that user's own and workspace-shared styles) is that client's alone. Failures
    are not kept: the next call asks again. Bounded, thread-safe; two first calls at once may both fetch."""

    def __init__(self, ttl: float = STYLE_CACHE_SECONDS, pages: int = MAX_STYLE_PAGES,
                 keep: int = KEEP_STYLE_LISTS, clock=time.monotonic) -> None:
        self.ttl = ttl
        self.pages = pages
        self.keep = keep
        self.clock = clock
        self._lock = threading.Lock()
        self._lists: OrderedDict[tuple[str, str, str], _StyleList] = OrderedDict()

    def styles(self, client: KreaClient, *, shared: bool, filter: str | None = None,
               refresh: bool = False) -> tuple[Style, ...]:
        """The styles ``client`` sees, from the cache unless stale or ``refresh``; the client's errors propagate."""
        key = (client.base_url, filter or "", "shared" if shared else f"client:{id(client)}")
        now = self.clock()
        with self._lock:
            entry = self._lists.get(key)
            if (entry is not None and not refresh and entry.expires > now
                    and (entry.client is None or entry.client() is client)):
                self._lists.move_to_end(key)
                return entry.styles
        styles = fetch_styles(client, filter, self.pages)
        with self._lock:
            self._lists[key] = _StyleList(self.clock() + self.ttl, None if shared else weakref.ref(client), styles)
            self._lists.move_to_end(key)
            while len(self._lists) > self.keep:
                self._lists.popitem(last=False)
        return styles

    def clear(self) -> None:
        with self._lock:
            self._lists.clear()
