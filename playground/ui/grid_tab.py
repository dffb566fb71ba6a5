"""The Grid tab: prompts × models × seeds run as one batch, watched live as a contact sheet, then exported.

The form is read into a GridRequest; the live preflight plans it on every change (seeds drawn from a fixed
generator, so a seed count never shows new numbers), and Run draws the seeds once and starts the grid in the
evaluation's GridRunner. The batch runs in the app's threads: this page only watches it (a generator that sleeps on
``GridRunner.wait``), so closing the tab leaves the grid running into History, and "Your grids" reopens it.
Cells are picked and ticked in the sheet by GRID_JS, through two visually hidden text boxes.
"""

from __future__ import annotations

import logging
import tempfile
import time
import uuid
from pathlib import Path

import gradio as gr

from playground.contact_sheet import export_grid_csv, export_grid_zip
from playground.evaluation import GridRequest
from playground.grid_plan import MAX_SEEDS, GridInputError, parse_prompts, parse_seeds
from playground.grid_runner import MAX_CONCURRENCY, GridSnapshot, GridState
from playground.journal import off_the_loop
from playground.krea.errors import ErrorKind
from playground.runs import Phase, RunError, RunRefused
from playground.ui.context import UIContext
from playground.ui.diff_view import diff_placeholder_html, diff_view_html
from playground.ui.grid_render import (
    DEFAULT_MODELS,
    DIFF_HINT,
    GRID_CSS,
    GRID_JS,
    SETTLE_S,
    SHEET_EMPTY,
    SHEET_EVERY_S,
    caption_html,
    cell_label,
    note_html,
    past_label,
    progress_html,
    refusal_html,
    sheet_html,
)

log = logging.getLogger(__name__)
__all__ = ["GRID_CSS", "GRID_JS", "build_grid_tab"]

def build_grid_tab(ctx: UIContext) -> None:
    if ctx.evaluation is None:
        gr.Markdown("Grids are not available in this app.")
        return
    evaluation = ctx.evaluation
    models = ctx.service.text_models
    known = {m.id for m in models}
    watchers: dict[str, str] = {}  # session -> the token of the watcher that should go on

    past = gr.Dropdown([], value=None, label="Your grids", elem_id="grid-past", interactive=True,
                       info="Reopen a grid to see it, resume it (after a restart too) or export it.")
    with gr.Row(elem_id="grid-form-row", equal_height=False):
        with gr.Column(scale=3, min_width=280):
            prompts = gr.Textbox(label="Prompts · one per line", lines=4, max_lines=12, elem_id="grid-prompts",
                                 placeholder="a lighthouse at dusk\na red fox in fresh snow")
            prompt_file = gr.File(label="…or a prompt list (.txt one per line, .csv with a prompt column)",
                                  file_types=[".txt", ".csv"], type="filepath", elem_id="grid-prompt-file",
                                  height=150)
        with gr.Column(scale=2, min_width=240):
            seeds = gr.Textbox(label="Seeds", placeholder="2 (a count) or 1, 42, 7", elem_id="grid-seeds",
                               info=f"A number alone is a count of random seeds (1–{MAX_SEEDS}); a list such as "
                                    "1, 42, 7 (or 42,) gives the seeds themselves.")
            concurrency = gr.Slider(1, MAX_CONCURRENCY, value=4, step=1, label="Jobs at once",
                                    elem_id="grid-concurrency")
            with gr.Row():
                budget = gr.Textbox(label="Budget cap ($)", placeholder="no cap", elem_id="grid-budget",
                                    min_width=110)
                allow_unpriced = gr.Checkbox(False, label="Allow unpriced models under a cap",
                                             elem_id="grid-unpriced", min_width=150)
    chosen = gr.CheckboxGroup([(m.name, m.id) for m in models], value=[m for m in DEFAULT_MODELS if m in known],
                              label="Models", elem_id="grid-models")
    with gr.Row(elem_id="grid-settings"):
        width = gr.Number(1024, label="Width", precision=0, elem_id="grid-width", min_width=110)
        height = gr.Number(1024, label="Height", precision=0, elem_id="grid-height", min_width=110)
        steps = gr.Textbox(label="Steps", placeholder="model default", elem_id="grid-steps", min_width=110)
        guidance = gr.Textbox(label="Guidance", placeholder="model default", elem_id="grid-guidance", min_width=110)
    preflight = gr.HTML(elem_id="grid-preflight")
    with gr.Row(elem_id="grid-actions"):
        run_btn = gr.Button("Run grid", variant="primary", elem_id="grid-run")
        pause_btn = gr.Button("Pause", elem_id="grid-pause", visible=False)
        resume_btn = gr.Button("Resume", variant="primary", elem_id="grid-resume", visible=False)
        cancel_btn = gr.Button("Cancel", variant="stop", elem_id="grid-cancel", visible=False)
        rerun_btn = gr.Button("Re-run failed", elem_id="grid-rerun-failed", visible=False)
    progress = gr.HTML(elem_id="grid-progress")
    sheet = gr.HTML(SHEET_EMPTY, elem_id="grid-sheet")
    with gr.Row(elem_id="grid-sheet-actions"):
        diff_btn = gr.Button("Diff selected", elem_id="grid-diff-btn", size="sm")
        zip_btn = gr.DownloadButton("Download contact sheet ZIP", elem_id="grid-zip", interactive=False, size="sm")
        csv_btn = gr.DownloadButton("Download CSV", elem_id="grid-csv", interactive=False, size="sm")
    with gr.Row(elem_id="grid-detail", equal_height=False):
        with gr.Column(scale=3, min_width=260):
            cell_image = gr.Image(label="Cell", type="filepath", interactive=False, height=420,
                                  elem_id="grid-cell-image", buttons=["download", "fullscreen"])
        with gr.Column(scale=2, min_width=240):
            caption = gr.HTML('<div class="muted">Click a cell of the sheet to see it large here.</div>',
                              elem_id="grid-cell-caption")
    diff = gr.HTML(diff_placeholder_html(DIFF_HINT), elem_id="grid-diff")
    pick = gr.Textbox(elem_id="grid-pick", elem_classes=["visually-hidden"], show_label=False, container=False)
    selected = gr.Textbox(elem_id="grid-selected", elem_classes=["visually-hidden"], show_label=False,
                          container=False)
    grid_state = gr.State(None)  # the grid on screen
    follow = gr.State(None)  # the grid to watch after a start/resume/open (None: nothing to watch)

    form_inputs = [prompts, prompt_file, chosen, seeds, width, height, steps, guidance, concurrency, budget,
                   allow_unpriced]
    buttons = [pause_btn, resume_btn, cancel_btn, rerun_btn]
    view_outputs = [progress, sheet, *buttons, zip_btn, csv_btn, past]

    def session_of(request: gr.Request) -> str:
        return request.session_hash or "anonymous"

    def form_of(values) -> GridRequest:
        """The form (values in form_inputs order) as the evaluation reads it."""
        text, file_path, model_ids, seed_text, w, h, steps_value, guidance_value, jobs, cap, unpriced_ok = values
        return GridRequest(prompts=text or "", prompt_file=file_path or None, model_ids=tuple(model_ids or ()),
                           seeds=seed_text or "", width=w, height=h, steps=steps_value, guidance=guidance_value,
                           concurrency=jobs, budget_usd=cap, allow_unpriced=bool(unpriced_ok))

    def prompt_notes(form: GridRequest) -> tuple[str, ...]:
        try:
            return parse_prompts(form.prompts, form.prompt_file).notes
        except GridInputError:
            return ()

    # --- what the view shows of a grid ---------------------------------------------------------------------

    def button_updates(snap: GridSnapshot | None) -> list:
        if snap is None:
            return [gr.update(visible=False)] * 4
        state, left = snap.state, snap.waiting + snap.running
        return [gr.update(visible=state == GridState.RUNNING),
                gr.update(visible=state in (GridState.PAUSED, GridState.CANCELLED) and left > 0),
                gr.update(visible=state in (GridState.RUNNING, GridState.PAUSED)),
                gr.update(visible=snap.failed > 0 and state != GridState.RUNNING)]

    def past_update(session: str, *value: str):
        """The dropdown's choices (this browser's grids, newest first); with `value`, that one chosen."""
        choices = [(past_label(*row), row[0]) for row in evaluation.grid_list(session)]
        return gr.update(choices=choices, value=value[0]) if value else gr.update(choices=choices)

    def export_updates(session: str, snap: GridSnapshot) -> list:
        if snap.done == 0:
            return [gr.update(value=None, interactive=False)] * 2
        folder = Path(tempfile.mkdtemp(prefix="grid-"))
        try:
            base_url = ctx.sessions.route(session).settings.base_url
            zip_path = export_grid_zip(snap.plan, snap.records, folder, base_url)
            csv_path = export_grid_csv(snap.plan, snap.records, folder)
        except OSError as exc:  # the sheet stays on screen; only the downloads are missing
            log.warning("grid exports failed: %s", exc)
            return [gr.update(value=None, interactive=False)] * 2
        return [gr.update(value=str(zip_path), interactive=True), gr.update(value=str(csv_path), interactive=True)]

    def view(session: str, snap: GridSnapshot | None, *, sheet_too: bool = True, exports: bool = False,
             choices: bool = False) -> list:
        """Values for view_outputs."""
        export = export_updates(session, snap) if exports and snap is not None else [gr.skip()] * 2
        return [progress_html(snap), sheet_html(snap) if sheet_too else gr.skip(), *button_updates(snap), *export,
                past_update(session) if choices else gr.skip()]

    def settled(snap: GridSnapshot) -> bool:
        return snap.finished or (snap.state != GridState.RUNNING and snap.running == 0)

    # --- the live preflight ------------------------------------------------------------------------------------

    def describe(request: gr.Request, *values):
        session = session_of(request)
        form = form_of(values)
        try:
            drawn = parse_seeds(form.seeds, rng_seed=0)  # a count: stand-in seeds (not shown, never sent)
            _, pre, _ = evaluation.plan_grid(session, form, seeds=drawn)
        except GridInputError as exc:
            return refusal_html(RunError(ErrorKind.INVALID, exc.message, field=exc.field))
        except RunRefused as refused:
            return refusal_html(refused.error)
        reason = pre.refusal(form.allow_unpriced)
        line = note_html(f"Preflight: {pre.line()}", prompt_notes(form), warn=bool(reason))
        return line + (refusal_html(RunError(ErrorKind.INVALID, reason, field="grid-budget")) if reason else "")

    for component in form_inputs:
        component.change(describe, form_inputs, preflight, queue=False, api_visibility="private")

    # --- running, pausing, resuming ------------------------------------------------------------------------------

    run_outputs = [grid_state, follow, preflight, *view_outputs, cell_image, caption, diff]

    def refused_values(error: RunError) -> list:
        return [gr.skip(), None, refusal_html(error), *[gr.skip()] * (len(view_outputs) + 3)]

    async def start(request: gr.Request, *values):
        session = session_of(request)
        form = form_of(values)
        try:
            drawn = parse_seeds(form.seeds)  # a count is drawn here, once
        except GridInputError as exc:
            return refused_values(RunError(ErrorKind.INVALID, exc.message, field=exc.field))
        try:
            _, pre, _ = await off_the_loop(evaluation.plan_grid, session, form, drawn)
            grid_id = await off_the_loop(evaluation.start_grid, session, form, drawn)
        except RunRefused as refused:
            return refused_values(refused.error)
        snap = await off_the_loop(evaluation.grid, session, grid_id)
        shown = view(session, snap)
        shown[-3:] = [*[gr.update(value=None, interactive=False)] * 2, past_update(session, grid_id)]
        started = note_html(f"Started: {pre.line()} · seeds {', '.join(map(str, drawn))}", prompt_notes(form))
        return [grid_id, grid_id, started, *shown, gr.update(value=None, label="Cell"),
                '<div class="muted">Click a cell of the sheet to see it large here.</div>',
                diff_placeholder_html(DIFF_HINT)]

    async def watch(request: gr.Request, grid_id: str | None):
        """Re-draw the progress and the sheet whenever the grid changes, until it has settled. Only this page's
        view: the grid runs on without it."""
        session = session_of(request)
        if not grid_id:
            yield [gr.skip()] * len(view_outputs)
            return
        token = uuid.uuid4().hex
        watchers[session] = token
        last, sheet_sig, drawn_at, quiet_since = None, None, 0.0, time.monotonic()
        try:
            while watchers.get(session) == token:
                version = evaluation.grids.version
                snap = await off_the_loop(evaluation.grid, session, grid_id)
                if snap is None:
                    yield view(session, None, choices=True)
                    return
                done = settled(snap)
                signature = (snap.state, tuple((k, r.phase, r.image_path) if r else None
                                               for k, r in snap.records.items()))
                now = time.monotonic()
                every = SHEET_EVERY_S * max(1.0, snap.plan.jobs / 100)  # big sheets are heavy: drawn less often
                sheet_due = signature != sheet_sig and (done or now - drawn_at >= every)
                if signature != last or sheet_due or done:
                    quiet_since = now
                    if sheet_due:
                        sheet_sig, drawn_at = signature, now
                    values = await off_the_loop(lambda: view(session, snap, sheet_too=sheet_due, exports=done,
                                                             choices=done))
                    if watchers.get(session) != token:  # a newer watcher (another grid) owns the view now
                        return
                    last = signature
                    yield values
                if done or (snap.state != GridState.RUNNING and now - quiet_since > SETTLE_S):
                    return
                # Sleep until the grid changes; a sheet held back by the limit above is drawn when it is due.
                timeout = 1.0 if sheet_sig == signature else max(0.05, every - (now - drawn_at))
                await off_the_loop(evaluation.grids.wait, version, timeout)
        finally:
            if watchers.get(session) == token:
                del watchers[session]

    def watch_after(event) -> None:
        event.then(watch, follow, view_outputs, api_visibility="private", concurrency_limit=ctx.concurrency_limit,
                   concurrency_id="grid-watch", show_progress="hidden")

    watch_after(run_btn.click(start, form_inputs, run_outputs, api_visibility="private",
                              concurrency_limit=ctx.concurrency_limit, concurrency_id="grid-start",
                              show_progress="hidden"))

    control_outputs = [follow, preflight, *view_outputs]

    def control(action: str):
        def handler(request: gr.Request, grid_id: str | None):
            session = session_of(request)
            if not grid_id:
                return [None, note_html("Run a grid first, or reopen one of yours.", warn=True),
                        *[gr.skip()] * len(view_outputs)]
            try:
                if action == "pause":
                    evaluation.pause_grid(session, grid_id)
                    message = "Paused: the jobs already sent finish; no new one starts until you resume."
                elif action == "cancel":
                    evaluation.cancel_grid(session, grid_id)
                    message = "Cancelled: the jobs in flight are being stopped. Resume runs the rest later."
                else:
                    count = evaluation.resume_grid(session, grid_id, failed_too=action == "rerun")
                    message = (f"Running {count} cell{'s' if count != 1 else ''} again." if action == "rerun"
                               else f"Resumed: {count} cell{'s' if count != 1 else ''} to go.")
            except RunRefused as refused:
                return [None, refusal_html(refused.error), *[gr.skip()] * len(view_outputs)]
            snap = evaluation.grid(session, grid_id)
            return [grid_id if action in ("resume", "rerun") else None, note_html(message),
                    *view(session, snap, sheet_too=False, choices=True)]
        return handler

    for btn, action in ((pause_btn, "pause"), (cancel_btn, "cancel"), (resume_btn, "resume"),
                        (rerun_btn, "rerun")):
        event = btn.click(control(action), grid_state, control_outputs, api_visibility="private",
                          concurrency_limit=ctx.concurrency_limit, concurrency_id=f"grid-{action}",
                          show_progress="hidden")
        if action in ("resume", "rerun"):
            watch_after(event)

    # --- past grids ----------------------------------------------------------------------------------------------

    def refresh_past(request: gr.Request):
        return past_update(session_of(request))

    ctx.demo.load(refresh_past, None, past, queue=False, api_visibility="private")
    past.focus(refresh_past, None, past, queue=False, api_visibility="private")

    def reopen(request: gr.Request, grid_id: str | None):
        session = session_of(request)
        snap = evaluation.grid(session, grid_id) if grid_id else None
        if snap is None:
            error = RunError(ErrorKind.NOT_FOUND, "That grid is no longer in your history.", field="grid")
            return [gr.skip(), None, refusal_html(error), *[gr.skip()] * (len(view_outputs) + 3 + len(form_inputs))]
        s = snap.settings
        form = ["\n".join(s.prompts), None, [m for m in s.model_ids if m in known], ", ".join(map(str, s.seeds)),
                s.width, s.height, "" if s.steps is None else str(s.steps),
                "" if s.guidance is None else f"{s.guidance:g}", s.concurrency,
                "" if s.budget_usd is None else f"{s.budget_usd:g}", gr.skip()]
        shown = view(session, snap, exports=settled(snap))
        shown[-1] = gr.skip()
        note = note_html(f"Opened the grid of {snap.created_at[:16].replace('T', ' ')} UTC "
                         f"({snap.plan.jobs} jobs, {snap.state}); its settings are in the form above.")
        return [grid_id, None if settled(snap) else grid_id, note, *shown, gr.update(value=None, label="Cell"),
                '<div class="muted">Click a cell of the sheet to see it large here.</div>',
                diff_placeholder_html(DIFF_HINT), *form]

    watch_after(past.input(reopen, past, [*run_outputs, *form_inputs], api_visibility="private",
                           concurrency_limit=ctx.concurrency_limit, concurrency_id="grid-open",
                           show_progress="hidden"))

    # --- one cell large, two cells diffed ------------------------------------------------------------------------

    def show_cell(request: gr.Request, grid_id: str | None, picked: str):
        snap = evaluation.grid(session_of(request), grid_id) if grid_id else None
        parts = (picked or "").split("|")  # "grid id|cell key|click count", written by GRID_JS
        key = parts[1] if len(parts) == 3 else ""
        if snap is None or key not in snap.records:
            return gr.skip(), gr.skip()
        record = snap.records[key]
        path = record.image_path if record is not None and record.image_path and \
            Path(record.image_path).is_file() else None
        return gr.update(value=path, label=cell_label(snap, key)), caption_html(snap, key)

    pick.change(show_cell, [grid_state, pick], [cell_image, caption], queue=False, api_visibility="private")

    def diff_cells(request: gr.Request, grid_id: str | None, keys_text: str):
        snap = evaluation.grid(session_of(request), grid_id) if grid_id else None
        keys = [k for k in dict.fromkeys((keys_text or "").split(",")) if k.strip()]
        if snap is None or len(keys) != 2:
            count = f" ({len(keys)} selected)" if snap is not None else ""
            return diff_placeholder_html(f"Pick exactly two finished cells{count}: {DIFF_HINT}", error=True)
        paths = []
        for key in keys:
            record = snap.records.get(key)
            if record is None or record.phase != Phase.DONE or not record.image_path:
                return diff_placeholder_html(f"Pick exactly two finished cells: {DIFF_HINT}", error=True)
            paths.append(record.image_path)
        return diff_view_html(paths[0], paths[1], cell_label(snap, keys[0]), cell_label(snap, keys[1]))

    async def diff_selected(request: gr.Request, grid_id: str | None, keys_text: str):
        return await off_the_loop(diff_cells, request, grid_id, keys_text)

    diff_btn.click(diff_selected, [grid_state, selected], diff, api_visibility="private",
                   concurrency_limit=ctx.concurrency_limit, concurrency_id="grid-diff", show_progress="minimal")
    ctx.demo.load(describe, form_inputs, preflight, queue=False, api_visibility="private")
