"""The sandbox's LoRA styles (``GET /styles``): a few fixed styles in Krea's shape, each with a palette.

A body's ``styles: [{id, strength}]`` naming one of them pulls the picture towards its palette (as a style
reference would, see :mod:`.restyle`); ids the sandbox does not know are accepted and have no effect. Covers are
procedural renders of the style's prompt with the style applied, served at ``/styles-files/{id}/cover.png``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from functools import lru_cache

from .render_scenes import RGB

_NAMESPACE = uuid.UUID("6f1c2a52-8f3e-4d0b-9a57-3b1e0c2d4e5f")  # stable ids across runs
COVER_NAME = "cover.png"
COVER_SIZE = (192, 256)  # portrait, as Krea's preview URLs are
MODELS = ("flux_dev", "krea_2", "qwen", "z_image", "gpt_image")  # the catalog's models that take `styles`


@dataclass(frozen=True)
class SandboxStyle:
    title: str
    prompt: str
    palette: tuple[RGB, ...]  # dark to light
    created_at: str  # distinct per style: GET /styles pages by it, newest first, as GET /jobs does
    models: tuple[str, ...] = MODELS

    @property
    def style_id(self) -> str:
        return str(uuid.uuid5(_NAMESPACE, self.title))

    @property
    def created_ms(self) -> float:
        from .engine import parse_cursor

        return parse_cursor(self.created_at)


STYLES: tuple[SandboxStyle, ...] = (
    SandboxStyle("Sandbox Ember", "a city street at night, glowing embers",
                 ((40, 8, 12), (120, 24, 20), (210, 70, 30), (250, 150, 60), (255, 225, 170)),
                 "2026-01-15T09:00:00.000Z"),
    SandboxStyle("Sandbox Glacier", "snowy mountains above a frozen lake",
                 ((10, 30, 60), (40, 90, 140), (110, 170, 210), (190, 225, 240), (245, 250, 255)),
                 "2026-01-14T09:00:00.000Z"),
    SandboxStyle("Sandbox Moss", "a quiet forest after rain",
                 ((15, 30, 15), (40, 75, 35), (90, 125, 60), (160, 180, 110), (225, 230, 190)),
                 "2026-01-13T09:00:00.000Z"),
    SandboxStyle("Sandbox Risograph", "a poster of a cat on a beach",
                 ((35, 40, 110), (230, 70, 120), (255, 140, 90), (255, 205, 90), (250, 240, 220)),
                 "2026-01-12T09:00:00.000Z"),
    SandboxStyle("Sandbox Noir", "a portrait in a rainy street",
                 ((8, 8, 10), (50, 50, 55), (110, 110, 115), (180, 180, 180), (240, 240, 235)),
                 "2026-01-11T09:00:00.000Z"),
)
BY_ID: dict[str, SandboxStyle] = {s.style_id: s for s in STYLES}


def style_view(style: SandboxStyle, base_url: str) -> dict:
    """A style as Krea's GET /styles lists it (every field the spec marks required, plus cover_url, models)."""
    cover = f"{base_url.rstrip('/')}/styles-files/{style.style_id}/{COVER_NAME}"
    return {
        "id": style.style_id,
        "title": style.title,
        "urls": [cover],
        "public": True,
        "cover_url": cover,
        "prompt": style.prompt,
        "models": list(style.models),
        "owner": None,  # null for Krea-official styles [C SPEC]
        "like_count": 0,
        "created_at": style.created_at,
    }


@lru_cache(maxsize=len(STYLES))
def cover_png(style_id: str) -> bytes:
    """The style's cover: its prompt rendered small with the style at full strength (made once)."""
    from .png import encode_png
    from .renderer import render_image
    from .restyle import STYLE_INFLUENCE, Reference, palette_picture

    style = BY_ID[style_id]
    ref = Reference("styles.0.id", "style", STYLE_INFLUENCE, palette_picture(f"style:{style_id}", style.palette))
    image = render_image("krea/krea-2/medium", style.prompt, 1, *COVER_SIZE, references=(ref,))
    return encode_png(image, {"sandbox": "true", "style": style.title})
