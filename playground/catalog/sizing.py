"""Output sizes: aspect ratio and resolution to pixels, what a job will produce, adapting one size to a model.

``1K`` means about one megapixel, ``2K`` doubles each side and ``4K`` quadruples it. Where Google publishes a
1K size for a ratio (Gemini image models, the Nano Banana family behind Krea [3P: Google's docs, not Krea's])
we use it; other ratios get ~1 MP with both sides rounded to multiples of 16 [I].
"""

from __future__ import annotations

import math
from typing import Any, Iterable, Mapping

from .model import Model, Param

# Every ratio any catalog model offers, widest first. Values are width / height.
ASPECT_RATIOS: dict[str, float] = {}
for _ratio in ("4:1", "21:9", "2.35:1", "2:1", "16:9", "3:2", "4:3", "5:4", "1:1", "4:5", "3:4", "2:3",
               "9:16", "1:2", "1:4", "1:8"):
    _w, _h = _ratio.split(":")
    ASPECT_RATIOS[_ratio] = float(_w) / float(_h)

RESOLUTION_SCALE: dict[str, int] = {"1K": 1, "2K": 2, "4K": 4}
ONE_MEGAPIXEL = 1024 * 1024
DEFAULT_SIZE = (1024, 1024)
DEFAULT_RATIO = "1:1"
DEFAULT_RESOLUTION = "1K"

# Google's published 1K sizes for Gemini image models [3P]; all multiples of 16.
KNOWN_1K_SIZES: dict[str, tuple[int, int]] = {
    "1:1": (1024, 1024), "2:3": (832, 1248), "3:2": (1248, 832), "3:4": (864, 1184), "4:3": (1184, 864),
    "4:5": (896, 1152), "5:4": (1152, 896), "9:16": (768, 1344), "16:9": (1344, 768), "21:9": (1536, 672),
}


def parse_aspect_ratio(text: str) -> float:
    """``"16:9"`` -> 1.777...; ``ValueError`` for anything that is not two positive numbers."""
    if text in ASPECT_RATIOS:
        return ASPECT_RATIOS[text]
    try:
        w, h = (float(part) for part in str(text).split(":"))
    except ValueError:
        raise ValueError(f"not an aspect ratio: {text!r} (expected W:H, e.g. 16:9)") from None
    if not (w > 0 and h > 0 and math.isfinite(w) and math.isfinite(h)):
        raise ValueError(f"not an aspect ratio: {text!r}")
    return w / h


def _round16(value: float) -> int:
    return max(16, int(round(value / 16.0)) * 16)


def ratio_resolution_to_size(aspect_ratio: str, resolution: str = DEFAULT_RESOLUTION) -> tuple[int, int]:
    """Pixels for an aspect ratio at a resolution: 1:1/1K -> 1024x1024, 16:9/1K -> 1344x768."""
    scale = RESOLUTION_SCALE.get(str(resolution).upper())
    if scale is None:
        raise ValueError(f"unknown resolution {resolution!r} (expected one of {', '.join(RESOLUTION_SCALE)})")
    if aspect_ratio in KNOWN_1K_SIZES:
        w, h = KNOWN_1K_SIZES[aspect_ratio]
    else:
        ratio = parse_aspect_ratio(aspect_ratio)
        w, h = _round16(math.sqrt(ONE_MEGAPIXEL * ratio)), _round16(math.sqrt(ONE_MEGAPIXEL / ratio))
    return w * scale, h * scale


def nearest_aspect_ratio(width: float, height: float, choices: Iterable[str] | None = None) -> str:
    """The choice closest to width:height, compared on a log scale so 2:1 and 1:2 are equally far from 1:1."""
    options = list(choices) if choices is not None else list(ASPECT_RATIOS)
    if not options:
        raise ValueError("no aspect ratios to choose from")
    target = math.log(max(width, 1) / max(height, 1))
    return min(options, key=lambda c: abs(math.log(parse_aspect_ratio(c)) - target))


# No job produces a side below this. Seedream takes any width from 1 px (its spec sets no minimum), but its
# provider makes pictures of ~0.9 MP or more [3P]; the sandbox's renderer draws 16 px and up [I].
MIN_OUTPUT_SIDE = 16


def _as_int(value: Any) -> int | None:
    """A side as a whole number of pixels (a fractional side, which the spec allows, is rounded), or None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        return None
    return max(MIN_OUTPUT_SIDE, int(round(value)))


def _default_of(model: Model, name: str, fallback: Any) -> Any:
    p = model.param(name)
    return p.default if p is not None and p.default is not None else fallback


def output_size(model: Model, params: Mapping[str, Any]) -> tuple[int, int]:
    """The (width, height) the job will produce, from the params or the model's defaults."""
    if model.sizing == "none":
        return DEFAULT_SIZE  # SeedEdit keeps its input's size; we cannot know it, 1024x1024 is the stand-in [I]
    w, h = _as_int(params.get("width")), _as_int(params.get("height"))
    if model.sizing == "wh":
        return (w or _as_int(_default_of(model, "width", 1024)) or 1024,
                h or _as_int(_default_of(model, "height", 1024)) or 1024)
    if model.sizing == "both" and w and h:
        return w, h
    ratio = params.get("aspect_ratio") or _default_of(model, "aspect_ratio", DEFAULT_RATIO)
    resolution = params.get("resolution") or _default_of(model, "resolution", DEFAULT_RESOLUTION)
    try:
        return ratio_resolution_to_size(str(ratio), str(resolution))
    except ValueError:
        return DEFAULT_SIZE


def _snap_side(value: int, param: Param | None, label: str, model: Model, notes: list[str]) -> int:
    """Round to the param's multiple_of and keep within its bounds (rounding inwards at the edges)."""
    if param is None:
        return value
    step = param.multiple_of or 1
    lo = param.minimum if param.minimum is not None else step
    hi = param.maximum
    snapped = int(round(value / step)) * step
    if hi is not None and snapped > hi:
        snapped = int(math.floor(hi / step)) * step
    if snapped < lo:
        snapped = int(math.ceil(lo / step)) * step
    if snapped != value:
        why = f"a multiple of {step}" if step > 1 else f"{lo:g} to {hi:g} px" if hi is not None else f">= {lo:g}"
        notes.append(f"{label} {value} -> {snapped} ({model.name} needs {why})")
    return snapped


def _fit_bounds(w: int, h: int, model: Model, notes: list[str]) -> tuple[int, int]:
    """Scale both sides by one factor so they fit the model's limits, keeping the shape where possible."""
    pw, ph = model.param("width"), model.param("height")
    hi = min((p.maximum for p in (pw, ph) if p is not None and p.maximum is not None), default=None)
    lo = max((p.minimum for p in (pw, ph) if p is not None and p.minimum is not None), default=None)
    factor = 1.0
    if hi is not None and max(w, h) > hi:
        factor = hi / max(w, h)
    elif lo is not None and min(w, h) < lo:
        factor = lo / min(w, h)
    if factor != 1.0:
        nw, nh = int(round(w * factor)), int(round(h * factor))
        limit = f"at most {hi:g}" if factor < 1 else f"at least {lo:g}"
        notes.append(f"{w}x{h} scaled to {nw}x{nh}: {model.name} takes sides of {limit} px")
        w, h = nw, nh
    return w, h


def snap_size(model: Model, width: int, height: int) -> tuple[int, int, list[str]]:
    """The size closest to width x height that this model can produce, and notes on what changed.

    Width/height models: scaled into the allowed range, then rounded to ``multiple_of`` and clamped. Ratio
    models: the nearest offered aspect ratio at the default resolution.
    """
    notes: list[str] = []
    width, height = max(1, int(round(width))), max(1, int(round(height)))
    if model.sizing in ("wh", "both"):
        w, h = _fit_bounds(width, height, model, notes)
        w = _snap_side(w, model.param("width"), "width", model, notes)
        h = _snap_side(h, model.param("height"), "height", model, notes)
        return w, h, notes
    if model.sizing == "ratio":
        ratio_param = model.param("aspect_ratio")
        choices = [c for c in (ratio_param.choices if ratio_param and ratio_param.choices else ASPECT_RATIOS)
                   if c is not None]
        ratio = nearest_aspect_ratio(width, height, choices)
        resolution = _default_of(model, "resolution", DEFAULT_RESOLUTION)
        w, h = ratio_resolution_to_size(ratio, resolution)
        if (w, h) != (width, height):
            notes.append(f"{model.name} takes an aspect ratio: {ratio} at {resolution} gives {w}x{h}")
        return w, h, notes
    notes.append(f"{model.name} does not take a size; it keeps its input image's size")
    return DEFAULT_SIZE[0], DEFAULT_SIZE[1], notes


def size_params(model: Model, width: int, height: int) -> tuple[dict[str, Any], list[str]]:
    """The body fields that ask this model for (about) width x height, and notes on the adaptation."""
    w, h, notes = snap_size(model, width, height)
    if model.sizing in ("wh", "both"):
        return {"width": w, "height": h}, notes
    if model.sizing == "ratio":
        ratio_param = model.param("aspect_ratio")
        choices = [c for c in (ratio_param.choices or ()) if c is not None] if ratio_param else []
        fields: dict[str, Any] = {"aspect_ratio": nearest_aspect_ratio(width, height, choices or None)}
        if model.param("resolution") is not None:
            fields["resolution"] = _default_of(model, "resolution", DEFAULT_RESOLUTION)
        return fields, notes
    return {}, notes
