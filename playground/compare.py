"""One prompt, many models: adapt shared settings to each model, estimate, run all at once, tabulate, export.

Every tile is an ordinary run stream (playground.generate) in its own thread; this module only merges them, so a
slow or failing model can never block, delay or break the others.
"""

from __future__ import annotations

import json
import math
import queue
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from playground.catalog import Model
from playground.catalog.sizing import RESOLUTION_SCALE, size_params
from playground.generate import run_generation
from playground.runs import PHASE_FAILED, RunError, RunUpdate, run_error_from
from playground.settings import PollPolicy

MIN_MODELS, MAX_MODELS = 2, 8
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


def adapt(model: Model, shared: SharedSettings) -> Adapted:
    """Translate the shared settings into `model`'s own schema."""
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
    return Adapted(model=model, params=params, notes=tuple(notes))


@dataclass(frozen=True)
class Preflight:
    jobs: int
    cost_usd: float  # sum of the known USD prices
    unpriced: tuple[str, ...]  # models whose USD price is unknown
    est_seconds: float  # the jobs run at once, so the slowest one sets the pace
    budget_usd: float | None = None

    @property
    def over_budget(self) -> bool:
        return self.budget_usd is not None and self.cost_usd > self.budget_usd

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


@dataclass
class CompareSnapshot:
    """The latest update of every tile, in the order the models were chosen."""

    updates: dict[str, RunUpdate]
    changed: str | None = None
    wall_seconds: float = 0.0
    stops: dict[str, threading.Event] = field(default_factory=dict)

    @property
    def done(self) -> bool:
        return all(u.is_terminal for u in self.updates.values())


def run_comparison(
    client,
    adapted: list[Adapted],
    *,
    output_dir: Path,
    backend: str,
    poll: PollPolicy | None = None,
    stops: dict[str, threading.Event] | None = None,
    now: Callable[[], float] = time.monotonic,
) -> Iterator[CompareSnapshot]:
    """Fire every job at once and yield a snapshot on every tile update until all tiles are terminal.

    `stops` maps a model id to its tile's stop switch (setting one cancels that remote job only). If the consumer
    abandons the stream, every unfinished tile is stopped, which cancels its remote job.
    """
    stops = stops if stops is not None else {}
    for item in adapted:
        stops.setdefault(item.model.id, threading.Event())
    inbox: queue.Queue[tuple[str, RunUpdate | None]] = queue.Queue()
    started = now()
    snapshot = CompareSnapshot(
        updates={a.model.id: RunUpdate(model_id=a.model.id, phase="submitting", label="Starting…",
                                       seed=a.params.get("seed"), params=a.params) for a in adapted},
        stops=stops,
    )

    def tile(item: Adapted) -> None:
        try:
            for update in run_generation(client, item.model, item.params, output_dir=output_dir, backend=backend,
                                         poll=poll, stop=stops[item.model.id], now=now):
                inbox.put((item.model.id, update))
        except Exception as exc:  # a bug in one tile must not take down the others
            inbox.put((item.model.id, RunUpdate(model_id=item.model.id, phase=PHASE_FAILED, label="Failed",
                                                error=run_error_from(exc), params=item.params)))
        finally:
            inbox.put((item.model.id, None))

    workers = [threading.Thread(target=tile, args=(a,), name=f"compare-{a.model.id}", daemon=True)
               for a in adapted]
    for worker in workers:
        worker.start()
    running = len(workers)
    try:
        yield snapshot
        while running:
            model_id, update = inbox.get()
            if update is None:
                running -= 1
                if not snapshot.updates[model_id].is_terminal:  # ended without a terminal update: say so
                    snapshot.updates[model_id] = snapshot.updates[model_id].evolve(
                        phase=PHASE_FAILED, label="Failed",
                        error=RunError("internal", "This tile stopped unexpectedly. Please run it again."))
                continue
            snapshot.updates[model_id] = update
            snapshot.changed = model_id
            snapshot.wall_seconds = now() - started
            yield snapshot
    finally:
        if running:
            for event in stops.values():
                event.set()


TABLE_COLUMNS = ["model", "status", "queue s", "run s", "total s", "cost $", "output size", "seed", "job id",
                 "notes", "error"]


def results_table(snapshot: CompareSnapshot, adapted: list[Adapted]) -> pd.DataFrame:
    """One row per model: status, split timings, cost (only completed jobs are billed), size, seed, job, error."""
    rows = []
    for item in adapted:
        update = snapshot.updates.get(item.model.id)
        if update is None:
            continue
        t = update.timings
        price = item.model.price.usd
        if not update.is_terminal:
            cost = None
        elif update.phase != "done":
            cost = 0.0  # failed and cancelled jobs are not billed
        else:
            cost = round(price, 4) if price is not None else "unknown"
        rows.append({
            "model": item.model.name,
            "status": update.label,
            "queue s": None if t.queue is None else round(t.queue, 2),
            "run s": None if t.run is None else round(t.run, 2),
            "total s": round(t.elapsed, 2) if t.elapsed else None,
            "cost $": cost,
            "output size": f"{update.image_size[0]}x{update.image_size[1]}" if update.image_size else "",
            "seed": update.seed if update.seed is not None else "",
            "job id": update.job_id or "",
            "notes": "; ".join(item.notes),
            "error": update.error.message if update.error and update.phase != "done" else "",
        })
    return pd.DataFrame(rows, columns=TABLE_COLUMNS)


def export_csv(table: pd.DataFrame, directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "comparison.csv"
    table.to_csv(path, index=False)
    return path


def export_zip(snapshot: CompareSnapshot, adapted: list[Adapted], directory: Path, base_url: str) -> Path:
    """The images plus a manifest of the exact requests, so the comparison can be reproduced or audited."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "comparison.zip"
    manifest = {"api_base": base_url, "runs": []}
    # PNGs are stored as they are (deflating compressed data costs time and saves nothing); the manifest is deflated.
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:
        for index, item in enumerate(adapted, start=1):
            update = snapshot.updates.get(item.model.id)
            entry = {"model": item.model.id, "request": {"method": "POST", "path": item.model.path,
                                                          "body": item.params},
                     "adapted": list(item.notes)}
            if update is not None:
                entry.update(status=update.status, phase=update.phase, job_id=update.job_id,
                             timings={"queue_s": update.timings.queue, "run_s": update.timings.run,
                                      "total_s": update.timings.elapsed},
                             error=update.error.message if update.error else None)
                if update.image_path:
                    name = f"{index:02d}_{item.model.id.replace('/', '_')}.png"
                    archive.write(update.image_path, name)
                    entry["image"] = name
            manifest["runs"].append(entry)
        archive.writestr("manifest.json", json.dumps(manifest, indent=2), compress_type=zipfile.ZIP_DEFLATED)
    return path
