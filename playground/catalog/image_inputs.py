"""The image inputs each model takes: what they are, how many, how strong, whether the model needs one.

Derived from the spec (``maxItems``/``minItems``, the ``strength`` bounds inside items, ``required``) plus
``overrides.IMAGE_INPUT_FACTS`` where the spec is silent (``from_openapi`` passes them in). Every limit carries its
source in :attr:`ImageInput.source` with the marks of ``../shared/krea/API-NOTES.md`` ([C] confirmed by Krea,
[C-old] only in an older snapshot, [3P] third party, [I] our inference).

Kinds, by body field (a field a newer spec adds under another name is simply not listed here):

======================== =========================== =====================================================
kind                     field                       shape
======================== =========================== =====================================================
``style_reference``      ``image_style_references``  ``[{url, strength}]`` (Krea 2, Flux)
``moodboard``            ``moodboards``              ``[{id, strength}]``: a Krea moodboard by id (Krea 2)
``style_image``          ``style_images``            ``[{url, strength}]``: "image prompts"
``edit_image``           ``image_url``               one URL: the picture to edit or start from
``edit_images``          ``image_urls``              ``[url]``: pictures to edit or combine
``character_reference``  ``character_reference_images`` ``[url]`` (Ideogram 3)
``reference_image``      ``reference_images``        ``[{url, tag}]`` (Runway Gen-4)
``lora_style``           ``styles``                  ``[{id, strength}]``: trained styles (LoRAs) by id
======================== =========================== =====================================================
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Iterable, Literal, Mapping, get_args

if TYPE_CHECKING:  # model.py imports this module (Model.image_inputs): no import of it at run time
    from .model import Param

ImageInputKind = Literal[
    "style_reference", "moodboard", "style_image", "edit_image", "edit_images", "character_reference",
    "reference_image", "lora_style",
]
IMAGE_INPUT_KINDS: tuple[str, ...] = get_args(ImageInputKind)

# field -> (kind, label, one-line help). The help is generic; a model's own fact (IMAGE_INPUT_FACTS) may add to it.
KINDS_BY_FIELD: dict[str, tuple[str, str, str]] = {
    "image_style_references": ("style_reference", "Style references",
                               "Pictures whose look (colour, texture, mood) the result borrows; strength sets how "
                               "much."),
    "moodboards": ("moodboard", "Moodboard",
                   "A Krea moodboard, by its id, steering the whole aesthetic; strength sets how much."),
    "style_images": ("style_image", "Image prompts",
                     "Pictures the model takes as visual prompts, each weighted by its strength."),
    "image_url": ("edit_image", "Input image", "The picture to edit or start from."),
    "image_urls": ("edit_images", "Input images", "Pictures the model edits or combines."),
    "character_reference_images": ("character_reference", "Character references",
                                   "Pictures of a character to keep recognisable in the result."),
    "reference_images": ("reference_image", "Reference images",
                         "Tagged pictures, each {url, tag}; the prompt refers to one as @tag."),
    "styles": ("lora_style", "Styles (LoRAs)", "Trained styles by id (see GET /styles), each weighted by strength."),
}
BY_ID_KINDS = frozenset({"moodboard", "lora_style"})  # items name a Krea object, not a picture


@dataclass(frozen=True)
class ImageInput:
    """One image input of one model. ``max_items`` is None when no maximum is known (1 for a single URL)."""

    field: str
    kind: ImageInputKind  # one of IMAGE_INPUT_KINDS
    label: str
    help: str
    required: bool  # the model cannot run without it (Runway's reference_images, SeedEdit's and Kontext's image)
    min_items: int
    max_items: int | None
    strength_field: str | None  # "strength" inside each item, or a top-level field for a single edit image
    strength_per_item: bool  # True: each item carries its strength; False: one top-level field (or none)
    strength_min: float | None
    strength_max: float | None
    strength_default: float | None
    by_id: bool  # items are Krea ids (moodboards, styles), not picture URLs
    data_uri: bool  # a data:image/...;base64, URI is taken in place of an http(s) URL
    item_keys: tuple[str, ...]  # keys of each item object; () for a plain URL or a list of URLs
    source: str  # where the limits come from, each with its mark

    @property
    def is_list(self) -> bool:
        return self.kind != "edit_image"

    def to_dict(self) -> dict:
        data = asdict(self)
        data["item_keys"] = list(self.item_keys)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ImageInput:
        values = dict(data)
        values["item_keys"] = tuple(values.get("item_keys") or ())
        return cls(**values)


def _num(x: float | None) -> str:
    return "?" if x is None else (str(int(x)) if float(x).is_integer() else f"{x:g}")


def _item_schema(param: Param) -> dict:
    items = (param.schema or {}).get("items")
    return items if isinstance(items, dict) else {}


def image_input(param: Param, params: Mapping[str, Param], facts: Mapping[str, Any], *,
                from_spec: bool) -> ImageInput | None:
    """The :class:`ImageInput` a param describes, or None when it is not an image input. ``facts`` are the
    model's own for this field (``overrides.IMAGE_INPUT_FACTS[model_id][field]``); ``from_spec`` says whether
    the schema came from Krea's spec (else from the overrides' own encoding of Krea's docs)."""
    known = KINDS_BY_FIELD.get(param.name)
    if known is None:
        return None
    kind, label, help_text = known
    origin = "[C SPEC]" if from_spec else facts.get("schema_source", "[I]")
    notes: list[str] = []

    if param.type == "array":
        item = _item_schema(param)
        props = item.get("properties") if isinstance(item.get("properties"), dict) else {}
        item_keys = tuple(props)
        strength = props.get("strength") if isinstance(props.get("strength"), dict) else None
        strength_field = "strength" if strength is not None else None
        per_item = strength is not None
        s_min = strength.get("minimum") if strength else None
        s_max = strength.get("maximum") if strength else None
        s_default = strength.get("default") if strength else None
        max_items = param.max_items
        spec_max = (param.schema or {}).get("maxItems")
        if max_items is None:
            notes.append(f"no maximum known (none in {origin})")
        elif spec_max == max_items:
            low = param.min_items
            notes.append(f"{low} to {max_items} {origin}" if low else f"at most {max_items} {origin}")
        else:
            notes.append(f"at most {max_items} {facts.get('max_items_source', '[I]')}")
        if strength is not None:
            notes.append(f"strength {_num(s_min)}..{_num(s_max)}"
                         + (f", default {_num(s_default)}" if s_default is not None else "")
                         + f" {facts.get('strength_source', origin)}")
    else:  # a single URL (image_url)
        item_keys = ()
        max_items = 1
        strength_field = facts.get("strength_field")
        per_item = False
        top = params.get(strength_field) if strength_field else None
        if top is None:
            strength_field = None
        s_min = top.minimum if top else None
        s_max = top.maximum if top else None
        s_default = top.default if top else None
        if top is not None:
            notes.append(f"strength in '{strength_field}' {_num(s_min)}..{_num(s_max)}, default {_num(s_default)} "
                         f"{facts.get('strength_source', origin)}")

    required = bool(param.required or facts.get("required"))
    if param.required:
        notes.append(f"required {origin}")
    elif facts.get("required"):
        notes.append(f"required {facts.get('required_source', '[I]')}")
    min_items = param.min_items if param.min_items is not None else (1 if required and kind != "edit_image" else 0)
    data_uri = bool(facts.get("data_uri"))
    if data_uri:
        notes.append(f"data URIs accepted {facts.get('data_uri_source', '[I]')}")
    extra_help = facts.get("help")
    return ImageInput(
        field=param.name,
        kind=kind,
        label=label,
        help=f"{help_text} {extra_help}".strip() if extra_help else help_text,
        required=required,
        min_items=int(min_items) if kind != "edit_image" else (1 if required else 0),
        max_items=max_items,
        strength_field=strength_field,
        strength_per_item=per_item,
        strength_min=s_min,
        strength_max=s_max,
        strength_default=s_default,
        by_id=kind in BY_ID_KINDS,
        data_uri=data_uri,
        item_keys=item_keys,
        source="; ".join(notes),
    )


def image_inputs_for(params: Iterable[Param], facts: Mapping[str, Mapping[str, Any]] | None = None, *,
                     from_spec: bool = True) -> tuple[ImageInput, ...]:
    """Every image input among ``params``, in their order; ``facts`` maps a field to the model's own facts."""
    params = tuple(params)
    by_name = {p.name: p for p in params}
    facts = facts or {}
    found = (image_input(p, by_name, facts.get(p.name, {}), from_spec=from_spec) for p in params)
    return tuple(i for i in found if i is not None)


def needed_message(model_name: str, item: ImageInput) -> str:
    """What a body without this required input lacks, said so a person can supply it."""
    if item.kind == "edit_image":
        return (f"{item.field} is required: {model_name} edits a picture you give it. Set {item.field} to the "
                "picture's http(s) URL (POST /assets turns a file into one).")
    count = (f"{item.min_items} to {item.max_items}" if item.max_items is not None and item.max_items != item.min_items
             else f"at least {item.min_items}")
    shape = "{" + ", ".join(item.item_keys) + "}" if item.item_keys else "a URL"
    extra = "; the prompt refers to each as @tag" if "tag" in item.item_keys else ""
    return (f"{item.field} is required: {model_name} needs {count} {item.label.lower()}, each {shape}{extra} "
            "(POST /assets turns a file into a URL).")
