""""Refresh models": read the backend's live model list again, without restarting the app.

Against Krea the page starts with the live ``GET /openapi.json`` (``backend.live_catalog``); a model Krea adds
later appears after a click here. The new catalog replaces the old one for everybody (the run service's and the
tabs'), and the model pickers get their new choices; a failed read keeps the list in use and says why. The
sandbox serves the bundled catalog, so the control is shown only against Krea.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import gradio as gr

from playground.backend import live_catalog
from playground.catalog import Catalog
from playground.catalog.live import CatalogRefresh
from playground.journal import off_the_loop
from playground.ui.compare_tab import CompareTab
from playground.ui.context import UIContext
from playground.ui.generate_tab import GenerateTab, model_choices


class ModelList:
    """The refresh in use (shared by every session: the catalog is the app's), swapped under a lock."""

    def __init__(self, ctx: UIContext, bundled: Catalog, first: CatalogRefresh) -> None:
        self._ctx = ctx
        self._bundled = bundled
        self._lock = threading.Lock()
        self.current = first

    def refresh(self) -> CatalogRefresh:
        with self._lock:  # one read at a time; a second click waits for the first and reads again
            refresh = live_catalog(self._ctx.backend, self._bundled, last=self.current)
            self.current = refresh
            self._ctx.catalog = refresh.catalog
            self._ctx.service.catalog = refresh.catalog
            return refresh


def wire_model_refresh(models: ModelList, button: gr.Button, banner: gr.HTML,
                       banner_html: Callable[[CatalogRefresh], str], generate: GenerateTab,
                       compare: CompareTab | None) -> None:
    """A click reads the list again and updates the pickers (keeping choices still offered) and the banner,
    whose note says what the list is and, if it could not be read, why."""
    outputs = [banner, generate.model_dropdown] + ([compare.models_box] if compare is not None else [])

    async def refresh(current_model: str, chosen: list[str] | None = None):
        refresh = await off_the_loop(models.refresh)
        catalog = refresh.catalog
        offered = list(catalog.models)
        keep = current_model if catalog.find(current_model) is not None else gr.skip()
        values = [banner_html(refresh), gr.update(choices=model_choices(offered), value=keep)]
        if compare is not None:
            still = [m for m in (chosen or []) if catalog.find(m) is not None]
            values.append(gr.update(choices=[(m.name, m.id) for m in offered], value=still))
        return values

    inputs = [generate.model_dropdown] + ([compare.models_box] if compare is not None else [])
    button.click(refresh, inputs, outputs, api_visibility="private", concurrency_limit=1,
                 concurrency_id="refresh-models")

