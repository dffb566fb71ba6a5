"""Uploaded assets (``/assets``) and LoRA styles (``/styles``), parsed tolerantly like jobs (API-NOTES §4).

An asset is a file uploaded to Krea (``POST /assets``, multipart ``file`` + optional ``description``); its
``image_url`` is what generation bodies take as a style reference, an image prompt or an image to edit. The
spec's answer is ``{id, image_url, uploaded_at, width, height, size_bytes, mime_type, description?, metadata?}``
with the numbers possibly null; parsing never fails on missing or odd fields (they stay in ``raw``), only on an
answer that is not an object at all.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from playground.krea.jobs import parse_timestamp

MAX_ASSET_BYTES = 75 * 1024 * 1024  # "Maximum size: 75MB" [C SPEC POST /assets]
# The types POST /assets takes [C SPEC]; the image ones are what generation bodies can use.
ASSET_MIME_TYPES = (
    "image/jpeg", "image/png", "image/webp", "image/heic", "video/mp4", "video/quicktime", "video/webm",
    "model/gltf-binary", "audio/wav", "audio/mpeg",
)


def _number(value: Any) -> int | float | None:
    """A JSON number (or a numeric string) as int when whole, else float; anything else None."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            return None
    if not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return int(value) if float(value).is_integer() else float(value)


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _object(data: Any, what: str) -> dict:
    if not isinstance(data, dict):
        raise ValueError(f"{what} must be a JSON object, got {type(data).__name__}")
    return data


@dataclass(frozen=True)
class Asset:
    """One uploaded file. ``raw`` is the full JSON (``metadata`` and unknown fields included)."""

    id: str
    image_url: str
    uploaded_at: datetime | None = None
    width: int | float | None = None
    height: int | float | None = None
    size_bytes: int | float | None = None
    mime_type: str | None = None
    description: str | None = None
    raw: dict = field(default_factory=dict, repr=False)

    @classmethod
    def from_dict(cls, data: Any) -> Asset:
        """Parse an asset; raises ``ValueError`` only when ``data`` is not an object."""
        data = _object(data, "an asset")
        return cls(
            id=str(data.get("id") or data.get("asset_id") or ""),
            image_url=str(data.get("image_url") or data.get("url") or ""),
            uploaded_at=parse_timestamp(data.get("uploaded_at") or data.get("created_at")),
            width=_number(data.get("width")),
            height=_number(data.get("height")),
            size_bytes=_number(data.get("size_bytes")),
            mime_type=_text(data.get("mime_type")),
            description=_text(data.get("description")),
            raw=dict(data),
        )

    @property
    def is_image(self) -> bool:
        """An image (by its MIME type, or by its size when the type is missing): usable as an image input."""
        if self.mime_type:
            return self.mime_type.lower().startswith("image/")
        return self.width is not None and self.height is not None

    @property
    def metadata(self) -> Any:
        return self.raw.get("metadata")


def _cursor(data: dict) -> str | None:
    cursor = data.get("next_cursor") or data.get("nextCursor")  # as GET /jobs: older docs spell it camelCase
    return str(cursor) if cursor not in (None, "") else None


@dataclass(frozen=True)
class AssetPage:
    """One page of ``GET /assets``. ``next_cursor`` is None on the last page."""

    items: list[Asset]
    next_cursor: str | None = None

    @classmethod
    def from_dict(cls, data: Any) -> AssetPage:
        data = _object(data, "an asset list")
        items = data.get("items")
        if items is None:
            items = data.get("assets") or []
        if not isinstance(items, list):
            raise ValueError("an asset list's items must be a list")
        return cls([Asset.from_dict(item) for item in items if isinstance(item, dict)], _cursor(data))


@dataclass(frozen=True)
class Style:
    """One LoRA style from ``GET /styles``: its ``id`` goes into a body's ``styles`` as ``{id, strength}``."""

    id: str
    title: str | None = None
    urls: tuple[str, ...] = ()  # preview pictures
    cover_url: str | None = None
    prompt: str | None = None  # a suggested prompt
    models: tuple[str, ...] = ()  # e.g. flux_dev, wan
    public: bool | None = None
    owner: str | None = None  # the creator's name; None for Krea's own styles
    like_count: int | float | None = None
    created_at: datetime | None = None
    raw: dict = field(default_factory=dict, repr=False)

    @classmethod
    def from_dict(cls, data: Any) -> Style:
        data = _object(data, "a style")
        owner = data.get("owner")
        urls = data.get("urls") if isinstance(data.get("urls"), list) else []
        models = data.get("models") if isinstance(data.get("models"), list) else []
        public = data.get("public")
        return cls(
            id=str(data.get("id") or ""),
            title=_text(data.get("title")),
            urls=tuple(u.strip() for u in urls if isinstance(u, str) and u.strip()),
            cover_url=_text(data.get("cover_url")),
            prompt=_text(data.get("prompt")),
            models=tuple(str(m) for m in models if isinstance(m, str)),
            public=public if isinstance(public, bool) else None,
            owner=_text(owner.get("name")) if isinstance(owner, dict) else None,
            like_count=_number(data.get("like_count")),
            created_at=parse_timestamp(data.get("created_at")),
            raw=dict(data),
        )


@dataclass(frozen=True)
class StylePage:
    """One page of ``GET /styles``."""

    items: list[Style]
    next_cursor: str | None = None

    @classmethod
    def from_dict(cls, data: Any) -> StylePage:
        data = _object(data, "a style list")
        items = data.get("items")
        if items is None:
            items = data.get("styles") or []
        if not isinstance(items, list):
            raise ValueError("a style list's items must be a list")
        return cls([Style.from_dict(item) for item in items if isinstance(item, dict)], _cursor(data))
