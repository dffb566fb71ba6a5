"""The Generate tab: prompt, model, the model's own parameters, and a live view of one job."""

from __future__ import annotations

import json

import gradio as gr

from playground.catalog import Model
from playground.runs import RunRefused
from playground.service import GENERATE_KEY, GenerationRequest
from playground.snippets import curl_snippet, python_snippet
from playground.ui.context import UIContext
from playground.ui.form import SEED_INFO, SIZE_PRESETS, ParamForm, size_info
from playground.ui.render import model_card, model_summary, status_html

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
SCROLL_TO_STATUS_JS = ("() => { if (window.innerWidth < 768) "
                       "document.getElementById('status')?.scrollIntoView({behavior: 'smooth', block: 'start'}); }")


def default_side(model: Model, name: str) -> int:
    """The width or height the form starts with: the model's default, else 1024."""
    param = model.param(name)
    return int(param.default) if param is not None and param.default is not None else 1024


def model_choices(models: list[Model]) -> list[tuple[str, str]]:
    return [(f"{m.name} · {model_summary(m)}", m.id) for m in models]


def build_generate_tab(ctx: UIContext) -> None:
    models = ctx.service.text_models
    default = next((m for m in models if m.id == DEFAULT_MODEL), models[0])

    with gr.Row(equal_height=False, elem_id="generate-row"):
        with gr.Column(scale=5, min_width=320):
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
            with gr.Accordion("Advanced", open=False, elem_id="advanced"):
                names = ParamForm.advanced_names(models)
                advanced = {}
                for name in names:
                    declared = [m.param(name) for m in models if m.param(name) is not None]
                    advanced[name] = ParamForm.make_component(declared, name, default)
            gr.Examples(EXAMPLES, inputs=[prompt], label="Try a prompt", elem_id="examples")

        with gr.Column(scale=6, min_width=320):
            status = gr.HTML(status_html(None), elem_id="status")
            image = gr.Image(label="Result", format="jpeg", elem_id="result-image", interactive=False,
                             buttons=["download", "fullscreen"], height=560)
            with gr.Accordion("Request sent · copy as code", open=False, elem_id="request-accordion"):
                with gr.Tabs():
                    with gr.Tab("JSON"):
                        request_json = gr.Code(language="json", elem_id="request-json", interactive=False)
                    with gr.Tab("cURL"):
                        request_curl = gr.Code(language="shell", elem_id="request-curl", interactive=False)
                    with gr.Tab("Python"):
                        request_python = gr.Code(language="python", elem_id="request-python", interactive=False)

    form = ParamForm(catalog=ctx.catalog, models=models, advanced=advanced, width=width, height=height,
                     size_preset=size_preset, swap=swap, aspect_ratio=aspect_ratio, resolution=resolution,
                     seed=seed, randomize=randomize, size_group=size_group, ratio_group=ratio_group)

    def on_model(model_id: str):
        model = ctx.catalog.get(model_id)
        return [model_card(model), gr.update(visible=model.sizing == "wh"), *form.reshape(model)]

    model_outputs = [card, size_preset, *form.reshape_outputs()]
    # The components are built in the default model's shape, so nothing is reshaped on page load (a load-time
    # reshape raced with fast typing and reset values the user had just entered).
    model_dd.change(on_model, model_dd, model_outputs, queue=False, api_visibility="private")

    size_preset.input(lambda model_id, preset: form.preset_size(ctx.catalog.get(model_id), preset),
                      [model_dd, size_preset], [width, height], queue=False, api_visibility="private")
    swap.click(lambda w, h: (h, w), [width, height], [width, height], queue=False, api_visibility="private")

    def generate(request: gr.Request, model_id: str, prompt_text: str, *values):
        session = request.session_hash or "anonymous"
        model = ctx.catalog.find(model_id)
        params, seed_value, randomize_seed = form.read(model, list(values)) if model else ({}, None, True)
        run = GenerationRequest(model_id=model_id, prompt=prompt_text, params=params, seed=seed_value,
                                randomize_seed=randomize_seed)
        try:
            updates = ctx.service.start_generation(session, run)
        except RunRefused as refused:
            yield (status_html(None, error=refused.error), None, gr.skip(), gr.skip(), gr.skip(), gr.skip())
            return
        expected = ctx.service.expected_seconds(session, model)
        base_url = ctx.sessions.route(session).settings.base_url
        code = None
        for update in updates:
            if code is None:  # the body is final (seed drawn, defaults filled) from the first update on
                body = update.params or {}
                code = (json.dumps({"model": model.path, "body": body}, indent=2),
                        curl_snippet(base_url, model.path, body), python_snippet(base_url, model.path, body))
            # Always the current picture (a path): Gradio sends only what changed, and an image output that
            # skips updates was seen to lose its final value in the browser when updates came fast.
            yield (status_html(update, expected), update.picture,
                   update.seed if update.seed is not None else gr.skip(), *code)

    run_inputs = [model_dd, prompt, *form.components()]
    run_outputs = [status, image, seed, request_json, request_curl, request_python]
    # Private: scripts use the documented /generate endpoint (playground/api.py), which takes named parameters.
    gr.on([generate_btn.click, prompt.submit], generate, run_inputs, run_outputs,
          concurrency_limit=ctx.concurrency_limit, concurrency_id="generate", api_name="ui_generate",
          api_visibility="private",
          show_progress="hidden")

    generate_btn.click(None, None, None, js=SCROLL_TO_STATUS_JS)

    def stop(request: gr.Request):
        ctx.service.stop(request.session_hash or "anonymous", GENERATE_KEY)

    # The stop switch makes the running stream cancel the remote job and say so; it needs no queue slot.
    stop_btn.click(stop, None, None, queue=False, api_name="ui_stop", api_visibility="private")
