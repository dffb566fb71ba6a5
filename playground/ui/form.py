"""The parameter form: built once from the catalog, reshaped per model, read back into a request body.

Gradio needs a fixed set of components, so the form holds one component per distinct parameter name in the
catalog and shows only those the chosen model accepts, with that model's range, choices and default.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gradio as gr

from playground.catalog import MAX_SEED, Catalog, Model, Param
from playground.catalog.sizing import ratio_resolution_to_size, snap_size

# Handled by dedicated controls (prompt box, size row, seed row), never by the generic advanced section.
SPECIAL = ("prompt", "seed", "width", "height", "aspect_ratio", "resolution")
# Only meaningful together with an input image, which the text-to-image form does not take.
IMAGE_ONLY = frozenset({"strength", "denoising_strength"})
SIZE_PRESETS = ("1:1", "4:3", "3:2", "16:9", "21:9", "3:4", "2:3", "9:16")
SEED_INFO = f"0–{MAX_SEED}; the same seed and settings give the same image"

LABELS = {
    "steps": "Steps",
    "num_inference_steps": "Steps",
    "guidance_scale_flux": "Guidance",
    "guidance_scale": "Guidance",
    "cfg_scale": "CFG scale",
    "negative_prompt": "Negative prompt",
    "quality": "Quality",
    "creativity": "Creativity",
    "raw": "Raw mode",
    "mode": "Mode",
    "style": "Style",
    "output_format": "Output format",
    "web_search": "Web search",
    "skip_prompt_expansion": "Skip prompt expansion",
    "intensity": "Intensity",
    "complexity": "Complexity",
    "movement": "Movement",
}


def size_info(param: Param | None) -> str | None:
    """'512–2368 px, multiple of 16': the rule shown under a width or height box."""
    if param is None:
        return None
    low, high = param.minimum, param.maximum
    if low is not None and high is not None:
        text = f"{_fmt(low)}–{_fmt(high)} px"
    elif low is not None or high is not None:
        text = f"at least {_fmt(low)} px" if low is not None else f"up to {_fmt(high)} px"
    else:
        text = "px"
    return text + (f", multiple of {param.multiple_of}" if param.multiple_of else "")


def param_label(name: str) -> str:
    return LABELS.get(name, name.replace("_", " ").capitalize())


def is_form_param(param: Param) -> bool:
    """Scalars a person can set in a form. URL lists (style references, init images) are left out."""
    return (
        param.name not in SPECIAL
        and param.name not in IMAGE_ONLY
        and not param.needs_url
        and param.type in ("integer", "number", "boolean", "string")
    )


def _range_info(param: Param) -> str:
    parts = []
    if param.minimum is not None and param.maximum is not None:
        parts.append(f"{_fmt(param.minimum)}–{_fmt(param.maximum)}")
    if param.default is not None:
        parts.append(f"default {_fmt(param.default)}")
    return ", ".join(parts)


def _fmt(value) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


@dataclass
class ParamForm:
    """All form components, keyed by parameter name, plus the size and seed controls."""

    catalog: Catalog
    models: list[Model]
    advanced: dict[str, gr.components.Component]
    width: gr.Number
    height: gr.Number
    size_preset: gr.Radio
    swap: gr.Button
    aspect_ratio: gr.Dropdown
    resolution: gr.Dropdown
    seed: gr.Number
    randomize: gr.Checkbox
    size_group: gr.Row
    ratio_group: gr.Row

    # ---- building -------------------------------------------------------------------------------------------

    @classmethod
    def advanced_names(cls, models: list[Model]) -> list[str]:
        names: list[str] = []
        for model in models:
            for param in model.params:
                if is_form_param(param) and param.name not in names:
                    names.append(param.name)
        return names

    @staticmethod
    def make_component(params: list[Param], name: str, default_model: Model) -> gr.components.Component:
        """One component for parameter `name` (as declared by every model in `params`), set up as the default
        model wants it (hidden if it lacks it)."""
        label = param_label(name)
        own = default_model.param(name)
        visible = own is not None and is_form_param(own)
        shown = own if visible else params[0]
        value = _initial_value(shown)
        common = {"label": label, "elem_id": f"param-{name}", "visible": visible, "info": _range_info(shown) or None}
        if shown.choices:
            # Choices change per model on the page; the server-side check would use the first model's list, so
            # values are accepted here and judged by the catalog's validation (which names the field).
            return gr.Dropdown(choices=_choices(shown), value=value, allow_custom_value=True, **common)
        if shown.type == "boolean":
            return gr.Checkbox(value=bool(value), **common)
        bounded = [p for p in params if p.minimum is not None and p.maximum is not None]
        if shown.type in ("integer", "number") and len(bounded) == len(params):
            # Gradio checks a slider's bounds on the server with the bounds it was built with, so build it with
            # the widest range any model allows; the catalog's validation then applies the chosen model's own.
            step = 1 if shown.type == "integer" else 0.1
            return gr.Slider(minimum=min(p.minimum for p in bounded), maximum=max(p.maximum for p in bounded),
                             step=step, value=value, **common)
        if shown.type in ("integer", "number"):
            return gr.Number(precision=0 if shown.type == "integer" else None, value=value, **common)
        return gr.Textbox(lines=2 if "prompt" in name else 1, value=value or "", **common)

    # ---- per-model reshaping ----------------------------------------------------------------------------------

    def components(self) -> list[gr.components.Component]:
        """Every input the generate handler reads, in a fixed order (see `collect`)."""
        return [self.width, self.height, self.aspect_ratio, self.resolution, self.seed, self.randomize,
                *self.advanced.values()]

    def reshape_outputs(self) -> list[gr.components.Component]:
        return [self.size_group, self.ratio_group, self.width, self.height, self.size_preset, self.aspect_ratio,
                self.resolution, self.seed, self.randomize, *self.advanced.values()]

    def reshape(self, model: Model, values: dict[str, Any] | None = None, seed: int | None = None) -> list:
        """Updates that make the form show exactly what `model` accepts, with its ranges and defaults; with
        `values` (Krea's names) and `seed`, filled with those instead (a stored run, a link, a PNG)."""
        updates = self._reshaped(model)
        if values is None and seed is None:
            return updates
        values = dict(values or {})
        outputs = self.reshape_outputs()
        named = {id(self.width): "width", id(self.height): "height", id(self.aspect_ratio): "aspect_ratio",
                 id(self.resolution): "resolution", **{id(c): n for n, c in self.advanced.items()}}
        for index, component in enumerate(outputs):
            name = named.get(id(component))
            if name is not None and name in values and values[name] is not None and model.param(name) is not None:
                updates[index] = _with_value(updates[index], values[name])
        if seed is not None and model.param("seed") is not None:
            updates[outputs.index(self.seed)] = _with_value(updates[outputs.index(self.seed)], seed)
            updates[outputs.index(self.randomize)] = _with_value(updates[outputs.index(self.randomize)], False)
        return updates

    def _reshaped(self, model: Model) -> list:
        width, height = model.param("width"), model.param("height")
        uses_wh = model.sizing == "wh"
        uses_ratio = model.sizing in ("ratio", "both")
        ratio_param, res_param = model.param("aspect_ratio"), model.param("resolution")
        seed_param = model.param("seed")
        updates = [
            gr.update(visible=uses_wh),
            gr.update(visible=uses_ratio),
            self._size_update(width, "Width"),
            self._size_update(height, "Height"),
            gr.update(value=None),
            gr.update(choices=_choices(ratio_param) if ratio_param and ratio_param.choices else [],
                      value=(ratio_param.default or ratio_param.choices[0]) if ratio_param and ratio_param.choices
                      else None, visible=bool(ratio_param)),
            gr.update(choices=_choices(res_param) if res_param and res_param.choices else [],
                      value=(res_param.default or res_param.choices[0]) if res_param and res_param.choices else None,
                      visible=bool(res_param)),
            # info is always a string: None would mean "leave as is" and keep another model's note.
            gr.update(interactive=bool(seed_param),
                      info=SEED_INFO if seed_param else f"{model.name} takes no seed: every run differs."),
            gr.update(interactive=bool(seed_param)),
        ]
        for name in self.advanced:
            param = model.param(name)
            if param is None or not is_form_param(param):
                updates.append(gr.update(visible=False))
                continue
            change = {"visible": True, "info": _range_info(param) or None}
            if param.choices:
                change["choices"] = _choices(param)
            if param.type in ("integer", "number") and param.minimum is not None and param.maximum is not None:
                change.update(minimum=param.minimum, maximum=param.maximum)
            change["value"] = _initial_value(param)
            updates.append(gr.update(**change))
        return updates

    @staticmethod
    def _size_update(param: Param | None, label: str):
        if param is None:
            return gr.update()
        default = param.default if param.default is not None else 1024
        return gr.update(value=default, info=size_info(param), label=label)

    def preset_size(self, model: Model, preset: str | None) -> tuple:
        """Width and height for an aspect-ratio preset at about one megapixel, snapped to the model's rules."""
        if not preset:
            return gr.update(), gr.update()
        w, h = ratio_resolution_to_size(preset, "1K")
        w, h, _notes = snap_size(model, w, h)
        return w, h

    # ---- reading back -----------------------------------------------------------------------------------------

    def read(self, model: Model, values: list) -> tuple[dict[str, Any], Any, bool]:
        """The model's own parameters from the form values (ordered as `components()`), plus the seed box and
        the Randomize choice. Only what the model accepts is read; empty means "the model's default". The run
        service draws seeds, fills required defaults and judges every value."""
        width, height, aspect_ratio, resolution, seed, randomize, *rest = values
        params: dict[str, Any] = {}
        if model.sizing == "wh":
            params.update(width=width, height=height)
        elif model.sizing in ("ratio", "both"):
            params.update(aspect_ratio=aspect_ratio, resolution=resolution)
        for name, value in zip(self.advanced.keys(), rest):
            param = model.param(name)
            if param is not None and is_form_param(param):
                params[name] = value
        params = {k: v for k, v in params.items() if model.param(k) is not None}
        return params, seed, bool(randomize)


def _with_value(update: Any, value: Any) -> dict:
    """A reshape update that also sets the value."""
    change = dict(update) if isinstance(update, dict) else {"__type__": "update"}
    change["value"] = value
    return change


def _choices(param: Param) -> list:
    """Enum values a person can pick; `null` (allowed by some schemas) means "leave it out", not a choice."""
    return [c for c in param.choices or () if c is not None]


def _initial_value(param: Param):
    """What the form shows before the user touches it: the default, else the lowest allowed value."""
    if param.default is not None:
        return param.default
    if param.type == "boolean":
        return False
    if param.type in ("integer", "number") and param.minimum is not None:
        return param.minimum
    return None
