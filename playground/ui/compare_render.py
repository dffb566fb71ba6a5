"""The Compare tab's HTML: tile heads and feet, the preflight and reference plan, a saved comparison's note, and the
results and regression tables (plain HTML tables that fit the page). Pure functions of records and plans."""

from __future__ import annotations

import math
import re
from dataclasses import replace
from html import escape
from typing import Any

import pandas as pd

from playground.bundles import IDENTICAL_VERDICTS, regression_summary
from playground.catalog import Model, estimate_usd
from playground.runs import RunError, RunRecord, RunTimings, RunUpdate
from playground.service import ComparisonPlan
from playground.ui.render import error_html, status_html

# --- HTML fragments --------------------------------------------------------------------------------------------

def tile_html(model, update: RunUpdate, notes, expected_seconds: float | None) -> str:
    """A tile's head (the model, its status card) and foot (any error, then how the shared settings were adapted
    to the model). compare.css sets the foot under the image, so the images of a row line up."""
    return (f'<div class="tile-head"><b>{escape(model.name)}</b> <span class="muted">{escape(model.provider)}'
            f"</span></div>" + status_html(replace(update, error=None), expected_seconds)
            + tile_foot_html(update.error, notes))


def tile_foot_html(error: RunError | None, notes) -> str:
    items = "".join(f"<li>{escape(n)}</li>" for n in notes)
    return ('<div class="tile-foot">' + (error_html(error) if error is not None else "")
            + (f'<ul class="tile-notes">{items}</ul>' if items else "") + "</div>")


def preflight_html(text: str, warn: bool = False) -> str:
    return f'<div class="preflight{" warn" if warn else ""}">{escape(text)}</div>'


def reference_plan_html(plan: ComparisonPlan) -> str:
    """With shared pictures: what each model will do with them, before anything is sent."""
    if plan.references is None or plan.references.is_empty:
        return ""
    items, extra = [], 0.0
    for a in plan.adapted:
        base, now = a.model.price.usd, estimate_usd(a.model, a.params)
        price = ""
        if base is not None and now is not None and abs(now - base) > 1e-9:
            extra += now - base
            price = f" · ${now:.3f} with them (${base:.3f} without)"
        items.append(f"<li><b>{escape(a.model.name)}</b>: {escape('; '.join(a.notes) or 'uses them as given')}"
                     f"{escape(price)}</li>")
    added = f'<div class="muted">The pictures add ≈ ${extra:.3f} in all.</div>' if extra else ""
    return f'<ul class="reference-notes" id="compare-reference-plan">{"".join(items)}</ul>{added}'


def past_update(record: RunRecord) -> RunUpdate:
    """A finished run as the last update it had, for the status card of a tile that shows a past comparison."""
    label = record.status_word if record.is_terminal else "Unfinished when saved"
    return RunUpdate(model_id=record.model_id, phase=record.phase, label=label, run_id=record.run_id,
                     started_at=record.started_at, backend=record.backend, status=record.status,
                     job_id=record.job_id, seed=record.seed,
                     timings=RunTimings(elapsed=record.total_s or 0.0, queue=record.queue_s, run=record.run_s),
                     image_path=record.image_path, image_size=record.image_size, error=record.error,
                     params=dict(record.params))


def past_tile_html(record: RunRecord, model: Model | None) -> str:
    """A tile's head, status card and foot for a saved run. Nothing ticks: it is not running here."""
    provider = model.provider if model is not None else "no longer in this playground's catalog"
    head = (f'<div class="tile-head"><b>{escape(record.model_name)}</b> <span class="muted">{escape(provider)}'
            "</span></div>")
    card = re.sub(r' data-tick="[^"]*"', "", status_html(replace(past_update(record), error=None)))
    return head + card + tile_foot_html(record.error, record.notes)


def _when(started_at: str) -> str:
    return started_at[:16].replace("T", " ") + " UTC" if len(started_at) >= 16 else ""


def past_note_html(records: list[RunRecord], settings: dict, catalog) -> str:
    """What is on screen (a saved comparison: where from, prompt, seed, when) and what a re-run would send."""
    prompt = str(settings.get("prompt") or (records[0].prompt if records else ""))
    seeds = sorted({r.seed for r in records if r.seed is not None})
    facts = [f"{len(records)} runs", f"“{prompt[:140]}{'…' if len(prompt) > 140 else ''}”"]
    if len(seeds) == 1:
        facts.append(f"seed {seeds[0]}")
    started = sorted(r.started_at for r in records if r.started_at)
    if started and _when(started[0]):
        facts.append(_when(started[0]))
    backends = sorted({r.backend for r in records if r.backend})
    if backends:
        facts.append(" + ".join(backends))
    source = str(settings.get("source") or "from History")
    models = [catalog.find(r.model_id) for r in records]
    cost = sum(m.price.usd for m in models if m is not None and m.price.usd is not None)
    unpriced = [m.name for m in models if m is not None and m.price.usd is None]
    gone = [r.model_name for r, m in zip(records, models) if m is None]
    estimate = f"≈ ${cost:.3f}" + (f" + {len(unpriced)} unpriced ({', '.join(unpriced)})" if unpriced else "")
    warning = (f'<div class="past-warn">Not in today\'s catalog (a re-run will be refused): {escape(", ".join(gone))}'
               "</div>" if gone else "")
    return (f'<div class="past-note"><b>Saved comparison</b> <span class="muted">({escape(source)})</span> · '
            + " · ".join(escape(f) for f in facts)
            + f'<div class="muted">Re-run sends these {len(records)} requests again exactly as saved (same bodies, '
              f"same seeds) and sets each new image beside the old one. {escape(estimate)} · no budget cap.</div>"
            + warning + "</div>")


def bundle_error_html(message: str) -> str:
    return (f'<div class="run-error" role="alert" data-kind="invalid" data-field="bundle"><b>Can\'t open this '
            f"file</b><div>{escape(message)}</div></div>")


def regression_html(frame: pd.DataFrame, done: bool) -> str:
    text = regression_summary(frame)
    same = done and bool(len(frame)) and frame["image"].isin(IDENTICAL_VERDICTS).all() \
        and (frame["old status"] == frame["new status"]).all()
    state = "ok" if same else ("warn" if done else "running")
    return f'<div class="regression-summary {state}"><b>Old vs new</b> · {escape(text)}</div>'


RESULTS_EMPTY = ("No results yet. Press Compare: each model's status, queue and run time, cost, size, seed, job id, "
                 "notes and any error are listed here.")


def _column_class(name: str) -> str:
    return "col-" + re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def _cell_text(column: str, value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return ""
    if isinstance(value, float):
        return f"{value:.2f}" if column.endswith(" s") else f"{value:g}"
    return str(value)


def frame_html(frame: pd.DataFrame | None, empty: str = RESULTS_EMPTY) -> str:
    """A results frame as a plain HTML table: every row drawn (no virtual scrolling), one-line headers, long
    notes and errors wrapped in their cells; `empty` when there are no rows yet."""
    if frame is None or frame.empty:
        return f'<div class="results-empty">{escape(empty)}</div>'
    columns = [str(c) for c in frame.columns]
    numeric = {c for c in columns if c.endswith((" s", " $")) or c == "seed"}
    classes = {c: _column_class(c) + (" num" if c in numeric else "") for c in columns}
    head = "".join(f'<th scope="col" class="{classes[c]}">{escape(c)}</th>' for c in columns)
    rows = []
    for values in frame.itertuples(index=False, name=None):
        cells = {c: _cell_text(c, v) for c, v in zip(columns, values)}
        status = (cells.get("status") or cells.get("new status") or "").lower()
        body = "".join(
            f'<td class="{classes[c]}">' + (f"<code>{escape(t)}</code>" if c == "job id" and t else escape(t))
            + "</td>" for c, t in cells.items())
        rows.append(f'<tr data-status="{escape(status)}">{body}</tr>')
    return (f'<div class="results-wrap"><table class="results-table"><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table></div>')
