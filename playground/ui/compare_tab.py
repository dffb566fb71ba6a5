"""The Compare tab: one prompt, 2-8 models at once, a live tile per model, then a table, a chart and exports."""

from __future__ import annotations

import random
import tempfile
from html import escape
from pathlib import Path

import gradio as gr
import pandas as pd

from playground.compare import (
    MAX_MODELS,
    MIN_MODELS,
    SharedSettings,
    adapt,
    export_csv,
    export_zip,
    preflight,
    results_table,
    run_comparison,
)
from playground.ui.context import UIContext
from playground.ui.form import MAX_SEED
from playground.ui.render import NO_TOKEN, status_html

DEFAULT_MODELS = ["krea/krea-2/medium", "bfl/flux-1-dev", "google/nano-banana-pro", "bytedance/seedream-4",
                  "openai/gpt-image-2"]
RUN_PREFIX = "compare:"


def tile_key(index: int) -> str:
    return f"{RUN_PREFIX}{index}:"


def tile_html(model, update, notes) -> str:
    adapted = "".join(f"<li>{escape(n)}</li>" for n in notes)
    return (f'<div class="tile-head"><b>{escape(model.name)}</b> <span class="muted">{escape(model.provider)}'
            f"</span></div>" + status_html(update, model.expected_seconds)
            + (f'<ul class="tile-notes">{adapted}</ul>' if adapted else ""))


def optional_number(text, label: str, integer: bool = False) -> float | int | None:
    """Empty means "not set"; anything else must be a number (the error names the field)."""
    if text is None or str(text).strip() == "":
        return None
    try:
        value = float(str(text).strip().lstrip("$"))
    except ValueError:
        raise ValueError(f"{label} must be a number or empty (got {text!r}).") from None
    if integer and not value.is_integer():
        raise ValueError(f"{label} must be a whole number (got {text!r}).")
    return int(value) if integer else value


def timing_frame(table: pd.DataFrame) -> pd.DataFrame:
    """Long form (model, part, seconds) for a stacked bar of queue and run time per model."""
    rows = []
    for _, row in table.iterrows():
        for part, column in (("queue", "queue s"), ("run", "run s")):
            value = row[column]
            if value is not None and not pd.isna(value):
                rows.append({"model": row["model"], "part": part, "seconds": float(value)})
    # Explicit dtypes: an empty frame would otherwise be all-object and the plot would read seconds as categories.
    return pd.DataFrame(rows, columns=["model", "part", "seconds"]).astype(
        {"model": "string", "part": "string", "seconds": "float64"})


def snapshot_outputs(snapshot, adapted, plan, out_dir: Path, base_url: str, seed_used) -> tuple:
    """Every output of the Compare event for one snapshot: preflight line, 8 tiles, table, chart, downloads, seed."""
    done = snapshot.done
    first = (f'<div class="preflight">Finished in {snapshot.wall_seconds:.1f} s · {escape(plan.line())}</div>'
             if done else gr.skip())
    values = [first]
    for index in range(MAX_MODELS):
        if index >= len(adapted):
            values.extend([gr.update(visible=False), gr.skip(), gr.skip()])
            continue
        item = adapted[index]
        update = snapshot.updates[item.model.id]
        picture = update.image_path or update.preview
        if update.is_terminal and not update.image_path and update.phase != "cancelled":
            picture = None
        # Always the current picture: Gradio's diffing sends only changes (skipped image updates raced in the
        # browser and a tile could lose its final image).
        values.extend([gr.update(visible=True), tile_html(item.model, update, item.notes), picture])
    frame = results_table(snapshot, adapted)
    timings = timing_frame(frame)
    # The chart is drawn once, complete: a Gradio plot that first receives an empty frame never draws bars
    # afterwards (seen in Chromium with gradio 6.31).
    values.append(frame)
    values.append(timings if done and not timings.empty else gr.skip())
    if done:
        values.append(gr.update(value=str(export_csv(frame, out_dir)), interactive=True))
        values.append(gr.update(value=str(export_zip(snapshot, adapted, out_dir, base_url)), interactive=True))
    else:
        values.extend([gr.skip(), gr.skip()])
    values.append(seed_used)
    return tuple(values)


def build_compare_tab(ctx: UIContext) -> None:
    models = [m for m in ctx.catalog.models if not m.needs_image]
    by_id = {m.id: m for m in models}
    sandbox = ctx.backend.sandbox
    speed = sandbox.settings.speed if sandbox is not None else None
    min_seconds = sandbox.settings.min_job_seconds if sandbox is not None else 0.0

    with gr.Row(elem_id="compare-run-row"):
        prompt = gr.Textbox(label="Prompt", lines=1, max_lines=6, elem_id="compare-prompt", scale=5,
                            placeholder="One prompt for every chosen model…  (Enter to compare)")
        with gr.Column(scale=1, min_width=160):
            compare_btn = gr.Button("Compare", variant="primary", elem_id="compare-btn")
            stop_all_btn = gr.Button("Stop all", variant="stop", elem_id="stop-all-btn")
    chosen = gr.CheckboxGroup([(f"{m.name}", m.id) for m in models], value=[m for m in DEFAULT_MODELS if m in by_id],
                              label=f"Models ({MIN_MODELS}–{MAX_MODELS})", elem_id="compare-models")
    with gr.Row(elem_id="compare-settings"):
        width = gr.Number(1024, label="Width", precision=0, elem_id="compare-width", min_width=120)
        height = gr.Number(1024, label="Height", precision=0, elem_id="compare-height", min_width=120)
        seed = gr.Number(0, label="Seed", precision=0, minimum=0, elem_id="compare-seed", min_width=140)
        randomize = gr.Checkbox(True, label="Randomize seed", elem_id="compare-randomize", min_width=150)
        # Text boxes, not numbers: empty must mean "each model's default" / "no cap", and a Number shows 0.
        steps = gr.Textbox(label="Steps", placeholder="model default", elem_id="compare-steps", min_width=110)
        guidance = gr.Textbox(label="Guidance", placeholder="model default", elem_id="compare-guidance",
                              min_width=110)
        budget = gr.Textbox(label="Budget cap ($)", placeholder="no cap", elem_id="compare-budget", min_width=110)
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

    def shared_from(prompt_text, w, h, seed_value, randomize_seed, steps_value, guidance_value) -> SharedSettings:
        seed_used = random.randint(0, MAX_SEED) if randomize_seed or seed_value in (None, "") else int(seed_value)
        return SharedSettings(prompt=prompt_text or "", width=int(w or 1024), height=int(h or 1024), seed=seed_used,
                              steps=optional_number(steps_value, "Steps", integer=True),
                              guidance=optional_number(guidance_value, "Guidance"))

    def describe(model_ids, w, h, steps_value, guidance_value, budget_value):
        """The preflight line, live as the form changes. Seeds don't change cost, so none is drawn here."""
        picked = [by_id[i] for i in model_ids or [] if i in by_id]
        if not MIN_MODELS <= len(picked) <= MAX_MODELS:
            return f'<div class="preflight warn">Choose {MIN_MODELS} to {MAX_MODELS} models ({len(picked)} chosen).</div>'
        try:
            shared = SharedSettings(prompt="", width=int(w or 1024), height=int(h or 1024),
                                    steps=optional_number(steps_value, "Steps", integer=True),
                                    guidance=optional_number(guidance_value, "Guidance"))
            cap = optional_number(budget_value, "Budget cap")
        except ValueError as exc:
            return f'<div class="preflight warn">{escape(str(exc))}</div>'
        plan = preflight([adapt(m, shared) for m in picked], cap, speed, min_seconds)
        css = "preflight warn" if plan.over_budget else "preflight"
        return f'<div class="{css}">Preflight: {escape(plan.line())}</div>'

    form_inputs = [chosen, width, height, steps, guidance, budget]
    for component in form_inputs:
        component.change(describe, form_inputs, preflight_box, queue=False, api_visibility="private")
    ctx.demo.load(describe, form_inputs, preflight_box, queue=False, api_visibility="private")

    tile_outputs = [c for tile in tiles for c in tile[:3]]  # per tile: its column (visibility), head, image
    outputs = [preflight_box, *tile_outputs, table, chart, csv_btn, zip_btn, seed]

    def compare(prompt_text, model_ids, w, h, seed_value, randomize_seed, steps_value, guidance_value, budget_value,
                request: gr.Request):
        picked = [by_id[i] for i in model_ids or [] if i in by_id]
        session = request.session_hash or "anonymous"
        blank = [gr.skip()] * (len(tile_outputs) + 4)
        if not MIN_MODELS <= len(picked) <= MAX_MODELS:
            raise gr.Error(f"Choose {MIN_MODELS} to {MAX_MODELS} models to compare ({len(picked)} chosen).")
        if not (prompt_text or "").strip():
            raise gr.Error("Type a prompt first: every model gets the same one.")
        try:
            shared = shared_from(prompt_text, w, h, seed_value, randomize_seed, steps_value, guidance_value)
            cap = optional_number(budget_value, "Budget cap")
        except ValueError as exc:
            raise gr.Error(str(exc)) from None
        adapted = [adapt(m, shared) for m in picked]
        plan = preflight(adapted, cap, speed, min_seconds)
        if plan.over_budget:
            yield (f'<div class="preflight warn">Not started: estimated ${plan.cost_usd:.3f} is over your budget '
                   f"cap of ${plan.budget_usd:.2f}. Raise the cap or choose fewer or cheaper models.</div>",
                   *blank, gr.skip())
            return
        if not ctx.sessions.has_token(session):
            raise gr.Error(NO_TOKEN.message)
        client, backend_name, client_settings = ctx.sessions.route(session)
        stops = {a.model.id: ctx.sessions.begin_run(session, tile_key(i)) for i, a in enumerate(adapted)}
        out_dir = Path(tempfile.mkdtemp(prefix="compare-"))  # exports of this comparison only
        try:
            snapshots = run_comparison(client, adapted, output_dir=ctx.output_dir, backend=backend_name,
                                       poll=client_settings.poll, stops=stops)
            for snapshot in snapshots:
                yield snapshot_outputs(snapshot, adapted, plan, out_dir, client_settings.base_url, shared.seed)
        finally:
            for index in range(len(adapted)):
                ctx.sessions.end_run(session, tile_key(index), stops[adapted[index].model.id])

    run_inputs = [prompt, chosen, width, height, seed, randomize, steps, guidance, budget]
    gr.on([compare_btn.click, prompt.submit], compare, run_inputs, outputs, api_name="compare",
          concurrency_limit=ctx.concurrency_limit, concurrency_id="compare", show_progress="hidden")

    def stop_all(request: gr.Request):
        ctx.sessions.stop_runs(request.session_hash or "anonymous", RUN_PREFIX)

    stop_all_btn.click(stop_all, None, None, queue=False, api_name="stop_all")
    for index, (_column, _head, _picture, stop_btn) in enumerate(tiles):
        def stop_tile(request: gr.Request, key=tile_key(index)):
            ctx.sessions.stop_runs(request.session_hash or "anonymous", key)

        stop_btn.click(stop_tile, None, None, queue=False, api_visibility="private")
