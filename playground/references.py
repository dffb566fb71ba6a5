"""Reference images: local pictures a run follows (style) or starts from (edit), uploaded once, sent per model.

A :class:`ReferenceSet` is what a person chooses: some pictures to follow, how strongly (0..1), and optionally
one picture to edit or start from. Each model takes those in its own fields (``playground.catalog.image_inputs``):
:func:`apply_references` puts them into exactly the fields a model accepts, in its own strength range, and says in
short notes what it did (for the form, the tiles and the comparison table). Pictures travel as asset URLs:
:class:`AssetCache` uploads each distinct file once per session (``POST /assets``) and remembers its URL.
"""

from __future__ import annotations

import hashlib
import io
import math
import threading
import warnings
import weakref
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image

from playground.catalog import ImageInput, Model
from playground.krea.assets import MAX_ASSET_BYTES, Asset
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


# --- a set of pictures -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ReferenceSet:
    """Pictures to follow (in order), how strongly (0 = not at all, 1 = as much as a model allows), and an
    optional picture to edit or start from."""

    references: tuple[Reference, ...] = ()
    strength: float = DEFAULT_STRENGTH
    edit_image: Reference | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "references", tuple(self.references or ()))

    @classmethod
    def of(cls, references: Iterable[Any] = (), strength: Any = DEFAULT_STRENGTH,
           edit_image: Any = None) -> ReferenceSet:
        """A set from paths, bytes, PIL images or References (None and empty entries skipped): what upload
        widgets hold; `strength` may be a number or its text (None: the default, 0.5).
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
        return cls(refs, strength, edit)

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
    def is_empty(self) -> bool:
        return not self.references and self.edit_image is None

    def check(self) -> None:
        """:class:`BadReference` for a strength outside 0..1 or too many pictures."""
        strength = self.strength
        if isinstance(strength, bool) or not isinstance(strength, (int, float)) or not math.isfinite(strength) \
                or not 0 <= strength <= 1:
            raise BadReference(f"The reference strength must be between 0 and 1 (got {strength!r}).",
                               "references.strength")
        if len(self.style) > MAX_REFERENCES:
            raise BadReference(f"At most {MAX_REFERENCES} reference images ({len(self.style)} chosen).")

    def summary(self, asset_urls: Mapping[str, str] | None = None) -> dict[str, Any]:
        """The set as JSON (kept with a comparison's settings): strength, and each picture with its URL."""
        def one(ref: Reference) -> dict[str, Any]:
            return {"name": ref.name, "sha256": ref.sha256, "url": (asset_urls or {}).get(ref.sha256)}

        return {"strength": self.strength, "references": [one(r) for r in self.style],
                "edit_image": one(self.edit_image) if self.edit_image is not None else None}


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


def apply_references(model: Model, body: Mapping[str, Any], refs: ReferenceSet | None,
                     asset_urls: Mapping[str, str] | None = None) -> tuple[dict[str, Any], tuple[str, ...]]:
    """``body`` with the set's pictures in exactly the fields ``model`` accepts, and short notes saying what was
    done. ``asset_urls`` maps each picture's sha256 to its uploaded URL; None puts placeholders (a plan before
    anything is uploaded). Fields the set fills replace what ``body`` had in them."""
    out = dict(body)
    if refs is None or refs.is_empty:
        return out, ()

    def url(ref: Reference) -> str:
        if asset_urls is None:
            return placeholder_url(ref)
        try:
            return asset_urls[ref.sha256]
        except KeyError:
            raise BadReference(f"{ref.name} was not uploaded.") from None

    def put(name: str, value: Any) -> None:
        if body.get(name) not in (None, "", [], ()):
            notes.append(f"{name} from the request replaced by the chosen pictures")
        out[name] = value

    notes: list[str] = []
    style, edit = refs.style, refs.edit_image
    style_item, edit_item = _style_input(model), _edit_input(model)
    if style_item is None and edit_item is None:
        return out, (f"{model.name} takes no reference images: sent without them",)

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
    return out, tuple(notes + dropped)


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
