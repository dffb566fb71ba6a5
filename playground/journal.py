"""Runs that outlive the page: every update written to the run store, and the run driven by its own thread.

A page only watches a run. The run itself is driven by a background thread that writes each change to the store
*before* the run goes on (so a job id is on disk before the first poll), and carries on when nobody watches any
more (a reload, a closed tab): the image lands in History instead of being lost. Only Stop ends a job early.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import queue
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import anyio

from playground.catalog import Catalog
from playground.runs import Phase, RunRecord, RunUpdate
from playground.store import RunStore, TokenSource

log = logging.getLogger(__name__)
T = TypeVar("T")


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
        record = RunRecord.from_update(update, model, notes=self.origin.notes, group_id=self.origin.group_id)
        owner = self.origin.owner() if callable(self.origin.owner) else self.origin.owner
        self.store.save(record, owner=owner, token_source=self.origin.token_source,
                        api_base=self.origin.api_base, label=update.label)
        self._last_key = key


def journaled(stream: Iterator[RunUpdate], journal: Journal) -> Iterator[RunUpdate]:
    """The same stream, each update written to the store before the run is allowed to go on."""
    for update in stream:
        try:
            journal.write(update)
        except Exception:  # a full disk must not break the run on screen; the log says what was not kept
            log.exception("could not write run %s to the store", update.run_id)
        yield update


Begin = Callable[[], tuple[Iterator[RunUpdate], Callable[[], None], Callable[[], None] | None]]


class Watch:
    """A run driven by its own thread, watched by one consumer, from sync code (``for``) or async code
    (``async for``: waiting costs no worker thread, so hundreds of runs can be watched at once).

    `begin()` is called when watching starts and returns (the run's stream, what to do when it ends, what to do
    if the watcher leaves first). The thread goes on to the end when the watcher leaves (the page's runs finish
    into History) unless that last callable stops it (a script that cancels its call cancels its job).
    """

    def __init__(self, begin: Begin, *, name: str, notes: tuple[str, ...] = ()) -> None:
        self._begin = begin
        self._name = name
        self.notes = notes  # what was done with the run's inputs (reference pictures), for its record
        self._ended = threading.Event()
        self._on_abandon: Callable[[], None] | None = None
        self._watching = True

    def _start(self, deliver: Callable[[RunUpdate | None], None], begun: Any = None) -> None:
        stream, on_end, self._on_abandon = begun if begun is not None else self._begin()

        def drive() -> None:
            try:
                for update in stream:
                    if self._watching:
                        deliver(update)
            except Exception:
                log.exception("run %s broke", self._name)
            finally:
                self._ended.set()
                if self._watching:
                    deliver(None)
                on_end()

        threading.Thread(target=drive, name=f"run-{self._name}", daemon=True).start()

    def _leave(self) -> None:
        self._watching = False
        if not self._ended.is_set() and self._on_abandon is not None:
            self._on_abandon()

    def __iter__(self) -> Iterator[RunUpdate]:
        inbox: queue.Queue[RunUpdate | None] = queue.Queue()
        self._start(inbox.put)
        try:
            while (update := inbox.get()) is not None:
                yield update
        finally:
            self._leave()

    async def __aiter__(self) -> AsyncIterator[RunUpdate]:
        loop = asyncio.get_running_loop()
        inbox: asyncio.Queue[RunUpdate | None] = asyncio.Queue()

        def deliver(update: RunUpdate | None) -> None:
            try:
                loop.call_soon_threadsafe(inbox.put_nowait, update)
            except RuntimeError:  # the loop is gone (server shutting down): nobody is watching
                pass

        # begin() writes the store and may open a route: in a worker thread, so the loop serves everyone else.
        self._start(deliver, await anyio.to_thread.run_sync(self._begin))
        try:
            while (update := await inbox.get()) is not None:
                yield update
        finally:  # also on cancellation (a script's job.cancel(), a closed page): CancelledError lands here
            self._leave()


async def off_the_loop(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``fn(*args, **kwargs)`` in a worker thread, awaited. Starting a run validates, opens a route and writes the
    store: milliseconds that, on the event loop, fifty visitors starting at once would pay one after another
    before anyone's run was submitted."""
    return await anyio.to_thread.run_sync(functools.partial(fn, *args, **kwargs))

