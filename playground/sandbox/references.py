"""A job's image inputs: which body fields carry them, where their URLs may point, and their decoded pictures.

The sandbox never calls another host. It reads:

- its own asset URLs (``/assets-files/{id}/{name}``) and job images (``/files/{job_id}/{name}``) straight from
  its store (the URL's host must be the sandbox: the address the client used, or any loopback name, same port);
- ``data:`` URIs (base64), as Krea accepts for Krea 2 style references;
- Krea's own hosts (``*.krea.ai``, e.g. the spec's example ``gen.krea.ai/images/...``), which Krea accepts but
  the sandbox cannot fetch: a procedural stand-in picture derived from the URL takes their place.

Any other URL is refused as Krea refuses non-Krea hosts on some models: 400 ``Invalid asset URL`` naming the
field as Krea does (``style_images.0.url``). Decoded pictures are cached by source (asset id, job file, data
hash, URL) in a small LRU, so a reference used by many jobs is decoded once.
"""

from __future__ import annotations

import base64
import binascii
import colorsys
import hashlib
import io
import re
import threading
import warnings
from collections import OrderedDict
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from PIL import Image, ImageOps

from .assets import ACCEPTED, MAX_ASSET_BYTES, AssetRefused, AssetStore, image_size, sniff_image
from .restyle import EDIT_KEEP, EDIT_SIDE, STYLE_INFLUENCE, Picture, Reference, make_picture, palette_picture
from .styles import BY_ID as SANDBOX_STYLES

INVALID = "Invalid asset URL"
KREA_DOMAIN = "krea.ai"
CACHE_SIZE = 64
# Fields of any model's body that carry images (URLs or ids); a body with none of them costs nothing here.
IMAGE_FIELDS = frozenset({"image_url", "image_urls", "reference_images", "style_images", "image_style_references",
                          "character_reference_images", "moodboards", "styles"})
# Strengths when an item gives none and the model's schema has no default for it (the catalog's schemas carry
# Krea 2's: 0.5 for image_style_references [C K2], 0.23 for moodboards [C SKILLS-G live schema]).
REFERENCE_STRENGTH = 0.5
MOODBOARD_STRENGTH = 0.23
LORA_STRENGTH = 1.0
EXTRA_INPUT_STRENGTH = 0.3  # image_urls / reference_images after the first lend their palette at this strength
CHARACTER_STRENGTH = 0.5  # character_reference_images: no strength in the spec; they lend their palette


class ReferenceRefused(ValueError):
    """An image input the sandbox will not read; ``str()`` is the 400 message and names the field."""


JobFile = Callable[[str, str], "tuple[bytes, str] | None"]  # engine.file(job_id, name)


class ReferenceResolver:
    """Turns a validated body into the job's :class:`Reference` list. Thread-safe; blocking (decodes)."""

    def __init__(self, assets: AssetStore, job_file: JobFile, max_bytes: int = MAX_ASSET_BYTES):
        self.assets = assets
        self.job_file = job_file
        self.max_bytes = max_bytes
        self._cache: OrderedDict[str, Picture] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def wanted(params: Mapping[str, Any]) -> bool:
        """True if the body has an image field with something in it (then :meth:`resolve` is worth a thread)."""
        return any(params.get(name) for name in IMAGE_FIELDS)

    def resolve(self, model, params: Mapping[str, Any], base_url: str) -> tuple[Reference, ...]:
        """The job's references, edit input first. ReferenceRefused on a URL the sandbox cannot read."""
        base = urlsplit(base_url)
        return self._edit_inputs(model, params, base) + self._style_inputs(model, params, base)

    def _edit_inputs(self, model, params: Mapping[str, Any], base) -> tuple[Reference, ...]:
        """image_url, image_urls, reference_images: the first gives the layout, the others their palette."""
        inputs = ([("image_url", params["image_url"])] if isinstance(params.get("image_url"), str) else [])
        inputs += [(f"image_urls.{i}", url) for i, url in _strings(params, "image_urls")]
        inputs += [(f"reference_images.{i}.url", item["url"]) for i, item in _items(params, "reference_images")
                   if isinstance(item.get("url"), str)]
        refs = []
        for index, (field, url) in enumerate(inputs):
            picture = self.picture(field, url, base)
            if index == 0:
                refs.append(Reference(field, "edit", _edit_keep(model, params, field), picture))
            else:
                refs.append(_style(field, EXTRA_INPUT_STRENGTH, picture))
        return tuple(refs)

    def _style_inputs(self, model, params: Mapping[str, Any], base) -> tuple[Reference, ...]:
        """Style references, character references, moodboards and LoRA styles: each lends a palette."""
        refs = []
        # Nano Banana: "If [image_urls are] provided, style images are ignored" [C SPEC]. Still checked.
        ignore_style_images = bool(params.get("image_urls"))
        for name in ("style_images", "image_style_references"):
            for i, item in _items(params, name):
                if not isinstance(item.get("url"), str):  # the spec's style_images items require only strength
                    continue
                field = f"{name}.{i}.url"
                picture = self.picture(field, item["url"], base)
                if not (name == "style_images" and ignore_style_images):
                    refs.append(_style(field, _strength(model, name, item, REFERENCE_STRENGTH), picture))
        for i, url in _strings(params, "character_reference_images"):
            field = f"character_reference_images.{i}"
            refs.append(_style(field, CHARACTER_STRENGTH, self.picture(field, url, base)))
        for i, item in _items(params, "moodboards"):
            key = f"moodboard:{item.get('id')}"
            picture = self._cached(key, lambda: palette_picture(key, moodboard_palette(str(item.get("id")))))
            strength = _strength(model, "moodboards", item, MOODBOARD_STRENGTH)
            refs.append(_style(f"moodboards.{i}.id", strength, picture))
        for i, item in _items(params, "styles"):
            style = SANDBOX_STYLES.get(str(item.get("id")))
            if style is None:  # a LoRA the sandbox does not have: accepted, no effect (docs/SANDBOX.md)
                continue
            key = f"style:{style.style_id}"
            picture = self._cached(key, lambda: palette_picture(key, style.palette))
            refs.append(_style(f"styles.{i}.id", _strength(model, "styles", item, LORA_STRENGTH), picture))
        return tuple(refs)

    def picture(self, field: str, url: str, base) -> Picture:
        """The decoded picture behind one URL (cached), or ReferenceRefused naming ``field``."""
        if url.startswith("data:"):
            data = self._data_uri(field, url)
            key = "data:" + hashlib.sha256(data).hexdigest()
            return self._cached(key, lambda: _decode(field, key, io.BytesIO(data)))
        try:
            parts = urlsplit(url)
            host, _ = parts.hostname or "", parts.port  # .port raises on a port that is not a number
        except ValueError:
            host = ""
        if not host or parts.scheme not in ("http", "https"):
            raise ReferenceRefused(f"{INVALID}: {field} must be an http(s) URL or a data: URI (got {_short(url)}).")
        if _same_server(parts, base):
            return self._own(field, parts.path)
        if host == KREA_DOMAIN or host.endswith("." + KREA_DOMAIN):
            key = "krea:" + url
            return self._cached(key, lambda: make_picture(key, stand_in(url)))
        raise ReferenceRefused(
            f"{INVALID}: {field} points at {host!r}; the sandbox reads only its own asset URLs (upload the image "
            "with POST /assets and pass its image_url), its own job images and data: URIs.")

    def forget(self, asset_id: str) -> None:
        """Drop a deleted asset's decoded picture."""
        with self._lock:
            self._cache.pop(f"asset:{asset_id}", None)

    # ------------------------------------------------------------------------------------------------ helpers

    def _own(self, field: str, path: str) -> Picture:
        found = re.fullmatch(r"/assets-files/([^/]+)/([^/]+)", path)
        if found:
            asset = self.assets.find(found.group(1))
            if asset is None or asset.name != found.group(2):
                raise ReferenceRefused(f"{INVALID}: {field}: no such asset on this sandbox (deleted, or dropped "
                                       "past the sandbox's asset limit).")
            key = f"asset:{asset.asset_id}"
            try:
                return self._cached(key, lambda: _decode(field, key, asset.path))
            except OSError:  # deleted while we looked
                raise ReferenceRefused(f"{INVALID}: {field}: no such asset on this sandbox (deleted).") from None
        found = re.fullmatch(r"/files/([^/]+)/([^/]+)", path)
        if found:
            key = f"job:{found.group(1)}/{found.group(2)}"
            cached = self._lookup(key)
            if cached is not None:
                return cached
            published = self.job_file(found.group(1), found.group(2))
            if published is None:
                raise ReferenceRefused(f"{INVALID}: {field}: that job image is not published (the job is not "
                                       "completed, or was dropped).")
            return self._cached(key, lambda: _decode(field, key, io.BytesIO(published[0])))
        raise ReferenceRefused(f"{INVALID}: {field}: {path!r} is not an image of this sandbox (its images are at "
                               "/assets-files/{id}/{name} and /files/{job_id}/{name}).")

    def _data_uri(self, field: str, url: str) -> bytes:
        header, comma, payload = url.partition(",")
        if not comma or not header.lower().endswith(";base64"):
            raise ReferenceRefused(f"{INVALID}: {field}: a data: URI must be base64, e.g. data:image/png;base64,...")
        if len(payload) > self.max_bytes * 4 // 3 + 4:
            raise ReferenceRefused(f"{INVALID}: {field}: the data: URI holds more than {self.max_bytes:,} bytes.")
        try:
            return base64.b64decode("".join(payload.split()), validate=True)
        except (binascii.Error, ValueError):
            raise ReferenceRefused(f"{INVALID}: {field}: the data: URI is not valid base64.") from None

    def _lookup(self, key: str) -> Picture | None:
        with self._lock:
            picture = self._cache.get(key)
            if picture is not None:
                self._cache.move_to_end(key)
            return picture

    def _cached(self, key: str, make: Callable[[], Picture]) -> Picture:
        picture = self._lookup(key)
        if picture is None:
            picture = make()  # outside the lock: two jobs may decode one new image twice, never block each other
            with self._lock:
                self._cache[key] = picture
                while len(self._cache) > CACHE_SIZE:
                    self._cache.popitem(last=False)
        return picture


def _items(params: Mapping[str, Any], name: str):
    """(index, item) of a list-of-objects field; anything else in it is skipped (validation saw it first)."""
    value = params.get(name)
    return [(i, item) for i, item in enumerate(value) if isinstance(item, dict)] if isinstance(value, list) else []


def _strings(params: Mapping[str, Any], name: str):
    value = params.get(name)
    return [(i, url) for i, url in enumerate(value) if isinstance(url, str)] if isinstance(value, list) else []


def _style(field: str, strength: float, picture: Picture) -> Reference:
    return Reference(field, "style", STYLE_INFLUENCE * max(-1.0, min(1.0, float(strength))), picture)


def _strength(model, field: str, item: Mapping[str, Any], fallback: float) -> float:
    """The item's strength, else the default the model's schema gives for it, else ``fallback``."""
    if isinstance(item.get("strength"), (int, float)):
        return float(item["strength"])
    param = model.param(field)
    items = (param.schema or {}).get("items") if param is not None else None
    default = ((items or {}).get("properties") or {}).get("strength", {}).get("default")
    return float(default) if isinstance(default, (int, float)) else fallback


def _edit_keep(model, params: Mapping[str, Any], field: str) -> float:
    """How much of the picture is the edit input. Editing models (an input required, or image_urls /
    reference_images) keep EDIT_KEEP; img2img (Flux's image_url + strength, Z Image's denoising_strength, where
    0 keeps the input and 1 ignores it) keeps 0.3 + 0.6 x (1 - strength): always visibly there."""
    if model.needs_image or field != "image_url":
        return EDIT_KEEP
    for name in ("strength", "denoising_strength"):
        param = model.param(name)
        if param is not None:
            value = params.get(name, param.default if param.default is not None else 1.0)
            return 0.3 + 0.6 * (1.0 - max(0.0, min(1.0, float(value))))
    return EDIT_KEEP


def _same_server(parts, base) -> bool:
    """True if a URL points at this sandbox: its port, and the host the client used or any loopback name."""
    from .engine import is_loopback_host  # the engine imports this module

    def port(p) -> int:
        return p.port or (443 if p.scheme == "https" else 80)

    if port(parts) != port(base):
        return False
    host, own = (parts.hostname or "").lower(), (base.hostname or "").lower()
    return host == own or (is_loopback_host(host) and is_loopback_host(own))


def _decode(field: str, key: str, source: io.BytesIO | Path) -> Picture:
    """Decode at most EDIT_SIDE px (JPEG decodes straight at a reduced scale), upright per EXIF, as RGB."""
    with (source.open("rb") if isinstance(source, Path) else source) as file:
        if sniff_image(file.read(16)) is None:
            raise ReferenceRefused(f"{INVALID}: {field} is not a {ACCEPTED}.")
        file.seek(0)
        try:
            image_size(file, field)
            file.seek(0)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                with Image.open(file) as img:
                    img.draft("RGB", (EDIT_SIDE, EDIT_SIDE))
                    img = ImageOps.exif_transpose(img) or img
                    img.thumbnail((EDIT_SIDE, EDIT_SIDE), Image.BILINEAR, reducing_gap=2.0)
                    picture = make_picture(key, img.convert("RGB"))
        except AssetRefused as exc:
            raise ReferenceRefused(f"{INVALID}: {exc}") from None
        except Exception as exc:  # noqa: BLE001 - a truncated or corrupt file
            problem = f"{INVALID}: {field} could not be read as an image ({type(exc).__name__})."
            raise ReferenceRefused(problem) from None
    return picture


def stand_in(url: str) -> Image.Image:
    """What a Krea-hosted URL looks like in the sandbox: a small procedural picture derived from the URL."""
    from .renderer import render_image  # the renderer imports this package's restyle: import when needed

    seed = int.from_bytes(hashlib.sha256(url.encode("utf-8", "surrogatepass")).digest()[:4], "big")
    return render_image("sandbox/stand-in", url, seed, 256, 256)


def moodboard_palette(moodboard_id: str) -> tuple[tuple[float, float, float], ...]:
    """Five colours, dark to light, from a moodboard's id (the sandbox has no moodboards to look up)."""
    h = hashlib.sha256(moodboard_id.encode("utf-8", "surrogatepass")).digest()
    hue, spread = h[0] / 255, 0.04 + h[1] / 255 * 0.2
    colours = []
    for k, value in enumerate((0.18, 0.38, 0.58, 0.78, 0.95)):
        r, g, b = colorsys.hsv_to_rgb((hue + spread * k) % 1.0, 0.65 - 0.1 * k, value)
        colours.append((r * 255, g * 255, b * 255))
    return tuple(colours)


def _short(text: str) -> str:
    return repr(text if len(text) <= 60 else text[:57] + "...")
