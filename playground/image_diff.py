"""How two result images differ: a per-pixel difference, a heatmap of it, and a few numbers (numpy + Pillow only).

The UI shows the result in a self-contained block (:mod:`playground.ui.diff_view`): result files live in a folder
that is not served by URL, so pictures travel as ``data:`` URIs made by :func:`to_data_uri`.
"""

from __future__ import annotations

import base64
import io
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

MAX_PIXELS = 40_000_000  # per image; more is a decompression bomb or nothing a text-to-image model makes
CHANGED_THRESHOLD = 8  # of 255: a pixel "differs" when any channel moves by more; JPEG noise stays below it
_ROWS_PER_BAND = 512  # work in bands of rows so a 40 MP pair never needs whole-image float arrays

# A hand-made inferno-like ramp: black (identical) through purple and red to pale yellow (most different).
HEATMAP_ANCHORS: tuple[tuple[float, tuple[int, int, int]], ...] = (
    (0.00, (0, 0, 0)),
    (0.14, (31, 12, 72)),
    (0.29, (85, 15, 109)),
    (0.43, (136, 34, 106)),
    (0.57, (186, 54, 85)),
    (0.71, (227, 89, 51)),
    (0.86, (249, 142, 9)),
    (1.00, (252, 255, 164)),
)
_MAX_DIST2 = 3 * 255 * 255


def _colormap() -> np.ndarray:
    """256 RGB colours interpolated between the anchors."""
    stops = np.array([p for p, _ in HEATMAP_ANCHORS])
    colours = np.array([c for _, c in HEATMAP_ANCHORS], dtype=np.float64)
    t = np.linspace(0.0, 1.0, 256)
    return np.stack([np.interp(t, stops, colours[:, ch]) for ch in range(3)], axis=1).round().astype(np.uint8)


def _dist2_to_colour() -> np.ndarray:
    """Squared RGB distance (0..3*255²) -> colour index, precomputed so a band is one table lookup.

    The index is sqrt of the normalised distance: most real differences are small, and a linear ramp would leave
    them all nearly black. Zero stays zero, so identical pixels are exactly black.
    """
    normalised = np.sqrt(np.arange(_MAX_DIST2 + 1, dtype=np.float64) / _MAX_DIST2)
    return np.rint(np.sqrt(normalised) * 255).astype(np.uint8)


_COLOURS = _colormap()
_INDEX = _dist2_to_colour()


@dataclass(frozen=True, eq=False)
class DiffResult:
    """Two pictures at the same size (B scaled to A's if needed), their difference heatmap and its numbers."""

    image_a: Image.Image
    image_b: Image.Image
    heatmap: Image.Image
    mean_abs: float  # mean absolute difference over all channels, 0..255
    changed_pct: float  # % of pixels where some channel differs by more than CHANGED_THRESHOLD
    psnr_db: float  # math.inf when identical
    identical: bool  # same size and every pixel equal
    note: str = ""  # set when B was rescaled to compare

    @property
    def size(self) -> tuple[int, int]:
        return self.image_a.size


def _load(path: str | Path, name: str) -> Image.Image:
    """Open one image as RGB, refusing oversize ones before their pixels are decoded."""
    try:
        with Image.open(path) as img:
            width, height = img.size
            if width * height > MAX_PIXELS:
                raise ValueError(_too_big(name, width, height))
            img = ImageOps.exif_transpose(img)
            return img.convert("RGB")
    except Image.DecompressionBombError:  # Pillow's own guard, should its limit ever be below ours
        raise ValueError(f"Image {name} is too large to compare (over {MAX_PIXELS / 1e6:.0f} MP).") from None
    except FileNotFoundError:
        raise ValueError(f"Image {name} is no longer on disk: run it again, or pick another result.") from None
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:  # SyntaxError: Pillow's broken-PNG signal
        raise ValueError(f"Image {name} could not be read ({type(exc).__name__}): "
                         f"pick another result, or run it again.") from None


def _too_big(name: str, width: int, height: int) -> str:
    return (f"Image {name} is {width}×{height} ({width * height / 1e6:.0f} MP), over the "
            f"{MAX_PIXELS / 1e6:.0f} MP limit for comparing.")


def difference(path_a: str | Path, path_b: str | Path) -> DiffResult:
    """Compare two image files pixel by pixel. Raises ValueError (a message for the user) if one can't be used."""
    image_a, image_b = _load(path_a, "A"), _load(path_b, "B")
    note = ""
    if image_b.size != image_a.size:
        (wa, ha), (wb, hb) = image_a.size, image_b.size
        note = f"B was {wb}×{hb}, scaled to {wa}×{ha} to compare."
        image_b = image_b.resize(image_a.size, Image.Resampling.LANCZOS)

    a, b = np.asarray(image_a), np.asarray(image_b)
    height, width = a.shape[:2]
    heat = np.empty((height, width, 3), dtype=np.uint8)
    abs_sum = sq_sum = changed = 0
    for top in range(0, height, _ROWS_PER_BAND):
        band = slice(top, top + _ROWS_PER_BAND)
        d = a[band].astype(np.int32) - b[band].astype(np.int32)
        dist2 = (d * d).sum(axis=2)
        abs_sum += int(np.abs(d).sum())
        sq_sum += int(dist2.sum())
        changed += int((np.abs(d).max(axis=2) > CHANGED_THRESHOLD).sum())
        heat[band] = _COLOURS[_INDEX[dist2]]

    values = width * height * 3
    mse = sq_sum / values
    return DiffResult(
        image_a=image_a,
        image_b=image_b,
        heatmap=Image.fromarray(heat, "RGB"),
        mean_abs=abs_sum / values,
        changed_pct=100.0 * changed / (width * height),
        psnr_db=math.inf if mse == 0 else 10 * math.log10(255 * 255 / mse),
        identical=not note and sq_sum == 0,
        note=note,
    )


def to_data_uri(image: Image.Image, format: str = "JPEG", quality: int = 90, max_side: int = 1024,
                max_bytes: int | None = None) -> str:
    """Encode a picture as a ``data:`` URI, shrunk to at most ``max_side`` px on its long side.

    With ``max_bytes`` a JPEG that comes out larger is encoded again at lower quality (down to 60), then smaller,
    until it fits: a page of noisy pictures stays light.
    """
    fmt = format.upper().replace("JPG", "JPEG")
    img = image.copy()
    img.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)  # only ever shrinks
    if fmt == "JPEG" and img.mode != "RGB":
        img = img.convert("RGB")
    data = _encode(img, fmt, quality)
    if max_bytes is not None and fmt == "JPEG":
        for q in (80, 70, 60):
            if len(data) <= max_bytes:
                break
            if q < quality:
                quality, data = q, _encode(img, fmt, q)
        while len(data) > max_bytes and min(img.size) > 64:
            img = img.resize((max(1, img.width * 3 // 4), max(1, img.height * 3 // 4)), Image.Resampling.LANCZOS)
            data = _encode(img, fmt, quality)
    mime = "image/jpeg" if fmt == "JPEG" else f"image/{fmt.lower()}"
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def _encode(img: Image.Image, fmt: str, quality: int) -> bytes:
    out = io.BytesIO()
    if fmt == "JPEG":
        img.save(out, "JPEG", quality=quality, optimize=True)
    else:
        img.save(out, fmt, optimize=True)
    return out.getvalue()
