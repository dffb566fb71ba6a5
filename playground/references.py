"""Reference images: local pictures a run follows (style) or starts from (edit), uploaded once, sent per model.

A :class:`ReferenceSet` is what a person chooses: some pictures to follow, how strongly (0..1), optionally one
picture to edit or start from, LoRA styles by id (:class:`StyleChoice`, chosen from ``GET /styles``) and a Krea 2
moodboard by id. Each model takes those in its own fields (``playground.catalog.image_inputs``):
:func:`apply_references` puts them into exactly the fields a model accepts, in its own strength range, and says in
short notes what it did (for the form, the tiles and the comparison table). Pictures travel as asset URLs:
:class:`AssetCache` uploads each distinct file once per session (``POST /assets``) and remembers its URL. Styles
and moodboards travel by id: nothing is uploaded for them.
"""

from __future__ import annotations

import hashlib
import io
import math
import threading
import time
import warnings
import weakref
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image

from playground.catalog import ImageInput, Model
from playground.krea.assets import MAX_ASSET_BYTES, Asset, Style
from playground.krea.client import KreaClient
from playground.krea.errors import NotFound

DEFAULT_STRENGTH = 0.5
MAX_REFERENCES = 16  # the most any model takes is 15 (ChatGPT Image's style_images)
MAX_PIXELS = 40_000_000  # converting a larger picture (a GIF or TIFF "bomb") costs too much memory
KEEP_PER_SESSION = 50
KEEP_SESSIONS = 1000
# What POST /assets keeps as is (Krea also takes HEIC, which Pillow cannot read without a plugin).
SENT_AS_IS = {"JPEG": ("image/jpeg", ".jpg"), "PNG": ("image/png", ".png"), "WEBP": ("image/webp", ".webp")}
EDIT_TAG = "image"  # Runway's tag for the input image; references are ref1, ref2, ... (^[a-z][a-z0-9_]+$, 3-16)
PENDING_HOST = "pending-upload.invalid"  # placeholder URLs for plans made before anything is uploaded
LORA_STRENGTH = 1.0  # a LoRA style at its trained weight, when the field's schema gives no default
MOODBOARD_STRENGTH = 0.23  # Krea's default [C SKILLS-G live schema], when the field's schema gives none
MAX_STYLES = 10  # a sanity cap: no model documents more than 5 (ChatGPT Image); Flux, Qwen, Krea 2 give no maximum
MAX_ID_LENGTH = 200  # style and moodboard ids are UUIDs (36 characters)
STYLE_CACHE_SECONDS = 300.0  # GET /styles is asked again after this; a trained style shows up within it
STYLE_PAGE_SIZE = 100
MAX_STYLE_PAGES = 5  # at most 500 styles in a list: enough to choose from, a bounded wait
KEEP_STYLE_LISTS = 256


class BadReference(ValueError):
    """A picture or set that cannot be used; ``str()`` is a sentence for the person who chose it."""

    def __init__(self, message: str, field: str = "references") -> None:
        super().__init__(message)
        self.field = field


# --- one picture -------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Reference:
    """One local picture, identified by the sha256 of the bytes that will be uploaded. Holds either its bytes
    or its path (read again at upload time, and checked against the hash)."""

    sha256: str
    mime_type: str  # image/jpeg, image/png or image/webp
    width: int
    height: int
    size_bytes: int
    name: str = field(default="reference.png", compare=False)
    path: Path | None = field(default=None, compare=False)
    data: bytes | None = field(default=None, compare=False, repr=False)

    @classmethod
    def from_bytes(cls, data: bytes, name: str = "reference") -> Reference:
        """A picture from its bytes: JPEG, PNG and WebP are kept as they are; any other picture Pillow reads
        (GIF, BMP, TIFF, ...) becomes a PNG. :class:`BadReference` for anything else."""
        payload, mime, suffix, (width, height) = _inspect(bytes(data), name)
        return cls(hashlib.sha256(payload).hexdigest(), mime, width, height, len(payload),
                   _file_name(name, suffix), None, payload)

    @classmethod
    def from_path(cls, path: str | Path) -> Reference:
        """A picture from a file (e.g. what an upload component hands over)."""
        path = Path(path)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise BadReference(f"{path.name or 'The file'} could not be read ({exc.strerror or exc}).") from None
        payload, mime, suffix, (width, height) = _inspect(data, path.name)
        kept_path = path if payload is data else None  # a converted picture keeps its new bytes instead
        return cls(hashlib.sha256(payload).hexdigest(), mime, width, height, len(payload),
                   _file_name(path.name, suffix), kept_path, None if kept_path else payload)

    @classmethod
    def of(cls, value: Any) -> Reference:
        """A Reference from whatever a caller holds: a Reference, bytes, a path, a PIL image, or an object with a
        ``path`` (an upload component's file)."""
        if isinstance(value, Reference):
            return value
        if isinstance(value, (bytes, bytearray, memoryview)):
            return cls.from_bytes(bytes(value))
        if isinstance(value, (str, Path)):
            return cls.from_path(value)
        if isinstance(value, Image.Image):
            out = io.BytesIO()
            value.save(out, "PNG")
            return cls.from_bytes(out.getvalue(), "image.png")
        if isinstance(getattr(value, "path", None), (str, Path)):
            return cls.from_path(value.path)
        raise BadReference(f"A reference must be a picture file or its bytes (got {type(value).__name__}).")

    def read(self) -> bytes:
        """The bytes to upload."""
        if self.data is not None:
            return self.data
        if self.path is None:
            raise BadReference(f"{self.name} has neither bytes nor a file.")
        try:
            data = self.path.read_bytes()
        except OSError as exc:
            raise BadReference(f"{self.name} could not be read again ({exc.strerror or exc}): choose it again.") \
                from None
        if hashlib.sha256(data).hexdigest() != self.sha256:
            raise BadReference(f"{self.name} changed after it was chosen: choose it again.")
        return data


def _file_name(name: str, suffix: str) -> str:
    stem = Path(str(name or "")).stem.strip() or "reference"
    return stem[:80] + suffix


def _inspect(data: bytes, name: str) -> tuple[bytes, str, str, tuple[int, int]]:
    """(bytes to upload, MIME type, file suffix, size), converting to PNG what POST /assets would not keep."""
    label = Path(str(name or "")).name or "The picture"
    if not data:
        raise BadReference(f"{label} is empty.")
    if len(data) > MAX_ASSET_BYTES:
        raise BadReference(f"{label} is {len(data) / 1024 / 1024:.0f} MB: Krea takes files of at most 75 MB.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                fmt, size = image.format, image.size
                if size[0] * size[1] > MAX_PIXELS:
                    raise BadReference(f"{label} is {size[0]}x{size[1]}: too large a picture (at most "
                                       f"{MAX_PIXELS // 1_000_000} megapixels).")
                if fmt in SENT_AS_IS:
                    mime, suffix = SENT_AS_IS[fmt]
                    return data, mime, suffix, size
                image.seek(0)
                frame = image.convert("RGBA" if image.mode in ("RGBA", "LA", "P", "PA") else "RGB")
    except BadReference:
        raise
    except Exception as exc:  # noqa: BLE001 - Pillow raises many types for what is not a picture it reads
        raise BadReference(f"{label} is not a picture this playground can read ({type(exc).__name__}): use a "
                           "JPEG, PNG or WebP file.") from None
    out = io.BytesIO()
    frame.save(out, "PNG")
    return out.getvalue(), "image/png", ".png", frame.size


# --- styles and moodboards, by id ---------------------------------------------------------------------------------

def _read_strength(value: Any) -> Any:
    """None/"" mean "the field's default"; numeric text becomes a number; other text is kept (check() names it)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


def _is_number(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value)


def _check_id(value: str, what: str, field_name: str) -> None:
    if len(value) > MAX_ID_LENGTH or any(c.isspace() or not c.isprintable() for c in value):
        raise BadReference(f"{what} id {value[:40]!r} is not an id Krea gives (no spaces, at most "
                           f"{MAX_ID_LENGTH} characters).", field_name)


@dataclass(frozen=True)
class StyleChoice:
    """One LoRA style to apply: its id (from ``GET /styles``), the name shown for it, and its strength in the
    ``styles`` field's own range (-2..2 on every model that takes them today; below 0 pushes away from the
    style). ``strength`` None: the field's default, else 1.0 (the style at its trained weight)."""

    id: str
    name: str = ""
    strength: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "id", str(self.id or "").strip())
        object.__setattr__(self, "name", str(self.name or "").strip())
        object.__setattr__(self, "strength", _read_strength(self.strength))
        if not self.id:
            raise BadReference("A LoRA style needs its id (choose it from the list of styles).", "references.styles")

    @property
    def label(self) -> str:
        """What notes call it: its title, else its id."""
        return self.name or self.id

    @classmethod
    def of(cls, value: Any, strength: Any = None) -> StyleChoice:
        """A choice from a :class:`Style` (``GET /styles``), a StyleChoice, an id, or a mapping with ``id`` and
        optionally ``name``/``title`` and ``strength``. `strength` given here wins over the value's own."""
        if isinstance(value, StyleChoice):
            return value if strength is None else cls(value.id, value.name, strength)
        if isinstance(value, Style):
            return cls(value.id, value.title or "", strength)
        if isinstance(value, str):
            return cls(value, "", strength)
        if isinstance(value, Mapping):
            return cls(str(value.get("id") or ""), str(value.get("name") or value.get("title") or ""),
                       value.get("strength") if strength is None else strength)
        raise BadReference(f"A LoRA style is chosen by its id (got {type(value).__name__}).", "references.styles")


# Which names in a style's ``models`` (GET /styles: "Compatible model names (e.g., flux_dev, wan)") mean a catalog
# model, compared without case and with "-" as "_". Krea trains LoRAs for flux_dev, flux_schnell, wan, wan22, qwen
# and z-image [C SPEC POST /styles/train]; the names for Krea 2 and ChatGPT Image are the sandbox's [I]. A key
# ending in "/" covers a family. A model that takes `styles` but is not here keeps every style (we cannot tell).
STYLE_MODEL_NAMES: dict[str, tuple[str, ...]] = {
    "bfl/flux-1-dev": ("flux_dev",),
    "krea/krea-2/": ("krea_2",),
    "qwen/2512": ("qwen",),
    "z-image/z-image": ("z_image",),
    "openai/gpt-image": ("gpt_image",),
}


def _style_model_name(name: str) -> str:
    return name.strip().lower().replace("-", "_")


def style_model_names(model: Model) -> frozenset[str] | None:
    """The names a style lists when it works with ``model``; None when we do not know them."""
    for key, names in STYLE_MODEL_NAMES.items():
        if model.id == key or (key.endswith("/") and model.id.startswith(key)):
            return frozenset(_style_model_name(n) for n in names)
    return None


def style_fits(style: Style, model: Model) -> bool:
    """Whether ``style`` can go into ``model``'s ``styles``: the model takes LoRA styles, and the style lists it
    (a style that lists no models, or a model whose names we do not know, is kept)."""
    if not any(i.kind == "lora_style" for i in model.image_inputs):
        return False
    names = style_model_names(model)
    if names is None or not style.models:
        return True
    return bool(names & {_style_model_name(m) for m in style.models})


# --- a set of pictures -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ReferenceSet:
    """Pictures to follow (in order), how strongly (0 = not at all, 1 = as much as a model allows), an optional
    picture to edit or start from, LoRA styles by id (each with its own strength, in the field's range) and one
    Krea moodboard by id (``moodboard_strength`` 0..1; None: the field's default, 0.23)."""

    references: tuple[Reference, ...] = ()
    strength: float = DEFAULT_STRENGTH
    edit_image: Reference | None = None
    styles: tuple[StyleChoice, ...] = ()
    moodboard: str | None = None
    moodboard_strength: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "references", tuple(self.references or ()))
        seen: set[str] = set()
        styles = (StyleChoice.of(s) for s in (self.styles or ()) if not _blank(s))
        object.__setattr__(self, "styles", tuple(s for s in styles if not (s.id in seen or seen.add(s.id))))
        moodboard = str(self.moodboard).strip() if self.moodboard is not None else ""
        object.__setattr__(self, "moodboard", moodboard or None)
        object.__setattr__(self, "moodboard_strength", _read_strength(self.moodboard_strength))

    @classmethod
    def of(cls, references: Iterable[Any] = (), strength: Any = DEFAULT_STRENGTH,
           edit_image: Any = None, *, styles: Iterable[Any] = (), moodboard: Any = None,
           moodboard_strength: Any = None) -> ReferenceSet:
        """A set from paths, bytes, PIL images or References (None and empty entries skipped): what upload
        widgets hold; `strength` may be a number or its text (None: the default, 0.5). `styles`: Styles, ids,
        StyleChoices or ``{id, name, strength}`` (each id once); `moodboard`: an id ("" or None: none).
        :class:`BadReference` names the picture that cannot be used."""
        refs = tuple(Reference.of(r) for r in (references or ()) if not _blank(r))
        edit = None if _blank(edit_image) else Reference.of(edit_image)
        if strength is None or (isinstance(strength, str) and not strength.strip()):
            strength = DEFAULT_STRENGTH
        elif isinstance(strength, str):
            try:
                strength = float(strength)
            except ValueError:
                pass  # left as text: check() names it
        return cls(refs, strength, edit, tuple(styles or ()), None if _blank(moodboard) else str(moodboard),
                   moodboard_strength)

    @property
    def style(self) -> tuple[Reference, ...]:
        """The pictures to follow, each distinct file once."""
        seen: set[str] = set()
        return tuple(r for r in self.references if not (r.sha256 in seen or seen.add(r.sha256)))

    @property
    def pictures(self) -> tuple[Reference, ...]:
        """Every distinct picture of the set (the edit image first): what must be uploaded."""
        seen: set[str] = set()
        every = ((self.edit_image,) if self.edit_image is not None else ()) + self.references
        return tuple(r for r in every if not (r.sha256 in seen or seen.add(r.sha256)))

    @property
    def has_pictures(self) -> bool:
        return bool(self.references) or self.edit_image is not None

    @property
    def is_empty(self) -> bool:
        return not self.has_pictures and not self.styles and self.moodboard is None

    def check(self) -> None:
        """:class:`BadReference` for a strength outside 0..1 or too many pictures, too many LoRA styles, an id
        that cannot be one, or a style or moodboard strength that is not a number (their ranges are each
        model's: the catalog checks them where they are sent, naming ``styles.0.strength``)."""
        strength = self.strength
        if not _is_number(strength) or not 0 <= strength <= 1:
            raise BadReference(f"The reference strength must be between 0 and 1 (got {strength!r}).",
                               "references.strength")
        if len(self.style) > MAX_REFERENCES:
            raise BadReference(f"At most {MAX_REFERENCES} reference images ({len(self.style)} chosen).")
        if len(self.styles) > MAX_STYLES:
            raise BadReference(f"At most {MAX_STYLES} LoRA styles ({len(self.styles)} chosen).", "references.styles")
        for style in self.styles:
            _check_id(style.id, "The LoRA style", "references.styles")
            if style.strength is not None and not _is_number(style.strength):
                raise BadReference(f"The strength of LoRA style {style.label} must be a number (got "
                                   f"{style.strength!r}).", "references.styles")
        if self.moodboard is not None:
            _check_id(self.moodboard, "The moodboard", "references.moodboard")
        if self.moodboard_strength is not None and not _is_number(self.moodboard_strength):
            raise BadReference(f"The moodboard strength must be a number between 0 and 1 (got "
                               f"{self.moodboard_strength!r}).", "references.moodboard_strength")

    def summary(self, asset_urls: Mapping[str, str] | None = None) -> dict[str, Any]:
        """The set as JSON (kept with a comparison's settings): strength, each picture with its URL, the LoRA
        styles and the moodboard (a strength of None: each model's default)."""
        def one(ref: Reference) -> dict[str, Any]:
            return {"name": ref.name, "sha256": ref.sha256, "url": (asset_urls or {}).get(ref.sha256)}

        return {"strength": self.strength, "references": [one(r) for r in self.style],
                "edit_image": one(self.edit_image) if self.edit_image is not None else None,
                "styles": [{"id": s.id, "name": s.name, "strength": s.strength} for s in self.styles],
                "moodboard": None if self.moodboard is None else {"id": self.moodboard,
                                                                  "strength": self.moodboard_strength}}


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, (str, bytes)) and not value)


def placeholder_url(ref: Reference) -> str:
    """Where a picture will be, before it is uploaded: lets a plan be checked without sending anything."""
    return f"https://{PENDING_HOST}/{ref.sha256}{Path(ref.name).suffix or '.png'}"


# --- per model ---------------------------------------------------------------------------------------------------

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


# --- uploads, once per file per session --------------------------------------------------------------------------

@dataclass(frozen=True)
class CachedAsset:
    """A picture this session uploaded: its file's hash and the asset Krea (or the sandbox) made of it."""

    sha256: str
    name: str
    asset: Asset

    @property
    def asset_id(self) -> str:
        return self.asset.id

    @property
    def url(self) -> str:
        return self.asset.image_url


@dataclass
class _Bucket:
    client: weakref.ref  # the session's client when these were uploaded: another token cannot use or delete them
    entries: OrderedDict[str, CachedAsset] = field(default_factory=OrderedDict)  # sha256 -> asset, LRU last
    lock: threading.Lock = field(default_factory=threading.Lock)  # one upload at a time per session


class AssetCache:
    """Per session (the run service's session id): sha256 of a file -> its asset, uploaded through that session's
    client the first time only. Bounded: past ``per_session`` the least recently used is forgotten here (it stays
    at the backend, where stored runs may still point at it); past ``sessions`` the oldest session likewise. A
    session whose client changed (a token pasted or forgotten) starts empty. Thread-safe."""

    def __init__(self, per_session: int = KEEP_PER_SESSION, sessions: int = KEEP_SESSIONS) -> None:
        self.per_session = per_session
        self.max_sessions = sessions
        self._lock = threading.Lock()
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def _bucket(self, key: str, client: KreaClient) -> _Bucket:
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None or bucket.client() is not client:
                bucket = self._buckets[key] = _Bucket(weakref.ref(client))
            self._buckets.move_to_end(key)
            while len(self._buckets) > self.max_sessions:
                self._buckets.popitem(last=False)
            return bucket

    def upload(self, key: str, client: KreaClient, ref: Reference) -> CachedAsset:
        """The picture's asset, uploaded now unless this session already did. Raises the client's errors
        (``KreaError``), :class:`BadReference` for a file that cannot be read again."""
        bucket = self._bucket(key, client)
        with bucket.lock:
            cached = bucket.entries.get(ref.sha256)
            if cached is not None:
                bucket.entries.move_to_end(ref.sha256)
                return cached
            asset = client.upload_asset(ref.read(), ref.name, ref.mime_type)
            cached = bucket.entries[ref.sha256] = CachedAsset(ref.sha256, ref.name, asset)
            while len(bucket.entries) > self.per_session:
                bucket.entries.popitem(last=False)
            return cached

    def upload_set(self, key: str, client: KreaClient, refs: ReferenceSet) -> dict[str, str]:
        """sha256 -> URL for every picture of the set (each distinct file uploaded at most once)."""
        return {ref.sha256: self.upload(key, client, ref).url for ref in refs.pictures}

    def assets(self, key: str, client: KreaClient | None = None) -> list[CachedAsset]:
        """This session's uploads, most recently used first (none if its client changed since)."""
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None or (client is not None and bucket.client() is not client):
                return []
            return list(reversed(bucket.entries.values()))

    def remove(self, key: str, client: KreaClient, asset_id_or_sha: str) -> bool:
        """Delete one upload at the backend (``DELETE /assets/{id}``) and forget it. True if this session had
        it (already gone at the backend counts as deleted); other client errors propagate and it is kept."""
        bucket = self._bucket(key, client)
        with bucket.lock:
            found = next((c for c in bucket.entries.values()
                          if asset_id_or_sha in (c.asset_id, c.sha256)), None)
            if found is None:
                return False
            try:
                client.delete_asset(found.asset_id)
            except NotFound:
                pass  # deleted elsewhere, or dropped by the backend: gone either way
            bucket.entries.pop(found.sha256, None)
            return True

    def forget(self, key: str) -> None:
        """Forget a session's uploads here (its tab closed); they stay at the backend."""
        with self._lock:
            self._buckets.pop(key, None)


# --- LoRA styles, listed once per backend and token every few minutes --------------------------------------------

def fetch_styles(client: KreaClient, filter: str | None = None, pages: int = MAX_STYLE_PAGES) -> tuple[Style, ...]:
    """``GET /styles`` page after page (at most ``pages``), each id once, in the backend's order (newest first).
    Raises the client's errors (``KreaError``)."""
    found: dict[str, Style] = {}
    cursor: str | None = None
    cursors: set[str] = set()
    for _ in range(max(pages, 1)):
        page = client.list_styles(limit=STYLE_PAGE_SIZE, cursor=cursor, filter=filter)
        for style in page.items:
            if style.id and style.id not in found:
                found[style.id] = style
        if not page.items or not page.next_cursor or page.next_cursor in cursors:
            break
        cursors.add(page.next_cursor)
        cursor = page.next_cursor
    return tuple(found.values())


@dataclass(frozen=True)
class _StyleList:
    expires: float
    client: weakref.ref | None  # a private list (a pasted token): only the client that fetched it may read it
    styles: tuple[Style, ...]


class StyleCache:
    """``GET /styles`` kept for ``ttl`` seconds per (API base, ``filter``, whose styles). A list that is the same
    for everyone on that base (the sandbox's fixed styles, the app's own token) is shared between sessions; a
    pasted token's list (it holds that user's own and workspace-shared styles) is that client's alone. Failures
    are not kept: the next call asks again. Bounded, thread-safe; two first calls at once may both fetch."""

    def __init__(self, ttl: float = STYLE_CACHE_SECONDS, pages: int = MAX_STYLE_PAGES,
                 keep: int = KEEP_STYLE_LISTS, clock=time.monotonic) -> None:
        self.ttl = ttl
        self.pages = pages
        self.keep = keep
        self.clock = clock
        self._lock = threading.Lock()
        self._lists: OrderedDict[tuple[str, str, str], _StyleList] = OrderedDict()

    def styles(self, client: KreaClient, *, shared: bool, filter: str | None = None,
               refresh: bool = False) -> tuple[Style, ...]:
        """The styles ``client`` sees, from the cache unless stale or ``refresh``; the client's errors propagate."""
        key = (client.base_url, filter or "", "shared" if shared else f"client:{id(client)}")
        now = self.clock()
        with self._lock:
            entry = self._lists.get(key)
            if (entry is not None and not refresh and entry.expires > now
                    and (entry.client is None or entry.client() is client)):
                self._lists.move_to_end(key)
                return entry.styles
        styles = fetch_styles(client, filter, self.pages)
        with self._lock:
            self._lists[key] = _StyleList(self.clock() + self.ttl, None if shared else weakref.ref(client), styles)
            self._lists.move_to_end(key)
            while len(self._lists) > self.keep:
                self._lists.popitem(last=False)
        return styles

    def clear(self) -> None:
        with self._lock:
            self._lists.clear()
