"""Reference images: local pictures a run follows (style) or starts from (edit), and the set a person chooses.

A :class:`ReferenceSet` is what a person chooses: some pictures to follow, how strongly (0..1), optionally one
picture to edit or start from, LoRA styles by id (:class:`StyleChoice`, chosen from ``GET /styles``) and a Krea 2
moodboard by id. Each model takes those in its own fields (``playground.catalog.image_inputs``):
:func:`playground.reference_mapping.apply_references` puts them into exactly the fields a model accepts, in its own
strength range, and says in short notes what it did (for the form, the tiles and the comparison table). Pictures
travel as asset URLs: :class:`playground.asset_cache.AssetCache` uploads each distinct file once per session
(``POST /assets``) and remembers its URL. Styles and moodboards travel by id: nothing is uploaded for them
(:mod:`playground.style_list` lists the styles a model can take).
"""

from __future__ import annotations

import hashlib
import io
import math
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image

from playground.krea.assets import MAX_ASSET_BYTES, Style

__all__ = [
    "DEFAULT_STRENGTH", "MAX_ASSET_BYTES", "MAX_ID_LENGTH", "MAX_PIXELS", "MAX_REFERENCES", "MAX_STYLES",
    "PENDING_HOST", "SENT_AS_IS",
    "BadReference", "Reference", "ReferenceSet", "StyleChoice", "placeholder_url",
]

DEFAULT_STRENGTH = 0.5
MAX_REFERENCES = 16  # the most any model takes is 15 (ChatGPT Image's style_images)
MAX_PIXELS = 40_000_000  # converting a larger picture (a GIF or TIFF "bomb") costs too much memory
# What POST /assets keeps as is (Krea also takes HEIC, which Pillow cannot read without a plugin).
SENT_AS_IS = {"JPEG": ("image/jpeg", ".jpg"), "PNG": ("image/png", ".png"), "WEBP": ("image/webp", ".webp")}
PENDING_HOST = "pending-upload.invalid"  # placeholder URLs for plans made before anything is uploaded
MAX_STYLES = 10  # a sanity cap: no model documents more than 5 (ChatGPT Image); Flux, Qwen, Krea 2 give no maximum
MAX_ID_LENGTH = 200  # style and moodboard ids are UUIDs (36 characters)


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

