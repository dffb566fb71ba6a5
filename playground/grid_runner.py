"""Running a grid: its cells as a queued batch at a bounded concurrency, paused, resumed and cancelled at will.

The grid and each cell's latest run are kept in the run store (``grids``, ``grid_cells``; the runs themselves in
``runs``, grouped by the grid id), so a grid survives the page that started it and a restart of the app:

- The batch runs in the app's threads, not the page's: a closed tab leaves it running into History.
- A grid the app was running when it stopped comes back *paused*; its jobs already at Krea are followed again by
  the run service's resume (``resume_unfinished``), and Resume runs the cells that never started. A cell whose
  run is still being followed is waited for, never sent twice.
- Pause lets the jobs already sent finish and starts no new one; Cancel stops them too (DELETE at Krea).
- A 429 from Krea is handled where every run handles it (the run waits as ``Retry-After`` says and submits again),
  so the concurrency is a ceiling, not a promise.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, replace
from enum import StrEnum
from typing import Any, Protocol

from playground.catalog import Catalog, Model
from playground.compare import SharedSettings
from playground.grid_plan import GridCell, GridPlan, plan_grid
from playground.runs import Phase, RunRecord, RunUpdate
from playground.store import RunStore, utc_now

log = logging.getLogger(__name__)

DEFAULT_CONCURRENCY = 4
MAX_CONCURRENCY = 8
WAIT_FOR_FOLLOWED_S = 1.0  # how often a cell waiting on a run followed elsewhere (a resumed job) looks again
KEY_PREFIX = "grid:"


class GridState(StrEnum):
    RUNNING = "running"
    PAUSED = "paused"  # by the user, or by a restart of the app
    CANCELLED = "cancelled"
    DONE = "done"  # every cell ended (some may have failed: re-run them)


class CellRunner(Protocol):
    """What the runner needs of the run service: one prepared request run to its end, journaled."""

    def run_cell(self, grid: GridHandle, model: Model, body: dict, *, run_key: str,
                 notes: tuple[str, ...]) -> Iterator[RunUpdate]: ...

    def stop(self, session_id: str, key_prefix: str) -> int: ...

    def is_live(self, run_id: str) -> bool: ...


@dataclass
class GridHandle:
    """Where a grid's jobs go and whose they are: the session that started (or resumed) it and its route."""

    grid_id: str
    owner: str
    session_id: str
    route: Any  # sessions.Route, captured once: the grid goes on after the page closes


@dataclass(frozen=True)
class GridSettings:
    """What a stored grid needs to be planned again: the form, as the plan read it."""

    prompts: tuple[str, ...]
    model_ids: tuple[str, ...]
    seeds: tuple[int, ...]
    width: int = 1024
    height: int = 1024
    steps: int | None = None
    guidance: float | None = None
    concurrency: int = DEFAULT_CONCURRENCY
    budget_usd: float | None = None

    @classmethod
    def of(cls, plan: GridPlan, concurrency: int, budget_usd: float | None) -> GridSettings:
        s = plan.shared
        return cls(plan.prompts, plan.model_ids, plan.seeds, s.width, s.height, s.steps, s.guidance,
                   concurrency, budget_usd)

    def plan(self, catalog: Catalog) -> GridPlan:
        return plan_grid(list(self.prompts), [catalog.get(m) for m in self.model_ids], list(self.seeds),
                         SharedSettings(prompt="", width=self.width, height=self.height, steps=self.steps,
                                        guidance=self.guidance))

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> GridSettings:
        data = json.loads(text)
        for name in ("prompts", "model_ids", "seeds"):
            data[name] = tuple(data.get(name) or ())
        return cls(**data)


@dataclass(frozen=True)
class GridSnapshot:
    """A grid as the page shows it: its plan, state and each cell's latest record (None: not started)."""

    grid_id: str
    plan: GridPlan
    settings: GridSettings
    state: GridState
    records: Mapping[str, RunRecord | None]
    created_at: str = ""

    def count(self, *phases: Phase) -> int:
        return sum(1 for r in self.records.values() if r is not None and r.phase in phases)

    @property
    def done(self) -> int:
        return self.count(Phase.DONE)

    @property
    def failed(self) -> int:
        return self.count(Phase.FAILED, Phase.CANCELLED)

    @property
    def running(self) -> int:
        return sum(1 for r in self.records.values() if r is not None and not r.is_terminal)

    @property
    def waiting(self) -> int:
        return sum(1 for r in self.records.values() if r is None)

    @property
    def finished(self) -> bool:
        return self.state in (GridState.DONE, GridState.CANCELLED) and self.running == 0

    @property
    def spent_usd(self) -> float:
        return round(sum(r.cost_usd or 0.0 for r in self.records.values() if r is not None), 4)


class GridRun:
    """One grid being run: a queue of cells and up to `concurrency` worker threads taking from it."""

    def __init__(self, runner: GridRunner, handle: GridHandle, plan: GridPlan, settings: GridSettings) -> None:
        self.runner = runner
        self.handle = handle
        self.plan = plan
        self.settings = settings
        self._lock = threading.Lock()
        self._queue: list[GridCell] = []
        self._workers: list[threading.Thread] = []
        self._paused = False
        self._cancelled = False

    @property
    def grid_id(self) -> str:
        return self.handle.grid_id

    def start(self, cells: list[GridCell]) -> None:
        with self._lock:
            known = {c.key for c in self._queue}
            self._queue.extend(c for c in cells if c.key not in known)
            self._paused = self._cancelled = False
            self._workers = [w for w in self._workers if w.is_alive()]
            wanted = min(self.settings.concurrency, len(self._queue)) - len(self._workers)
            for i in range(max(0, wanted)):
                worker = threading.Thread(target=self._work, name=f"grid-{self.grid_id[:8]}-{i}", daemon=True)
                self._workers.append(worker)
                worker.start()
        self.runner.changed()

    def pause(self) -> None:
        with self._lock:
            self._paused = True

    def cancel(self) -> None:
        with self._lock:
            self._cancelled = True
            self._queue.clear()
        self.runner.cells.stop(self.handle.session_id, f"{KEY_PREFIX}{self.grid_id}:")

    @property
    def active(self) -> bool:
        with self._lock:
            return any(w.is_alive() for w in self._workers)

    def others_alive(self) -> bool:
        """Whether a worker other than the calling one is still running."""
        with self._lock:
            return any(w.is_alive() and w is not threading.current_thread() for w in self._workers)

    def _next(self) -> GridCell | None:
        with self._lock:
            if self._paused or self._cancelled or not self._queue:
                return None
            return self._queue.pop(0)

    def _work(self) -> None:
        try:
            while (cell := self._next()) is not None:
                try:
                    self._run(cell)
                except Exception:  # one broken cell must not stop the grid
                    log.exception("grid %s: cell %s broke", self.grid_id, cell.key)
                self.runner.changed()
        finally:
            self.runner.worker_ended(self)

    def _run(self, cell: GridCell) -> None:
        current = self.runner.cell_run(self.grid_id, cell.key)
        while current is not None and not current.is_terminal and self.runner.cells.is_live(current.run_id):
            time.sleep(WAIT_FOR_FOLLOWED_S)  # a resumed job, followed by the run service: wait, never resend
            if self._cancelled:
                return
            current = self.runner.cell_run(self.grid_id, cell.key)
        if current is not None and current.record.phase == Phase.DONE:
            return
        adapted = self.plan.adapted(cell)
        stream = self.runner.cells.run_cell(self.handle, adapted.model, dict(adapted.params),
                                            run_key=f"{KEY_PREFIX}{self.grid_id}:{cell.key}", notes=adapted.notes)
        linked = False
        for update in stream:
            if not linked and update.run_id:
                self.runner.link(self.grid_id, cell.key, update.run_id)
                linked = True
            if update.is_terminal or update.phase != Phase.FOLLOWING:
                self.runner.changed()


class GridRunner:
    """Every grid of the app: starting, pausing, resuming, cancelling, and reading them back from the store."""

    def __init__(self, store: RunStore, catalog: Callable[[], Catalog], cells: CellRunner) -> None:
        self.store = store
        self.catalog = catalog
        self.cells = cells
        self._lock = threading.Lock()
        self._changed = threading.Condition()
        self._version = 0
        self._runs: dict[str, GridRun] = {}
        # A grid this app was running when it stopped is paused: nothing is sent until someone resumes it.
        self.store.execute("UPDATE grids SET state = ? WHERE state = ?", (GridState.PAUSED, GridState.RUNNING))

    # --- changes -----------------------------------------------------------------------------------------------

    def changed(self) -> None:
        with self._changed:
            self._version += 1
            self._changed.notify_all()

    def wait(self, version: int, timeout: float) -> int:
        """Block until something changed after `version` (or `timeout`); the current version."""
        with self._changed:
            self._changed.wait_for(lambda: self._version != version, timeout=timeout)
            return self._version

    @property
    def version(self) -> int:
        with self._changed:
            return self._version

    # --- the store ---------------------------------------------------------------------------------------------

    def link(self, grid_id: str, cell_key: str, run_id: str) -> None:
        self.store.execute("INSERT INTO grid_cells(grid_id, cell_key, run_id) VALUES (?, ?, ?) "
                           "ON CONFLICT(grid_id, cell_key) DO UPDATE SET run_id = excluded.run_id",
                           (grid_id, cell_key, run_id))

    def cell_run(self, grid_id: str, cell_key: str):
        rows = self.store.execute("SELECT run_id FROM grid_cells WHERE grid_id = ? AND cell_key = ?",
                                  (grid_id, cell_key))
        return self.store.get(rows[0]["run_id"]) if rows else None

    def _set_state(self, grid_id: str, state: GridState) -> None:
        self.store.execute("UPDATE grids SET state = ? WHERE grid_id = ?", (state, grid_id))
        self.changed()

    def grids(self, owner: str | None, limit: int = 50) -> list[tuple[str, str, GridState, GridSettings]]:
        """(grid id, created at, state, settings) of `owner`'s grids (None: everyone's), newest first."""
        where, args = ("owner = ?", [owner]) if owner is not None else ("1 = 1", [])
        rows = self.store.execute(f"SELECT * FROM grids WHERE {where} ORDER BY created_at DESC LIMIT ?",
                                  [*args, limit])
        return [(r["grid_id"], r["created_at"], GridState(r["state"]), GridSettings.from_json(r["plan"]))
                for r in rows]

    def owner_of(self, grid_id: str) -> str | None:
        rows = self.store.execute("SELECT owner FROM grids WHERE grid_id = ?", (grid_id,))
        return rows[0]["owner"] if rows else None

    def snapshot(self, grid_id: str) -> GridSnapshot | None:
        rows = self.store.execute("SELECT * FROM grids WHERE grid_id = ?", (grid_id,))
        if not rows:
            return None
        settings = GridSettings.from_json(rows[0]["plan"])
        plan = settings.plan(self.catalog())
        links = {r["cell_key"]: r["run_id"] for r in
                 self.store.execute("SELECT cell_key, run_id FROM grid_cells WHERE grid_id = ?", (grid_id,))}
        runs = self.store.runs(links.values())
        catalog = self.catalog()
        records: dict[str, RunRecord | None] = {}
        for cell in plan.cells():
            stored = runs.get(links.get(cell.key, ""))
            if stored is None:
                records[cell.key] = None
                continue
            model = catalog.find(stored.record.model_id)
            record = stored.record
            if model is not None:  # the store keeps ids; tables and sheets show names
                record = _named(record, model)
            records[cell.key] = record
        return GridSnapshot(grid_id, plan, settings, GridState(rows[0]["state"]), records, rows[0]["created_at"])

    # --- control -----------------------------------------------------------------------------------------------

    def start(self, handle_for: Callable[[str], GridHandle], plan: GridPlan, settings: GridSettings) -> str:
        """Store a new grid and start it; its id. `handle_for(grid_id)` gives the session, owner and route."""
        grid_id = uuid.uuid4().hex
        handle = handle_for(grid_id)
        self.store.execute("INSERT INTO grids(grid_id, owner, created_at, state, plan) VALUES (?, ?, ?, ?, ?)",
                           (grid_id, handle.owner, utc_now(), GridState.RUNNING, settings.to_json()))
        run = GridRun(self, handle, plan, settings)
        with self._lock:
            self._runs[grid_id] = run
        run.start(plan.cells())
        return grid_id

    def pause(self, grid_id: str) -> None:
        with self._lock:
            run = self._runs.get(grid_id)
        if run is not None:
            run.pause()
        self._set_state(grid_id, GridState.PAUSED)

    def cancel(self, grid_id: str) -> None:
        with self._lock:
            run = self._runs.get(grid_id)
        if run is not None:
            run.cancel()
        self._set_state(grid_id, GridState.CANCELLED)

    def resume(self, grid_id: str, handle: GridHandle, *, failed_too: bool = False) -> int:
        """Run the cells not yet done (``failed_too``: failed and cancelled ones again as well); how many."""
        snap = self.snapshot(grid_id)
        if snap is None:
            return 0
        wanted = [c for c in snap.plan.cells() if _wanted(snap.records.get(c.key), failed_too)]
        with self._lock:
            run = self._runs.get(grid_id)
            if run is None or not run.active:
                run = GridRun(self, handle, snap.plan, snap.settings)
                self._runs[grid_id] = run
        if not wanted:
            self._set_state(grid_id, GridState.DONE)
            return 0
        self._set_state(grid_id, GridState.RUNNING)
        run.start(wanted)
        return len(wanted)

    def worker_ended(self, run: GridRun) -> None:
        """The last worker of a running grid ends it: done when every cell ended (or paused/cancelled as set)."""
        if run.others_alive():
            return
        rows = self.store.execute("SELECT state FROM grids WHERE grid_id = ?", (run.grid_id,))
        if rows and rows[0]["state"] == GridState.RUNNING:
            snap = self.snapshot(run.grid_id)
            if snap is not None and snap.running == 0:
                # Every cell ended: done. Cells left unstarted with no worker (one broke): paused, for Resume.
                self._set_state(run.grid_id, GridState.DONE if snap.waiting == 0 else GridState.PAUSED)
        self.changed()


def _wanted(record: RunRecord | None, failed_too: bool) -> bool:
    if record is None:
        return True
    if record.phase == Phase.DONE:
        return False
    if not record.is_terminal:
        return True  # being followed (waited for) or orphaned by a crash (looked up, never resent)
    return failed_too


def _named(record: RunRecord, model: Model) -> RunRecord:
    return replace(record, model_name=model.name)
