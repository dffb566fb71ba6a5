"""The painted layers of a sandbox picture: sky, lights, ridges, water, city, forest, subject, weather.

Everything is placed in normalised coordinates and drawn with vectorised numpy (masks computed only inside the
rows a layer touches) plus PIL's C paste/draw, so one frame costs a few milliseconds per layer at 1 MP and the
same seed gives the same composition at any size.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageChops, ImageDraw, ImageFilter

RGB = tuple[float, float, float]


def mix(a: RGB, b: RGB, t: float) -> RGB:
    """Linear blend of two colours (t = 0 gives a)."""
    return (a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t)


def rgb(c: RGB) -> tuple[int, int, int]:
    return (round(c[0]), round(c[1]), round(c[2]))


@dataclass(frozen=True)
class Scene:
    """What the prompt asks for: scene tags and colour words, in prompt order."""

    tags: frozenset[str]
    colors: tuple[RGB, ...]

    @property
    def sky(self) -> str:
        if "night" in self.tags or ("neon" in self.tags and not self.tags & {"sunset", "sunrise"}):
            return "night"
        return "sunset" if "sunset" in self.tags else "sunrise" if "sunrise" in self.tags else "day"


@dataclass(frozen=True)
class Look:
    """A model's drawing habits (the post-processing grade lives in the renderer)."""

    colors: tuple[RGB, RGB, RGB, RGB, RGB]  # deep, mid, warm, light, accent
    sky_mix: float = 0.35                  # how far the sky leans to the model's own colours
    soft: float = 1.2                      # silhouette edge width in px at 1024 px
    flat: int = 0                          # quantise the sky into this many bands (0 = smooth)
    diagonal: float = 0.0                  # tilt of the sky gradient (Krea's bold gradients)
    blobs: int = 0                         # soft translucent circles in the sky
    ridges: int = 3                        # mountain layers
    retro_sun: bool = False                # horizontal cuts through the sun (posters)


@dataclass(frozen=True)
class Palette:
    top: RGB
    mid: RGB
    horizon: RGB
    sun: RGB
    accent: RGB
    deep: RGB


class Canvas:
    """The picture being painted, with its random source and layout."""

    def __init__(self, w: int, h: int, rng: np.random.Generator, scene: Scene, look: Look, pal: Palette) -> None:
        self.w, self.h, self.rng, self.scene, self.look, self.pal = w, h, rng, scene, look, pal
        self.unit = min(w, h)
        self.soft = max(0.6, look.soft * self.unit / 1024)
        hor = 0.56 if "ocean" in scene.tags else 0.7 if scene.tags & {"mountain", "city"} else 0.62
        self.horizon = int(h * (hor + rng.uniform(-0.03, 0.03)))
        self.sun_xy = (float(rng.uniform(0.22, 0.78)), 0.0)
        self.img = Image.new("RGB", (w, h))

    def shade(self, c: RGB, depth: float = 1.0) -> RGB:
        """Light a ground colour for the time of day: moonlight at night, warm and dimmer near at sunset."""
        sky = self.scene.sky
        if sky == "night":
            return mix((c[0] * 0.2, c[1] * 0.22, c[2] * 0.3), self.pal.mid, 0.3)
        if sky in ("sunset", "sunrise"):
            light = mix(self.pal.horizon, (255, 255, 255), 0.3 if sky == "sunset" else 0.5)
            f = (0.95 - 0.3 * depth) / 255
            lit = (c[0] * light[0] * f, c[1] * light[1] * f, c[2] * light[2] * f)
            # Near things turn into backlit silhouettes in the colours of the upper sky.
            return mix(lit, mix(self.pal.top, (75, 30, 45), 0.55), 0.45 * depth)
        return c

    def vgrad(self, w: int, h: int, c0: RGB, c1: RGB) -> Image.Image:
        t = np.linspace(0.0, 1.0, max(h, 1), dtype=np.float32)[:, None, None]
        col = np.asarray(c0, np.float32) + (np.asarray(c1, np.float32) - np.asarray(c0, np.float32)) * t
        return Image.fromarray(np.clip(col, 0, 255).astype(np.uint8)).resize((w, max(h, 1)), Image.NEAREST)

    def fill_below(self, prof: np.ndarray, c0: RGB, c1: RGB | Image.Image) -> None:
        """Fill everything under a per-column edge profile (pixel y), with an anti-aliased edge."""
        y0, y1 = max(0, int(prof.min() - self.soft) - 1), min(self.h, int(prof.max() + self.soft) + 2)
        if y0 >= self.h:
            return
        mask = np.full((self.h - y0, self.w), 255, np.uint8)  # solid below the edge rows
        rows = np.arange(y0, y1, dtype=np.float32)[:, None]
        mask[: y1 - y0] = np.clip((rows - prof[None, :]) / self.soft + 0.5, 0.0, 1.0) * 255
        # c1 is either the bottom colour of a vertical gradient or a full-canvas fill picture.
        fill = c1.crop((0, y0, self.w, self.h)) if isinstance(c1, Image.Image) else self.vgrad(
            self.w, self.h - y0, c0, c1)
        self.img.paste(fill, (0, y0), Image.fromarray(mask))

    def disc(self, cx: float, cy: float, r: float, color: RGB, cut: tuple[float, float, float] | None = None,
             stripes: int = 0) -> None:
        """An anti-aliased disc (optionally minus another disc: a crescent; or cut by horizontal stripes)."""
        x0, y0 = max(0, int(cx - r - 2)), max(0, int(cy - r - 2))
        x1, y1 = min(self.w, int(cx + r + 3)), min(self.h, int(cy + r + 3))
        if x0 >= x1 or y0 >= y1:
            return
        ys = np.arange(y0, y1, dtype=np.float32)[:, None]
        xs = np.arange(x0, x1, dtype=np.float32)[None, :]
        m = np.clip(r - np.hypot(xs - cx, ys - cy) + 0.5, 0, 1)
        if cut is not None:
            m *= np.clip(np.hypot(xs - cut[0], ys - cut[1]) - cut[2] + 0.5, 0, 1)
        if stripes:
            # Retro poster sun: gaps that widen towards the bottom of the disc.
            v = (ys - (cy - r * 0.1)) / r
            m *= np.where(v > 0, (np.mod(v * stripes, 1.0) > v * 0.55).astype(np.float32), 1.0)
        self.img.paste(rgb(color), (x0, y0, x1, y1), Image.fromarray((m * 255).astype(np.uint8)))


def noise1d(rng: np.random.Generator, n: int, points: int, octaves: int, smooth: bool, ridged: bool = False
            ) -> np.ndarray:
    """Fractal 1-D noise in [-1, 1]-ish over n samples; the draws do not depend on n (same shape at any size).

    ``ridged`` folds each octave (1 - 2|v|) so crests come to sharp peaks with rounded valleys, like mountains.
    """
    x = np.linspace(0.0, 1.0, n, dtype=np.float32)
    out = np.zeros(n, np.float32)
    amp = 1.0
    for o in range(octaves):
        k = points * 2**o
        ctrl = rng.uniform(-1, 1, k + 1).astype(np.float32)
        pos = x * k
        i = np.minimum(pos.astype(np.int32), k - 1)
        f = pos - i
        if smooth:
            f = f * f * (3 - 2 * f)
        v = ctrl[i] + (ctrl[i + 1] - ctrl[i]) * f
        out += ((1 - 2 * np.abs(v)) if ridged else v) * amp
        amp *= 0.45
    return out


def paint_sky(cv: Canvas) -> None:
    """Sky gradient, sun/moon glow, Krea blobs and nebulae, computed at 1/4 size (smooth fields upscale cleanly).

    Flat styles upscale the two fields (height, glow) instead and band them at full size, so the bands keep
    crisp edges; a palette image turns the band indices into colours in C.
    """
    look, pal, sky, rng = cv.look, cv.pal, cv.scene.sky, cv.rng
    w, h = max(8, cv.w // 4), max(8, cv.h // 4)
    y = np.arange(h, dtype=np.float32)[:, None] / max(1.0, cv.horizon / 4)
    x = np.arange(w, dtype=np.float32)[None, :] / w
    tilt = look.diagonal * rng.choice([-1.0, 1.0])
    t = np.clip(y * (1 - abs(tilt) * 0.5) + tilt * (x - 0.5) + abs(tilt) * 0.25, 0, 1)
    sx = cv.sun_xy[0]
    low = 0.62 if cv.scene.tags & {"mountain", "city"} else 0.93  # low sun, but above ridges and roofs
    sy = {"day": 0.28, "night": 0.32}.get(sky, low) + rng.uniform(-0.05, 0.05)
    cv.sun_xy = (sx, sy)
    aspect = cv.w / max(1, cv.horizon)
    g = np.exp(-np.hypot((x - sx) * aspect, y - sy) / (0.35 if sky in ("sunset", "sunrise") else 0.18))
    g *= {"day": 0.45, "night": 0.28}.get(sky, 0.9)
    stops = np.array([pal.top, pal.mid, pal.horizon], np.float32)
    sun = np.asarray(pal.sun, np.float32)

    def color(tv: np.ndarray, gv: np.ndarray) -> np.ndarray:
        tt = np.clip(tv * 2, 0, 2)
        i = np.minimum(tt.astype(np.int32), 1)
        col = stops[i] + (stops[i + 1] - stops[i]) * (tt - i)[..., None]
        return col + (sun - col) * gv[..., None]

    if look.flat:
        n = look.flat
        ti = np.minimum((_field(t, cv.w, cv.h) * n).astype(np.uint8), n - 1)
        gi = np.minimum((_field(g, cv.w, cv.h) * n).astype(np.uint8), n - 1)
        levels = np.arange(n, dtype=np.float32)
        lut = color((levels / (n - 1))[:, None].repeat(n, 1), (levels / n)[None, :].repeat(n, 0))
        idx = Image.fromarray(ti * np.uint8(n) + gi, "L").convert("P")
        idx.putpalette(np.clip(lut, 0, 255).astype(np.uint8).reshape(-1).tolist())
        cv.img = idx.convert("RGB")
        return
    col = color(t, g)
    for _ in range(look.blobs):
        # Big soft translucent shapes: Krea's signature "soft shapes over a bold gradient".
        bx, by, br = rng.uniform(0, 1), rng.uniform(0, 0.9), rng.uniform(0.12, 0.3)
        a = np.clip(1 - np.hypot((x - bx) * aspect, y - by) / br, 0, 1) ** 1.5 * rng.uniform(0.25, 0.45)
        c = np.asarray(mix(pal.accent, pal.sun, rng.uniform(0, 0.5)), np.float32)
        col += (c - col) * a[..., None]
    if "space" in cv.scene.tags:
        cloud = np.clip(noise2d(rng, h, w, 6), 0, 1) ** 2 * 0.55
        c2 = np.asarray(mix(pal.accent, (150, 60, 200), 0.5), np.float32)
        col += (c2 - col) * (cloud * np.exp(-((y - 0.45) ** 2) * 6))[..., None]
    cv.img = Image.fromarray(np.clip(col, 0, 255).astype(np.uint8)).resize((cv.w, cv.h), Image.BICUBIC)


def _field(a: np.ndarray, w: int, h: int) -> np.ndarray:
    """Upscale a small float field to w x h (bilinear, in C)."""
    return np.asarray(Image.fromarray(np.ascontiguousarray(a, np.float32), "F").resize((w, h), Image.BILINEAR))


def noise2d(rng: np.random.Generator, h: int, w: int, cells: int) -> np.ndarray:
    """Smooth 2-D value noise in [-1, 1] (random cells upscaled bicubically by PIL)."""
    c = rng.uniform(0, 255, (cells, cells * 2)).astype(np.uint8)
    return np.asarray(Image.fromarray(c).resize((w, h), Image.BICUBIC), np.float32) / 127.5 - 1


def paint_lights(cv: Canvas) -> None:
    """Stars and moon at night, the sun otherwise (drawn before the ground so hills can hide it)."""
    pal, rng, hor = cv.pal, cv.rng, cv.horizon
    sx, sy = cv.sun_xy[0] * cv.w, cv.sun_xy[1] * hor
    if cv.scene.sky != "night":
        r = cv.unit * (0.085 if cv.scene.sky != "day" else 0.05) * rng.uniform(0.85, 1.15)
        cv.disc(sx, sy, r, mix(pal.sun, (255, 255, 255), 0.4), stripes=6 if cv.look.retro_sun else 0)
        return
    draw = ImageDraw.Draw(cv.img)
    n = int(320 * (cv.w / cv.h) ** 0.5)
    xs, ys = rng.uniform(0, cv.w, n), rng.uniform(0, hor, n) ** 1.3 / hor**0.3  # denser up high
    bright = rng.uniform(0, 1, n)
    for lo, hi, c in ((0.0, 0.55, 120), (0.55, 0.85, 185), (0.85, 1.01, 250)):
        sel = (bright >= lo) & (bright < hi)
        draw.point(list(zip(xs[sel].tolist(), ys[sel].tolist())), fill=(c, c, min(255, c + 15)))
    big = max(1.0, cv.unit / 500)
    for x, y in zip(xs[bright > 0.96].tolist(), ys[bright > 0.96].tolist()):
        draw.ellipse((x - big, y - big, x + big, y + big), fill=(255, 252, 235))
    r = cv.unit * 0.055
    cv.disc(sx, sy, r, pal.sun, cut=(sx + r * 0.45, sy - r * 0.2, r * 0.85))


def paint_mountains(cv: Canvas) -> None:
    """Layered ridges, hazy far away and darker near (atmospheric perspective), mist in the valleys."""
    pal, rng, n = cv.pal, cv.rng, cv.look.ridges
    base_col = mix((62, 72, 105), pal.deep, 0.35)
    haze = mix(pal.horizon, pal.mid, 0.4)
    for i in range(n):
        d = i / max(1, n - 1)
        peak = cv.h * (0.3 - 0.19 * d) * rng.uniform(0.85, 1.1)
        shape = noise1d(rng, cv.w, 2 + i, 6, smooth=True, ridged=True)
        prof = np.minimum(cv.horizon - peak * (0.5 + 0.5 * shape), cv.horizon - 2)
        c = cv.shade(mix(haze, base_col, 0.2 + 0.75 * d), 0.2 + 0.8 * d)
        cv.fill_below(prof, c, mix(c, haze, 0.5 - 0.25 * d))
        if "snow" in cv.scene.tags and i < n - 1:
            line = cv.horizon - peak * 0.72
            cap = np.clip(line - prof, 0, None) * 0.6
            snow = cv.shade(mix((245, 248, 255), pal.horizon, 0.25 + 0.2 * d), d)
            paint_band(cv, prof, prof + cap, snow)


def paint_band(cv: Canvas, top: np.ndarray, bottom: np.ndarray, color: RGB) -> None:
    """Fill between two per-column edges (snow caps, foam lines, rims), touching only the rows in between."""
    y0, y1 = max(0, int(top.min()) - 2), min(cv.h, int(bottom.max()) + 3)
    if y0 >= y1:
        return
    rows = np.arange(y0, y1, dtype=np.float32)[:, None]
    m = np.clip((rows - top) / cv.soft + 0.5, 0, 1) * np.clip((bottom - rows) / cv.soft + 0.5, 0, 1)
    cv.img.paste(rgb(color), (0, y0, cv.w, y1), Image.fromarray((m * 255).astype(np.uint8)))


def paint_hills(cv: Canvas, far: bool) -> None:
    """Gentle rolling hills: a far hazy pair behind the horizon or the grass ground in front."""
    pal, rng = cv.pal, cv.rng
    green = mix((80, 140, 75), pal.deep, 0.2)
    for d in ((0.0, 0.5) if far else (0.4, 0.85)):
        lift = cv.h * (0.07 if far else -0.02) * (1 - d)
        prof = cv.horizon - lift + noise1d(rng, cv.w, 2, 3, smooth=True) * cv.h * (0.045 + 0.05 * d)
        c = cv.shade(mix(pal.horizon, green, 0.35 + 0.55 * d), d)
        cv.fill_below(prof, c, cv.shade(mix(green, (30, 60, 40), d * 0.6), d))


def paint_snow_ground(cv: Canvas) -> None:
    """Snow stays the brightest thing on the ground: it reflects the sky rather than going dark at night."""
    pal = cv.pal
    top, low = mix((245, 248, 255), pal.horizon, 0.15), mix((195, 210, 235), pal.deep, 0.2)
    if cv.scene.sky == "night":
        top, low = mix(pal.horizon, (190, 200, 235), 0.4), mix(pal.mid, (120, 130, 175), 0.3)
    prof = cv.horizon + noise1d(cv.rng, cv.w, 2, 3, smooth=True) * cv.h * 0.025
    cv.fill_below(prof, top if cv.scene.sky == "night" else cv.shade(top, 0.2), low)


def paint_city(cv: Canvas) -> None:
    """Two rows of buildings with lit windows; towers with antennas; glowing signs for cyberpunk/neon."""
    pal, rng = cv.pal, cv.rng
    neon = "neon" in cv.scene.tags
    lit_c = [(255, 70, 190), (60, 230, 255), (255, 200, 110)] if neon else [(255, 214, 130), (255, 235, 180)]
    if cv.scene.sky == "day" and not neon:
        lit_c = [mix(pal.horizon, (255, 255, 255), 0.4)]  # daylight glints on glass
    draw = ImageDraw.Draw(cv.img)
    for row, (hmin, hmax) in enumerate(((0.18, 0.4), (0.08, 0.28))):
        d = float(row)
        body = cv.shade(mix(mix(pal.horizon, (45, 45, 75), 0.55 + 0.35 * d), pal.deep, 0.25), d)
        prof = np.empty(cv.w, np.float32)
        spans: list[tuple[int, int, float]] = []
        x = 0
        while x < cv.w:
            bw = max(3, int(cv.w * rng.uniform(0.03, 0.075)))
            tall = rng.uniform() < 0.12
            top = cv.horizon - cv.h * rng.uniform(hmin, hmax) * (1.4 if tall else 1.0)
            prof[x : x + bw] = top
            spans.append((x, bw, top))
            if tall:  # an antenna on the tallest towers
                ax = x + bw // 2
                draw.line((ax, top - cv.h * 0.06, ax, top), fill=rgb(body), width=max(1, int(cv.unit * 0.004)))
            x += bw
        cv.fill_below(prof, body, mix(body, (10, 10, 20), 0.4))
        cw, ch = max(3, int(cv.unit * 0.014)), max(4, int(cv.unit * 0.02))
        y0 = int(prof.min())
        if y0 < cv.horizon:
            ys = np.arange(y0, cv.horizon, dtype=np.int32)[:, None]
            xs = np.arange(cv.w, dtype=np.int32)[None, :]
            table = rng.uniform(0, 1, (97, 211))
            cell = table[(ys // ch) % 97, (xs // cw) % 211]
            win = (xs % cw < cw * 0.55) & (ys % ch < ch * 0.5) & (ys > prof[None, :] + ch)
            for k, c in enumerate(lit_c):
                lo, hi = 0.72 + 0.28 * k / len(lit_c), 0.72 + 0.28 * (k + 1) / len(lit_c)
                m = Image.fromarray((win & (cell >= lo) & (cell < hi)).astype(np.uint8) * 255)
                cv.img.paste(rgb(mix(c, body, 0.35 * (1 - d))), (0, y0), m)
        if neon and row == 1:
            _neon_signs(cv, spans, rng)


def _neon_signs(cv: Canvas, spans: list[tuple[int, int, float]], rng: np.random.Generator) -> None:
    """Vertical signs on a few buildings: a glow drawn at 1/4 size, blurred and screened on, then the tubes."""
    colors = [(255, 60, 200), (50, 235, 255)]
    boxes: list[tuple[RGB, tuple[float, float, float, float]]] = []
    for x, bw, top in spans:
        if rng.uniform() > 0.35 or top > cv.horizon - cv.h * 0.1:
            continue
        c = colors[int(rng.integers(0, len(colors)))]
        sx, sw = x + bw * rng.uniform(0.2, 0.6), max(2.0, cv.unit * 0.012)
        sy = top + cv.h * rng.uniform(0.02, 0.05)
        bottom = min(cv.horizon - 2.0, sy + cv.h * rng.uniform(0.06, 0.12))
        if bottom > sy + 1:
            boxes.append((c, (sx, sy, sx + sw, bottom)))
    if not boxes:
        return
    pad = int(cv.unit * 0.06)
    y0, y1 = max(0, int(min(b[1] for _, b in boxes)) - pad), min(cv.h, int(max(b[3] for _, b in boxes)) + pad)
    small = Image.new("RGB", (max(1, cv.w // 4), max(1, (y1 - y0) // 4)))
    draw = ImageDraw.Draw(small)
    for c, (a, b, r, d) in boxes:
        draw.rectangle((a / 4, (b - y0) / 4, r / 4, (d - y0) / 4), fill=c)
    glow = small.filter(ImageFilter.GaussianBlur(max(1.0, cv.unit / 160))).point(lambda v: min(255, v * 2))
    band = ImageChops.screen(cv.img.crop((0, y0, cv.w, y1)), glow.resize((cv.w, y1 - y0), Image.BILINEAR))
    cv.img.paste(band, (0, y0))
    draw = ImageDraw.Draw(cv.img)
    for c, box in boxes:
        draw.rectangle(box, fill=rgb(mix(c, (255, 255, 255), 0.55)))


def pine_profile(cv: Canvas, n: int, base: float, hrange: tuple[float, float], xrange: tuple[float, float],
                 widths: float = 0.3) -> np.ndarray:
    """Top edge of a row of pines: triangles with a zig-zag of tiers, union taken with min()."""
    rng = cv.rng
    prof = np.full(cv.w, float(cv.h + 10), np.float32)
    for _ in range(n):
        cx = rng.uniform(*xrange) * cv.w
        th = rng.uniform(*hrange) * cv.h
        hw = th * widths * rng.uniform(0.8, 1.2)
        a, b = max(0, int(cx - hw)), min(cv.w, int(cx + hw) + 1)
        if a >= b:
            continue
        u = np.abs(np.arange(a, b, dtype=np.float32) - cx) / hw
        tiers = 4.0
        y = base - th + th * (u * 0.8 + 0.2 * np.mod(u * tiers, 1.0)) ** 1.1
        prof[a:b] = np.minimum(prof[a:b], y)
    return prof


def paint_forest(cv: Canvas, near: bool) -> None:
    pal = cv.pal
    green = mix((30, 75, 55), pal.deep, 0.25)
    if not near:
        prof = pine_profile(cv, 70, cv.horizon + 3, (0.06, 0.14), (-0.02, 1.02))
        c = cv.shade(mix(pal.horizon, green, 0.55), 0.3)
        cv.fill_below(prof, c, c)
        prof = pine_profile(cv, 45, cv.horizon + cv.h * 0.04, (0.08, 0.18), (-0.02, 1.02))
        c = cv.shade(mix(pal.horizon, green, 0.8), 0.6)
        cv.fill_below(prof, c, c)
        return
    # Tall dark pines framing the sides pull the eye to the centre.
    dark = cv.shade(mix(green, (8, 20, 15), 0.6))
    left = pine_profile(cv, 3, cv.h * 1.05, (0.75, 1.0), (-0.05, 0.12), 0.22)
    right = pine_profile(cv, 3, cv.h * 1.05, (0.75, 1.0), (0.88, 1.05), 0.22)
    cv.fill_below(np.minimum(left, right), dark, dark)


def paint_water(cv: Canvas, reflect: float = 0.6, glitter: bool = True) -> None:
    """Water from the horizon down: the sky and skyline mirrored, perspective ripples, a glitter path."""
    pal, rng, hor = cv.pal, cv.rng, cv.horizon
    n = cv.h - hor
    if n <= 0:
        return
    deep = cv.shade(mix((25, 70, 120), pal.deep, 0.3))
    water = cv.vgrad(cv.w, n, mix(pal.horizon, deep, 0.35), mix(pal.top, deep, 0.7))
    k = min(hor, n)
    mirror = cv.img.crop((0, hor - k, cv.w, hor)).transpose(Image.Transpose.FLIP_TOP_BOTTOM)
    fade = np.linspace(reflect, 0.1 * reflect, k, dtype=np.float32)[:, None] * 255
    water.paste(mirror, (0, 0), Image.fromarray(fade.astype(np.uint8)).resize((cv.w, k), Image.NEAREST))
    cv.img.paste(water, (0, hor))
    # Ripple lines get farther apart towards the viewer (perspective); each line breaks into dashes.
    d = np.linspace(0, 1, n, dtype=np.float32)[:, None]
    spacing = (1.2 + d[:, 0] * 14) * cv.unit / 1024
    phase = np.cumsum(1 / spacing)
    line = np.sin(phase * 2 * np.pi)[:, None]
    xs = np.arange(cv.w, dtype=np.float32)[None, :] / cv.unit
    rowj = rng.uniform(0, 100, 4096).astype(np.float32)[phase.astype(np.int64) % 4096][:, None]
    dash = np.sin(xs * (60 / (0.3 + d)) + rowj) + 0.6 * np.sin(xs * (23 / (0.3 + d)) + rowj * 1.7)
    ripple = np.clip((line - 0.55) * 3, 0, 1) * np.clip(dash - 0.2, 0, 1)
    light = rgb(mix(pal.horizon, (255, 255, 255), 0.15))
    cv.img.paste(light, (0, hor), Image.fromarray((ripple * 45).astype(np.uint8)))
    if glitter:
        sx = cv.sun_xy[0] * cv.w / cv.unit
        path = np.exp(-(((xs - sx) / (0.04 + 0.2 * d)) ** 2)) * (0.8 if cv.scene.sky != "day" else 0.45)
        glint = rgb(mix(pal.sun, (255, 255, 255), 0.3))
        cv.img.paste(glint, (0, hor), Image.fromarray((np.clip(ripple * path * 2, 0, 1) * 255).astype(np.uint8)))


def paint_beach(cv: Canvas) -> None:
    sand = cv.shade(mix((238, 210, 160), cv.pal.horizon, 0.2), 0.1)
    prof = cv.h * 0.82 + noise1d(cv.rng, cv.w, 2, 3, smooth=True) * cv.h * 0.05
    foam = cv.shade(mix((255, 255, 255), cv.pal.horizon, 0.2), 0.0)
    paint_band(cv, prof - cv.unit * 0.012, prof + cv.unit * 0.004, foam)
    cv.fill_below(prof + cv.unit * 0.004, mix(sand, (120, 110, 100), 0.3), mix(sand, (255, 240, 210), 0.1))


def paint_dunes(cv: Canvas) -> None:
    """Layers of dunes with sharp crests, a sunlit rim on one side of each crest, shadowed sand below."""
    pal, rng = cv.pal, cv.rng
    for i, d in enumerate((0.0, 0.45, 1.0)):
        shape = noise1d(rng, cv.w, 2 + i, 1, smooth=True, ridged=True) + noise1d(rng, cv.w, 3, 2, True) * 0.2
        prof = cv.horizon + cv.h * (0.03 + 0.12 * d) - shape * cv.h * (0.05 + 0.03 * d)
        lit = cv.shade(mix(pal.horizon, (240, 188, 120), 0.55 + 0.45 * d), 0.3 + 0.7 * d)
        shadow = cv.shade(mix(pal.horizon, (175, 100, 75), 0.6 + 0.4 * d), 0.5 + 0.5 * d)
        cv.fill_below(prof, shadow, mix(shadow, lit, 0.6))
        slope = np.gradient(prof) * cv.w / cv.unit
        rim = np.clip(-slope * 2.5, 0, 1) ** 0.7 * cv.unit * 0.05  # the face turned to the light
        paint_band(cv, prof, prof + rim, lit)


def paint_subject(cv: Canvas, kind: str) -> None:
    """A backlit silhouette (cat, dog or head-and-shoulders portrait) with a soft halo, drawn at 2x for AA."""
    rng, pal = cv.rng, cv.pal
    s = cv.unit * (0.36 if kind != "person" else 0.5) * rng.uniform(0.9, 1.1)
    cx = cv.w * rng.uniform(0.4, 0.6)
    base = cv.h * (0.93 if kind != "person" else 1.02)
    x0, y0 = int(cx - s * 1.1), int(base - s * 1.45)
    w, h = int(s * 2.2), int(s * 1.55)  # room around the shape so the halo fades out inside the box
    m = Image.new("L", (w * 2, h * 2))
    dr = ImageDraw.Draw(m)
    u = 2 * s  # drawing unit in the 2x mask, origin at (x0, y0)

    def P(px: float, py: float) -> tuple[float, float]:
        return ((px + 1.1) * u, (py + 1.45) * u)  # px, py in units of s around (cx, base)

    def E(x: float, y: float, rx: float, ry: float) -> None:
        dr.ellipse((*P(x - rx, y - ry), *P(x + rx, y + ry)), fill=255)

    if kind == "person":
        E(0, 0.05, 0.62, 0.42)                       # shoulders
        dr.rectangle((*P(-0.09, -0.5), *P(0.09, -0.2)), fill=255)  # neck
        E(0, -0.72, 0.2, 0.26)                        # head
        E(0, -0.82, 0.23, 0.22)                       # hair
    else:
        E(0, -0.3, 0.33, 0.32)                        # body
        E(0, -0.72, 0.2, 0.18)                        # head
        if kind == "cat":
            for sx in (-1, 1):
                dr.polygon([P(sx * 0.19, -0.74), P(sx * 0.07, -0.86), P(sx * 0.17, -1.02)], fill=255)
            dr.arc((*P(0.05, -0.25), *P(0.62, 0.02)), 0, 200, fill=255, width=int(u * 0.07))
        else:
            for sx in (-1, 1):
                E(sx * 0.2, -0.66, 0.07, 0.16)        # floppy ears
            E(0, -0.62, 0.1, 0.09)                    # muzzle
    mask = m.resize((w, h), Image.BILINEAR)
    small = mask.reduce(4) if min(w, h) >= 32 else mask
    halo = small.filter(ImageFilter.GaussianBlur(max(1.0, s / 40))).resize((w, h), Image.BILINEAR)
    halo = halo.point(lambda v: min(255, int(v * 1.6)))
    cv.img.paste(rgb(mix(pal.sun, pal.accent, 0.35)), (x0, y0), halo)
    body = cv.shade(mix((25, 22, 30), pal.deep, 0.35))
    cv.img.paste(rgb(body), (x0, y0), mask)


def paint_flakes(cv: Canvas) -> None:
    rng = cv.rng
    n = int(260 * (cv.w / cv.h) ** 0.5)
    m = Image.new("L", (cv.w, cv.h))
    dr = ImageDraw.Draw(m)
    xs, ys = rng.uniform(0, cv.w, n), rng.uniform(0, cv.h, n)
    rs = rng.uniform(0.0015, 0.006, n) ** 1.2 * cv.unit / 0.006**0.2
    al = rng.uniform(90, 230, n)
    for x, y, r, a in zip(xs.tolist(), ys.tolist(), rs.tolist(), al.tolist()):
        dr.ellipse((x - r, y - r, x + r, y + r), fill=int(a))
    cv.img.paste((248, 250, 255), (0, 0), m)


def compose(cv: Canvas) -> Image.Image:
    """Paint the scene back to front and return the picture."""
    tags = cv.scene.tags
    paint_sky(cv)
    paint_lights(cv)
    if "mountain" in tags:
        paint_mountains(cv)
    if "hills" in tags and "ocean" not in tags:
        paint_hills(cv, far=True)
    if "city" in tags:
        paint_city(cv)
    if "forest" in tags:
        paint_forest(cv, near=False)
    if "ocean" in tags:
        paint_water(cv)
    elif "desert" in tags:
        paint_dunes(cv)
    elif "snow" in tags:
        paint_snow_ground(cv)
    elif "space" in tags and not tags & {"mountain", "hills", "city", "forest"}:
        pass  # open space: no ground at all
    elif "city" in tags:
        paint_water(cv, reflect=0.35, glitter=False)  # a wet street mirrors the lit windows
    else:
        paint_hills(cv, far=False)
    if "beach" in tags and "ocean" in tags:
        paint_beach(cv)
    if "forest" in tags and "ocean" not in tags:
        paint_forest(cv, near=True)
    for kind in ("cat", "dog", "person"):
        if kind in tags:
            paint_subject(cv, kind)
            break
    if "snow" in tags:
        paint_flakes(cv)
    return cv.img
