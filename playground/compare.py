"""One prompt, many models: adapt shared settings to each model, estimate, run all at once, tabulate, export.

Every tile is an ordinary run stream (playground.generate) in its own thread; this module only merges them, so a
slow or failing model can never block, delay or break the others. The table, chart data, CSV and ZIP manifest
are all made from the tiles' RunRecords.
"""

from __future__ import annotations

import json
import math
import queue
import threading
import time
import zipfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from playground.catalog import Model
from playground.catalog.sizing import RESOLUTION_SCALE, size_params
from playground.generate import run_generation
from playground.krea.errors import ErrorKind
from playground.reference_mapping import apply_references
from playground.references import ReferenceSet
from playground.runs import Phase, RunError, RunRecord, RunUpdate, run_error_from
from playground.settings import PollPolicy

MIN_MODELS, MAX_MODELS = 2, 8
MANIFEST_FORMAT = "krea-playground/comparison"  # the ZIP manifest's "format"; playground.bundles reads it back
MANIFEST_VERSION = 1  # raise it when the manifest's layout changes in a way older readers would misread
STEP_NAMES = ("steps", "num_inference_steps")
GUIDANCE_NAMES = ("guidance_scale_flux", "guidance_scale", "cfg_scale")


@dataclass(frozen=True)
class SharedSettings:
    """What the Compare form asks every model for. None means "let each model use its default"."""

    prompt: str
    width: int = 1024
    height: int = 1024
    seed: int | None = None
    steps: int | None = None
    guidance: float | None = None


@dataclass(frozen=True)
class Adapted:
    """One model's request, translated from the shared settings, with a note for each thing adapted or ignored."""

    model: Model
    params: dict
    notes: tuple[str, ...] = ()


def _clamp(model: Model, name: str, value: float, notes: list[str], label: str) -> float:
    param = model.param(name)
    low, high = param.minimum, param.maximum
    clamped = min(max(value, low if low is not None else value), high if high is not None else value)
    if clamped != value:
        allowed = f"{'' if low is None else f'{low:g}'}–{'' if high is None else f'{high:g}'}"
        notes.append(f"{label} {value:g} → {clamped:g} (allowed {allowed})")
    return int(clamped) if param.type == "integer" else clamped


def _nearest_resolution(model: Model, width: int, height: int) -> str | None:
    param = model.param("resolution")
    if param is None or not param.choices:
        return None
    scale = math.sqrt(width * height) / 1024
    return min(param.choices, key=lambda c: abs(RESOLUTION_SCALE.get(c, 1) - scale))


def adapt(model: Model, shared: SharedSettings, references: ReferenceSet | None = None,
          asset_urls: Mapping[str, str] | None = None) -> Adapted:
    """Translate the shared settings into `model`'s own schema, with the reference pictures in the fields it
    takes (`asset_urls`: each picture's uploaded URL by sha256; None: placeholders, for a plan)."""
    notes: list[str] = []
    params: dict = {"prompt": shared.prompt}
    sized, size_notes = size_params(model, shared.width, shared.height)
    if "resolution" in sized:
        sized["resolution"] = _nearest_resolution(model, shared.width, shared.height) or sized["resolution"]
    params.update(sized)
    if "aspect_ratio" in sized and "width" not in sized:
        notes.append(f"{shared.width}x{shared.height} sent as {sized['aspect_ratio']}"
                     + (f", {sized['resolution']}" if "resolution" in sized else ""))
    elif "width" in sized and (sized["width"], sized["height"]) != (shared.width, shared.height):
        notes.append(f"{shared.width}x{shared.height} sent as {sized['width']}x{sized['height']}")
    elif not sized:
        notes.extend(size_notes)

    if shared.seed is not None:
        if model.param("seed") is not None:
            params["seed"] = int(shared.seed)
        else:
            notes.append("seed ignored: this model takes no seed")
    for value, names, label in ((shared.steps, STEP_NAMES, "steps"), (shared.guidance, GUIDANCE_NAMES, "guidance")):
        if value is None:
            continue
        name = next((n for n in names if model.param(n) is not None), None)
        if name is None:
            notes.append(f"{label} ignored: this model has no {label}")
        else:
            params[name] = _clamp(model, name, value, notes, label)
    for param in model.params:  # required fields the shared form does not cover: the model's own default
        if param.required and param.name not in params and param.default is not None:
            params[param.name] = param.default
    params, reference_notes = apply_references(model, params, references, asset_urls)
    return Adapted(model=model, params=params, notes=tuple(notes) + reference_notes)


@dataclass(frozen=True)
class Preflight:
    """Jobs, cost and time of a comparison before anything is sent."""

    jobs: int
    cost_usd: float  # sum of the known USD prices
    unpriced: tuple[str, ...]  # names of the models whose USD price is unknown
    est_seconds: float  # the jobs run at once, so the slowest one sets the pace
    budget_usd: float | None = None

    @property
    def over_budget(self) -> bool:
        return self.budget_usd is not None and self.cost_usd > self.budget_usd

    @property
    def unbounded(self) -> bool:
        """A cap is set but the cost cannot be bounded: some models have no known price."""
        return self.budget_usd is not None and bool(self.unpriced)

    def line(self) -> str:
        cost = f"≈ ${self.cost_usd:.3f}"
        if self.unpriced:
            cost += f" + {len(self.unpriced)} unpriced ({', '.join(self.unpriced)})"
        text = f"{self.jobs} jobs · {cost} · ≈ {self.est_seconds:.0f} s (all at once; the slowest sets the pace)"
        if self.budget_usd is not None:
            text += f" · budget ${self.budget_usd:.2f}" + (" — over budget" if self.over_budget else "")
        return text


def preflight(adapted: list[Adapted], budget_usd: float | None = None,
              speed: float | None = None, min_seconds: float = 0.0) -> Preflight:
    """Jobs, cost and time before anything is sent. `speed` scales the catalog's times (the sandbox's factor)."""
    cost = sum(a.model.price.usd for a in adapted if a.model.price.usd is not None)
    unpriced = tuple(a.model.name for a in adapted if a.model.price.usd is None)
    times = [a.model.expected_seconds * (speed or 1.0) for a in adapted]
    est = max([max(t, min_seconds) for t in times], default=0.0)
    return Preflight(jobs=len(adapted), cost_usd=round(cost, 4), unpriced=unpriced, est_seconds=est,
                     budget_usd=budget_usd)


@dataclass(frozen=True)
class CompareSnapshot:
    """The latest update of every tile, in the order the models were chosen. Immutable: each change is a new one."""

    updates: tuple[RunUpdate, ...]
    changed: str | None = None  # the model id whose update made this snapshot
    wall_seconds: float = 0.0

    @property
    def done(self) -> bool:
        return all(u.is_terminal for u in self.updates)

    def records(self, adapted: list[Adapted], group_id: str | None = None) -> list[RunRecord]:
        """One record per tile (provisional for tiles still running)."""
        return [RunRecord.from_update(u, a.model, notes=a.notes, group_id=group_id)
                for u, a in zip(self.updates, adapted)]


def run_comparison(
    client,
    adapted: list[Adapted],
    *,
    output_dir: Path,
    backend: str,
    poll: PollPolicy | None = None,
    stops: Mapping[str, threading.Event],
    now: Callable[[], float] = time.monotonic,
    tile_stream: Callable[[Adapted, threading.Event], Iterator[RunUpdate]] | None = None,
    stop_on_abandon: bool = True,
) -> Iterator[CompareSnapshot]:
    """Fire every job at once and yield a snapshot on every tile update until all tiles are terminal.

    `stops` maps each model id to its tile's stop switch (setting one cancels that remote job only). Each tile
    runs `tile_stream(item, stop)` (default: a plain run_generation) in its own thread. If the consumer abandons
    the stream, every unfinished tile is stopped (cancelling its remote job) unless `stop_on_abandon` is False,
    when the tiles run on to the end (the run service journals them, so their images land in History).
    """
    if tile_stream is None:
        def tile_stream(item: Adapted, stop: threading.Event) -> Iterator[RunUpdate]:
            return run_generation(client, item.model, item.params, output_dir=output_dir, backend=backend,
                                  poll=poll, stop=stop, now=now)

    inbox: queue.Queue[tuple[int, RunUpdate | None]] = queue.Queue()
    started = now()
    updates = [RunUpdate(model_id=a.model.id, phase=Phase.SUBMITTING, label="Starting…", seed=a.params.get("seed"),
                         backend=backend, params=a.params) for a in adapted]

    def tile(index: int, item: Adapted) -> None:
        try:
            for update in tile_stream(item, stops[item.model.id]):
                inbox.put((index, update))
        except Exception as exc:  # a bug in one tile must not take down the others
            inbox.put((index, updates[index].evolve(phase=Phase.FAILED, label="Failed",
                                                    error=run_error_from(exc))))
        finally:
            inbox.put((index, None))

    workers = [threading.Thread(target=tile, args=(i, a), name=f"compare-{a.model.id}", daemon=True)
               for i, a in enumerate(adapted)]
    for worker in workers:
        worker.start()
    running = len(workers)
    try:
        yield CompareSnapshot(tuple(updates))
        while running:
            index, update = inbox.get()
            if update is None:
                running -= 1
                if updates[index].is_terminal:
                    continue
                # ended without a terminal update: say so
                update = updates[index].evolve(phase=Phase.FAILED, label="Failed", error=RunError(
                    ErrorKind.INTERNAL, "This tile stopped unexpectedly. Please run it again."))
            updates[index] = update
            yield CompareSnapshot(tuple(updates), changed=update.model_id, wall_seconds=now() - started)
    finally:
        if running and stop_on_abandon:
            for event in stops.values():
                event.set()


TABLE_COLUMNS = ["model", "status", "queue s", "run s", "total s", "cost $", "output size", "seed", "job id",
                 "notes", "error"]


def cost_cell(record: RunRecord):
    """The cost as a table shows it: dollars, "unknown" (completed, no USD price), or empty while running."""
    if not record.is_terminal:
        return None
    if record.cost_usd is None:
        return "unknown"  # completed, but the model has no known USD price
    return round(record.cost_usd, 4)


def results_table(records: list[RunRecord]) -> pd.DataFrame:
    """One row per run: status, split timings, cost (only completed jobs are billed), size, seed, job, error."""
    rows = [{
        "model": r.model_name,
        "status": status_word(r),
        "queue s": None if r.queue_s is None else round(r.queue_s, 2),
        "run s": None if r.run_s is None else round(r.run_s, 2),
        "total s": None if r.total_s is None else round(r.total_s, 2),
        "cost $": cost_cell(r),
        "output size": r.size_text,
        "seed": r.seed if r.seed is not None else "",
        "job id": r.job_id or "",
        "notes": "; ".join(r.notes),
        "error": r.error.message if r.error else "",
    } for r in records]
    return pd.DataFrame(rows, columns=TABLE_COLUMNS)


def status_word(record: RunRecord) -> str:
    return record.status_word


def timing_frame(records: list[RunRecord]) -> pd.DataFrame:
    """Long form (model, part, seconds) for a stacked bar of queue and run time per model, in tile order."""
    rows = [{"model": r.model_name, "part": part, "seconds": float(value)}
            for r in records for part, value in (("queue", r.queue_s), ("run", r.run_s)) if value is not None]
    # Explicit dtypes: an empty frame would otherwise be all-object and the plot would read seconds as categories.
    return pd.DataFrame(rows, columns=["model", "part", "seconds"]).astype(
        {"model": "string", "part": "string", "seconds": "float64"})


def export_csv(records: list[RunRecord], directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "comparison.csv"
    results_table(records).to_csv(path, index=False)
    return path


def export_zip(records: list[RunRecord], directory: Path, base_url: str) -> Path:
    """The images plus a manifest of the exact requests and results, so the comparison can be reproduced."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "comparison.zip"
    manifest = {"format": MANIFEST_FORMAT, "version": MANIFEST_VERSION, "api_base": base_url, "runs": []}
    # PNGs are stored as they are (deflating compressed data costs time and saves nothing); the manifest is deflated.
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:
        for index, record in enumerate(records, start=1):
            entry = record.to_dict()
            entry.pop("image_path", None)
            if record.image_path:
                name = f"{index:02d}_{record.model_id.replace('/', '_')}.png"
                archive.write(record.image_path, name)
                entry["image"] = name
            manifest["runs"].append(entry)
        archive.writestr("manifest.json", json.dumps(manifest, indent=2, ensure_ascii=False, default=str),
                         compress_type=zipfile.ZIP_DEFLATED)
    return path
