"""Uploaded assets (``POST /assets``): images kept per token in the engine's temporary folder.

Krea hosts what ``POST /assets`` receives and answers with its ``image_url``; the sandbox keeps the file under its
own folder and serves it at ``/assets-files/{id}/{name}`` (no auth, like a CDN URL). The type is sniffed from the
first bytes, never taken from the filename or the part's Content-Type. Bounds: ``max_bytes`` per file (Krea's
75 MB), ``keep_per_owner`` assets per token and ``keep_bytes`` in all; past either the oldest assets go, files
included. Everything is deleted with the engine's folder when the sandbox stops.
"""

from __future__ import annotations

import shutil
import threading
import time
import uuid
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from PIL import Image

MAX_ASSET_BYTES = 75 * 1024 * 1024  # Krea's documented limit [C SPEC /assets]
KEEP_ASSETS_PER_OWNER = 500
KEEP_ASSET_BYTES = 2 * 1024**3  # across all tokens: a disk bound for a long-running sandbox
MAX_ASSET_PIXELS = 64_000_000  # decoding a larger picture (a PNG "bomb" can be tiny) costs too much memory
SNIFF_BYTES = 16
# (MIME type, file name in the URL) per sniffed format.
IMAGE_TYPES = {"jpeg": ("image/jpeg", "asset.jpg"), "png": ("image/png", "asset.png"),
               "webp": ("image/webp", "asset.webp")}
ACCEPTED = "JPEG, PNG or WebP image"


class AssetRefused(ValueError):
    """An upload the sandbox will not keep; ``str()`` is the 400 message."""


def sniff_image(head: bytes) -> str | None:
    """``"jpeg"``, ``"png"`` or ``"webp"`` from a file's first bytes (magic numbers), else None."""
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    return None


def image_size(source: BinaryIO | Path, what: str = "the file") -> tuple[int, int]:
    """(width, height) read from the header only; AssetRefused if Pillow cannot identify it or it is too large."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(source) as img:
                width, height = img.size
    except Image.DecompressionBombError:
        raise AssetRefused(f"{what} is too large a picture: at most {MAX_ASSET_PIXELS:,} pixels.") from None
    except Exception as exc:  # noqa: BLE001 - any decoder complaint means "not a readable image"
        raise AssetRefused(f"{what} is not a readable {ACCEPTED} ({type(exc).__name__}).") from None
    if width * height > MAX_ASSET_PIXELS:
        raise AssetRefused(f"{what} is {width}x{height}: the sandbox reads pictures of at most "
                           f"{MAX_ASSET_PIXELS:,} pixels.")
    return width, height


@dataclass(frozen=True)
class Asset:
    asset_id: str
    owner: str  # the token's hash (engine.owner_key)
    name: str  # the file name in the URL: asset.jpg / asset.png / asset.webp
    mime_type: str
    width: int
    height: int
    size_bytes: int
    description: str
    uploaded_ms: int
    path: Path

    @property
    def uploaded_at(self) -> str:
        from .engine import iso_ms

        return iso_ms(self.uploaded_ms)


class AssetStore:
    """Assets per owner, newest last; thread-safe. ``max_bytes``/``keep_*`` are constructor arguments so tests
    can use a small cap."""

    def __init__(self, folder: Path, *, max_bytes: int = MAX_ASSET_BYTES,
                 keep_per_owner: int = KEEP_ASSETS_PER_OWNER, keep_bytes: int = KEEP_ASSET_BYTES,
                 clock=time.time, on_drop=None):
        self.folder = folder
        self.max_bytes = max_bytes
        self.keep_per_owner = keep_per_owner
        self.keep_bytes = keep_bytes
        self.clock = clock
        self.on_drop = on_drop  # called with each asset id that goes (caches forget it)
        self._lock = threading.Lock()
        self._assets: dict[str, Asset] = {}  # every asset, oldest first
        self._by_owner: dict[str, list[Asset]] = {}
        self._last_ms: dict[str, int] = {}
        self._bytes = 0

    def add(self, owner: str, file: BinaryIO, size: int, description: str = "") -> Asset:
        """Keep an uploaded file (a readable, seekable file object of ``size`` bytes). AssetRefused if it is
        empty, too large, not a JPEG/PNG/WebP or not readable. Blocking I/O: call it off the event loop."""
        if size <= 0:
            raise AssetRefused("file is empty.")
        if size > self.max_bytes:
            raise AssetRefused(f"file is too large: at most {_mb(self.max_bytes)} (got {_mb(size)}).")
        file.seek(0)
        kind = sniff_image(file.read(SNIFF_BYTES))
        if kind is None:
            raise AssetRefused(f"file must be a {ACCEPTED} (the sandbox does not keep HEIC, video, audio or 3D "
                               "files, which Krea also accepts).")
        file.seek(0)
        width, height = image_size(file, "file")
        mime_type, name = IMAGE_TYPES[kind]
        asset_id = str(uuid.uuid4())
        path = self.folder / asset_id / name
        path.parent.mkdir(parents=True, exist_ok=True)
        file.seek(0)
        with path.open("wb") as out:
            shutil.copyfileobj(file, out, 1024 * 1024)
        dropped: list[Asset] = []
        with self._lock:
            ms = max(int(self.clock() * 1000), self._last_ms.get(owner, -1) + 1)  # unique per owner: cursors
            self._last_ms[owner] = ms
            asset = Asset(asset_id, owner, name, mime_type, width, height, size, description, ms, path)
            self._assets[asset_id] = asset
            self._by_owner.setdefault(owner, []).append(asset)
            self._bytes += size
            mine = self._by_owner[owner]
            while len(mine) > self.keep_per_owner:
                dropped.append(self._forget(mine[0]))
            while self._bytes > self.keep_bytes and len(self._assets) > 1:
                dropped.append(self._forget(next(iter(self._assets.values()))))
        self._delete_files(dropped)
        return asset

    def get(self, owner: str, asset_id: str) -> Asset | None:
        """The asset if it exists and belongs to this owner."""
        asset = self._assets.get(asset_id)
        return asset if asset is not None and asset.owner == owner else None

    def find(self, asset_id: str) -> Asset | None:
        """Any owner's asset: its URL, like Krea's, is readable by whoever has it."""
        return self._assets.get(asset_id)

    def list(self, owner: str, *, cursor_ms: float | None = None, limit: int = 100) -> tuple[list[Asset], str | None]:
        """Newest first, uploaded strictly before the cursor; next_cursor is the last item's uploaded_at."""
        with self._lock:
            items: list[Asset] = []
            for asset in reversed(self._by_owner.get(owner, [])):
                if cursor_ms is not None and asset.uploaded_ms >= cursor_ms:
                    continue
                if len(items) == limit:
                    return items, items[-1].uploaded_at
                items.append(asset)
            return items, None

    def delete(self, owner: str, asset_id: str) -> bool:
        with self._lock:
            asset = self.get(owner, asset_id)
            if asset is None:
                return False
            self._forget(asset)
        self._delete_files([asset])
        return True

    def __len__(self) -> int:
        return len(self._assets)

    def _forget(self, asset: Asset) -> Asset:
        del self._assets[asset.asset_id]
        self._by_owner[asset.owner].remove(asset)
        self._bytes -= asset.size_bytes
        return asset

    def _delete_files(self, assets: list[Asset]) -> None:
        for asset in assets:
            shutil.rmtree(asset.path.parent, ignore_errors=True)
            if self.on_drop is not None:
                self.on_drop(asset.asset_id)


def asset_view(asset: Asset, base_url: str) -> dict:
    """The asset as Krea shows it (POST /assets, GET /assets/{id}, list items)."""
    return {
        "id": asset.asset_id,
        "image_url": f"{base_url.rstrip('/')}/assets-files/{asset.asset_id}/{asset.name}",
        "uploaded_at": asset.uploaded_at,
        "width": asset.width,
        "height": asset.height,
        "size_bytes": asset.size_bytes,
        "mime_type": asset.mime_type,
        "description": asset.description,
    }


def _mb(size: int) -> str:
    return f"{size / 1024 / 1024:.0f} MB" if size >= 1024 * 1024 else f"{size:,} bytes"
