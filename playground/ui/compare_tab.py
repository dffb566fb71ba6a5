"""The Compare tab: one prompt, 2-8 models at once, a live tile per model, then a table, a chart and exports.

The tab reads its form into a ComparisonRequest, asks the run service to plan and start it, and renders the
snapshots; the table, chart and downloads are made from the tiles' RunRecords. A finished comparison (a saved
ZIP, a History group) is shown in the same tiles through :meth:`CompareTab.show_past`, and "Re-run with today's
models" sends its exact requests again and sets each new image beside the old one, with a regression table.
"""

from __future__ import annotations

import logging
import math
import re
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from html import escape
from pathlib import Path
from typing import Any

import gradio as gr
import pandas as pd

from playground.bundles import IDENTICAL_VERDICTS, BundleError, image_verdict, read_bundle, regression_summary, \
    regression_table
from playground.catalog import Model, estimate_usd
from playground.compare import GUIDANCE_NAMES, MAX_MODELS, MIN_MODELS, STEP_NAMES, CompareSnapshot, export_csv, \
    export_zip, results_table, timing_frame
from playground.journal import off_the_loop
from playground.krea.errors import ErrorKind
from playground.recipes import CompareRecipe, RecipeError, compare_query
from playground.references import BadReference
from playground.runs import RunError, RunRecord, RunRefused, RunTimings, RunUpdate
from playground.service import COMPARE_PREFIX, ComparisonPlan, ComparisonRequest, tile_key
from playground.snippets import LANGUAGE_LABELS, LANGUAGES, comparison_snippet
from playground.ui.context import UIContext
from playground.ui.generate_tab import CODE_LANGUAGES, COPY_LINK_JS, SHOW_LINK_JS
from playground.ui.compare_diff import build_compare_diff
from playground.ui.references_box import build_references_box, gallery_paths, reference_error, reference_set
from playground.ui.render import error_html, status_html

log = logging.getLogger(__name__)

DEFAULT_MODELS = ["krea/krea-2/medium", "bfl/flux-1-dev", "google/nano-banana-pro", "bytedance/seedream-4",
                  "openai/gpt-image-2"]
BUNDLE_ROOT = Path(tempfile.gettempdir()) / "krea-playground-bundles"  # opened ZIPs' images (a temp dir: servable)
BUNDLE_MAX_AGE_S = 24 * 3600

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


# --- numbers from the form and from links ----------------------------------------------------------------------

def _whole(value: Any) -> int | None:
    try:
        number = float(str(value).strip())
    except (TypeError, ValueError):
        return None
    return int(number) if math.isfinite(number) and number.is_integer() else None


def _decimal(value: Any) -> float | None:
    try:
        number = float(str(value).strip())
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _text_number(value: Any) -> str:
    """What a Steps/Guidance text box shows for a number ("" means each model's default)."""
    number = _decimal(value)
    return "" if number is None else (str(int(number)) if number.is_integer() else f"{number:g}")


def form_recipe(prompt: str, model_ids, width, height, seed: int | None, steps, guidance) -> CompareRecipe:
    return CompareRecipe(prompt=prompt or "", model_ids=tuple(model_ids or ()), width=_whole(width),
                         height=_whole(height), seed=seed, steps=_whole(steps), guidance=_decimal(guidance))


def past_recipe(records: list[RunRecord], catalog) -> CompareRecipe:
    """The Compare form that would make a saved comparison again (as near as shared settings can say it)."""
    bodies = [r.params for r in records]
    seeds = {r.params["seed"] for r in records if isinstance(r.params.get("seed"), int)}
    sized = next((b for b in bodies if "width" in b and "height" in b), {})

    def first(names: tuple[str, ...]):
        return next((b[n] for b in bodies for n in names if b.get(n) is not None), None)

    ids = tuple(r.model_id for r in records if (m := catalog.find(r.model_id)) is not None and not m.needs_image)
    return CompareRecipe(prompt=records[0].prompt if records else "", model_ids=ids, width=sized.get("width"),
                         height=sized.get("height"), seed=seeds.pop() if len(seeds) == 1 else None,
                         steps=first(STEP_NAMES), guidance=first(GUIDANCE_NAMES))


def _bundle_folder() -> Path:
    """A fresh folder for one opened ZIP's images; folders older than a day are removed on the way."""
    BUNDLE_ROOT.mkdir(parents=True, exist_ok=True)
    cutoff = time.time() - BUNDLE_MAX_AGE_S
    for old in BUNDLE_ROOT.iterdir():
        try:
            if old.is_dir() and old.stat().st_mtime < cutoff:
                shutil.rmtree(old, ignore_errors=True)
        except OSError:
            pass
    return Path(tempfile.mkdtemp(prefix="bundle-", dir=BUNDLE_ROOT))


# --- the tab ---------------------------------------------------------------------------------------------------

@dataclass
class CompareTile:
    column: gr.Column
    head: gr.HTML
    before: gr.Image  # the saved run's image, beside the new one during a re-run
    picture: gr.Image
    stop: gr.Button  # shown while the tile runs
    use_as_reference: gr.Button  # shown once it has an image: the image joins the next comparison's references


@dataclass
class CompareTab:
    """What other parts of the page need from the Compare tab: filling its form, showing a past comparison."""

    fill_outputs: list  # prompt, models, width, height, seed, randomize, steps, guidance
    fill: Callable[[CompareRecipe], list]  # values for fill_outputs; RecipeError for models it cannot compare
    past_outputs: list  # what show_past sets: tiles, table, chart, downloads, code, the re-run bar
    show_past: Callable[..., list]  # (records, settings | None) -> values for past_outputs; runs nothing
    run: Callable  # the compare handler (a generator of snapshots), inputs run_inputs, outputs run_outputs
    run_inputs: list
    run_outputs: list
    query: gr.Textbox  # the form as a query string (tab=compare&…), set after each run
    models_box: gr.CheckboxGroup | None = None  # "Refresh models" sets its choices


def build_compare_tab(ctx: UIContext) -> CompareTab:
    models = list(ctx.catalog.models)  # image-only models too: they take the shared image to edit
    known = {m.id for m in models}

    with gr.Row(elem_id="compare-run-row"):
        prompt = gr.Textbox(label="Prompt", lines=1, max_lines=6, elem_id="compare-prompt", scale=5,
                            placeholder="One prompt for every chosen model…  (Enter to compare)")
        with gr.Column(scale=1, min_width=160):
            compare_btn = gr.Button("Compare", variant="primary", elem_id="compare-btn")
            stop_all_btn = gr.Button("Stop all", variant="stop", elem_id="stop-all-btn")
    chosen = gr.CheckboxGroup([(f"{m.name}", m.id) for m in models], value=[m for m in DEFAULT_MODELS if m in known],
                              label=f"Models ({MIN_MODELS}–{MAX_MODELS})", elem_id="compare-models")
    with gr.Row(elem_id="compare-settings"):
        width = gr.Number(1024, label="Width", precision=0, elem_id="compare-width", min_width=120)
        height = gr.Number(1024, label="Height", precision=0, elem_id="compare-height", min_width=120)
        seed = gr.Number(0, label="Seed", precision=0, elem_id="compare-seed", min_width=140)
        randomize = gr.Checkbox(True, label="Randomize seed", elem_id="compare-randomize", min_width=150)
        # Text boxes, not numbers: empty must mean "each model's default" / "no cap", and a Number shows 0.
        steps = gr.Textbox(label="Steps", placeholder="model default", elem_id="compare-steps", min_width=110)
        guidance = gr.Textbox(label="Guidance", placeholder="model default", elem_id="compare-guidance",
                              min_width=110)
        budget = gr.Textbox(label="Budget cap ($)", placeholder="no cap", elem_id="compare-budget", min_width=110)
        allow_unpriced = gr.Checkbox(False, label="Allow unpriced models under a cap", elem_id="compare-unpriced",
                                     min_width=150)
    refs = build_references_box(None, prefix="compare-",
                                label="Reference images · shared by every model, each uses what it can")
    preflight_box = gr.HTML(elem_id="compare-preflight")
    with gr.Row(visible=False, elem_id="compare-past-bar", equal_height=False) as past_bar:
        past_note = gr.HTML(elem_id="compare-past-note", scale=4, min_width=300)
        rerun_btn = gr.Button("↻ Re-run with today's models", variant="primary", elem_id="compare-rerun",
                              interactive=False, scale=0, min_width=230)

    tiles: list[CompareTile] = []
    # A CSS grid (compare.css) whose rows hold equal numbers of tiles; each tile's parts (name, status card,
    # images, notes, buttons) line up across a row.
    with gr.Row(elem_id="tile-grid"):
        for index in range(MAX_MODELS):
            with gr.Column(visible=False, min_width=220, elem_classes=["tile"], elem_id=f"tile-{index}") as column:
                head = gr.HTML(elem_id=f"tile-{index}-status")
                with gr.Row(elem_classes=["tile-images"]):
                    before = gr.Image(label="Before", format="jpeg", interactive=False, height=260, visible=False,
                                      buttons=["download", "fullscreen"], min_width=100,
                                      elem_id=f"tile-{index}-before-image", elem_classes=["tile-before"])
                    picture = gr.Image(label="Now", format="jpeg", type="filepath", show_label=False,
                                       interactive=False, height=260, buttons=["download", "fullscreen"],
                                       min_width=100, elem_id=f"tile-{index}-image")
                with gr.Row(elem_classes=["tile-actions"]):
                    stop = gr.Button("Stop", size="sm", variant="secondary", elem_id=f"tile-{index}-stop")
                    use = gr.Button("Use as reference", size="sm", variant="secondary", visible=False,
                                    elem_id=f"tile-{index}-use-as-reference")
            tiles.append(CompareTile(column, head, before, picture, stop, use))

    build_compare_diff(tiles)
    with gr.Accordion("Results", open=True, elem_id="compare-results"):
        with gr.Column(visible=False, elem_id="compare-regression-box") as regression_box:
            regression_note = gr.HTML(elem_id="compare-regression-summary")
            regression = gr.HTML(frame_html(None), elem_id="compare-regression")
        # An HTML table that fits the page, from the same frame the CSV is made of (Gradio's Dataframe scrolled
        # the notes and errors out of sight and drew a tall header, and "1 2 3" before the first run).
        table = gr.HTML(frame_html(None), elem_id="compare-table")
        # Bars in tile order (the `sort` list is set with each value); labels at 45° stay apart on a phone.
        # Hidden until the first comparison ends (an empty plot is a blank box).
        chart = gr.BarPlot(x="model", y="seconds", color="part", title="Time per model (queue + run)",
                           elem_id="compare-chart", height=260, x_label_angle=-45, visible=False)
        with gr.Row():
            csv_btn = gr.DownloadButton("Download table (CSV)", elem_id="compare-csv", interactive=False)
            zip_btn = gr.DownloadButton("Download images + manifest (ZIP)", elem_id="compare-zip",
                                        interactive=False)
    with gr.Row(elem_id="compare-share-row"):
        copy_link = gr.Button("Copy link", size="sm", elem_id="compare-copy-link", scale=0, min_width=140)
        link_box = gr.Textbox(show_label=False, elem_id="compare-share-link", interactive=False, scale=3,
                              max_lines=1,
                              min_width=280,
                              placeholder="A link that opens Compare with this prompt, these models and settings",
                              buttons=["copy"])
    query = gr.Textbox(visible=False, elem_id="compare-query")
    with gr.Accordion("Copy as code (all calls at once)", open=False, elem_id="compare-code") as code_accordion:
        with gr.Tabs():
            code_boxes = {}
            for language in LANGUAGES:
                with gr.Tab(LANGUAGE_LABELS[language]):
                    code_boxes[language] = gr.Code(language=CODE_LANGUAGES[language], interactive=False,
                                                   elem_id=f"compare-code-{language}")
    with gr.Accordion("Open a saved comparison (ZIP) · re-run it", open=False, elem_id="compare-open"):
        bundle_file = gr.File(label="Open a comparison (ZIP)", file_types=[".zip"], type="filepath",
                              elem_id="compare-bundle", height=110)
        bundle_note = gr.HTML('<div class="muted">A ZIP saved with “Download images + manifest (ZIP)”: its '
                              "results are shown in the tiles above, and “Re-run with today's models” sends the "
                              "same requests again to see what changed.</div>", elem_id="compare-bundle-note")
    past = gr.State(None)  # the records shown by show_past: what a re-run sends again and compares with

    tile_outputs = [c for t in tiles
                    for c in (t.column, t.head, t.before, t.picture, t.stop, t.use_as_reference)]
    results = [table, chart, csv_btn, zip_btn]
    code_outputs = [code_accordion, *code_boxes.values()]
    past_view = [past, past_bar, past_note, rerun_btn, regression_box, regression_note, regression]
    run_outputs = [preflight_box, *tile_outputs, *results, seed, query, *code_outputs, *past_view]
    past_outputs = [preflight_box, *tile_outputs, *results, *code_outputs, *past_view]

    def listed(values: dict, components: list) -> list:
        return [values.get(c, gr.skip()) for c in components]

    # --- values for groups of outputs ---------------------------------------------------------------------

    def code_values(base_url: str, calls: list[tuple[str, dict]]) -> dict:
        values: dict = {code_accordion: gr.update(label=f"Copy as code (all {len(calls)} calls at once)")}
        for language, box in code_boxes.items():
            values[box] = comparison_snippet(language, base_url, calls) if calls else ""
        return values

    def chart_update(timings: pd.DataFrame) -> dict:
        """The timing chart with its bars in tile order (Gradio's default sorts the models by name)."""
        return gr.update(value=timings, visible=True, sort=list(dict.fromkeys(timings["model"])))

    def export_values(records: list[RunRecord], out_dir: Path, base_url: str) -> dict:
        try:
            return {csv_btn: gr.update(value=str(export_csv(records, out_dir)), interactive=True),
                    zip_btn: gr.update(value=str(export_zip(records, out_dir, base_url)), interactive=True)}
        except OSError as exc:  # the results stay on screen; only the downloads are missing
            log.warning("comparison exports failed: %s", exc)
            missing = gr.update(value=None, interactive=False)
            return {csv_btn: missing, zip_btn: missing}

    def snapshot_values(snapshot: CompareSnapshot, plan: ComparisonPlan, out_dir: Path, base_url: str,
                        expected: dict[str, float], old: list[RunRecord] | None = None,
                        verdict: Callable[[RunRecord, RunRecord], str] | None = None) -> dict:
        """Tiles, table, chart and downloads for one snapshot; with `old`, each old image beside its re-run and
        the regression table."""
        done = snapshot.done
        values: dict = {}
        if done:
            word = "Re-run finished" if old is not None else "Finished"
            values[preflight_box] = preflight_html(f"{word} in {snapshot.wall_seconds:.1f} s · "
                                                   f"{plan.preflight.line()}")
        for index, tile in enumerate(tiles):
            if index >= len(plan.adapted):
                values[tile.column] = gr.update(visible=False)
                continue
            item, update = plan.adapted[index], snapshot.updates[index]
            before = old[index] if old is not None and index < len(old) else None
            values[tile.column] = gr.update(visible=True)
            values[tile.head] = tile_html(item.model, update, item.notes, expected[item.model.id])
            values[tile.stop] = gr.update(visible=not update.is_terminal)
            values[tile.use_as_reference] = gr.update(visible=bool(update.image_path))
            values[tile.before] = (gr.update(visible=True, value=before.image_path) if before is not None
                                   else gr.update(visible=False, value=None))
            # Always the current picture: Gradio's diffing sends only changes (skipped image updates raced in
            # the browser and a tile could lose its final image).
            values[tile.picture] = gr.update(value=update.picture, show_label=before is not None)
        records = snapshot.records(list(plan.adapted), plan.group_id)
        values[table] = frame_html(results_table(records))
        timings = timing_frame(records)
        # The chart is drawn once, complete: a Gradio plot that first receives an empty frame never draws bars
        # afterwards (seen in Chromium with gradio 6.31).
        if done and not timings.empty:
            values[chart] = chart_update(timings)
        if done:
            values.update(export_values(records, out_dir, base_url))
        if old is not None:
            frame = regression_table(old, records, verdict)
            values[regression] = frame_html(frame)
            values[regression_note] = regression_html(frame, done)
        return values

    # --- the form ---------------------------------------------------------------------------------------

    def read_form(prompt_text, model_ids, w, h, seed_value, randomize_seed, steps_value, guidance_value,
                  budget_value, unpriced_ok) -> ComparisonRequest:
        return ComparisonRequest(prompt=prompt_text or "", model_ids=tuple(model_ids or ()), width=w, height=h,
                                 seed=seed_value, randomize_seed=bool(randomize_seed), steps=steps_value,
                                 guidance=guidance_value, budget_usd=budget_value, allow_unpriced=bool(unpriced_ok))

    def describe(request: gr.Request, model_ids, w, h, steps_value, guidance_value, budget_value, unpriced_ok,
                 *pictures):
        """The preflight line, live as the form changes (for this session's backend), with what each model does
        with the shared pictures and their effect on the price. No seed is drawn, nothing is uploaded."""
        form = read_form("preview", model_ids, w, h, None, False, steps_value, guidance_value, budget_value,
                         unpriced_ok)
        session = request.session_hash or "anonymous"
        try:
            plan = ctx.service.plan_comparison(session, form, references=reference_set(*pictures))
        except BadReference as exc:
            return preflight_html(reference_error(exc), warn=True)
        except RunRefused as refused:
            return preflight_html(refused.error.message, warn=True)
        try:
            ctx.service.check_budget(plan, form.allow_unpriced)
        except RunRefused as refused:
            return preflight_html(f"Preflight: {plan.preflight.line()}. {refused.error.message}", warn=True)
        return preflight_html(f"Preflight: {plan.preflight.line()}") + reference_plan_html(plan)

    form_inputs = [chosen, width, height, steps, guidance, budget, allow_unpriced, *refs.components()]
    for component in form_inputs:
        component.change(describe, form_inputs, preflight_box, queue=False, api_visibility="private")
    ctx.demo.load(describe, form_inputs, preflight_box, queue=False, api_visibility="private")

    fill_outputs = [prompt, chosen, width, height, seed, randomize, steps, guidance]

    def fill(recipe: CompareRecipe) -> list:
        """The Compare form as a recipe describes it (a link, a History group); unknown models: RecipeError."""
        ids: list[str] = []
        for model_id in recipe.model_ids:
            model = ctx.catalog.find(str(model_id))
            if model is None:
                raise RecipeError(f"The model {str(model_id)[:80]!r} is not one this playground can compare.")
            if model.id not in ids:
                ids.append(model.id)
        seed_number = _whole(recipe.seed) if recipe.seed is not None else None
        return [recipe.prompt or "", ids, _whole(recipe.width) or 1024, _whole(recipe.height) or 1024,
                seed_number if seed_number is not None else gr.update(), seed_number is None,
                _text_number(recipe.steps) if recipe.steps is not None else "",
                _text_number(recipe.guidance) if recipe.guidance is not None else ""]

    # --- running ----------------------------------------------------------------------------------------

    async def compare(request: gr.Request, *values):
        session = request.session_hash or "anonymous"
        form = read_form(*values[:-3])
        try:
            references = reference_set(*values[-3:])
            plan, snapshots = await off_the_loop(ctx.service.start_comparison, session, form,
                                                 references=references)
        except BadReference as exc:
            error = RunError(ErrorKind.INVALID, reference_error(exc), field="references")
            yield listed({preflight_box: error_html(error)}, run_outputs)
            return
        except RunRefused as refused:
            yield listed({preflight_box: error_html(refused.error)}, run_outputs)
            return
        expected = {a.model.id: ctx.service.expected_seconds(session, a.model) for a in plan.adapted}
        base_url = ctx.sessions.route(session).settings.base_url
        out_dir = Path(tempfile.mkdtemp(prefix="compare-"))  # exports of this comparison only
        link = form_recipe(form.prompt, [a.model.id for a in plan.adapted], form.width, form.height, plan.seed,
                           form.steps, form.guidance)
        first: dict | None = {
            seed: plan.seed, query: compare_query(link),
            **code_values(base_url, [(a.model.path, a.params) for a in plan.adapted]),
            past: None, past_bar: gr.update(visible=False), rerun_btn: gr.update(interactive=False),
            regression_box: gr.update(visible=False),
        }
        async for snapshot in snapshots:
            values = snapshot_values(snapshot, plan, out_dir, base_url, expected)
            if first is not None:
                values.update(first)
                first = None
            yield listed(values, run_outputs)

    run_inputs = [prompt, chosen, width, height, seed, randomize, steps, guidance, budget, allow_unpriced,
                  *refs.components()]
    # Private: scripts use the documented /compare endpoint (playground/api.py).
    gr.on([compare_btn.click, prompt.submit], compare, run_inputs, run_outputs, api_name="ui_compare",
          api_visibility="private", concurrency_limit=ctx.concurrency_limit, concurrency_id="compare",
          show_progress="hidden")
    query.change(None, query, link_box, js=SHOW_LINK_JS, api_visibility="private")

    def link_query(prompt_text, model_ids, w, h, seed_value, randomize_seed, steps_value, guidance_value) -> str:
        """The form as it stands, as a query string (the seed only when it is fixed)."""
        seed_number = None if randomize_seed else _whole(seed_value)
        return compare_query(form_recipe(prompt_text, model_ids, w, h, seed_number, steps_value, guidance_value))

    copy_link.click(link_query, fill_outputs, query, queue=False, api_name="ui_compare_link",
                    api_visibility="private").then(
        None, query, link_box, js=COPY_LINK_JS, api_visibility="private")

    # --- a past comparison and its re-run -----------------------------------------------------------------

    def tidy(record: RunRecord) -> RunRecord:
        """The catalog's model name (the store keeps only ids), and no image path whose file is gone."""
        model = ctx.catalog.find(record.model_id)
        if model is not None and record.model_name != model.name:
            record = replace(record, model_name=model.name)
        if record.image_path and not Path(record.image_path).is_file():
            record = replace(record, image_path=None)
        return record

    def show_past(records: list[RunRecord], settings: dict | None = None) -> list:
        """Values for past_outputs showing a finished comparison (History, a ZIP) without running anything.
        `settings` is the group's saved settings; "source" and "api_base" in it say where it came from."""
        settings = dict(settings or {})
        order = settings.get("model_ids")
        if isinstance(order, list):  # tile order (the store's order is the order the tiles' threads wrote in)
            records = sorted(records, key=lambda r: order.index(r.model_id) if r.model_id in order else len(order))
        shown = [tidy(r) for r in records][:MAX_MODELS]
        values: dict = {preflight_box: ""}
        for index, tile in enumerate(tiles):
            if index >= len(shown):
                values[tile.column] = gr.update(visible=False)
                continue
            record = shown[index]
            values[tile.column] = gr.update(visible=True)
            values[tile.head] = past_tile_html(record, ctx.catalog.find(record.model_id))
            values[tile.stop] = gr.update(visible=False)
            values[tile.use_as_reference] = gr.update(visible=bool(record.image_path))
            values[tile.before] = gr.update(visible=False, value=None)
            values[tile.picture] = gr.update(value=record.image_path, show_label=False)
        values[table] = frame_html(results_table(shown))
        timings = timing_frame(shown)
        values[chart] = chart_update(timings) if not timings.empty else gr.update(visible=False)
        api_base = str(settings.get("api_base") or ctx.backend.base_url)
        values.update(export_values(shown, Path(tempfile.mkdtemp(prefix="compare-")), api_base))
        values.update(code_values(api_base, [(r.request_path, r.params) for r in shown]))
        values.update({past: shown, past_bar: gr.update(visible=bool(shown)),
                       past_note: past_note_html(shown, settings, ctx.catalog),
                       rerun_btn: gr.update(interactive=bool(shown)), regression_box: gr.update(visible=False)})
        return listed(values, past_outputs)

    def open_bundle(path: str | None):
        untouched = [gr.skip()] * (len(fill_outputs) + len(past_outputs))
        if not path:
            return [*untouched, gr.skip()]
        folder = _bundle_folder()
        name = Path(path).name
        try:
            bundle = read_bundle(path, folder, ctx.catalog)
        except BundleError as exc:
            shutil.rmtree(folder, ignore_errors=True)
            return [*untouched, bundle_error_html(str(exc))]
        records = list(bundle.records)
        values = show_past(records, {"api_base": bundle.api_base, "source": name})
        note = (f'<div class="bundle-loaded">Opened <b>{escape(name)}</b>: {len(records)} runs, shown in '
                "the tiles above. Press “Re-run with today's models” to send the same requests again.</div>")
        return [*fill(past_recipe(records, ctx.catalog)), *values, note]

    bundle_file.upload(open_bundle, bundle_file, [*fill_outputs, *past_outputs, bundle_note],
                       api_name="ui_open_comparison", api_visibility="private",
                       concurrency_limit=ctx.concurrency_limit, concurrency_id="compare-open",
                       show_progress="minimal")

    async def rerun(request: gr.Request, old: list[RunRecord] | None):
        session = request.session_hash or "anonymous"
        if not old:
            yield listed({preflight_box: preflight_html("Open a saved comparison first (a ZIP, or a comparison "
                                                        "from History).", warn=True)}, run_outputs)
            return
        try:
            plan, snapshots = await off_the_loop(ctx.service.start_rerun, session,
                                                 [(r.model_id, r.params) for r in old])
        except RunRefused as refused:
            yield listed({preflight_box: error_html(refused.error)}, run_outputs)
            return
        expected = {a.model.id: ctx.service.expected_seconds(session, a.model) for a in plan.adapted}
        base_url = ctx.sessions.route(session).settings.base_url
        out_dir = Path(tempfile.mkdtemp(prefix="compare-"))
        verdicts: dict[tuple, str] = {}

        def verdict(before: RunRecord, after: RunRecord) -> str:  # each pair of images is compared once
            key = (before.image_path, after.image_path)
            if key not in verdicts:
                verdicts[key] = image_verdict(before.image_path, after.image_path, "seed" in after.params)
            return verdicts[key]

        first: dict | None = {
            preflight_box: preflight_html(f"Re-running {len(plan.adapted)} saved requests exactly as they were · "
                                          f"{plan.preflight.line()}"),
            rerun_btn: gr.update(interactive=False), regression_box: gr.update(visible=True),
            **code_values(base_url, [(a.model.path, a.params) for a in plan.adapted]),
        }
        async for snapshot in snapshots:
            values = snapshot_values(snapshot, plan, out_dir, base_url, expected, old=old, verdict=verdict)
            if first is not None:
                values.update(first)
                first = None
            if snapshot.done:
                values[rerun_btn] = gr.update(interactive=True)
            yield listed(values, run_outputs)

    rerun_btn.click(rerun, past, run_outputs, api_name="ui_rerun", api_visibility="private",
                    concurrency_limit=ctx.concurrency_limit, concurrency_id="compare", show_progress="hidden")

    # --- stopping ---------------------------------------------------------------------------------------

    def stop_all(request: gr.Request):
        ctx.service.stop(request.session_hash or "anonymous", COMPARE_PREFIX)

    stop_all_btn.click(stop_all, None, None, queue=False, api_name="ui_stop_all",
                       api_visibility="private")
    def add_tile_picture(picture, current):
        """A tile's image joins the shared references of the next comparison, and their box opens."""
        if not picture:
            return gr.skip(), gr.skip()
        return [*gallery_paths(current), picture], gr.update(open=True)

    for index, tile in enumerate(tiles):
        def stop_tile(request: gr.Request, key=tile_key(COMPARE_PREFIX, index)):
            ctx.service.stop(request.session_hash or "anonymous", key)

        tile.stop.click(stop_tile, None, None, queue=False, api_visibility="private")
        tile.use_as_reference.click(add_tile_picture, [tile.picture, refs.pictures], [refs.pictures, refs.accordion],
                                    queue=False, api_visibility="private")

    return CompareTab(fill_outputs=fill_outputs, fill=fill, past_outputs=past_outputs, show_past=show_past,
                      run=compare, run_inputs=run_inputs, run_outputs=run_outputs, query=query, models_box=chosen)
