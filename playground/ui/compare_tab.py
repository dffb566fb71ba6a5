"""The Compare tab: one prompt, 2-8 models at once, a live tile per model, then a table, a chart and exports.

The tab reads its form into a ComparisonRequest, asks the run service to plan and start it, and renders the
snapshots; the table, chart and downloads are made from the tiles' RunRecords.
"""

from __future__ import annotations

import logging
import tempfile
from html import escape
from pathlib import Path

import gradio as gr

from playground.compare import MAX_MODELS, MIN_MODELS, CompareSnapshot, export_csv, export_zip, results_table, timing_frame
from playground.runs import RunRefused, RunUpdate
from playground.service import COMPARE_PREFIX, ComparisonPlan, ComparisonRequest, tile_key
from playground.ui.context import UIContext
from playground.ui.render import error_html, status_html

log = logging.getLogger(__name__)

DEFAULT_MODELS = ["krea/krea-2/medium", "bfl/flux-1-dev", "google/nano-banana-pro", "bytedance/seedream-4",
                  "openai/gpt-image-2"]


def tile_html(model, update: RunUpdate, notes, expected_seconds: float | None) -> str:
    adapted = "".join(f"<li>{escape(n)}</li>" for n in notes)
    return (f'<div class="tile-head"><b>{escape(model.name)}</b> <span class="muted">{escape(model.provider)}'
            f"</span></div>" + status_html(update, expected_seconds)
            + (f'<ul class="tile-notes">{adapted}</ul>' if adapted else ""))


def preflight_html(text: str, warn: bool = False) -> str:
    return f'<div class="preflight{" warn" if warn else ""}">{escape(text)}</div>'


def snapshot_outputs(snapshot: CompareSnapshot, plan: ComparisonPlan, out_dir: Path, base_url: str,
                     expected: dict[str, float]) -> tuple:
    """Every output of the Compare event for one snapshot: preflight line, 8 tiles, table, chart, downloads, seed."""
    done = snapshot.done
    first = (preflight_html(f"Finished in {snapshot.wall_seconds:.1f} s · {plan.preflight.line()}")
             if done else gr.skip())
    values: list = [first]
    for index in range(MAX_MODELS):
        if index >= len(plan.adapted):
            values.extend([gr.update(visible=False), gr.skip(), gr.skip()])
            continue
        item, update = plan.adapted[index], snapshot.updates[index]
        # Always the current picture: Gradio's diffing sends only changes (skipped image updates raced in the
        # browser and a tile could lose its final image).
        values.extend([gr.update(visible=True), tile_html(item.model, update, item.notes, expected[item.model.id]),
                       update.picture])
    records = snapshot.records(list(plan.adapted), plan.group_id)
    timings = timing_frame(records)
    # The chart is drawn once, complete: a Gradio plot that first receives an empty frame never draws bars
    # afterwards (seen in Chromium with gradio 6.31).
    values.append(results_table(records))
    values.append(timings if done and not timings.empty else gr.skip())
    exports = [gr.skip(), gr.skip()]
    if done:
        try:
            exports = [gr.update(value=str(export_csv(records, out_dir)), interactive=True),
                       gr.update(value=str(export_zip(records, out_dir, base_url)), interactive=True)]
        except OSError as exc:  # the results stay on screen; only the downloads are missing
            log.warning("comparison exports failed: %s", exc)
    values.extend(exports)
    values.append(plan.seed)
    return tuple(values)


def build_compare_tab(ctx: UIContext) -> None:
    models = ctx.service.text_models
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
    preflight_box = gr.HTML(elem_id="compare-preflight")

    tiles = []
    with gr.Row(elem_id="tile-grid"):  # a CSS grid: equal tiles that wrap, whatever the number of models
        for index in range(MAX_MODELS):
            with gr.Column(visible=False, min_width=220, elem_classes=["tile"], elem_id=f"tile-{index}") as column:
                head = gr.HTML(elem_id=f"tile-{index}-status")
                picture = gr.Image(format="jpeg", show_label=False, interactive=False, height=260,
                                   buttons=["download", "fullscreen"], elem_id=f"tile-{index}-image")
                stop = gr.Button("Stop", size="sm", variant="secondary", elem_id=f"tile-{index}-stop")
            tiles.append((column, head, picture, stop))

    with gr.Accordion("Results", open=True, elem_id="compare-results"):
        table = gr.Dataframe(elem_id="compare-table", interactive=False, wrap=True)
        chart = gr.BarPlot(x="model", y="seconds", color="part", title="Time per model (queue + run)",
                           elem_id="compare-chart", height=260)
        with gr.Row():
            csv_btn = gr.DownloadButton("Download table (CSV)", elem_id="compare-csv", interactive=False)
            zip_btn = gr.DownloadButton("Download images + manifest (ZIP)", elem_id="compare-zip",
                                        interactive=False)

    def read_form(prompt_text, model_ids, w, h, seed_value, randomize_seed, steps_value, guidance_value,
                  budget_value, unpriced_ok) -> ComparisonRequest:
        return ComparisonRequest(prompt=prompt_text or "", model_ids=tuple(model_ids or ()), width=w, height=h,
                                 seed=seed_value, randomize_seed=bool(randomize_seed), steps=steps_value,
                                 guidance=guidance_value, budget_usd=budget_value, allow_unpriced=bool(unpriced_ok))

    def describe(request: gr.Request, model_ids, w, h, steps_value, guidance_value, budget_value, unpriced_ok):
        """The preflight line, live as the form changes (for this session's backend). No seed is drawn here."""
        form = read_form("preview", model_ids, w, h, None, False, steps_value, guidance_value, budget_value,
                         unpriced_ok)
        session = request.session_hash or "anonymous"
        try:
            plan = ctx.service.plan_comparison(session, form)
        except RunRefused as refused:
            return preflight_html(refused.error.message, warn=True)
        try:
            ctx.service.check_budget(plan, form.allow_unpriced)
        except RunRefused as refused:
            return preflight_html(f"Preflight: {plan.preflight.line()}. {refused.error.message}", warn=True)
        return preflight_html(f"Preflight: {plan.preflight.line()}")

    form_inputs = [chosen, width, height, steps, guidance, budget, allow_unpriced]
    for component in form_inputs:
        component.change(describe, form_inputs, preflight_box, queue=False, api_visibility="private")
    ctx.demo.load(describe, form_inputs, preflight_box, queue=False, api_visibility="private")

    tile_outputs = [c for tile in tiles for c in tile[:3]]  # per tile: its column (visibility), head, image
    outputs = [preflight_box, *tile_outputs, table, chart, csv_btn, zip_btn, seed]

    def compare(request: gr.Request, *values):
        session = request.session_hash or "anonymous"
        form = read_form(*values)
        try:
            plan, snapshots = ctx.service.start_comparison(session, form)
        except RunRefused as refused:
            yield (error_html(refused.error), *[gr.skip()] * (len(outputs) - 1))
            return
        expected = {a.model.id: ctx.service.expected_seconds(session, a.model) for a in plan.adapted}
        base_url = ctx.sessions.route(session).settings.base_url
        out_dir = Path(tempfile.mkdtemp(prefix="compare-"))  # exports of this comparison only
        for snapshot in snapshots:
            yield snapshot_outputs(snapshot, plan, out_dir, base_url, expected)

    run_inputs = [prompt, chosen, width, height, seed, randomize, steps, guidance, budget, allow_unpriced]
    # Private: scripts use the documented /compare endpoint (playground/api.py).
    gr.on([compare_btn.click, prompt.submit], compare, run_inputs, outputs, api_name="ui_compare", api_visibility="private",
          concurrency_limit=ctx.concurrency_limit, concurrency_id="compare", show_progress="hidden")

    def stop_all(request: gr.Request):
        ctx.service.stop(request.session_hash or "anonymous", COMPARE_PREFIX)

    stop_all_btn.click(stop_all, None, None, queue=False, api_name="ui_stop_all",
                       api_visibility="private")
    for index, (_column, _head, _picture, stop_btn) in enumerate(tiles):
        def stop_tile(request: gr.Request, key=tile_key(COMPARE_PREFIX, index)):
            ctx.service.stop(request.session_hash or "anonymous", key)

        stop_btn.click(stop_tile, None, None, queue=False, api_visibility="private")
