"""Runs that outlive the page: every update written to the run store, and the run driven by its own thread.

A page only watches a run. The run itself is driven by a background thread that writes each change to the store
*before* the run goes on (so a job id is on disk before the first poll), and carries on when nobody watches any
more (a reload, a closed tab): the image lands in History instead of being lost. Only Stop ends a job early.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from playground.catalog import Catalog, Model
from playground.runs import Phase, RunRecord, RunUpdate
from playground.store import RunStore, TokenSource

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunOrigin:
    """Who a run belongs to and how its job can be followed again: written with every update."""

    owner: str | Callable[[], str]  # or how to read it when writing (a page's browser id may arrive late)
    token_source: TokenSource
    api_base: str
    group_id: str | None = None
    notes: tuple[str, ...] = ()


class Journal:
    """Writes one run's updates to the store when something that matters changed (not every countdown tick)."""

    def __init__(self, store: RunStore, catalog: Catalog, origin: RunOrigin,
                 on_first: Callable[[str], None] | None = None) -> None:
        self.store = store
        self.catalog = catalog
        self.origin = origin
        self.on_first = on_first
        self._last_key: tuple | None = None
        self.run_id: str | None = None

    @staticmethod
    def _key(update: RunUpdate) -> tuple:
        # While submitting, the label says whether the POST is about to leave or a 429 is being waited out.
        label = update.label if update.phase == Phase.SUBMITTING and not update.label.startswith("Krea is busy") \
            else None
        return (update.phase, update.status, update.job_id, update.image_path, update.error, label,
                update.preview is not None)

    def write(self, update: RunUpdate) -> None:
        if not update.run_id:
            return  # a placeholder before the run exists (a Compare tile about to start)
        key = self._key(update)
        if key == self._last_key:
            return
        model = self.catalog.find(update.model_id)
        if model is None:
            log.warning("not journalled: model %s is not in the catalog", update.model_id)
            return
        if self.run_id is None:  # registered as live before it is on disk: a resume never takes a live run
            self.run_id = update.run_id
            if self.on_first is not None:
                self.on_first(update.run_id)
        record = update_record(update, model, self.origin)
        owner = self.origin.owner() if callable(self.origin.owner) else self.origin.owner
        self.store.save(record, owner=owner, token_source=self.origin.token_source,
                        api_base=self.origin.api_base, label=update.label)
        self._last_key = key


def update_record(update: RunUpdate, model: Model, origin: RunOrigin) -> RunRecord:
    return RunRecord.from_update(update, model, notes=origin.notes, group_id=origin.group_id)


def journaled(stream: Iterator[RunUpdate], journal: Journal) -> Iterator[RunUpdate]:
    """The same stream, each update written to the store before the run is allowed to go on."""
    for update in stream:
        try:
            journal.write(update)
        except Exception:  # a full disk must not break the run on screen; the log says what was not kept
            log.exception("could not write run %s to the store", update.run_id)
        yield update


def in_background(stream: Iterator[RunUpdate], *, name: str,
                  on_end: Callable[[], None] = lambda: None) -> Iterator[RunUpdate]:
    """Drive `stream` in its own thread and yield its updates to whoever watches. The thread starts when this
    iterator is first read and goes on to the end if the watcher leaves; `on_end` runs when the stream ends."""
    inbox: queue.Queue[RunUpdate | None] = queue.Queue()
    watching = threading.Event()
    watching.set()

    def drive() -> None:
        try:
            for update in stream:
                if watching.is_set():
                    inbox.put(update)
        except Exception:
            log.exception("run %s broke", name)
        finally:
            inbox.put(None)
            on_end()

    threading.Thread(target=drive, name=f"run-{name}", daemon=True).start()
    try:
        while (update := inbox.get()) is not None:
            yield update
    finally:
        watching.clear()
