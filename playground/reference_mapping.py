"""How a :class:`~playground.references.ReferenceSet` maps onto one model's request body.

Each model takes pictures, LoRA styles and moodboards in its own fields (``playground.catalog.image_inputs``):
:func:`apply_references` puts the set into exactly the fields a model accepts, in its own strength range, and says
in short notes what it did (for the form, the tiles and the comparison table). :func:`missing_inputs` and
:func:`missing_message` name the required inputs a body leaves empty.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from playground.catalog import ImageInput, Model
from playground.references import BadReference, Reference, ReferenceSet, StyleChoice, _is_number, placeholder_url

EDIT_TAG = "image"  # Runway's tag for the input image; references are ref1, ref2, ... (^[a-z][a-z0-9_]+$, 3-16)
LORA_STRENGTH = 1.0  # a LoRA style at its trained weight, when the field's schema gives no default
MOODBOARD_STRENGTH = 0.23  # Krea's default [C SKILLS-G live schema], when the field's schema gives none


def _num(x: float) -> str:
    """0.5, 1.0, 0.25: at least one decimal, as a strength reads."""
    text = f"{x:.3f}".rstrip("0")
    return text + "0" if text.endswith(".") else text


def _count(n: int) -> str:
    return f"{n} reference{'s' * (n != 1)}"


def map_strength(strength: float, item: ImageInput) -> float:
    """0..1 ("how strongly to follow") into the field's own range: 0 is no pull, 1 the field's maximum. A
    negative minimum (style_images' -2..2 pushes away from a picture) is not part of "follow"."""
    low = max(item.strength_min, 0.0) if item.strength_min is not None else 0.0
    high = item.strength_max if item.strength_max is not None else 1.0
    return round(low + float(strength) * max(high - low, 0.0), 3)


def _ignores_style_with_images(model: Model, item: ImageInput) -> bool:
    """Nano Banana: "If [image_urls are] provided, style images are ignored" (the spec says so only in words)."""
    param = model.param(item.field)
    text = f"{item.help} {param.description if param is not None else ''}".lower()
    return "style images are ignored" in text or "(style_images) are ignored" in text


def _style_input(model: Model) -> ImageInput | None:
    """Where "use these as style" goes: Krea's own image_style_references on Krea's models, else style_images
    (image prompts), else image_style_references."""
    by_kind = {i.kind: i for i in reversed(model.image_inputs)}
    if model.id.startswith("krea/") and "style_reference" in by_kind:
        return by_kind["style_reference"]
    return by_kind.get("style_image") or by_kind.get("style_reference")


def _edit_input(model: Model) -> ImageInput | None:
    """Where a picture to edit goes: image_url, else image_urls, else Runway's tagged reference_images."""
    by_kind = {i.kind: i for i in reversed(model.image_inputs)}
    return by_kind.get("edit_image") or by_kind.get("edit_images") or by_kind.get("reference_image")


def _room(item: ImageInput, used: int) -> int | None:
    return None if item.max_items is None else max(item.max_items - used, 0)


def _put(body: Mapping[str, Any], out: dict[str, Any], notes: list[str], name: str, value: Any,
         chosen: str = "the chosen pictures") -> None:
    """Fill one field of ``out``, saying so when the request had something else in it."""
    if body.get(name) not in (None, "", [], ()):
        notes.append(f"{name} from the request replaced by {chosen}")
    out[name] = value


def apply_references(model: Model, body: Mapping[str, Any], refs: ReferenceSet | None,
                     asset_urls: Mapping[str, str] | None = None) -> tuple[dict[str, Any], tuple[str, ...]]:
    """``body`` with the set's pictures, LoRA styles and moodboard in exactly the fields ``model`` accepts, and
    short notes saying what was done (pictures first, then styles, then the moodboard; what was dropped for a
    field's maximum is said after what was sent). ``asset_urls`` maps each picture's sha256 to its uploaded
    URL; None puts placeholders (a plan before anything is uploaded). Fields the set fills replace what ``body``
    had in them."""
    out = dict(body)
    if refs is None or refs.is_empty:
        return out, ()
    notes: list[str] = []
    if refs.has_pictures:
        notes += _apply_pictures(model, body, out, refs, asset_urls)
    if refs.styles:
        notes += _apply_styles(model, body, out, refs.styles)
    if refs.moodboard is not None:
        notes += _apply_moodboard(model, body, out, refs)
    return out, tuple(notes)


def _apply_pictures(model: Model, body: Mapping[str, Any], out: dict[str, Any], refs: ReferenceSet,
                    asset_urls: Mapping[str, str] | None) -> list[str]:
    def url(ref: Reference) -> str:
        if asset_urls is None:
            return placeholder_url(ref)
        try:
            return asset_urls[ref.sha256]
        except KeyError:
            raise BadReference(f"{ref.name} was not uploaded.") from None

    def put(name: str, value: Any) -> None:
        _put(body, out, notes, name, value)

    notes: list[str] = []
    style, edit = refs.style, refs.edit_image
    style_item, edit_item = _style_input(model), _edit_input(model)
    if style_item is None and edit_item is None:
        return [f"{model.name} takes no reference images: sent without them"]

    listed: list[Any] = []  # image_urls or reference_images: the input image first, then references if they fit
    dropped: list[str] = []  # said last, after what was sent
    joined = False
    if edit is not None:
        if edit_item is None:
            notes.append(f"{model.name} cannot start from a picture: input image not sent")
        elif edit_item.kind == "edit_image":
            put(edit_item.field, url(edit))
            notes.append(f"input image sent as {edit_item.field}")
        elif edit_item.kind == "edit_images":
            listed.append(url(edit))
        else:
            listed.append({"url": url(edit), "tag": EDIT_TAG})

    listed_note_at = len(notes)  # what went into image_urls / reference_images is said where the input image is
    if style:
        joins_list = edit_item is not None and edit_item.kind != "edit_image" and (
            edit_item.kind == "reference_image" and style_item is None
            or (listed and style_item is not None and style_item.field == "style_images"
                and _ignores_style_with_images(model, edit_item)))
        if joins_list:
            room = _room(edit_item, len(listed))
            sent = style if room is None else style[:room]
            if edit_item.kind == "reference_image":
                listed += [{"url": url(r), "tag": f"ref{i}"} for i, r in enumerate(sent, start=1)]
            else:
                listed += [url(r) for r in sent]
            joined = edit_item.kind == "edit_images"
            if len(sent) < len(style):
                dropped.append(f"{edit_item.field} takes at most {edit_item.max_items}: "
                               f"{_count(len(style) - len(sent))} dropped")
        elif style_item is not None:
            sent = style if style_item.max_items is None else style[:style_item.max_items]
            if style_item.strength_per_item and style_item.strength_field:
                mapped = map_strength(refs.strength, style_item)
                put(style_item.field, [{"url": url(r), style_item.strength_field: mapped} for r in sent])
                shown = _num(refs.strength) + ("" if mapped == float(refs.strength) else f" → {_num(mapped)}")
                notes.append(f"{_count(len(sent))} sent as {style_item.field}, strength {shown}")
            else:
                put(style_item.field, [url(r) for r in sent])
                notes.append(f"{_count(len(sent))} sent as {style_item.field} (strength not adjustable)")
            if len(sent) < len(style):
                dropped.append(f"{style_item.field} takes at most {style_item.max_items}: "
                               f"{_count(len(style) - len(sent))} dropped")
        else:
            notes.append(f"{model.name} takes no style references: {_count(len(style))} not sent")

    if listed:
        put(edit_item.field, listed)
        with_refs = len(listed) - (1 if edit is not None else 0)
        what = " and ".join(p for p in ("input image" if edit is not None else "",
                                        _count(with_refs) if with_refs else "") if p)
        if edit_item.kind == "reference_image":
            tags = ", ".join("@" + item["tag"] for item in listed)
            said = f"{what} sent as {edit_item.field} tagged {tags} (name {'them' if len(listed) > 1 else 'it'} " \
                   "in the prompt)"
        elif joined:
            said = f"{what} sent as {edit_item.field} (style_images are ignored with it; strength not adjustable)"
        else:
            said = f"{what} sent as {edit_item.field}" + (" (strength not adjustable)" if with_refs else "")
        notes.insert(listed_note_at, said)
    return notes + dropped


def _lora_input(model: Model) -> ImageInput | None:
    return next((i for i in model.image_inputs if i.kind == "lora_style"), None)


def _moodboard_input(model: Model) -> ImageInput | None:
    return next((i for i in model.image_inputs if i.kind == "moodboard"), None)


def _strength_text(value: Any) -> str:
    return _num(value) if _is_number(value) else repr(value)


def _names(styles: Iterable[StyleChoice]) -> str:
    return ", ".join(s.label for s in styles)


def _apply_styles(model: Model, body: Mapping[str, Any], out: dict[str, Any],
                  styles: tuple[StyleChoice, ...]) -> list[str]:
    """LoRA styles into the model's ``styles`` ``[{id, strength}]``, each strength as chosen (the field's own
    range: the catalog checks it) or the field's default, else 1.0."""
    item = _lora_input(model)
    if item is None or item.max_items == 0:
        return [f"{model.name} takes no LoRA styles: not sent"]
    notes: list[str] = []
    sent = styles if item.max_items is None else styles[:item.max_items]
    default = item.strength_default if item.strength_default is not None else LORA_STRENGTH
    strengths = [s.strength if s.strength is not None else default for s in sent]
    key = item.strength_field if item.strength_per_item else None
    _put(body, out, notes, item.field,
         [{"id": s.id, **({key: v} if key else {})} for s, v in zip(sent, strengths)], "the chosen LoRA styles")
    if not key:
        notes.append(f"LoRA style{'s' * (len(sent) > 1)} {_names(sent)} sent as {item.field} "
                     "(strength not adjustable)")
    elif len(sent) == 1 or len({_strength_text(v) for v in strengths}) == 1:
        notes.append(f"LoRA style{'s' * (len(sent) > 1)} {_names(sent)} sent as {item.field}, "
                     f"strength {_strength_text(strengths[0])}")
    else:
        each = ", ".join(f"{s.label} (strength {_strength_text(v)})" for s, v in zip(sent, strengths))
        notes.append(f"LoRA styles {each} sent as {item.field}")
    if len(sent) < len(styles):
        gone = styles[len(sent):]
        notes.append(f"{item.field} takes at most {item.max_items}: {len(gone)} LoRA style"
                     f"{'s' * (len(gone) != 1)} dropped ({_names(gone)})")
    return notes


def _apply_moodboard(model: Model, body: Mapping[str, Any], out: dict[str, Any], refs: ReferenceSet) -> list[str]:
    """The moodboard into the model's ``moodboards`` ``[{id, strength}]`` (Krea 2; one at most), its strength as
    chosen or the field's default (0.23)."""
    item = _moodboard_input(model)
    if item is None or item.max_items == 0:
        return [f"{model.name} takes no moodboard: not sent"]
    notes: list[str] = []
    strength = refs.moodboard_strength
    if strength is None:
        strength = item.strength_default if item.strength_default is not None else MOODBOARD_STRENGTH
    key = item.strength_field if item.strength_per_item else None
    _put(body, out, notes, item.field, [{"id": refs.moodboard, **({key: strength} if key else {})}],
         "the chosen moodboard")
    notes.append(f"moodboard {refs.moodboard} sent, "
                 + (f"strength {_strength_text(strength)}" if key else "strength not adjustable"))
    return notes


def missing_inputs(model: Model, body: Mapping[str, Any]) -> tuple[ImageInput, ...]:
    """The required image inputs ``body`` leaves empty (Flux Kontext's image_url, Runway's reference_images)."""
    return tuple(i for i in model.image_inputs if i.required and body.get(i.field) in (None, "", [], ()))


def missing_message(model: Model, item: ImageInput, *, comparing: bool = False) -> str:
    """What to do about a required input nobody gave, for a person (not the API's wording)."""
    what = "an input image" if item.kind in ("edit_image", "edit_images") else "at least one reference image"
    does = "edits a picture" if item.kind in ("edit_image", "edit_images") else "works from reference images"
    tail = f", or leave {model.name} out of the comparison" if comparing else ""
    return f"{model.name} {does}: add {what} (sent as {item.field}) to run it{tail}. Nothing was sent."
