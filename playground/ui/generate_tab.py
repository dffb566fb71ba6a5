"""The Generate tab: prompt, model, the model's own parameters, and a live view of one job.

The form can be filled from a recipe (a stored run, a link's query string, a PNG this app saved) through
:meth:`GenerateTab.fill`, which History and the page's link handling use too.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from collections.abc import Callable

import gradio as gr

from playground.catalog import Model
from playground.journal import off_the_loop
from playground.krea.errors import ErrorKind, KreaError
from playground.recipes import Recipe, RecipeError, generate_query, link_recipe, recipe_from_png
from playground.references import BadReference
from playground.runs import RunError, RunRefused
from playground.service import GENERATE_KEY, GenerationRequest
from playground.snippets import CODE_LANGUAGES, LANGUAGE_LABELS, LANGUAGES, single_snippet
from playground.ui.context import UIContext
from playground.ui.form import SEED_INFO, SIZE_PRESETS, ParamForm, size_info
from playground.ui.references_box import (
    build_references_box,
    gallery_paths,
    notes_html,
    reference_error,
    reference_set,
    shape_updates,
    style_choices,
    takes,
    upload_choices,
)
from playground.ui.render import error_html, model_card, model_summary, status_html

EXAMPLES = [
    "a serene mountain landscape at sunset",
    "a cat curled up on a windowsill on a snowy night, cozy lamp light",
    "neon cyberpunk city street after rain, pink and teal reflections",
    "an ocean beach at sunrise, soft watercolor",
    "a misty pine forest with a small wooden cabin, golden hour",
    "a desert caravan under a purple galaxy sky",
]
DEFAULT_MODEL = "bfl/flux-1-dev"
# On a phone the result column sits below the form: bring the status card into view when a run starts.
def default_side(model: Model, name: str) -> int:
    """The width or height the form starts with: the model's default, else 1024."""
    param = model.param(name)
    return int(param.default) if param is not None and param.default is not None else 1024


def model_choices(models: list[Model]) -> list[tuple[str, str]]:
    return [(f"{m.name} · {model_summary(m)}", m.id) for m in models]


# After a run or "Copy link": the form's query string goes into the address bar (so a reload or a bookmark keeps
# the setup) and the full link into the link box, and onto the clipboard where the browser allows it.
SHOW_LINK_JS = """
(query) => {
  if (!query) return '';
  const url = location.origin + location.pathname + '?' + query;
  history.replaceState(null, '', url);
  return url;
}
"""
COPY_LINK_JS = """
(query) => {
  if (!query) return '';
  const url = location.origin + location.pathname + '?' + query;
  history.replaceState(null, '', url);
  if (navigator.clipboard && window.isSecureContext) navigator.clipboard.writeText(url).catch(() => {});
  return url;
}
"""


def link_and_note(recipe: Recipe, pictures_left_out: bool) -> tuple[str, str]:
    """A link's query string, and the note under it when the run's pictures, styles or moodboard cannot travel
    in it (they are this session's uploads)."""
    note = ('<p class="link-note">The link carries the prompt and settings, not the reference pictures, styles or '
            'moodboard: add them again after opening it.</p>') if pictures_left_out else ""
    return generate_query(recipe), note


@dataclass
class GenerateTab:
    """What other parts of the page need from the Generate tab: filling its form, and running it."""

    fill_outputs: list  # model, prompt, card, preset row, every form control
    fill: Callable[[Recipe], list]  # values for fill_outputs; RecipeError if the recipe cannot be shown
    run: Callable  # the generate handler (a generator), inputs run_inputs, outputs run_outputs
    run_inputs: list
    run_outputs: list
    status: gr.HTML
    query: gr.Textbox  # the form as a query string, set after each run
    references: gr.Gallery  # the style references: other tabs add a picture with `add_reference`
    add_reference: Callable[[str | None, list], list]  # (picture path, gallery value) -> reference_outputs
    reference_outputs: list
    model_dropdown: gr.Dropdown | None = None  # "Refresh models" sets its choices


def build_generate_tab(ctx: UIContext) -> GenerateTab:
    models = list(ctx.catalog.models)  # image-only models too: the references box gives them their input
    default = next((m for m in models if m.id == DEFAULT_MODEL), models[0])

    with gr.Row(equal_height=False, elem_id="generate-row"):
        with gr.Column(scale=5, min_width=320, elem_id="generate-form"):
            # lines=1 (growing to 8 as the text wraps) is what makes Gradio submit on Enter.
            prompt = gr.Textbox(label="Prompt", lines=1, max_lines=8, elem_id="prompt", autofocus=True,
                                placeholder="Describe the image you want…  (Enter to generate)")
            with gr.Row(elem_id="run-buttons"):
                generate_btn = gr.Button("Generate", variant="primary", elem_id="generate-btn", scale=3)
                stop_btn = gr.Button("Stop", variant="stop", elem_id="stop-btn", scale=1)
            model_dd = gr.Dropdown(model_choices(models), value=default.id, label="Model", elem_id="model",
                                   filterable=True)
            card = gr.HTML(model_card(default), elem_id="model-card")
            with gr.Row(elem_id="size-wh", visible=default.sizing == "wh") as size_group:
                width = gr.Number(label="Width", precision=0, elem_id="width", min_width=90,
                                  value=default_side(default, "width"), info=size_info(default.param("width")))
                height = gr.Number(label="Height", precision=0, elem_id="height", min_width=90,
                                   value=default_side(default, "height"), info=size_info(default.param("height")))
                swap = gr.Button("⇄", elem_id="swap-size", size="sm", min_width=40, scale=0)
            size_preset = gr.Radio(list(SIZE_PRESETS), label="Aspect ratio preset", elem_id="size-preset",
                                   visible=default.sizing == "wh")
            with gr.Row(elem_id="size-ratio", visible=default.sizing != "wh") as ratio_group:
                aspect_ratio = gr.Dropdown([], label="Aspect ratio", elem_id="aspect-ratio", allow_custom_value=True)
                resolution = gr.Dropdown([], label="Resolution", elem_id="resolution", allow_custom_value=True)
            with gr.Row(elem_id="seed-row"):
                # No `minimum`: Gradio would refuse a negative seed with its own toasts; the run service
                # refuses it once, in the status card, naming the field.
                seed = gr.Number(label="Seed", precision=0, value=0, elem_id="seed", info=SEED_INFO)
                randomize = gr.Checkbox(label="Randomize seed", value=True, elem_id="randomize")
            refs = build_references_box(default, with_uploads=True)
            with gr.Accordion("Advanced", open=False, elem_id="advanced"):
                names = ParamForm.advanced_names(models)
                advanced = {}
                for name in names:
                    declared = [m.param(name) for m in models if m.param(name) is not None]
                    advanced[name] = ParamForm.make_component(declared, name, default)
            gr.Examples(EXAMPLES, inputs=[prompt], label="Try a prompt", elem_id="examples")

        with gr.Column(scale=6, min_width=320, elem_id="generate-result"):
            status = gr.HTML(status_html(None), elem_id="status")
            # No visible label: the status card above names the run; the label sat over the picture.
            image = gr.Image(label="Result", show_label=False, format="jpeg", type="filepath",
                             elem_id="result-image", interactive=False, buttons=["download", "fullscreen"],
                             height=560)
            with gr.Row(elem_id="share-row"):
                copy_link = gr.Button("Copy link to this setup", size="sm", elem_id="copy-link", scale=0,
                                      min_width=200)
                use_as_reference = gr.Button("Use as reference", size="sm", elem_id="use-as-reference", scale=0,
                                             min_width=150)
                link_box = gr.Textbox(show_label=False, elem_id="share-link", interactive=False, scale=3,
                                      max_lines=1,
                                      placeholder="A link that opens the playground with these settings",
                                      buttons=["copy"])
            link_note = gr.HTML("", elem_id="share-link-note")
            query = gr.Textbox(visible=False, elem_id="generate-query")
            with gr.Accordion("Request sent · copy as code", open=False, elem_id="request-accordion"):
                with gr.Tabs():
                    with gr.Tab("JSON"):
                        request_json = gr.Code(language="json", elem_id="request-json", interactive=False)
                    code_boxes = {}
                    for language in LANGUAGES:
                        with gr.Tab(LANGUAGE_LABELS[language]):
                            code_boxes[language] = gr.Code(language=CODE_LANGUAGES[language],
                                                           elem_id=f"request-{language}", interactive=False)
            with gr.Accordion("Load settings from a PNG", open=False, elem_id="png-accordion"):
                png_drop = gr.File(label="Drop a PNG saved by this playground", file_types=[".png"],
                                   type="filepath", elem_id="png-drop")
                png_note = gr.HTML(elem_id="png-note")

    form = ParamForm(catalog=ctx.catalog, models=models, advanced=advanced, width=width, height=height,
                     size_preset=size_preset, swap=swap, aspect_ratio=aspect_ratio, resolution=resolution,
                     seed=seed, randomize=randomize, size_group=size_group, ratio_group=ratio_group)

    def refs_shape(model: Model) -> list:
        return shape_updates(model, refs)  # an image-only model opens the box; others leave it as it was

    def on_model(model_id: str):
        model = ctx.catalog.get(model_id)
        return [model_card(model), gr.update(visible=model.sizing == "wh"), *form.reshape(model), *refs_shape(model)]

    model_outputs = [card, size_preset, *form.reshape_outputs(), *refs.shape_outputs()]
    # The components are built in the default model's shape, so nothing is reshaped on page load (a load-time
    # reshape raced with fast typing and reset values the user had just entered). `.input`, not `.change`: a
    # fill from a recipe sets the model and its values together, and must not be reset to defaults after.
    model_dd.input(on_model, model_dd, model_outputs, queue=False, api_visibility="private")

    def fill(recipe: Recipe) -> list:
        model = ctx.catalog.find(recipe.model_id)
        if model is None:
            raise RecipeError(f"The model {recipe.model_id[:80]!r} is not one this playground can run.")
        return [model.id, recipe.prompt, model_card(model), gr.update(visible=model.sizing == "wh"),
                *form.reshape(model, recipe.params, recipe.seed), *refs_shape(model)]

    fill_outputs = [model_dd, prompt, *model_outputs]

    def fill_from_png(path: str | None):
        if not path:
            return [gr.skip()] * len(fill_outputs) + [""]
        try:
            values = fill(recipe_from_png(path))
        except RecipeError as exc:
            note = error_html(RunError(ErrorKind.INVALID, str(exc), field="png"))
            return [gr.skip()] * len(fill_outputs) + [note]
        return values + ['<div class="png-loaded">Settings loaded from the PNG: press Generate to make it '
                         "again.</div>"]

    png_drop.upload(fill_from_png, png_drop, [*fill_outputs, png_note], queue=False, api_visibility="private")

    size_preset.input(lambda model_id, preset: form.preset_size(ctx.catalog.get(model_id), preset),
                      [model_dd, size_preset], [width, height], queue=False, api_visibility="private")
    swap.click(lambda w, h: (h, w), [width, height], [width, height], queue=False, api_visibility="private")

    async def generate(request: gr.Request, model_id: str, prompt_text: str, *values):
        # Async: watching a run waits on the event loop, not in a worker thread, so a hundred slow jobs never hold
        # the slots another visitor's run needs.
        session = request.session_hash or "anonymous"
        model = ctx.catalog.find(model_id)
        values, pictures = list(values[:-n_refs]), values[-n_refs:]
        params, seed_value, randomize_seed = form.read(model, values) if model else ({}, None, True)
        run = GenerationRequest(model_id=model_id, prompt=prompt_text, params=params, seed=seed_value,
                                randomize_seed=randomize_seed)
        try:
            references = reference_set(*pictures, names=style_names(session) if pictures[3] else None)
            updates = await off_the_loop(ctx.service.start_generation, session, run, references=references)
        except BadReference as exc:
            error = RunError(ErrorKind.INVALID, reference_error(exc), field="references")
            yield (status_html(None, error=error), None, *[gr.skip()] * (len(run_outputs) - 2))
            return
        except RunRefused as refused:
            yield (status_html(None, error=refused.error), None, *[gr.skip()] * (len(run_outputs) - 2))
            return
        expected = ctx.service.expected_seconds(session, model)
        base_url = ctx.sessions.route(session).settings.base_url
        code = None
        async for update in updates:
            if code is None:  # the body is final (seed drawn, defaults filled) from the first update on
                body = update.params or {}
                code = (json.dumps({"model": model.path, "body": body}, indent=2),
                        *[single_snippet(language, base_url, model.path, body) for language in LANGUAGES],
                        *link_and_note(*link_recipe(model, body)))
            # Always the current picture (a path): Gradio sends only what changed, and an image output that
            # skips updates was seen to lose its final value in the browser when updates came fast.
            yield (status_html(update, expected), update.picture,
                   update.seed if update.seed is not None else gr.skip(), *code)

    run_inputs = [model_dd, prompt, *form.components(), *refs.components()]
    n_refs = len(refs.components())
    run_outputs = [status, image, seed, request_json, *code_boxes.values(), query, link_note]
    # Private: scripts use the documented /generate endpoint (playground/api.py), which takes named parameters.
    generate_event = gr.on([generate_btn.click, prompt.submit], generate, run_inputs, run_outputs,
          concurrency_limit=ctx.concurrency_limit, concurrency_id="generate", api_name="ui_generate",
          api_visibility="private",
          show_progress="hidden")

    query.change(None, query, link_box, js=SHOW_LINK_JS, api_visibility="private")

    def link_query(model_id: str, prompt_text: str, *values) -> str:
        """The form as it stands, as a query string (the seed only when it is fixed)."""
        model = ctx.catalog.find(model_id)
        if model is None:
            return ""
        params, seed_value, randomize_seed = form.read(model, list(values[:-n_refs]))
        params = {k: v for k, v in params.items() if v is not None and v != ""}
        seed_number = None if randomize_seed or seed_value is None else int(seed_value)
        pictures = values[-n_refs:]
        has_inputs = bool(gallery_paths(pictures[0]) or pictures[2] or pictures[3] or (pictures[5] or "").strip())
        return link_and_note(Recipe(model.id, prompt_text or "", params, seed_number), has_inputs)

    copy_link.click(link_query, run_inputs, [query, link_note], queue=False, api_visibility="private").then(
        None, query, link_box, js=COPY_LINK_JS, api_visibility="private")

    def hint(request: gr.Request, model_id: str, *pictures) -> str:
        """What the chosen model will do with the pictures, before anything is sent."""
        session = request.session_hash or "anonymous"
        try:
            names = style_names(session) if pictures[3] else None
            return notes_html(ctx.service.reference_notes(model_id, reference_set(*pictures, names=names)))
        except BadReference as exc:
            return notes_html((), reference_error(exc))

    hint_inputs = [model_dd, *refs.components()]
    for trigger in (model_dd.input, refs.pictures.change, refs.strength.release, refs.edit_image.change,
                    refs.styles.change, refs.style_strength.release, refs.moodboard.blur,
                    refs.moodboard_strength.release):
        trigger(hint, hint_inputs, refs.note, queue=False, api_visibility="private")

    def style_names(session: str) -> dict[str, str]:
        try:
            return {s.id: s.title or s.id for s in ctx.service.list_styles(session)}
        except RunRefused:
            return {}

    def load_styles(request: gr.Request, model_id: str, chosen):
        """The LoRA styles the chosen model can take, from this session's backend (cached a few minutes)."""
        model = ctx.catalog.find(model_id)
        if model is None or not takes(model, "styles"):
            return gr.update(choices=[], value=[]), gr.skip()
        try:
            styles = ctx.service.list_styles(request.session_hash or "anonymous", model_id)
        except RunRefused as refused:
            return gr.update(choices=[]), notes_html((), refused.error.message)
        ids = {s.id for s in styles}
        return gr.update(choices=style_choices(styles), value=[i for i in (chosen or []) if i in ids]), gr.skip()

    for trigger in (model_dd.input, refs.accordion.expand):
        trigger(load_styles, [model_dd, refs.styles], [refs.styles, refs.note], queue=False,
                api_visibility="private")

    def list_uploads(request: gr.Request):
        cached = ctx.service.uploaded_references(request.session_hash or "anonymous")
        return gr.update(choices=upload_choices(cached), value=None)

    def delete_upload(request: gr.Request, asset_id: str | None):
        session = request.session_hash or "anonymous"
        if not asset_id:
            return gr.skip(), notes_html((), "Pick an uploaded picture to delete first.")
        try:
            removed = ctx.service.remove_reference(session, asset_id)
        except KreaError as exc:
            return gr.skip(), notes_html((), exc.user_message)
        note = f"Deleted {asset_id} at the API." if removed else f"{asset_id} was not one of this session's uploads."
        return list_uploads(request), notes_html((note,))

    refs.accordion.expand(list_uploads, None, refs.uploaded, queue=False, api_visibility="private")
    refs.remove.click(delete_upload, refs.uploaded, [refs.uploaded, refs.note], api_visibility="private")
    generate_event.then(list_uploads, None, refs.uploaded, queue=False, api_visibility="private")

    def add_result(picture, current):
        """A picture (the result on screen, a run from History) joins the style references, and the box opens."""
        if not picture:
            return gr.skip(), gr.skip()
        return [*gallery_paths(current), picture], gr.update(open=True)

    use_as_reference.click(add_result, [image, refs.pictures], [refs.pictures, refs.accordion], queue=False,
                           api_visibility="private")

    def stop(request: gr.Request):
        ctx.service.stop(request.session_hash or "anonymous", GENERATE_KEY)

    # The stop switch makes the running stream cancel the remote job and say so; it needs no queue slot.
    stop_btn.click(stop, None, None, queue=False, api_name="ui_stop", api_visibility="private")
    return GenerateTab(fill_outputs=fill_outputs, fill=fill, run=generate, run_inputs=run_inputs,
                       run_outputs=run_outputs, status=status, query=query, references=refs.pictures,
                       add_reference=add_result, reference_outputs=[refs.pictures, refs.accordion],
                       model_dropdown=model_dd)



