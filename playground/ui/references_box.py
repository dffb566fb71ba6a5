"""The Generate form's image inputs: reference pictures, how strongly to follow them, and an image to edit.

The UI only collects pictures; :mod:`playground.reference_mapping` decides, per model, which fields get them (and says
so in notes shown under the box), and the run service uploads each picture once per session (``POST /assets``).
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import gradio as gr

from playground.catalog import ImageInput, Model
from playground.reference_mapping import LORA_STRENGTH, MOODBOARD_STRENGTH
from playground.references import (
    DEFAULT_STRENGTH,
    MAX_ASSET_BYTES,
    BadReference,
    ReferenceSet,
    StyleChoice,
)

EDIT_KINDS = frozenset({"edit_image", "edit_images", "reference_image"})
STYLE_KINDS = frozenset({"style_reference", "style_image", "character_reference", "reference_image"})


@dataclass
class ReferencesBox:
    accordion: gr.Accordion
    pictures: gr.Gallery
    strength: gr.Slider
    edit_image: gr.Image
    note: gr.HTML
    limits: gr.HTML  # what the chosen model takes, with its limits
    uploaded: gr.Dropdown | None = None  # this session's uploads (Generate only), to delete at the API
    remove: gr.Button | None = None
    styles: gr.Dropdown | None = None  # LoRA styles from GET /styles (Generate only)
    style_strength: gr.Slider | None = None
    moodboard: gr.Textbox | None = None  # a Krea 2 moodboard id (Generate only)
    moodboard_strength: gr.Slider | None = None

    def components(self) -> list:
        """The inputs a run reads, in the order :func:`reference_set` takes them."""
        extra = [self.styles, self.style_strength, self.moodboard, self.moodboard_strength]
        return [self.pictures, self.strength, self.edit_image, *[c for c in extra if c is not None]]

    def shape_outputs(self) -> list:
        extra = [self.styles, self.style_strength, self.moodboard, self.moodboard_strength]
        return [self.accordion, self.edit_image, self.limits, *[c for c in extra if c is not None]]


def takes(model: Model, field: str) -> bool:
    return any(i.field == field for i in model.image_inputs)


def shape_updates(model: Model, box: ReferencesBox) -> list:
    """Updates for ``box.shape_outputs()`` when ``model`` is chosen (the accordion keeps its open state unless
    the model needs an input)."""
    label = accordion_label(model)
    updates = [gr.update(label=label, open=True) if needs_input(model) else gr.update(label=label),
               gr.update(visible=takes_edit_image(model)), limits_html(model)]
    if box.styles is not None:
        lora = takes(model, "styles")
        updates += [gr.update(visible=lora), gr.update(visible=lora)]
    if box.moodboard is not None:
        mood = takes(model, "moodboards")
        updates += [gr.update(visible=mood), gr.update(visible=mood)]
    return updates


def _num(x: float | None) -> str:
    return "?" if x is None else (str(int(x)) if float(x).is_integer() else f"{x:g}")


def input_limit(item: ImageInput) -> str:
    """One image input's limits, as the form says them: "Style references: up to 10, strength 0 to 1"."""
    if item.kind == "edit_image":
        count = "1 picture" + (", required" if item.required else "")
    elif item.by_id:
        count = f"up to {item.max_items} by id" if item.max_items else "by id"
    elif item.max_items is not None and item.min_items:
        count = (f"{item.min_items} to {item.max_items}" if item.max_items != item.min_items
                 else f"exactly {item.max_items}") + ", required"
    else:
        count = f"up to {item.max_items}" if item.max_items is not None else "no stated maximum"
    strength = (f", strength {_num(item.strength_min)} to {_num(item.strength_max)}"
                if item.strength_min is not None and item.strength_max is not None else "")
    return f"{item.label}: {count}{strength}"


def limits_html(model: Model | None) -> str:
    """What the chosen model takes, with its limits, before anything is chosen (Compare: the general rule)."""
    files = f"JPEG, PNG or WebP, at most {MAX_ASSET_BYTES // 1024 // 1024} MB each; drop, paste or upload."
    if model is None:
        return (f'<p class="reference-limits">Each model uses what it can: the plan below says how. {files}</p>')
    items = [input_limit(i) for i in model.image_inputs]
    if not items:
        return f'<p class="reference-limits">{html.escape(model.name)} takes no image inputs.</p>'
    listed = "".join(f"<li>{html.escape(i)}</li>" for i in items)
    return (f'<div class="reference-limits"><span>{html.escape(model.name)} takes</span><ul>{listed}</ul>'
            f'<span class="muted">{files}</span></div>')


def takes_edit_image(model: Model) -> bool:
    return any(i.kind in EDIT_KINDS for i in model.image_inputs)


def needs_input(model: Model) -> bool:
    return any(i.required for i in model.image_inputs)


def accordion_label(model: Model) -> str:
    if needs_input(model):
        return "Input image · required for this model"
    if not any(i.kind in STYLE_KINDS | EDIT_KINDS for i in model.image_inputs):
        return "Reference images · this model takes none"
    return "Reference images · style and edit inputs"


def build_references_box(model: Model | None, *, prefix: str = "", label: str | None = None,
                         with_uploads: bool = False) -> ReferencesBox:
    """The box for one model (Generate), or with ``model=None`` for every model at once (Compare: ``prefix``
    "compare-" keeps the element ids apart, and the image to edit is always offered)."""
    title = label or (accordion_label(model) if model is not None else "Reference images")
    opened = model is not None and needs_input(model)
    with gr.Accordion(title, open=opened, elem_id=f"{prefix}references") as accordion:
        limits = gr.HTML(limits_html(model), elem_id=f"{prefix}reference-limits")
        pictures = gr.Gallery(label="Style references", type="filepath",
                              interactive=True, file_types=["image"], columns=6, height=170, object_fit="cover",
                              allow_preview=False,  # thumbnails, not one picture stretched over the box
                              elem_id=f"{prefix}reference-pictures")
        strength = gr.Slider(0.0, 1.0, value=DEFAULT_STRENGTH, step=0.05, label="How strongly to follow them",
                             elem_id=f"{prefix}reference-strength",
                             info="0: barely, 1: as much as the model allows. Mapped to each model's own range.")
        edit_image = gr.Image(label="Image to edit", type="filepath", sources=["upload", "clipboard"],
                              height=200, elem_id=f"{prefix}edit-image",
                              visible=model is None or takes_edit_image(model))
        styles = style_strength = moodboard = moodboard_strength = None
        if with_uploads:  # Generate: LoRA styles and a moodboard travel by id, for the models that take them
            lora = model is not None and takes(model, "styles")
            mood = model is not None and takes(model, "moodboards")
            with gr.Row(elem_id=f"{prefix}styles-row"):
                styles = gr.Dropdown([], multiselect=True, label="LoRA styles", elem_id=f"{prefix}reference-styles",
                                     visible=lora, scale=3, info="From the API's style list (GET /styles).")
                style_strength = gr.Slider(-2.0, 2.0, value=LORA_STRENGTH, step=0.1, label="Style strength",
                                           elem_id=f"{prefix}style-strength", visible=lora, scale=2)
            with gr.Row(elem_id=f"{prefix}moodboard-row"):
                moodboard = gr.Textbox(label="Moodboard id", elem_id=f"{prefix}reference-moodboard", visible=mood,
                                       max_lines=1, scale=3, placeholder="a Krea moodboard's id")
                moodboard_strength = gr.Slider(0.0, 1.0, value=MOODBOARD_STRENGTH, step=0.01,
                                               label="Moodboard strength", elem_id=f"{prefix}moodboard-strength",
                                               visible=mood, scale=2)
        note = gr.HTML(elem_id=f"{prefix}reference-note")
        uploaded = remove = None
        if with_uploads:
            with gr.Row(elem_id=f"{prefix}uploads-row"):
                uploaded = gr.Dropdown([], label="Pictures uploaded this session (kept at the API as assets)",
                                       elem_id=f"{prefix}uploads", scale=4, interactive=True,
                                       info="Each file is uploaded once and reused. Pick one to delete it there.")
                remove = gr.Button("Delete", size="sm", elem_id=f"{prefix}uploads-delete", scale=0, min_width=90)
    return ReferencesBox(accordion, pictures, strength, edit_image, note, limits, uploaded, remove, styles, style_strength,
                         moodboard, moodboard_strength)


def upload_choices(cached: Iterable[Any]) -> list[tuple[str, str]]:
    """Dropdown choices for a session's uploads: "name · id", valued by the asset id."""
    return [(f"{c.name} · {c.asset_id}", c.asset_id) for c in cached]


def gallery_paths(value: Any) -> list[str]:
    """File paths from a Gallery's value (tuples of (path, caption), dicts, or plain paths)."""
    paths = []
    for item in value or []:
        if isinstance(item, (list, tuple)) and item:
            item = item[0]
        if isinstance(item, dict):
            item = (item.get("image") or {}).get("path") if isinstance(item.get("image"), dict) else item.get("path")
        if isinstance(item, str) and item:
            paths.append(item)
    return paths


def reference_set(pictures: Any, strength: Any, edit_image: Any, styles: Any = None, style_strength: Any = None,
                  moodboard: Any = None, moodboard_strength: Any = None,
                  names: dict[str, str] | None = None) -> ReferenceSet | None:
    """What the form holds, or None when it holds nothing. Raises BadReference for an unreadable picture.
    `names`: style id -> name, for notes that name the style."""
    chosen = [StyleChoice(str(i), (names or {}).get(str(i), ""), style_strength) for i in (styles or []) if i]
    refs = ReferenceSet.of(gallery_paths(pictures), strength, edit_image or None, styles=chosen,
                           moodboard=str(moodboard or "").strip() or None, moodboard_strength=moodboard_strength)
    return None if refs.is_empty else refs


def style_choices(styles: Iterable[Any]) -> list[tuple[str, str]]:
    return [(s.title or s.id, s.id) for s in styles]


def notes_html(notes: Iterable[str], error: str | None = None) -> str:
    if error:
        return f'<div class="reference-notes warn" role="alert">{html.escape(error)}</div>'
    items = "".join(f"<li>{html.escape(n)}</li>" for n in notes)
    return f'<ul class="reference-notes">{items}</ul>' if items else ""


def reference_error(exc: BadReference) -> str:
    return str(exc) or "That picture could not be read: choose a JPEG, PNG or WebP file."
