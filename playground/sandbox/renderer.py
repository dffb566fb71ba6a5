"""Deterministic procedural pictures for the sandbox: a recognisable look per model, shaped by the prompt.

``render_image`` paints a small stylised scene (sky, sun or moon, mountains, water, city, forest, a subject...)
chosen from the prompt's words, in the drawing habits and colour grade of the requested model, then marks it
discreetly as a sandbox render. ``render_previews`` gives the noisy in-between frames a diffusion model would send
(``render_preview`` one of them).
The same (model, prompt, seed, size) always gives the same bytes: randomness comes from a numpy Generator seeded
with a SHA-256 of the inputs, never from Python's ``hash()`` or a global RNG.
"""

from __future__ import annotations

import colorsys
import hashlib
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageChops, ImageDraw, ImageEnhance, ImageFilter, ImageFont, ImageOps

from playground.sandbox.render_scenes import RGB, Canvas, Look, Palette, Scene, compose, mix, rgb
from playground.sandbox.restyle import Reference, apply_references

# Larger requests are painted at about this many pixels and upscaled: memory and time stay bounded at 8K.
MAX_INTERNAL_PIXELS = 2_100_000
MIN_SIDE, MAX_SIDE = 16, 16384


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


SCENE_WORDS: dict[str, frozenset[str]] = {
    "sunset": _words("sunset sunsets dusk evening twilight sundown golden"),
    "sunrise": _words("sunrise dawn morning daybreak"),
    "night": _words("night nights star stars starry space galaxy galaxies cosmos cosmic moon moonlit "
                    "midnight nebula"),
    "space": _words("space galaxy galaxies cosmos cosmic nebula"),
    "ocean": _words("ocean oceans sea seas lake lakes beach beaches coast shore waves wave river water bay "
                    "harbor harbour"),
    "beach": _words("beach beaches shore coast sand sandy"),
    "forest": _words("forest forests tree trees jungle woods woodland pine pines"),
    "mountain": _words("mountain mountains landscape peak peaks valley alps ridge ridges"),
    "hills": _words("hill hills meadow field fields countryside"),
    "snow": _words("snow snowy winter ice icy frozen snowfall blizzard frost"),
    "city": _words("city cities cyberpunk neon skyline street downtown urban tokyo metropolis skyscraper "
                   "skyscrapers buildings"),
    "neon": _words("cyberpunk neon synthwave"),
    "desert": _words("desert deserts dune dunes sahara"),
    "cat": _words("cat cats kitten kitty"),
    "dog": _words("dog dogs puppy"),
    "person": _words("portrait person woman man girl boy people face astronaut character selfie"),
}
COLOR_WORDS: dict[str, RGB] = {
    "red": (215, 45, 50), "crimson": (180, 20, 50), "orange": (245, 135, 40), "gold": (235, 180, 55),
    "yellow": (245, 215, 70), "green": (55, 165, 85), "emerald": (20, 150, 100), "teal": (25, 150, 155),
    "cyan": (40, 200, 225), "turquoise": (50, 210, 200), "blue": (45, 95, 215), "navy": (20, 35, 95),
    "purple": (135, 65, 200), "violet": (150, 90, 220), "magenta": (215, 50, 170), "pink": (245, 130, 180),
    "white": (245, 245, 242), "black": (12, 12, 18), "brown": (125, 80, 48), "grey": (125, 125, 132),
    "gray": (125, 125, 132), "silver": (190, 195, 205),
}
# Base skies: top of the sky, middle, horizon, sun (or moon).
SKIES: dict[str, tuple[RGB, RGB, RGB, RGB]] = {
    "day": ((60, 115, 200), (120, 170, 225), (215, 230, 240), (255, 250, 230)),
    "sunset": ((40, 38, 105), (205, 85, 105), (255, 168, 90), (255, 228, 160)),
    "sunrise": ((85, 115, 195), (238, 155, 165), (255, 212, 150), (255, 244, 205)),
    "night": ((5, 7, 22), (14, 20, 52), (38, 48, 95), (238, 236, 220)),
}


def parse_prompt(prompt: str, default_tags: frozenset[str] = frozenset({"hills"})) -> Scene:
    """Scene tags and colour words of a prompt; a prompt naming no scene gets the model's default scene."""
    words = re.findall(r"[a-z]+", (prompt or "").lower())
    tags = {tag for tag, vocab in SCENE_WORDS.items() if vocab.intersection(words)}
    if not tags - {"sunset", "sunrise", "night", "snow", "neon"}:
        tags |= default_tags
    colors = tuple(dict.fromkeys(COLOR_WORDS[w] for w in words if w in COLOR_WORDS))
    return Scene(frozenset(tags), colors)


def make_palette(scene: Scene, look: Look) -> Palette:
    """Blend the scene's sky with the model's colours, then tint it with the prompt's colour words."""
    top, mid, hor, sun = SKIES[scene.sky]
    deep, mid_c, warm, light, accent = look.colors
    k = look.sky_mix * (0.45 if scene.sky == "night" else 1.0)  # nights stay dark whatever the style
    top, mid = mix(top, deep, k), mix(mid, mid_c, k)
    hor = mix(hor, warm if scene.sky in ("sunset", "sunrise") else light, k * 0.7)
    if "neon" in scene.tags:
        mid, hor, accent = mix(mid, (120, 30, 140), 0.5), mix(hor, (235, 60, 160), 0.6), (40, 230, 240)
    if scene.colors:
        c0, c1 = scene.colors[0], scene.colors[-1]
        dim = 0.25 if scene.sky == "night" else 1.0
        top, mid = mix(top, mix(c0, top, 1 - dim), 0.45), mix(mid, mix(c0, mid, 1 - dim), 0.5)
        hor, accent = mix(hor, mix(c1, hor, 1 - dim), 0.3), mix(accent, c1, 0.6)
    return Palette(top, mid, hor, sun, accent, deep)


@dataclass(frozen=True)
class Style:
    """A model family's look: how scenes are drawn and the colour grade applied afterwards."""

    look: Look
    grade: tuple[str, ...] = ()
    default_tags: frozenset[str] = frozenset({"hills"})  # the scene drawn when the prompt names none


def _tags(*names: str) -> frozenset[str]:
    return frozenset(names)


STYLES: dict[str, Style] = {
    # Krea: bold diagonal gradients, big soft shapes, vivid colour.
    "krea": Style(Look(((45, 20, 120), (160, 60, 225), (255, 115, 95), (255, 196, 150), (255, 80, 170)),
                       sky_mix=0.6, soft=2.5, diagonal=0.7, blobs=5), ("vivid", "grain")),
    # Flux: painterly layered landscapes, many hazy ridges, warm light, brushy texture.
    "bfl": Style(Look(((35, 45, 75), (110, 120, 155), (245, 160, 100), (235, 215, 180), (235, 140, 70)),
                      sky_mix=0.3, soft=1.8, ridges=5), ("brush", "warm"), _tags("mountain")),
    # Google: clean flat geometry, banded sky, crisp edges, no texture.
    "google": Style(Look(((25, 85, 185), (70, 145, 235), (250, 185, 60), (225, 240, 250), (52, 168, 83)),
                         sky_mix=0.35, soft=0.6, flat=7)),
    # OpenAI: soft pastel illustration on warm paper.
    "openai": Style(Look(((120, 140, 205), (195, 170, 225), (250, 190, 170), (252, 236, 220), (240, 150, 175)),
                         sky_mix=0.5, soft=3.5), ("pastel", "paper")),
    # ByteDance: photographic contrast, deep vignette, film grain.
    "bytedance": Style(Look(((15, 30, 60), (70, 110, 160), (240, 140, 60), (220, 225, 230), (230, 80, 40)),
                            sky_mix=0.2, soft=0.9, ridges=4), ("contrast", "vignette", "grain"),
                       _tags("mountain", "ocean")),
    # Ideogram: posters: banded sky, striped retro sun, a frame and the prompt set as a title.
    "ideogram": Style(Look(((35, 30, 85), (230, 95, 70), (250, 175, 55), (250, 232, 195), (240, 70, 60)),
                           sky_mix=0.55, soft=0.8, flat=5, retro_sun=True), ("poster",), _tags("mountain")),
    # Luma: dreamy glow, violet and cyan.
    "luma": Style(Look(((35, 20, 90), (115, 80, 205), (255, 150, 185), (200, 220, 255), (120, 200, 255)),
                       sky_mix=0.4, soft=2.0, blobs=2), ("bloom", "cool"), _tags("ocean")),
    # Runway: cinematic teal and orange, anamorphic flare, grain.
    "runway": Style(Look(((10, 40, 58), (40, 100, 122), (255, 150, 70), (250, 210, 160), (255, 120, 50)),
                         sky_mix=0.35, soft=1.0), ("teal_orange", "flare", "grain", "vignette"), _tags("desert")),
    # Qwen: ink wash on paper with a red seal.
    "qwen": Style(Look(((45, 45, 50), (125, 125, 120), (205, 185, 155), (240, 232, 215), (190, 40, 40)),
                       sky_mix=0.5, soft=2.5, ridges=4), ("ink",), _tags("mountain")),
    # Z Image: retro risograph print: two inks and a halftone screen.
    "z-image": Style(Look(((30, 50, 120), (240, 90, 110), (255, 190, 80), (250, 240, 225), (0, 160, 150)),
                          sky_mix=0.45, soft=1.0), ("print",), _tags("city")),
}


def style_for(model_id: str) -> Style:
    """The model's style: by provider prefix, or one derived from the id's hash for models we do not know."""
    provider = model_id.strip("/").split("/")[0].lower()
    if provider in STYLES:
        return STYLES[provider]
    h = _digest("style", model_id)

    def hsv(dh: float, s: float, v: float) -> RGB:
        r, g, b = colorsys.hsv_to_rgb((h[0] / 255 + dh) % 1.0, s, v)
        return (r * 255, g * 255, b * 255)

    colors = (hsv(0, 0.7, 0.45), hsv(0.08, 0.55, 0.85), hsv(0.5, 0.6, 1.0), hsv(0.45, 0.2, 0.98), hsv(0.33, 0.8, 0.9))
    tags = ("hills", "mountain", "ocean", "desert")[h[1] % 4]
    return Style(Look(colors, sky_mix=0.45, soft=1.5), ("grain", "vignette"), _tags(tags))


def _digest(*parts: object) -> bytes:
    return hashlib.sha256("\x1f".join(str(p) for p in parts).encode("utf-8", "surrogatepass")).digest()


def _rng(*parts: object) -> np.random.Generator:
    return np.random.default_rng(int.from_bytes(_digest(*parts)[:16], "big"))


def render_image(model_id: str, prompt: str, seed: int, width: int, height: int,
                 references: Sequence[Reference] = ()) -> Image.Image:
    """A width x height RGB picture for this model and prompt; identical bytes for identical arguments.
    ``references`` (see :mod:`.restyle`): an edit input lends its layout, style references their palette."""
    width, height = int(width), int(height)
    if not (MIN_SIDE <= width <= MAX_SIDE and MIN_SIDE <= height <= MAX_SIDE):
        raise ValueError(f"width and height must be between {MIN_SIDE} and {MAX_SIDE}, got {width}x{height}")
    style = style_for(model_id)
    # The size is not part of the seed: one seed gives the same composition at every size.
    rng = _rng("image", model_id, prompt, seed)
    scale = min(1.0, math.sqrt(MAX_INTERNAL_PIXELS / (width * height)))
    iw, ih = max(MIN_SIDE, round(width * scale)), max(MIN_SIDE, round(height * scale))
    scene = parse_prompt(prompt, style.default_tags)
    cv = Canvas(iw, ih, rng, scene, style.look, make_palette(scene, style.look))
    img = compose(cv)
    for step in style.grade:
        img = GRADES[step](img, cv, prompt)
    if references:
        img = apply_references(img, references)
    if img.size != (width, height):
        img = img.resize((width, height), Image.BILINEAR)
    # "SANDBOX" only: a model's name on its picture would unblind the arena (and a real model signs nothing).
    _mark(img, "SANDBOX")
    return img


# --- colour grades: each takes the painted picture and returns the graded one --------------------------------


def _lut(*curves: Callable[[np.ndarray], np.ndarray]) -> list[int]:
    """A 768-entry point() table from one curve per channel (on 0..1)."""
    v = np.arange(256, dtype=np.float32) / 255
    return [int(x) for f in curves for x in np.clip(f(v) * 255, 0, 255).round()]


def _s_curve(v: np.ndarray, k: float) -> np.ndarray:
    return v + k * v * (1 - v) * (2 * v - 1)  # k > 0 adds contrast around mid-grey


CONTRAST_LUT = _lut(*[lambda v: _s_curve(v, 0.9)] * 3)
WARM_LUT = _lut(lambda v: v**0.94, lambda v: v**0.98, lambda v: v**1.06 * 0.97)
COOL_LUT = _lut(lambda v: v**1.03, lambda v: v, lambda v: 0.04 + v**0.95 * 0.96)
TEAL_ORANGE_LUT = _lut(lambda v: _s_curve(v, 0.6) ** 0.95, lambda v: _s_curve(v, 0.4),
                       lambda v: 0.08 + _s_curve(v, 0.5) * 0.84)


def _noise(img: Image.Image, cv: Canvas, amp: int, stretch: tuple[int, int] = (1, 1)) -> Image.Image:
    """Add grain: uniform noise, optionally stretched into streaks (drawn small and upscaled)."""
    if stretch == (1, 1):  # fine grain: a 256 px tile repeated (seams are invisible in white noise)
        tile = cv.rng.integers(0, amp + 1, (256, 256), dtype=np.uint8)
        full = np.tile(tile, (math.ceil(cv.h / 256), math.ceil(cv.w / 256)))[: cv.h, : cv.w]
        n = Image.fromarray(np.ascontiguousarray(full))
    else:
        small = cv.rng.integers(0, amp + 1, (max(1, cv.h // stretch[1]), max(1, cv.w // stretch[0])), dtype=np.uint8)
        n = Image.fromarray(small).resize(img.size, Image.BICUBIC)
    return ImageChops.add(img, Image.merge("RGB", (n, n, n)), 1.0, -amp // 2)


def _gray3(m: Image.Image) -> Image.Image:
    return Image.merge("RGB", (m, m, m))


def grade_vignette(img: Image.Image, cv: Canvas, prompt: str) -> Image.Image:
    """Darken towards the corners (mask built at 1/16 size and upscaled)."""
    h, w = max(8, cv.h // 16), max(8, cv.w // 16)
    r = np.hypot(np.linspace(-1, 1, w, dtype=np.float32)[None, :], np.linspace(-1, 1, h, dtype=np.float32)[:, None])
    v = 1 - 0.55 * np.clip((r - 0.35) / 1.1, 0, 1) ** 1.6
    return ImageChops.multiply(img, _gray3(Image.fromarray((v * 255).astype(np.uint8)).resize(img.size)))


def grade_brush(img: Image.Image, cv: Canvas, prompt: str) -> Image.Image:
    """Short horizontal streaks plus broad blotches of light and shade read as brush strokes on canvas."""
    img = _noise(img, cv, 9, stretch=(12, 3))
    blotch = Image.fromarray(cv.rng.uniform(0, 255, (24, 40)).astype(np.uint8)).resize(img.size, Image.BILINEAR)
    return ImageChops.multiply(img, _gray3(blotch.point(lambda v: 226 + v * 29 // 255)))


def grade_pastel(img: Image.Image, cv: Canvas, prompt: str) -> Image.Image:
    img = Image.blend(img, Image.new("RGB", img.size, (252, 244, 232)), 0.22)
    return ImageEnhance.Color(img).enhance(1.3)


def grade_bloom(img: Image.Image, cv: Canvas, prompt: str) -> Image.Image:
    """Screen a blurred copy of the highlights over the picture (blurred small, it is the same glow)."""
    small = img.reduce(8) if min(img.size) >= 64 else img
    glow = small.filter(ImageFilter.GaussianBlur(max(1.0, min(small.size) / 40)))
    return ImageChops.screen(img, glow.point(lambda v: max(0, v - 90) * 2).resize(img.size, Image.BILINEAR))


def grade_flare(img: Image.Image, cv: Canvas, prompt: str) -> Image.Image:
    """An anamorphic lens streak through the sun (or moon): a thin horizontal glow."""
    cy, half = cv.sun_xy[1] * cv.horizon, max(2, int(cv.unit * 0.03))
    y0, y1 = max(0, int(cy) - half), min(cv.h, int(cy) + half)
    if y0 >= y1:
        return img
    ys = (np.arange(y0, y1, dtype=np.float32)[:, None] - cy) / (half * 0.25)
    xs = (np.arange(cv.w, dtype=np.float32)[None, :] - cv.sun_xy[0] * cv.w) / (cv.w * 0.45)
    a = (np.exp(-ys * ys) * np.exp(-xs * xs) * 0.8)[..., None] * np.asarray((120, 200, 255), np.float32)
    img.paste(ImageChops.screen(img.crop((0, y0, cv.w, y1)), Image.fromarray(a.astype(np.uint8))), (0, y0))
    return img


def grade_ink(img: Image.Image, cv: Canvas, prompt: str) -> Image.Image:
    """Ink wash: tones of one warm ink on paper, a hint of the original colour, a red seal in a corner."""
    gray = ImageOps.autocontrast(img.convert("L"), cutoff=1)
    wash = ImageOps.colorize(gray, black=(30, 28, 30), white=(243, 235, 218), mid=(150, 140, 128))
    img = _noise(Image.blend(wash, img, 0.22), cv, 12, stretch=(2, 2))
    s = max(6, int(cv.unit * 0.055))
    x0, y0 = int(cv.unit * 0.04), cv.h - int(cv.unit * 0.04) - s
    draw = ImageDraw.Draw(img)
    draw.rectangle((x0, y0, x0 + s, y0 + s), fill=(180, 35, 35))
    for i in range(4):  # carved strokes of the seal, white on red
        bx, by = x0 + s * (0.2 + 0.32 * (i % 2)), y0 + s * (0.2 + 0.32 * (i // 2))
        draw.rectangle((bx, by, bx + s * 0.26, by + s * (0.08 + 0.18 * (i % 3 == 0))), fill=(245, 225, 210))
    return img


def grade_print(img: Image.Image, cv: Canvas, prompt: str) -> Image.Image:
    """Risograph: inks taken from the scene's palette on cream paper, a halftone screen of teal in the shadows."""
    lum = img.convert("L")
    dark, ink = rgb(mix(cv.pal.top, (20, 25, 60), 0.5)), rgb(mix(cv.pal.horizon, (238, 95, 110), 0.35))
    duo = Image.blend(ImageOps.colorize(lum, black=dark, white=(250, 240, 222), mid=ink), img, 0.3)
    period = max(3.0, cv.unit / 160)
    ys = np.arange(cv.h, dtype=np.float32)[:, None] * (math.pi / period)
    xs = np.arange(cv.w, dtype=np.float32)[None, :] * (math.pi / period)
    screen = (np.cos(xs + ys) + np.cos(xs - ys)) * 0.25 + 0.5  # 45-degree dot grid in [0, 1]
    dots = (screen < (1 - np.asarray(lum, np.float32) / 255) * 1.1 - 0.25).astype(np.uint8) * 200
    duo.paste((0, 120, 125), (max(1, int(cv.unit / 400)), 0), Image.fromarray(dots))  # slightly misregistered
    return _noise(duo, cv, 10)


def grade_poster(img: Image.Image, cv: Canvas, prompt: str) -> Image.Image:
    """A poster: a cream frame and the prompt's first words as the title."""
    border, cream, w, h = max(2, int(cv.unit * 0.035)), (246, 236, 214), cv.w, cv.h
    draw = ImageDraw.Draw(img)
    for box in ((0, 0, w, border), (0, h - border * 3, w, h), (0, 0, border, h), (w - border, 0, w, h)):
        draw.rectangle(box, fill=cream)
    words = [x for x in re.findall(r"[A-Za-z0-9']+", prompt or "") if x.lower() not in _STOP_WORDS][:3]
    title = " ".join(words).upper() or "SANDBOX"
    size = max(8, int(cv.unit * 0.1))
    tw = draw.textlength(title, font=_font(size))
    if tw > w * 0.84:  # shrink long titles to fit the frame
        size = max(8, int(size * w * 0.84 / tw))
        tw = draw.textlength(title, font=_font(size))
    draw.text(((w - tw) / 2, border * 2.2), title, font=_font(size), fill=cream, stroke_width=max(1, size // 14),
              stroke_fill=cream)
    draw.text((border * 1.2, h - border * 2.4), "A PICTURE IN THE SANDBOX", font=_font(max(7, int(cv.unit * 0.022))),
              fill=(60, 50, 60))
    return img


_STOP_WORDS = _words("a an the of in on at with and by to for from under over is are")
Grade = Callable[[Image.Image, Canvas, str], Image.Image]
GRADES: dict[str, Grade] = {
    "vignette": grade_vignette, "brush": grade_brush, "pastel": grade_pastel, "bloom": grade_bloom,
    "flare": grade_flare, "ink": grade_ink, "print": grade_print, "poster": grade_poster,
    "grain": lambda img, cv, _: _noise(img, cv, 14),
    "paper": lambda img, cv, _: _noise(img, cv, 10, stretch=(2, 2)),
    "vivid": lambda img, cv, _: ImageEnhance.Color(img).enhance(1.25),
    "contrast": lambda img, cv, _: img.point(CONTRAST_LUT),
    "warm": lambda img, cv, _: img.point(WARM_LUT),
    "cool": lambda img, cv, _: img.point(COOL_LUT),
    "teal_orange": lambda img, cv, _: img.point(TEAL_ORANGE_LUT),
}


# --- the sandbox mark ----------------------------------------------------------------------------------------


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    # A fresh font each time (loading the built-in one takes microseconds): a FreeType face must not be shared
    # by the sandbox's render threads.
    return ImageFont.load_default(size=size)


def _mark(img: Image.Image, text: str) -> None:
    """A small semi-transparent label in the bottom-right corner, drawn at output size so it stays crisp."""
    w, h = img.size
    size = max(8, round(min(w, h) * 0.022))
    font = _font(size)
    if font.getlength(text) > w * 0.6:
        text = "SANDBOX"
    left, top, right, bottom = font.getbbox(text)
    tw, th = right - left + 2, bottom - top + 2
    margin = max(3, size)
    x, y = w - tw - margin, h - th - margin
    if x < 0 or y < 0:
        return  # too small to carry a readable label
    mask = Image.new("L", (tw, th))
    ImageDraw.Draw(mask).text((1 - left, 1 - top), text, font=font, fill=255)
    region = img.crop((x, y, x + tw, y + th))
    region.paste((0, 0, 0), (1, 1), mask.point(lambda v: v * 35 // 100).crop((0, 0, tw - 1, th - 1)))
    region.paste((255, 255, 255), (0, 0), mask.point(lambda v: v * 62 // 100))
    img.paste(region, (x, y))


# --- previews ------------------------------------------------------------------------------------------------


def render_preview(final: Image.Image, progress: float, seed: int, max_side: int = 384) -> Image.Image:
    """A small in-between frame: latent-like noise at progress 0, the (downscaled) final picture at 1."""
    return render_previews(final, (progress,), seed, max_side)[0]


def render_previews(final: Image.Image, progresses: Sequence[float], seed: int,
                    max_side: int = 384) -> list[Image.Image]:
    """The in-between frames of one job, one per progress. The downscaled final picture and the noise are the
    same for every frame, so they are made once (a 1024 px picture's three frames: ~17 ms, from ~40 one by one)."""
    final = final if final.mode == "RGB" else final.convert("RGB")
    k = min(1.0, max_side / max(final.size))
    size = (max(1, round(final.width * k)), max(1, round(final.height * k)))
    small = final.resize(size, Image.BILINEAR, reducing_gap=2.0) if size != final.size else final.copy()
    clamped = [min(1.0, max(0.0, float(p))) for p in progresses]
    if all(p >= 1.0 for p in clamped):
        return [small.copy() for _ in clamped]
    # The same noise for every step of one seed, so successive previews converge like a real denoiser.
    rng = _rng("preview", seed, size)
    coarse = rng.integers(0, 256, (max(1, size[1] // 8), max(1, size[0] // 8), 3), dtype=np.uint8)
    fine = Image.fromarray(rng.integers(40, 216, (size[1], size[0]), dtype=np.uint8)).convert("RGB")
    noise = Image.blend(fine, Image.fromarray(coarse).resize(size, Image.BILINEAR), 0.55)
    frames = []
    for p in clamped:
        if p >= 1.0:
            frames.append(small.copy())
            continue
        blurred = _blur(small, (1 - p) ** 2 * max(size) / 12) if p < 0.98 else small
        signal = 1 - (1 - p) ** 2.2  # the layout shows early, fine detail settles at the end
        frames.append(Image.blend(noise, blurred, signal))
    return frames


def _blur(image: Image.Image, radius: float) -> Image.Image:
    """A Gaussian blur. A wide one is computed on a copy shrunk 2 to 4 times (4 to 16 times fewer pixels) and
    scaled back: it looks the same, since a blur that wide leaves no detail finer than the shrink."""
    factor = max(1, min(4, int(radius // 3), min(image.size) // 16))
    if factor == 1:
        return image.filter(ImageFilter.GaussianBlur(radius))
    shrunk = image.reduce(factor).filter(ImageFilter.GaussianBlur(radius / factor))
    return shrunk.resize(image.size, Image.BILINEAR)
