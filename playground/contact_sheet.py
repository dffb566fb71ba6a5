"""The Grid's contact sheet (prompts down, models across, seeds stacked in each cell) and its exports.

Pure HTML from a plan and the cells' RunRecords; no Gradio. Output files are not servable by URL, so pictures
come in as small JPEG data: URIs (:func:`thumbnail_data_uri`). Every picture or status chip is a <button> with
``data-cell-key``, so one delegated click handler on the page can open any cell large; a checkbox with
``data-select-key`` marks a finished cell for the two-picture diff. The CSV and the ZIP reuse Compare's table.
"""

from __future__ import annotations

import base64
import io
import json
import re
import zipfile
from collections.abc import Mapping
from dataclasses import asdict
from html import escape
from pathlib import Path

import pandas as pd
from PIL import Image

from playground.compare import TABLE_COLUMNS, cost_cell, results_table
from playground.grid_plan import GridCell, GridPlan
from playground.runs import RunRecord

MANIFEST_FORMAT = "krea-playground/grid"
MANIFEST_VERSION = 1
PROMPT_HEADER_CHARS = 90  # longer prompts are cut in the row header; the full text is in its title
THUMB_SIDE = 192
THUMB_QUALITY = 80
GRID_COLUMNS = ["cell", "prompt #", "prompt", *TABLE_COLUMNS]

CONTACT_SHEET_CSS = """
.grid-sheet-wrap { max-width: 100%; overflow-x: auto; contain: inline-size; border-radius: var(--radius-lg);
  border: 1px solid var(--border-color-primary); background: var(--background-fill-primary); }
.grid-sheet { border-collapse: collapse; font-size: .82rem; color: var(--body-text-color); }
.grid-sheet th, .grid-sheet td { border: 1px solid var(--border-color-primary); padding: 6px; vertical-align: top; }
.grid-sheet thead th { position: sticky; top: 0; background: var(--background-fill-secondary); text-align: left;
  white-space: nowrap; z-index: 1; }
.grid-sheet thead th:first-child { left: 0; z-index: 2; }
.grid-sheet th.grid-prompt { position: sticky; left: 0; background: var(--background-fill-secondary); z-index: 1;
  min-width: 140px; max-width: 220px; font-weight: 500; text-align: left; overflow-wrap: anywhere; }
.grid-prompt .grid-num { color: var(--body-text-color-subdued); margin-right: .3rem; }
.grid-stack { display: flex; flex-direction: column; gap: 8px; }
.grid-item { position: relative; width: 192px; }
.grid-open { display: block; width: 192px; min-height: 72px; padding: 0; border: 1px solid var(--border-color-primary);
  border-radius: var(--radius-md, 6px); background: var(--background-fill-secondary); color: inherit; cursor: zoom-in;
  overflow: hidden; font: inherit; }
.grid-open:focus-visible { outline: 2px solid var(--color-accent); outline-offset: 2px; }
.grid-open img { display: block; width: 100%; height: auto; }
.grid-open .grid-chip { display: inline-block; margin: 24px auto; }
.grid-chip { font-size: .76rem; padding: .1rem .55rem; border-radius: 999px;
  border: 1px solid var(--border-color-primary); background: var(--background-fill-primary); }
.grid-chip[data-phase="running"] { border-color: #8b5cf6; animation: grid-pulse 1s ease-in-out infinite; }
.grid-chip[data-phase="failed"] { background: color-mix(in srgb, #ef4444 14%, transparent); border-color: #ef4444; }
.grid-chip[data-phase="cancelled"] { background: color-mix(in srgb, #f59e0b 14%, transparent); border-color: #f59e0b; }
.grid-open .grid-badge { position: absolute; top: 6px; left: 6px; }
.grid-select { position: absolute; top: 4px; right: 4px; display: flex; padding: 3px; border-radius: 4px;
  background: color-mix(in srgb, var(--background-fill-primary) 80%, transparent); }
.grid-select input { margin: 0; cursor: pointer; }
.grid-caption { margin-top: 2px; color: var(--body-text-color-subdued); font-variant-numeric: tabular-nums;
  white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
@keyframes grid-pulse { 50% { opacity: .45; } }
@media (max-width: 640px) { .grid-item, .grid-open { width: 128px; } }
"""


# --- pictures ----------------------------------------------------------------------------------------------------


def thumbnail_data_uri(path: str | Path, side: int = THUMB_SIDE) -> str:
    """A small JPEG of the image at `path` as a data: URI (transparency flattened onto white)."""
    with Image.open(path) as image:
        image.draft("RGB", (side, side))  # a JPEG decodes at reduced size directly
        image.thumbnail((side, side))
        if image.mode in ("RGBA", "LA", "P"):
            image = image.convert("RGBA")
            flat = Image.new("RGB", image.size, "white")
            flat.paste(image, mask=image.getchannel("A"))
            image = flat
        else:
            image = image.convert("RGB")
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=THUMB_QUALITY)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


# --- the sheet ---------------------------------------------------------------------------------------------------


def _state(record: RunRecord | None) -> str:
    """queued (no record yet), running, done, failed or cancelled."""
    if record is None:
        return "queued"
    if not record.is_terminal:
        return "running"
    return str(record.phase)


STATE_WORDS = {"queued": "Queued", "running": "Running", "done": "Completed", "failed": "Failed",
               "cancelled": "Cancelled"}


def _seconds(value: float | None) -> str:
    return "" if value is None else (f"{value:.1f} s" if value < 100 else f"{value / 60:.1f} min")


def _caption(cell: GridCell, record: RunRecord | None) -> str:
    parts = [f"seed {cell.seed if record is None or record.seed is None else record.seed}"]
    if record is not None:
        if record.total_s is not None:
            parts.append(_seconds(record.total_s))
        cost = cost_cell(record)
        if cost == "unknown":
            parts.append("price unknown")
        elif cost is not None:
            parts.append(f"${cost:.3f}")
    return " · ".join(parts)


def _cell_html(plan: GridPlan, cell: GridCell, record: RunRecord | None, thumb: str | None) -> str:
    state = _state(record)
    model = plan.model(cell.model_id)
    key = escape(cell.key)
    label = (f"Prompt {cell.prompt_index + 1}, {model.name}, seed {cell.seed}: {STATE_WORDS[state]}"
             + (". Open large" if thumb else ""))
    if thumb and thumb.startswith("data:image/"):
        badge = "" if state == "done" else \
            f'<span class="grid-chip grid-badge" data-phase="{state}">{STATE_WORDS[state]}</span>'
        face = (f'<img src="{escape(thumb)}" alt="{escape(plan.prompts[cell.prompt_index])} — {escape(model.name)}"'
                f'>{badge}')
    else:
        title = ""
        if record is not None and record.error is not None:
            title = f' title="{escape(record.error.title)}: {escape(record.error.message)}"'
        face = f'<span class="grid-chip" data-phase="{state}"{title}>{STATE_WORDS[state]}</span>'
    select = ""
    if state == "done" and record is not None and record.image_path:
        select = (f'<label class="grid-select" title="Select for a side-by-side diff"><input type="checkbox" '
                  f'data-select-key="{key}" aria-label="Select prompt {cell.prompt_index + 1}, '
                  f'{escape(model.name)}, seed {cell.seed} for the diff"></label>')
    seed = cell.seed if record is None or record.seed is None else record.seed
    return (f'<div class="grid-item" data-phase="{state}" data-model-id="{escape(cell.model_id)}" '
            f'data-seed="{seed}">'
            f'<button type="button" class="grid-open" data-cell-key="{key}" aria-label="{escape(label)}">'
            f'{face}</button>'
            f'{select}<div class="grid-caption">{escape(_caption(cell, record))}</div></div>')


def contact_sheet_html(plan: GridPlan, records_by_key: Mapping[str, RunRecord | None],
                       thumbs: Mapping[str, str]) -> str:
    """The sheet: a row per prompt, a column per model, the seeds stacked in each cell; each seed a picture
    (`thumbs`: data: URIs by cell key) or a status chip, with its seed, time and cost under it."""
    by_place = {(c.prompt_index, c.model_id): [] for c in plan.cells()}
    for cell in plan.cells():
        by_place[(cell.prompt_index, cell.model_id)].append(cell)
    head = "".join(f'<th scope="col" title="{escape(m.id)}">{escape(m.name)}</th>' for m in plan.models)
    rows = []
    for index, prompt in enumerate(plan.prompts):
        short = prompt if len(prompt) <= PROMPT_HEADER_CHARS else prompt[:PROMPT_HEADER_CHARS - 1] + "…"
        cells = "".join(
            '<td><div class="grid-stack">'
            + "".join(_cell_html(plan, c, records_by_key.get(c.key), thumbs.get(c.key))
                      for c in sorted(by_place[(index, m.id)], key=lambda c: c.seed_index))
            + "</div></td>" for m in plan.models)
        rows.append(f'<tr><th scope="row" class="grid-prompt" title="{escape(prompt)}">'
                    f'<span class="grid-num">{index + 1}.</span>{escape(short)}</th>{cells}</tr>')
    return (f'<div class="grid-sheet-wrap" role="region" aria-label="Grid contact sheet" tabindex="0">'
            f'<table class="grid-sheet"><thead><tr><th scope="col">Prompt</th>{head}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table></div>')


# --- exports -----------------------------------------------------------------------------------------------------


def grid_table(plan: GridPlan, records_by_key: Mapping[str, RunRecord | None]) -> pd.DataFrame:
    """One row per cell in run order: the cell, its prompt, then Compare's columns (a cell not run says so)."""
    cells = plan.cells()
    done = [(c, records_by_key.get(c.key)) for c in cells]
    ran = results_table([r for _, r in done if r is not None]).to_dict("records")
    ran_rows = iter(ran)
    rows = []
    for cell, record in done:
        row = next(ran_rows) if record is not None else {
            **dict.fromkeys(TABLE_COLUMNS, ""), "model": plan.model(cell.model_id).name, "status": "Not run",
            "seed": cell.seed}
        rows.append({"cell": cell.key, "prompt #": cell.prompt_index + 1, "prompt": plan.prompts[cell.prompt_index],
                     **row})
    return pd.DataFrame(rows, columns=GRID_COLUMNS)


def export_grid_csv(plan: GridPlan, records_by_key: Mapping[str, RunRecord | None], directory: Path) -> Path:
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "grid.csv"
    grid_table(plan, records_by_key).to_csv(path, index=False)
    return path


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "model"


def image_name(cell: GridCell) -> str:
    """ "p01_bfl-flux-1-dev_s42.png": the prompt's number (from 1), the model, the seed."""
    return f"p{cell.prompt_index + 1:02d}_{_slug(cell.model_id)}_s{cell.seed}.png"


def grid_manifest(plan: GridPlan, records_by_key: Mapping[str, RunRecord | None],
                  base_url: str | None = None) -> dict:
    """The plan and every cell with its record, as the ZIP's manifest.json holds them ("image" added on export)."""
    shared = {k: v for k, v in asdict(plan.shared).items() if k not in ("prompt", "seed")}
    cells = []
    for cell in plan.cells():
        record = records_by_key.get(cell.key)
        run = record.to_dict() if record is not None else None
        if run is not None:
            run.pop("image_path", None)
        cells.append({"key": cell.key, "prompt_index": cell.prompt_index, "prompt": plan.prompts[cell.prompt_index],
                      "model": cell.model_id, "seed_index": cell.seed_index, "seed": cell.seed, "image": None,
                      "run": run})
    return {"format": MANIFEST_FORMAT, "version": MANIFEST_VERSION, "api_base": base_url,
            "plan": {"prompts": list(plan.prompts), "models": [{"id": m.id, "name": m.name} for m in plan.models],
                     "seeds": list(plan.seeds), "shared": shared},
            "cells": cells}


def export_grid_zip(plan: GridPlan, records_by_key: Mapping[str, RunRecord | None], directory: Path,
                    base_url: str | None = None) -> Path:
    """The finished images, grid.csv and a manifest.json of the plan and every cell's exact request and result."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "grid.zip"
    manifest = grid_manifest(plan, records_by_key, base_url)
    # PNGs are stored as they are (deflating compressed data costs time and saves nothing); text is deflated.
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:
        for cell, entry in zip(plan.cells(), manifest["cells"]):
            record = records_by_key.get(cell.key)
            if record is not None and record.image_path and Path(record.image_path).is_file():
                entry["image"] = image_name(cell)
                archive.write(record.image_path, entry["image"])
        archive.writestr("grid.csv", grid_table(plan, records_by_key).to_csv(index=False),
                         compress_type=zipfile.ZIP_DEFLATED)
        archive.writestr("manifest.json", json.dumps(manifest, indent=2, ensure_ascii=False, default=str),
                         compress_type=zipfile.ZIP_DEFLATED)
    return path
