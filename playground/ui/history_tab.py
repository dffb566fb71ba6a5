"""The History tab: every run, newest first, as a gallery and a table; one run's details; load it, run it again.

The tab asks the run service for this visitor's runs (hosted: their own; on the owner's machine: all) and
renders them with playground.history. Unfinished runs (a reload, a restart) show their live status: a timer
refreshes the tab while any is still being followed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import gradio as gr

from playground.history import (
    STATUS_CHOICES,
    WHEN_CHOICES,
    DateError,
    date_range,
    details_html,
    gallery_items,
    history_table_html,
    totals_html,
)
from playground.krea.errors import ErrorKind
from playground.recipes import CompareRecipe, RecipeError, recipe_from_body
from playground.runs import RunError
from playground.store import RunFilter
from playground.ui.context import UIContext
from playground.ui.render import error_html

REFRESH_SECONDS = 2.0


@dataclass
class HistoryView:
    """What one refresh shows; kept per tab so a selection maps back to its run."""

    gallery_ids: list[str]
    signature: tuple


def build_history_tab(ctx: UIContext, tab: gr.Tab, tabs: gr.Tabs, generate, compare) -> None:
    """The tab's contents (call inside `tab`). `generate` / `compare`: the other tabs' handles."""
    models = ctx.service.text_models
    opened_at = gr.State(None)  # when this page was opened: "this session" totals count from here
    view = gr.State(None)
    selected = gr.State(None)  # run id

    totals = gr.HTML(elem_id="history-totals")
    with gr.Row(elem_id="history-filters"):
        search = gr.Textbox(label="Search prompts", placeholder="words in the prompt", elem_id="history-search",
                            scale=3, min_width=200)
        model_filter = gr.Dropdown([("Any model", "")] + [(m.name, m.id) for m in models], value="",
                                   label="Model", elem_id="history-model", scale=2, min_width=160)
        status_filter = gr.Dropdown(STATUS_CHOICES, value="", label="Status", elem_id="history-status", scale=1,
                                    min_width=130)
        when = gr.Dropdown(WHEN_CHOICES, value="any", label="When", elem_id="history-when", scale=1,
                           min_width=130)
        day = gr.Textbox(label="Or one day", placeholder="YYYY-MM-DD", elem_id="history-day", scale=1,
                         min_width=120)
        refresh = gr.Button("↻ Refresh", size="sm", elem_id="history-refresh", scale=0, min_width=100)
    filter_note = gr.HTML(elem_id="history-filter-note")
    gallery = gr.Gallery(label="Results, newest first", columns=6, height=260, allow_preview=False,
                         elem_id="history-gallery", object_fit="cover", fit_columns=False)
    table = gr.HTML(history_table_html([], ctx.catalog), elem_id="history-table")
    # A row click (page script) writes the run id here; a plain HTML table is used because Gradio's Dataframe
    # virtualises its rows (rows came and went under Chromium) and its cell selection is not a row selection.
    pick = gr.Textbox(elem_id="history-pick", elem_classes=["visually-hidden"], show_label=False, container=False)
    with gr.Row(elem_id="history-selected", equal_height=False):
        with gr.Column(scale=2, min_width=260):
            picture = gr.Image(label="Selected run", interactive=False, height=340, elem_id="history-image",
                               buttons=["download", "fullscreen"])
        with gr.Column(scale=3, min_width=280):
            details = gr.HTML(details_html(None, ctx.catalog), elem_id="history-details")
            with gr.Row(elem_id="history-actions"):
                load_btn = gr.Button("Load into Generate", size="sm", elem_id="history-load", interactive=False)
                use_ref_btn = gr.Button("Use as reference", size="sm", elem_id="history-use-as-reference")
                again_btn = gr.Button("Run again", size="sm", variant="primary", elem_id="history-run-again",
                                      interactive=False)
                reopen_btn = gr.Button("Open as comparison", size="sm", elem_id="history-open-comparison",
                                       visible=False)
                stop_btn = gr.Button("Stop", size="sm", variant="stop", elem_id="history-stop", visible=False)
                delete_btn = gr.Button("Delete", size="sm", elem_id="history-delete", interactive=False)
                confirm_btn = gr.Button("Delete run and image", size="sm", variant="stop",
                                        elem_id="history-delete-confirm", visible=False)
    timer = gr.Timer(REFRESH_SECONDS, active=False)

    # --- refreshing ------------------------------------------------------------------------------------------

    def render(request: gr.Request, opened, old_view, search_text, model_id, phase, when_value, day_text,
               force: bool = True):
        session = request.session_hash or "anonymous"
        opened = opened or datetime.now(timezone.utc).isoformat(timespec="seconds")  # as runs.started_at
        try:
            since, until = date_range(when_value, day_text)
            runs = ctx.service.history(session, RunFilter(search=search_text or "", model_id=model_id or None,
                                                          phase=phase or None, since=since, until=until))
            note = ""
        except DateError as exc:
            runs, note = [], error_html(RunError(ErrorKind.INVALID, str(exc), field="day"))
        signature = tuple((s.run_id, s.record.phase, s.updated_at) for s in runs)
        unfinished = any(not s.is_terminal for s in runs)
        today = datetime.now(timezone.utc).date().isoformat()
        counts = totals_html(ctx.service.session_totals(session, opened), ctx.service.totals(session, today))
        if not force and old_view is not None and old_view.signature == signature:
            return (opened, old_view, counts, gr.skip(), gr.skip(), gr.skip(), gr.Timer(active=unfinished))
        items = gallery_items(runs, ctx.catalog)
        ids = {s.record.image_path: s.run_id for s in runs}
        new_view = HistoryView([ids[path] for path, _ in items], signature)
        return (opened, new_view, counts, note, items, history_table_html(runs, ctx.catalog),
                gr.Timer(active=unfinished))

    filters = [search, model_filter, status_filter, when, day]
    refresh_outputs = [opened_at, view, totals, filter_note, gallery, table, timer]

    def refresh_now(request: gr.Request, opened, old_view, *values):
        return render(request, opened, old_view, *values, force=True)

    def refresh_if_changed(request: gr.Request, opened, old_view, *values):
        return render(request, opened, old_view, *values, force=False)

    refresh_inputs = [opened_at, view, *filters]
    for trigger in (refresh.click, search.submit, model_filter.input, status_filter.input, when.input, day.submit):
        trigger(refresh_now, refresh_inputs, refresh_outputs, queue=False, api_visibility="private")
    ctx.demo.load(refresh_now, refresh_inputs, refresh_outputs, queue=False, api_visibility="private")
    tab.select(refresh_now, refresh_inputs, refresh_outputs, queue=False, api_visibility="private")
    timer.tick(refresh_if_changed, refresh_inputs, refresh_outputs, queue=False, api_visibility="private")

    # --- selecting -------------------------------------------------------------------------------------------

    def show(request: gr.Request, run_id: str | None):
        session = request.session_hash or "anonymous"
        stored = ctx.service.visible_run(session, run_id) if run_id else None
        if stored is None:
            return (None, details_html(None, ctx.catalog), None, *[gr.update(interactive=False)] * 2,
                    gr.update(visible=False), gr.update(visible=False), gr.update(interactive=False),
                    gr.update(visible=False))
        r = stored.record
        live = ctx.service.is_live(r.run_id)
        runnable = ctx.catalog.find(r.model_id) is not None
        return (r.run_id, details_html(stored, ctx.catalog), r.image_path if r.image_path else None,
                gr.update(interactive=runnable), gr.update(interactive=runnable),
                gr.update(visible=bool(r.group_id) and compare is not None), gr.update(visible=live),
                gr.update(interactive=stored.is_terminal, visible=True), gr.update(visible=False))

    show_outputs = [selected, details, picture, load_btn, again_btn, reopen_btn, stop_btn, delete_btn, confirm_btn]

    def pick_row(request: gr.Request, run_id: str):
        return show(request, (run_id or "").strip() or None)

    def pick_image(request: gr.Request, current_view: HistoryView | None, event: gr.SelectData):
        index = event.index
        ids = current_view.gallery_ids if current_view else []
        return show(request, ids[index] if isinstance(index, int) and 0 <= index < len(ids) else None)

    pick.change(pick_row, pick, show_outputs, queue=False, api_visibility="private")
    gallery.select(pick_image, view, show_outputs, queue=False, api_visibility="private")
    timer.tick(show, selected, show_outputs, queue=False, api_visibility="private")

    # --- acting on the selected run ----------------------------------------------------------------------------

    def recipe_of(request: gr.Request, run_id: str | None):
        stored = ctx.service.visible_run(request.session_hash or "anonymous", run_id) if run_id else None
        if stored is None:
            raise RecipeError("That run is no longer in your history.")
        return recipe_from_body(stored.record.model_id, stored.record.params)

    def load(request: gr.Request, run_id: str | None):
        try:
            values = generate.fill(recipe_of(request, run_id))
        except RecipeError as exc:
            return [gr.skip()] * len(generate.fill_outputs) + [gr.skip(), error_html(
                RunError(ErrorKind.INVALID, str(exc), field="model"))]
        return [*values, gr.Tabs(selected="generate"), ""]

    def use_as_reference(request: gr.Request, run_id: str | None, current):
        """The selected run's image joins Generate's style references, and Generate opens."""
        stored = ctx.service.visible_run(request.session_hash or "anonymous", run_id) if run_id else None
        path = stored.record.image_path if stored is not None else None
        if not path or not Path(path).is_file():
            note = error_html(RunError(ErrorKind.INVALID, "Select a run with an image first.", field="history"))
            return [gr.skip()] * len(generate.reference_outputs) + [gr.skip(), note]
        return [*generate.add_reference(path, current), gr.Tabs(selected="generate"), ""]

    use_ref_btn.click(use_as_reference, [selected, generate.references],
                      [*generate.reference_outputs, tabs, filter_note], queue=False, api_visibility="private")

    load_outputs = [*generate.fill_outputs, tabs, filter_note]
    load_btn.click(load, selected, load_outputs, queue=False, api_visibility="private")
    again_btn.click(load, selected, load_outputs, queue=False, api_visibility="private").success(
        generate.run, generate.run_inputs, generate.run_outputs, concurrency_limit=ctx.concurrency_limit,
        concurrency_id="generate", api_name="ui_run_again", api_visibility="private", show_progress="hidden")

    def stop(request: gr.Request, run_id: str | None):
        if run_id:
            ctx.service.stop_run(request.session_hash or "anonymous", run_id)

    stop_btn.click(stop, selected, None, queue=False, api_visibility="private")

    # Deleting takes two clicks: the first shows what will go.
    delete_btn.click(lambda: (gr.update(visible=False), gr.update(visible=True)), None, [delete_btn, confirm_btn],
                     queue=False, api_visibility="private")

    def delete(request: gr.Request, run_id: str | None, opened, old_view, *values):
        session = request.session_hash or "anonymous"
        if run_id:
            ctx.service.delete_runs(session, [run_id])
        return (*show(request, None), *render(request, opened, old_view, *values, force=True))

    confirm_btn.click(delete, [selected, *refresh_inputs], [*show_outputs, *refresh_outputs], queue=False,
                      api_visibility="private").then(lambda: gr.update(visible=True), None, delete_btn,
                                                     queue=False, api_visibility="private")
    def reopen(request: gr.Request, run_id: str | None):
        session = request.session_hash or "anonymous"
        stored = ctx.service.visible_run(session, run_id) if run_id else None
        group, runs = ctx.service.visible_group(session, stored.record.group_id) if stored else (None, [])
        if not runs:
            return [gr.skip()] * (len(compare.fill_outputs) + len(compare.past_outputs) + 1) + [error_html(
                RunError(ErrorKind.NOT_FOUND, "That comparison is no longer in your history."))]
        settings = dict(group.settings) if group else {}
        recipe = CompareRecipe(prompt=settings.get("prompt") or runs[0].record.prompt,
                               model_ids=tuple(settings.get("model_ids") or [r.record.model_id for r in runs]),
                               width=settings.get("width"), height=settings.get("height"), seed=settings.get("seed"),
                               steps=settings.get("steps"), guidance=settings.get("guidance"))
        try:
            filled = compare.fill(recipe)
        except RecipeError:
            filled = [gr.skip()] * len(compare.fill_outputs)
        records = [r.record for r in runs]
        return [*filled, *compare.show_past(records, settings), gr.Tabs(selected="compare"), ""]

    if compare is None:
        return None
    reopen_btn.click(reopen, selected, [*compare.fill_outputs, *compare.past_outputs, tabs, filter_note],
                     queue=False, api_visibility="private")

    return None
