"""The Compare tab: one prompt, 2-8 models at once, a live tile per model, then a table, a chart and exports.

The tab reads its form into a ComparisonRequest, asks the run service to plan and start it, and renders the
snapshots; the table, chart and downloads are made from the tiles' RunRecords. A finished comparison (a saved
ZIP, a History group) is shown in the same tiles through :meth:`CompareTab.show_past`, and "Re-run with today's
models" sends its exact requests again and sets each new image beside the old one, with a regression table.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from html import escape
from pathlib import Path

import gradio as gr
import pandas as pd

from playground.bundles import BundleError, image_verdict, read_bundle, regression_table
from playground.compare import MAX_MODELS, MIN_MODELS, CompareSnapshot, export_csv, \
    export_zip, results_table, timing_frame
from playground.journal import off_the_loop
from playground.krea.errors import ErrorKind
from playground.recipes import CompareRecipe, RecipeError, compare_query
from playground.references import BadReference
from playground.runs import RunError, RunRecord, RunRefused
from playground.service import COMPARE_PREFIX, ComparisonPlan, ComparisonRequest, tile_key
from playground.snippets import LANGUAGE_LABELS, LANGUAGES, comparison_snippet
from playground.ui.context import UIContext
from playground.ui.generate_tab import CODE_LANGUAGES, COPY_LINK_JS, SHOW_LINK_JS
from playground.ui.compare_diff import build_compare_diff
from playground.ui.references_box import build_references_box, gallery_paths, reference_error, reference_set
from playground.ui.compare_forms import bundle_folder, text_number, whole_number, form_recipe, past_recipe
from playground.ui.compare_render import (
    bundle_error_html,
    frame_html,
    past_note_html,
    past_tile_html,
    preflight_html,
    reference_plan_html,
    regression_html,
    tile_html,
)
from playground.ui.render import error_html

log = logging.getLogger(__name__)

DEFAULT_MODELS = ["krea/krea-2/medium", "bfl/flux-1-dev", "google/nano-banana-pro", "bytedance/seedream-4",
                  "openai/gpt-image-2"]

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
        seed_number = whole_number(recipe.seed) if recipe.seed is not None else None
        return [recipe.prompt or "", ids, whole_number(recipe.width) or 1024, whole_number(recipe.height) or 1024,
                seed_number if seed_number is not None else gr.update(), seed_number is None,
                text_number(recipe.steps) if recipe.steps is not None else "",
                text_number(recipe.guidance) if recipe.guidance is not None else ""]

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
        seed_number = None if randomize_seed else whole_number(seed_value)
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
        folder = bundle_folder()
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
