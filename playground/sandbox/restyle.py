"""How reference images shape a sandbox picture: style references lend their palette, an edit input its layout.

Both use one colour transfer, :func:`palette_map`: every pixel keeps its brightness *rank* and takes the colour
found at that rank in another picture (histogram matching of luminance, carrying colour). Mapping the procedural
picture onto a reference's colours keeps the composition and gives it the reference's palette; the mapped
picture's mean colour equals the reference's exactly, so blending it in at ``t`` moves the mean colour a fraction
``t`` of the way to the reference's. Mapping an edit input onto the procedural picture's colours keeps the
input's layout in the prompt's colours.

A reference is decoded once, at most :data:`EDIT_SIDE` px, into a :class:`Picture` whose luminance-to-colour
table is computed from a 64 px copy; applying it to a 1 MP render costs a few milliseconds (PIL's C point(),
merge() and blend()).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps

EDIT_SIDE = 512  # edit inputs are kept this large: they give the render its layout
TABLE_SIDE = 64  # colour tables come from this small a copy (4096 pixels, 16 per quantile bin)
BINS = 256
STYLE_INFLUENCE = 0.8  # how far a style reference at strength 1 pulls the picture to its palette
EDIT_KEEP = 0.75  # how much of an editing model's picture is the (restyled) input
EDIT_INPUT_COLOUR = 0.4  # the share of the input's own colours in its restyled version (the prompt's: the rest)
_LUMA = np.asarray((0.299, 0.587, 0.114), np.float64)


@dataclass(frozen=True, eq=False)
class Picture:
    """A decoded reference: ``image`` (RGB, longest side <= EDIT_SIDE) and its colour per luminance quantile."""

    key: str
    image: Image.Image
    table: np.ndarray  # (BINS, 3) float64: mean colour of each 1/BINS slice of the pixels sorted by luminance


@dataclass(frozen=True)
class Reference:
    """One image input of a job. ``role`` "style": blend towards its palette by ``weight`` (-1..1; negative: away,
    towards the inverted palette). ``role`` "edit": the picture takes the input's layout, ``weight`` 0..1 of it."""

    field: str  # where it came from, as Krea names fields: "style_images.0.url"
    role: str  # "style" | "edit"
    weight: float
    picture: Picture


def make_picture(key: str, image: Image.Image) -> Picture:
    """A Picture from any decoded image (converted to RGB and shrunk to EDIT_SIDE)."""
    image = image if image.mode == "RGB" else image.convert("RGB")
    if max(image.size) > EDIT_SIDE:
        image = image.copy()
        image.thumbnail((EDIT_SIDE, EDIT_SIDE), Image.BILINEAR, reducing_gap=2.0)
    return Picture(key, image, colour_table(image))


def colour_table(image: Image.Image) -> np.ndarray:
    """(BINS, 3): the mean colour of each equal-count slice of the pixels ranked by luminance (of a TABLE_SIDE
    copy). The table's mean is the picture's mean colour."""
    small = image
    if max(image.size) > TABLE_SIDE:
        small = image.copy()
        small.thumbnail((TABLE_SIDE, TABLE_SIDE), Image.BILINEAR, reducing_gap=2.0)
    px = np.asarray(small.convert("RGB"), np.float64).reshape(-1, 3)
    ranked = px[np.argsort(px @ _LUMA, kind="stable")]
    return _slice_means(np.vstack([np.zeros((1, 3)), np.cumsum(ranked, axis=0)]), np.linspace(0, len(px), BINS + 1))


def _slice_means(cum: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Mean of the piecewise-constant signal whose running sum is ``cum`` over each [edges[i], edges[i+1]); an
    empty slice takes the value at its position (it colours no pixel, any value would do)."""
    grid = np.arange(len(cum), dtype=np.float64)
    at = np.stack([np.interp(edges, grid, cum[:, c]) for c in range(3)], axis=1)
    widths = np.diff(edges)[:, None]
    k = np.clip(edges[:-1].astype(int), 0, len(cum) - 2)
    return np.where(widths > 1e-9, np.diff(at, axis=0) / np.maximum(widths, 1e-9), cum[k + 1] - cum[k])


def palette_map(image: Image.Image, table: np.ndarray) -> Image.Image:
    """``image`` recoloured: each brightness level takes the table's mean colour over the quantile range the
    level occupies in ``image``, so the result keeps the layout and has the table's colour distribution."""
    lum = image.convert("L")
    hist = np.asarray(lum.histogram(), np.float64)
    cdf = np.concatenate([[0.0], np.cumsum(hist)]) * (BINS / max(hist.sum(), 1.0))  # level v spans cdf[v]..cdf[v+1]
    cum = np.vstack([np.zeros((1, 3)), np.cumsum(table, axis=0)])
    colours = _slice_means(cum, cdf)
    lut = np.clip(np.rint(colours), 0, 255).astype(np.uint8)
    return Image.merge("RGB", [lum.point(lut[:, c].tolist()) for c in range(3)])


def inverted(table: np.ndarray) -> np.ndarray:
    """The complementary palette, still ordered dark to light (a negative strength pulls towards it)."""
    return 255.0 - table[::-1]


def apply_references(image: Image.Image, references: Sequence[Reference]) -> Image.Image:
    """The procedural ``image`` with its edit input (the first "edit" reference) and style references applied."""
    edit = next((r for r in references if r.role == "edit"), None)
    if edit is not None and edit.weight > 0:
        image = compose_edit(image, edit.picture, edit.weight)
    styles = [r for r in references if r.role == "style" and r.weight]
    if not styles:
        return image
    weights = np.asarray([min(1.0, abs(r.weight)) for r in styles])
    tables = [r.picture.table if r.weight > 0 else inverted(r.picture.table) for r in styles]
    table = sum(w * t for w, t in zip(weights, tables)) / weights.sum()
    amount = 1.0 - float(np.prod(1.0 - weights))  # several references pull harder, never past their palette
    return Image.blend(image, palette_map(image, table), amount)


def compose_edit(image: Image.Image, picture: Picture, keep: float) -> Image.Image:
    """The input's layout (cropped to fill the render's shape) in the procedural picture's colours, blended over
    the procedural picture by ``keep``: the prompt's colours and texture on the input's composition. The input is
    restyled at its decoded size (at most EDIT_SIDE) and scaled up once."""
    k = min(1.0, EDIT_SIDE / max(image.size))
    small = (max(1, round(image.width * k)), max(1, round(image.height * k)))
    layout = ImageOps.fit(picture.image, small, Image.BILINEAR)
    restyled = Image.blend(palette_map(layout, colour_table(image)), layout, EDIT_INPUT_COLOUR)
    if restyled.size != image.size:
        restyled = restyled.resize(image.size, Image.BILINEAR)
    return Image.blend(image, restyled, min(1.0, max(0.0, keep)))


def palette_picture(key: str, colours: Sequence[tuple[float, float, float]]) -> Picture:
    """A Picture of equal stripes of ``colours``: a palette (LoRA style, moodboard) used as a style reference."""
    stripes = np.repeat(np.asarray(colours, np.float64)[:, None, :], 8, axis=0)  # (8n, 1, 3): 8 px a colour
    return make_picture(key, Image.fromarray(np.clip(np.rint(stripes), 0, 255).astype(np.uint8)))
